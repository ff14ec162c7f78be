"""What X costs (pay-per-use prices, shared/x-api.md) and the budget that narrows, then stops, reading.

`UsageRecorder` is the gateway's `on_request`: one `x_usage` row per HTTP request, priced. It sees counts,
not ids, so it cannot de-duplicate per UTC day as X does: the month's figure is an upper estimate. It cannot
see a post's text either, so a created post is priced as a plain one and `month_spend` adds the link
surcharge from the ledger.

A chat session's spend is estimated from what it stored: each distinct post read once and each distinct
author once (X de-duplicates within a day, and a session lies within one), plus the posts it made.

Near a budget (`budget_warning`, 80 %) a chat that reads `all` reads only `hosts+mentions`; at the budget it
stops reading. `read_mode` says which, and why, for the reader to log and `chatcaddy policy` to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import structlog
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from bot.config import Chat, Config, ReadMode
from bot.policy.promotion import entities
from bot.policy.rules import rules_for
from bot.store.db import Store
from bot.store.models import Action, ChatPost, ChatRun, Draft, Route, XUsage
from bot.x.types import XRequestRecord

log = structlog.get_logger("bot.policy.budget")

POST_READ = Decimal("0.005")
USER_READ = Decimal("0.010")
POST_CREATED = Decimal("0.015")
POST_WITH_LINK = Decimal("0.20")
CREATED_OK = frozenset({200, 201})


def price(record: XRequestRecord) -> Decimal:
    """What one request costs, without X's per-day de-duplication (so at most what X bills)."""
    created = record.endpoint == "create_post" and record.status in CREATED_OK
    return record.posts_read * POST_READ + record.users_read * USER_READ + (POST_CREATED if created else 0)


class UsageRecorder:
    """The gateway's `on_request`: each request becomes an `x_usage` row, in its own transaction.

    The gateway calls it outside any of our transactions (it never holds one across an X call)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self, record: XRequestRecord) -> None:
        limit = record.rate_limit
        row = XUsage(
            at=record.at,
            endpoint=record.endpoint,
            status=record.status,
            posts_read=record.posts_read,
            users_read=record.users_read,
            posts_created=int(record.endpoint == "create_post" and record.status in CREATED_OK),
            usd=price(record),
            rate_limit=limit.limit if limit else None,
            rate_remaining=limit.remaining if limit else None,
            rate_reset=limit.reset_at if limit else None,
        )
        with self.store.session() as session:
            session.add(row)


def month_start(now: datetime) -> datetime:
    """The first instant of `now`'s calendar month, UTC."""
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_spend(session: Session, now: datetime) -> Decimal:
    """Dollars spent on X this calendar month (UTC): every request recorded, plus the link surcharge."""
    since = month_start(now)
    recorded = session.scalar(select(func.coalesce(func.sum(XUsage.usd), 0)).where(XUsage.at >= since))
    return Decimal(recorded or 0) + _link_surcharge(session, Action.at >= since)


def chat_spend(session: Session, run_id: int) -> Decimal:
    """Dollars one chat session cost: the distinct posts and authors it read, and the posts it made."""
    of_run = ChatPost.run_id == run_id
    posts = session.scalar(select(func.count(func.distinct(ChatPost.tweet_id))).where(of_run)) or 0
    authors = session.scalar(select(func.count(func.distinct(ChatPost.author_id))).where(of_run)) or 0
    made = session.scalar(
        select(func.count()).where(
            Action.run_id == run_id, Action.via == Route.API, Action.x_post_id.is_not(None)
        )
    )
    reads = posts * POST_READ + authors * USER_READ
    return reads + (made or 0) * POST_CREATED + _link_surcharge(session, Action.run_id == run_id)


def _link_surcharge(session: Session, where: ColumnElement[bool]) -> Decimal:
    """What posts with a link cost beyond a plain post (the recorder priced them as plain)."""
    query = select(Draft.text).join(Action, Action.draft_id == Draft.id)
    query = query.where(where, Action.via == Route.API, Action.x_post_id.is_not(None))
    linked = sum(1 for text in session.scalars(query) if entities(text).links)
    return linked * (POST_WITH_LINK - POST_CREATED)


@dataclass(frozen=True)
class Budget:
    """One chat session's spend against its budget and the month's against the monthly budget."""

    chat_usd: Decimal
    chat_limit: float
    month_usd: Decimal
    month_limit: float
    warning: float

    @property
    def used(self) -> float:
        """The larger share used of the two budgets (1.0 is all of one)."""
        return max(_share(self.chat_usd, self.chat_limit), _share(self.month_usd, self.month_limit))

    def describe(self) -> str:
        return (
            f"${self.chat_usd:.3f} of ${self.chat_limit:.2f} this session, "
            f"${self.month_usd:.3f} of ${self.month_limit:.2f} this month"
        )


def budget_for(session: Session, run: ChatRun, config: Config, now: datetime) -> Budget:
    rules = rules_for(config, run.chat_slug)
    return Budget(
        chat_usd=chat_spend(session, run.id),
        chat_limit=rules.usd_per_chat,
        month_usd=month_spend(session, now),
        month_limit=config.policy.usd_per_month,
        warning=config.policy.budget_warning,
    )


def read_mode(
    session: Session, chat: Chat, run: ChatRun, config: Config, now: datetime
) -> tuple[ReadMode | None, str]:
    """How this chat may read now: its own mode, `hosts+mentions` near the budget, None (stop) at it; and
    the reason when narrowed or stopped ("" otherwise)."""
    budget = budget_for(session, run, config, now)
    if budget.used >= 1:
        return None, f"X budget reached ({budget.describe()}): reading {chat.slug} stopped"
    if budget.used >= budget.warning and chat.read == "all":
        why = f"X budget nearly spent ({budget.describe()}): {chat.slug} reads hosts and mentions only"
        return "hosts+mentions", why
    return chat.read, ""


class ReadBudget:
    """One reader's view of the budget: each run's read mode, looked up at most every `every` (spend moves
    slowly, and the look-up is a few queries), and a change logged once as a warning for the person."""

    def __init__(self, every: timedelta = timedelta(minutes=1)) -> None:
        self.every = every
        self._seen: dict[int, tuple[datetime, ReadMode | None, str]] = {}

    def mode(
        self, store: Store, chat: Chat, run: ChatRun, config: Config, now: datetime
    ) -> tuple[ReadMode | None, str]:
        """`read_mode` for this run, from the last look-up when it is recent enough."""
        seen = self._seen.get(run.id)
        if seen is not None and now - seen[0] < self.every:
            return seen[1], seen[2]
        with store.session() as session:
            mode, why = read_mode(session, chat, run, config, now)
        if (seen[1] if seen is not None else chat.read) != mode:  # narrowed, stopped, or back
            log.warning(
                "budget.read_mode", chat=chat.slug, read=mode or "stopped", reason=why or "within budget"
            )
        self._seen[run.id] = (now, mode, why)
        return mode, why


def _share(spent: Decimal, limit: float) -> float:
    if limit <= 0:
        return float("inf")
    return float(spent / Decimal(repr(limit)))  # in decimals: $0.08 of $0.10 is 0.8, not 0.7999…
