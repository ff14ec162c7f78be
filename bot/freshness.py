"""Freshness: a draft expires when it stops making sense, and stays visible with the reason.

- An answer, reply or share about Q<n> expires once Q<n+k> is asked (`drafting.expire_after_questions`, k=2
  by default): the chat has moved on.
- A draft whose target post was deleted expires (`mark_deleted` records a deletion found on X).
- A draft to someone who has since asked the account to stop expires.
- Every chat draft expires when the window closes plus `drafting.close_grace_minutes`: its `expires_at`,
  set here when drafted and applied by `bot.runs.close_ended_runs`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.config.models import Drafting
from bot.errors import DraftStateError
from bot.store.drafts import transition
from bot.store.models import ChatPost, ChatRun, Draft, DraftKind, DraftState, PostEvent

LIVE = (DraftState.PENDING, DraftState.APPROVED)
# Drafts that belong to one question's part of the conversation.
CONVERSATION_KINDS = (DraftKind.ANSWER, DraftKind.REPLY, DraftKind.SHARE)
BY = "worker"


def expires_at(run: ChatRun, drafting: Drafting, now: datetime) -> datetime:
    """When a new draft of `run` lapses: the window's end plus the grace (and never within a minute)."""
    closes = run.window_end + timedelta(minutes=drafting.close_grace_minutes)
    return max(closes, now + timedelta(minutes=1))


def moved_on(number: int | None, latest: int | None, after: int) -> bool:
    """Whether the chat has moved on from Q<number>: Q<number + after> (or later) is asked."""
    return number is not None and latest is not None and latest >= number + after


def expire_stale(
    session: Session, run: ChatRun, drafting: Drafting, *, now: datetime, opted_out: Collection[str] = ()
) -> list[Draft]:
    """Expire the run's live drafts that no longer make sense; returns them."""
    latest = session.scalar(
        select(ChatPost.question_number)
        .where(ChatPost.run_id == run.id, ChatPost.event == PostEvent.QUESTION)
        .order_by(ChatPost.question_number.desc())
        .limit(1)
    )
    stopped = {name.casefold() for name in opted_out}
    expired = []
    live = session.scalars(
        select(Draft).where(Draft.run_id == run.id, Draft.state.in_(LIVE)).order_by(Draft.id)
    )
    for draft in list(live):
        why = _why_stale(session, draft, latest, drafting.expire_after_questions, stopped)
        if why is None:
            continue
        try:
            transition(session, draft, DraftState.EXPIRED, by=BY, why=why, at=now)
        except DraftStateError:
            continue  # someone acted on it meanwhile: theirs wins
        expired.append(draft)
    return expired


def _why_stale(
    session: Session, draft: Draft, latest: int | None, after: int, stopped: Collection[str]
) -> str | None:
    number = draft.question_number
    if draft.kind in CONVERSATION_KINDS and moved_on(number, latest, after):
        return f"Q{latest} was asked: the chat has moved on from Q{number}"
    if draft.target_tweet_id is None:
        return None
    target = session.scalars(
        select(ChatPost).where(ChatPost.run_id == draft.run_id, ChatPost.tweet_id == draft.target_tweet_id)
    ).first()
    if target is None:
        return None
    if target.deleted_at is not None:
        return "the post it answers was deleted"
    if (target.author_username or "").casefold() in stopped and draft.kind != DraftKind.ANSWER:
        return f"@{target.author_username} asked you to stop"
    return None


def mark_deleted(session: Session, tweet_id: str, *, at: datetime) -> int:
    """Record that a post was deleted on X (its drafts then expire); returns the rows marked."""
    result = session.execute(
        update(ChatPost)
        .where(ChatPost.tweet_id == tweet_id, ChatPost.deleted_at.is_(None))
        .values(deleted_at=at)
    )
    return int(getattr(result, "rowcount", 0) or 0)
