"""Is X answering? Derived from the last requests in `x_usage` (every attempt is recorded there), so the
worker and the dashboard, in separate processes, see the same answer. The worker logs a change once
(`x.trouble` when X starts failing, `x.recovered` when it answers again); the dashboard shows a banner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import XUsage

log = structlog.get_logger("bot.health")

RECENT = timedelta(minutes=15)  # older failures no longer say anything about now
# Failures that are about X or the account, not about one request (a duplicate or a refused reply is not).
TROUBLE = frozenset({401, 402, 429})


@dataclass(frozen=True)
class XHealth:
    ok: bool
    message: str = ""
    since: datetime | None = None
    cause: str = ""  # what kind of trouble (the HTTP status, "usage cap", "no answer"): a change is news


def _failing(status: int | None) -> bool:
    return status is None or status in TROUBLE or status >= 500


def _usage_capped(row: XUsage) -> bool:
    """A 429 while the endpoint's rate window still has requests left: the plan's usage cap, not a rate
    limit (X then says UsageCapExceeded; the row keeps only the headers)."""
    return row.status == 429 and bool(row.rate_remaining)


def _message(row: XUsage) -> str:
    status = row.status
    if _usage_capped(row):
        return (
            "The usage cap of your X API plan is reached: nothing is read or posted until the period renews "
            "or the plan changes."
        )
    if status == 429:
        until = f" (until {row.rate_reset:%H:%M} UTC)" if row.rate_reset else ""
        return f"X is rate-limiting chatcaddy: it waits as X asks{until} and reads on after."
    if status == 402:
        return "Your X developer account has no credits left: nothing is read or posted until you add some."
    if status == 401:
        return "X does not accept your API keys: check X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN(_SECRET)."
    if status is None:
        return "X does not answer (timeouts or dropped connections); chatcaddy keeps trying."
    return f"X is failing ({status}); chatcaddy keeps trying, backing off."


def x_health(session: Session, now: datetime) -> XHealth:
    """Not ok while the newest recent requests failed; `since` is when the failing began."""
    rows = list(
        session.scalars(
            select(XUsage)
            .where(XUsage.at >= now - RECENT)
            .order_by(XUsage.at.desc(), XUsage.id.desc())
            .limit(50)
        )
    )
    failing = []
    for row in rows:
        if not _failing(row.status):
            break
        failing.append(row)
    if not failing:
        return XHealth(ok=True)
    status = failing[0].status
    cause = "no answer" if status is None else str(status if status < 500 else "5xx")
    cause = "usage cap" if _usage_capped(failing[0]) else cause
    return XHealth(ok=False, message=_message(failing[0]), since=failing[-1].at, cause=cause)


class HealthWatch:
    """Logs X's health when it changes, once per change."""

    def __init__(self) -> None:
        self.last = XHealth(ok=True)

    def update(self, health: XHealth) -> XHealth:
        if (health.ok, health.cause) != (self.last.ok, self.last.cause):
            if health.ok:
                log.info("x.recovered")
            else:
                log.warning(
                    "x.trouble",
                    message=health.message,
                    since=health.since.isoformat() if health.since else None,
                )
        self.last = health
        return health
