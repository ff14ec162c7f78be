"""Where the account stands with its policy, per chat and overall: `chatcaddy policy [--json]`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.policy import ledger
from bot.policy.budget import budget_for, month_spend
from bot.policy.rules import SHARE_WINDOW, rules_for, verdict
from bot.store.models import ChatRun, Draft, DraftState, OptOut


@dataclass(frozen=True)
class HeldDraft:
    id: int
    held: bool  # False: the draft must change (or be rejected); True: engagement or time will free it
    reason: str


@dataclass(frozen=True)
class ChatStanding:
    chat: str
    credits: int  # engagement credits earned since the chat's last promotion
    needed: int
    last_promotion: str | None  # ISO time
    max_promo_share: float
    held: list[HeldDraft]
    session_usd: float | None  # the latest session's spend, when the chat has had one
    session_budget: float


@dataclass(frozen=True)
class Standing:
    at: str
    posts_7d: int
    promotional_7d: int
    posts_last_hour: int
    posts_per_hour: int
    posts_last_day: int
    posts_per_day: int
    month_usd: float
    month_budget: float
    opt_outs: int
    chats: list[ChatStanding]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def standing(session: Session, config: Config, now: datetime, chat: str | None = None) -> Standing:
    """The account's standing now, for every chat of the config (or only `chat`)."""
    slugs = [chat] if chat is not None else [c.slug for c in config.chats]
    with ledger.shared_reads(session):  # every held draft's verdict asks the ledger the same questions
        return _standing(session, config, now, slugs)


def _standing(session: Session, config: Config, now: datetime, slugs: list[str]) -> Standing:
    policy = config.policy
    return Standing(
        at=now.isoformat(timespec="seconds"),
        posts_7d=ledger.posts_since(session, now - SHARE_WINDOW),
        promotional_7d=ledger.posts_since(session, now - SHARE_WINDOW, promotional=True),
        posts_last_hour=ledger.posts_since(session, now - timedelta(hours=1)),
        posts_per_hour=policy.posts_per_hour,
        posts_last_day=ledger.posts_since(session, now - timedelta(days=1)),
        posts_per_day=policy.posts_per_day,
        month_usd=round(float(month_spend(session, now)), 4),
        month_budget=policy.usd_per_month,
        opt_outs=session.scalar(select(func.count()).select_from(OptOut)) or 0,
        chats=[_chat_standing(session, config, slug, now) for slug in slugs],
    )


def _chat_standing(session: Session, config: Config, slug: str, now: datetime) -> ChatStanding:
    rules = rules_for(config, slug)
    last = ledger.last_promotion(session, slug)
    earned = sum(rules.credit(kind) * n for kind, n in ledger.kinds_since(session, slug, last).items())
    run = session.scalars(
        select(ChatRun)
        .where(ChatRun.chat_slug == slug, ChatRun.window_start <= now)
        .order_by(ChatRun.window_start.desc())
    ).first()
    return ChatStanding(
        chat=slug,
        credits=earned,
        needed=rules.engage_before_promote,
        last_promotion=last.at.isoformat(timespec="seconds") if last else None,
        max_promo_share=rules.max_promo_share,
        held=_held(session, config, slug, now),
        session_usd=round(float(budget_for(session, run, config, now).chat_usd), 4) if run else None,
        session_budget=rules.usd_per_chat,
    )


def _held(session: Session, config: Config, slug: str, now: datetime) -> list[HeldDraft]:
    """The chat's pending drafts the policy would not let a person approve now."""
    pending = session.scalars(
        select(Draft).where(Draft.chat_slug == slug, Draft.state == DraftState.PENDING).order_by(Draft.id)
    )
    held = []
    for draft in pending:
        found = verdict(session, draft, config, now)
        if not found.allowed:
            held.append(HeldDraft(draft.id, found.held, found.reason))
    return held


def render_standing(standing: Standing, *, as_json: bool) -> str:
    if as_json:
        return json.dumps(standing.as_json(), indent=2, ensure_ascii=False)
    s = standing
    share = f"{s.promotional_7d / s.posts_7d:.0%}" if s.posts_7d else "0%"
    lines = [
        f"Policy standing at {s.at}",
        f"  posts: {s.posts_last_hour}/{s.posts_per_hour} this hour, {s.posts_last_day}/{s.posts_per_day} "
        f"in 24 h; {s.posts_7d} in 7 days, {s.promotional_7d} promotional ({share})",
        f"  X spend this month: ${s.month_usd:.3f} of ${s.month_budget:.2f};  people opted out: {s.opt_outs}",
    ]
    for chat in s.chats:
        last = chat.last_promotion or "none yet"
        spend = (
            f"last session ${chat.session_usd:.3f} of ${chat.session_budget:.2f}"
            if chat.session_usd is not None
            else f"no session yet (${chat.session_budget:.2f} a session)"
        )
        lines.append(
            f"  {chat.chat}: {chat.credits} of {chat.needed} engagement credits since the last promotion "
            f"({last}); promotional share at most {chat.max_promo_share:.0%}; {spend}"
        )
        lines += [f"    #{h.id} {'held' if h.held else 'not allowed'}: {h.reason}" for h in chat.held]
    return "\n".join(lines)
