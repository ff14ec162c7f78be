"""One API call as the endpoint handlers see it, and the checks of its parameters X makes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.sandbox.billing import Meter
from bot.sandbox.problems import invalid_request
from bot.sandbox.render import VIEW_PARAMS, Renderer, View
from bot.sandbox.state import Post, World, to_ms

TIERS = ("self-serve", "unrestricted")


@dataclass
class Context:
    """What every handler works on: the world, the meter, the access tier and the log of API actions."""

    world: World
    meter: Meter
    tier: str
    posted: list[dict[str, Any]] = field(default_factory=list)

    @property
    def self_serve(self) -> bool:
        return self.tier == "self-serve"


@dataclass(frozen=True)
class Call:
    """An authenticated request: its query parameters, JSON body, the user it acts for, and when."""

    params: dict[str, str]
    body: Any
    user_id: str | None  # the OAuth 1.0a user; None for an app-only (bearer) request
    now: datetime

    def check_params(self, allowed: Iterable[str]) -> None:
        """400 for a parameter the endpoint does not take, as X answers."""
        known = sorted({*allowed, *VIEW_PARAMS})
        for name in self.params:
            if name not in known:
                raise invalid_request(
                    name, self.params[name], f"The query parameter [{name}] is not one of [{','.join(known)}]"
                )

    def whole(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.params.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise invalid_request(
                name, raw, f"The `{name}` query parameter value [{raw}] is not between {low} and {high}"
            )
        return int(raw)

    def post_id(self, name: str) -> int | None:
        raw = self.params.get(name)
        if raw is None:
            return None
        if not raw.isdigit():
            raise invalid_request(name, raw, f"The `{name}` query parameter value [{raw}] is not valid")
        return int(raw)

    def time(self, name: str) -> datetime | None:
        raw = self.params.get(name)
        if raw is None:
            return None
        try:
            when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            when = None
        if when is None or when.tzinfo is None:
            raise invalid_request(
                name, raw, f"Invalid '{name}':'{raw}'. '{name}' must be a timestamp like YYYY-MM-DDTHH:mm:ssZ"
            )
        return when.astimezone(UTC)

    def cursor(self, name: str) -> int | None:
        """The id a `next_token`/`pagination_token` points below (tokens are base-36 ids)."""
        raw = self.params.get(name)
        if raw is None:
            return None
        try:
            return int(raw, 36)
        except ValueError:
            raise invalid_request(
                name, raw, f"The `{name}` query parameter value [{raw}] is not valid"
            ) from None

    def renderer(self, context: Context) -> Renderer:
        return Renderer(context.world, self.now, View.from_params(self.params))


def page_token(post: Post) -> str:
    """The opaque token for the page after `post`: its id in base 36."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    number, token = post.id, ""
    while number:
        number, digit = divmod(number, 36)
        token = digits[digit] + token
    return token or "0"


def lowest_id(call: Call) -> int | None:
    """An id every post `since_id`/`start_time` leave in is above (None: no such bound), to skip older posts
    before `in_range` checks exactly. Ids are milliseconds shifted by 22 bits (`bot.sandbox.state`)."""
    since, start = call.post_id("since_id"), call.time("start_time")
    bounds = [since] if since is not None else []
    if start is not None:
        bounds.append((to_ms(start) << 22) - 1)
    return max(bounds) if bounds else None


def in_range(posts: list[Post], call: Call, *, cursor_param: str) -> list[Post]:
    """The posts `since_id`/`until_id`/`start_time`/`end_time` and the page token leave (newest first)."""
    since, until = call.post_id("since_id"), call.post_id("until_id")
    start, end = call.time("start_time"), call.time("end_time")
    below = call.cursor(cursor_param)
    return [
        p
        for p in posts
        if (since is None or p.id > since)
        and (until is None or p.id < until)
        and (below is None or p.id < below)
        and (start is None or p.created_at >= start)
        and (end is None or p.created_at < end)
    ]


def paged(context: Context, call: Call, posts: list[Post], max_results: int) -> dict[str, Any]:
    """One page of `posts` with `includes` and X's `meta`, billed on the meter."""
    page = posts[:max_results]
    renderer = call.renderer(context)
    body = renderer.answer(page)
    meta: dict[str, Any] = {}
    if page:
        meta["newest_id"] = page[0].id_str
        meta["oldest_id"] = page[-1].id_str
    meta["result_count"] = len(page)
    if len(posts) > max_results:
        meta["next_token"] = page_token(page[-1])
    body["meta"] = meta
    bill(context, call, renderer, returned=len(page))
    return body


def bill(context: Context, call: Call, renderer: Renderer, *, returned: int) -> None:
    context.meter.returned(returned)
    context.meter.read(call.now, tweets=renderer.tweets_read, users=renderer.users_read)
