"""The person's side of the queue: list drafts, show one, approve (optionally with an edited text), reject.

Used by the CLI now and by the dashboard later. Every change happens in one transaction: when one of several
ids is unknown or no longer pending, nothing changes and the message says which and why.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.errors import DraftStateError
from bot.store import drafts as draft_moves
from bot.store.db import Store
from bot.store.drafts import edit_text, get_draft, pending_drafts
from bot.store.models import ChatPost, ChatRun, Draft, DraftKind, DraftState
from bot.text import check_answer, count_hashtag, weighted_length

TEXT_LIMIT = 280


def queue(store: Store, *, chat: str | None = None, include_all: bool = False) -> list[Draft]:
    with store.session() as session:
        return pending_drafts(session, chat_slug=chat, include_all=include_all)


def show(store: Store, draft_id: int) -> tuple[Draft, ChatPost | None, list[tuple[str, str, str, str]]]:
    """The draft, the post it answers (when stored) and its history as (at, from→to, by, why) rows."""
    with store.session() as session:
        draft = get_draft(session, draft_id)
        target = _target_post(session, draft)
        history = [
            (e.at.isoformat(timespec="seconds"), f"{e.from_state}→{e.to_state}", e.by, e.why)
            for e in draft.events
        ]
        return draft, target, history


def approve(
    store: Store, ids: Sequence[int], *, clock: Clock, by: str, text: str | None = None
) -> list[Draft]:
    """Approve pending drafts; `text` replaces the text of a single draft and is validated again first."""
    if text is not None and len(ids) != 1:
        raise DraftStateError("--text edits one draft: give exactly one id")
    now = clock.now()
    with store.session() as session:
        for draft in [_pending(session, draft_id) for draft_id in ids]:
            if text is not None and text != draft.text:
                _edit(session, draft, text, by=by, now=now)
        return [draft_moves.approve(session, draft_id, by=by, at=now, why="approved") for draft_id in ids]


def reject(store: Store, ids: Sequence[int], *, clock: Clock, by: str, reason: str = "") -> list[Draft]:
    now = clock.now()
    with store.session() as session:
        for draft_id in ids:
            _pending(session, draft_id)
        why = reason or "rejected"
        return [draft_moves.reject(session, draft_id, by=by, at=now, why=why) for draft_id in ids]


def text_problems(draft: Draft, text: str, hashtag: str) -> list[str]:
    """What is wrong with `text` as this draft's text, in words; empty when it may be posted."""
    if draft.kind == DraftKind.ANSWER and draft.question_number is not None:
        return check_answer(text, n=draft.question_number, hashtag=hashtag)
    problems = []
    if not text.strip():
        problems.append("the text is empty")
    length = weighted_length(text)
    if length > TEXT_LIMIT:
        problems.append(f"{length}/{TEXT_LIMIT} characters")
    if draft.kind != DraftKind.REPOST and count_hashtag(text, hashtag) == 0:
        problems.append(f"hashtag {hashtag} missing")
    return problems


def _pending(session: Session, draft_id: int) -> Draft:
    draft = get_draft(session, draft_id)
    if draft.state != DraftState.PENDING:
        raise DraftStateError(f"draft {draft_id} is {draft.state}, not pending; nothing changed")
    return draft


def _edit(session: Session, draft: Draft, text: str, *, by: str, now: datetime) -> None:
    hashtag = _hashtag(session, draft)
    problems = text_problems(draft, text, hashtag)
    if problems:
        raise DraftStateError(f"draft {draft.id}: the edited text can't be posted: {'; '.join(problems)}")
    edit_text(session, draft, text, by=by, at=now)


def _hashtag(session: Session, draft: Draft) -> str:
    run = session.get(ChatRun, draft.run_id) if draft.run_id is not None else None
    return run.hashtag if run else ""


def _target_post(session: Session, draft: Draft) -> ChatPost | None:
    if draft.target_tweet_id is None:
        return None
    query = select(ChatPost).where(ChatPost.tweet_id == draft.target_tweet_id).order_by(ChatPost.id.desc())
    return session.scalars(query).first()


def draft_json(draft: Draft) -> dict[str, object]:
    return {
        "id": draft.id,
        "chat": draft.chat_slug,
        "kind": draft.kind,
        "state": draft.state,
        "text": draft.text,
        "question_number": draft.question_number,
        "target_tweet_id": draft.target_tweet_id,
        "reason": draft.reason,
        "route": draft.route,
        "drafter": draft.drafter,
        "x_post_id": draft.x_post_id,
        "error": draft.error,
        "handoff_url": draft.handoff_url,
        "created_at": draft.created_at.isoformat(),
        "expires_at": draft.expires_at.isoformat() if draft.expires_at else None,
    }


def render_queue(drafts: Sequence[Draft], *, as_json: bool) -> str:
    if as_json:
        return json.dumps([draft_json(d) for d in drafts], indent=2, ensure_ascii=False)
    if not drafts:
        return "No drafts waiting. (`chatcaddy queue --all` shows every draft.)"
    lines = []
    for d in drafts:
        label = f"Q{d.question_number}" if d.question_number else d.kind
        status = d.state if d.state != DraftState.FAILED else f"failed: {d.error}"
        lines.append(f"#{d.id:<4} {d.chat_slug:<14} {d.kind:<7} {label:<4} {status:<10} {d.text}")
    lines.append("")
    lines.append("chatcaddy approve ID [--text TEXT]   chatcaddy reject ID [--reason R]   chatcaddy show ID")
    return "\n".join(lines)


def render_show(draft: Draft, target: ChatPost | None, history: list[tuple[str, str, str, str]]) -> str:
    lines = [
        f"draft #{draft.id}  {draft.kind}  {draft.state}  chat {draft.chat_slug}  drafted by {draft.drafter}",
        f"  text:   {draft.text}",
        f"  why:    {draft.reason}",
    ]
    if target is not None:
        lines.append(f"  answers @{target.author_username}: {target.text or '(text purged)'}")
    if draft.error:
        lines.append(f"  error:  {draft.error}")
    if draft.handoff_url:
        lines.append(f"  post it yourself: {draft.handoff_url}")
    if draft.expires_at:
        lines.append(f"  expires {draft.expires_at.isoformat(timespec='seconds')}")
    lines += [f"  {at}  {move:<20} by {by:<9} {why}" for at, move, by, why in history]
    return "\n".join(lines)
