"""Chat runs: one occurrence of a chat's window, opened when the window starts (or when the worker starts
inside it) and closed when it ends. A run holds the read cursor, so a restart resumes where it stopped."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.config import Chat
from bot.schedule import Window
from bot.store.drafts import transition
from bot.store.models import ChatRun, Draft, DraftState, RunState

# A draft that can still be acted on; these expire with their run.
LIVE_DRAFT_STATES = (DraftState.PENDING, DraftState.APPROVED)


def open_run(session: Session, chat: Chat, window: Window, *, now: datetime) -> ChatRun:
    """The run of `chat` for `window`, created when missing. Idempotent: joining twice (a restart, a
    misfired trigger) finds the same run and its cursor."""
    existing = _find(session, chat.slug, window.start)
    if existing is not None:
        return existing
    run = ChatRun(
        chat_slug=chat.slug,
        hashtag=chat.hashtag,
        window_start=window.start,
        window_end=window.end,
        state=RunState.OPEN,
        opened_at=now,
    )
    try:
        with session.begin_nested():
            session.add(run)
    except IntegrityError:  # another worker opened it a moment ago
        found = _find(session, chat.slug, window.start)
        assert found is not None
        return found
    return run


def live_runs(session: Session, now: datetime) -> list[ChatRun]:
    """Open runs whose window contains `now`, oldest first."""
    query = (
        select(ChatRun)
        .where(ChatRun.state == RunState.OPEN, ChatRun.window_start <= now, ChatRun.window_end > now)
        .order_by(ChatRun.window_start, ChatRun.id)
    )
    return list(session.scalars(query))


def close_ended_runs(session: Session, now: datetime, *, by: str = "worker") -> list[ChatRun]:
    """Close every open run whose window has ended; expire the drafts of closed runs that nobody acted on
    once their `expires_at` has passed (the window's end plus the configured grace, set when drafted)."""
    ended = list(
        session.scalars(select(ChatRun).where(ChatRun.state == RunState.OPEN, ChatRun.window_end <= now))
    )
    for run in ended:
        run.state = RunState.CLOSED
        run.closed_at = now
    session.flush()
    overdue = (
        select(Draft)
        .join(ChatRun, Draft.run_id == ChatRun.id)
        .where(ChatRun.state == RunState.CLOSED, Draft.state.in_(LIVE_DRAFT_STATES))
        .where(or_(Draft.expires_at.is_(None), Draft.expires_at <= now))
        .order_by(Draft.id)
    )
    for draft in session.scalars(overdue):
        transition(session, draft, DraftState.EXPIRED, by=by, why="the chat window closed", at=now)
    return ended


def save_cursor(session: Session, run_ids: list[int], since_id: str) -> None:
    """Move the read cursor of these runs forward (never back: ids only grow)."""
    for run in session.scalars(select(ChatRun).where(ChatRun.id.in_(run_ids))):
        if run.since_id is None or int(since_id) > int(run.since_id):
            run.since_id = since_id


def _find(session: Session, slug: str, window_start: datetime) -> ChatRun | None:
    return session.scalars(
        select(ChatRun).where(ChatRun.chat_slug == slug, ChatRun.window_start == window_start)
    ).first()
