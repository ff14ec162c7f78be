"""Server-rendered SVG charts (no script, no inline style: colours come from classes in app.css)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from html import escape

from markupsafe import Markup

from bot.web.chat_views import Standing

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 34, 12, 12, 26


def standing_svg(standing: Standing) -> Markup:
    """Genuine actions since the last promotion over the run's window, as a step line, with the level the
    policy asks for before a promotion (dashed) and each promotion marked."""
    span = max((standing.end - standing.start).total_seconds(), 1.0)
    top = max([standing.needed, standing.initial, *(p.since_promotion for p in standing.points)]) + 1

    def x(at: datetime) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * min(max((at - standing.start).total_seconds() / span, 0), 1)

    def y(value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)

    steps = [f"M{x(standing.start):.1f},{y(standing.initial):.1f}"]
    level = standing.initial
    for point in standing.points:
        steps.append(f"H{x(point.at):.1f}V{y(point.since_promotion):.1f}")
        level = point.since_promotion
    steps.append(f"H{x(standing.end):.1f}")
    promos = [
        f'<circle class="chart-promo" cx="{x(p.at):.1f}" cy="{y(0):.1f}" r="5"><title>promotion at '
        f"{_hm(p.at)}</title></circle>"
        for p in standing.points
        if p.promotion
    ]
    label = (
        f"Engagements since the last promotion: {level} now; the policy asks for {standing.needed} "
        "before each promotion."
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}">',
        f"<title>{escape(label)}</title>",
        *_axes(standing, top, y),
        f'<path class="chart-threshold" d="M{LEFT},{y(standing.needed):.1f}H{WIDTH - RIGHT}"/>',
        f'<text class="chart-label" x="{WIDTH - RIGHT}" y="{y(standing.needed) - 4:.1f}" text-anchor="end">'
        f"{standing.needed} needed to promote</text>",
        f'<path class="chart-engage" d="{"".join(steps)}"/>',
        *promos,
        "</svg>",
    ]
    return Markup("".join(parts))  # noqa: S704 - built from numbers and escaped text only


def _axes(standing: Standing, top: int, y: Callable[[float], float]) -> list[str]:
    bottom = HEIGHT - BOTTOM
    ticks = sorted({0, top - 1, standing.needed})
    return [
        f'<path class="chart-axis" d="M{LEFT},{TOP}V{bottom}H{WIDTH - RIGHT}"/>',
        *(
            f'<text class="chart-label" x="{LEFT - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t}</text>'
            for t in ticks
        ),
        f'<text class="chart-label" x="{LEFT}" y="{HEIGHT - 8}">{_hm(standing.start)}</text>',
        f'<text class="chart-label" x="{WIDTH - RIGHT}" y="{HEIGHT - 8}" text-anchor="end">'
        f"{_hm(standing.end)}</text>",
    ]


def _hm(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M UTC")
