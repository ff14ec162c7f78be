"""The person's side of the queue: list drafts, show one, approve (optionally with an edited text), reject.

Used by the CLI now and by the dashboard later. Every change happens in one transaction: when one of several
ids is unknown or no longer pending, nothing changes and the message says which and why.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import intents, policy
from bot.clock import Clock
from bot.config import Config
from bot.errors import DraftStateError
from bot.store import drafts as draft_moves
from bot.store.db import Store
from bot.store.drafts import edit_text, get_draft, pending_drafts
from bot.store.models import Action, ChatPost, ChatRun, Draft, DraftKind, DraftState, Route
from bot.text import check_answer, clean, count_hashtag, weighted_length

TEXT_LIMIT = 280
# How long a hand-off waits for the person's post to show up in the chat before it counts as not seen.
HANDOFF_TIMEOUT = timedelta(minutes=15)
# A person's post may carry a timestamp slightly before the hand-off was recorded (clocks differ).
HANDOFF_CLOCK_SKEW = timedelta(minutes=1)
NOT_SEEN = "not seen"


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
    store: Store,
    ids: Sequence[int],
    *,
    clock: Clock,
    by: str,
    text: str | None = None,
    config: Config | None = None,
) -> list[Draft]:
    """Approve pending drafts; `text` replaces the text of a single draft and is validated again first.

    With `config`, the policy routes and checks each draft first (`bot.policy.check_approval`, under the
    policy lock): a draft it holds raises `bot.policy.PolicyHold` saying why and what is missing, and nothing
    changes. Without it, the policy only checks at posting."""
    if text is not None and len(ids) != 1:
        raise DraftStateError("--text edits one draft: give exactly one id")
    now = clock.now()
    with store.session() as session:
        if config is not None:
            policy.lock(session, now)
        for draft in [_pending(session, draft_id) for draft_id in ids]:
            if text is not None and text != draft.text:
                _edit(session, draft, text, by=by, now=now)
        approved = []
        for draft_id in ids:
            if config is not None:
                policy.check_approval(session, get_draft(session, draft_id), config, now)
            approved.append(draft_moves.approve(session, draft_id, by=by, at=now, why="approved"))
        for draft in approved:
            if draft.route == Route.HANDOFF:
                _hand_off(session, draft, by=by, now=now)
        return approved


def _hand_off(session: Session, draft: Draft, *, by: str, now: datetime) -> None:
    """An approved hand-off draft waits for the person to post it through X's own composer (the intent)."""
    draft.handoff_url = intent_url(draft, _target_post(session, draft))
    draft_moves.transition(
        session, draft, DraftState.HANDED_OFF, by=by, why="waiting for you to post it on X", at=now
    )


def intent_url(draft: Draft, target: ChatPost | None) -> str:
    """The X Web Intent that does what the draft proposes, its text filled in."""
    tweet = draft.target_tweet_id or ""
    if draft.kind == DraftKind.LIKE:
        return intents.like_intent(tweet)
    if draft.kind == DraftKind.REPOST:
        return intents.repost_intent(tweet)
    if draft.kind == DraftKind.FOLLOW:
        return intents.follow_intent((target.author_username or "") if target else "")
    if draft.kind == DraftKind.SHARE and tweet:
        return intents.share_intent(draft.text, post_url(tweet, target))
    if draft.kind == DraftKind.REPLY and tweet:
        return intents.reply_intent(draft.text, tweet)
    return intents.post_intent(draft.text)


def post_url(tweet_id: str, post: ChatPost | None = None) -> str:
    """A post's address on X (any handle works in the path; `i` when the author is unknown)."""
    author = post.author_username if post is not None and post.author_username else "i"
    return f"https://x.com/{author}/status/{tweet_id}"


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
    if draft.kind != DraftKind.REPOST and hashtag and count_hashtag(text, hashtag) == 0:
        problems.append(f"hashtag {hashtag} missing")
    return problems


def settle_handoffs(
    store: Store, *, clock: Clock, timeout: timedelta = HANDOFF_TIMEOUT, by: str = "web"
) -> list[Draft]:
    """Hand-offs whose post the worker has since read from the chat become posted (with their ledger row);
    those not seen within `timeout` expire as not seen. Idempotent and safe to run from several processes;
    returns the drafts it moved."""
    now = clock.now()
    with store.session() as session:
        waiting = list(session.scalars(select(Draft.id).where(Draft.state == DraftState.HANDED_OFF)))
    moved = []
    for draft_id in waiting:
        try:
            with store.session() as session:
                draft = get_draft(session, draft_id)
                if _settle_one(session, draft, now=now, timeout=timeout, by=by):
                    moved.append(draft)
        except DraftStateError:
            continue  # settled by another process meanwhile
    return moved


def _settle_one(session: Session, draft: Draft, *, now: datetime, timeout: timedelta, by: str) -> bool:
    since = handed_off_at(draft)
    seen = _own_post_for(session, draft, since)
    if seen is not None:
        draft.x_post_id, draft.posted_at = seen.tweet_id, seen.created_at
        draft_moves.transition(session, draft, DraftState.POSTED, by=by, why="seen on X", at=now)
        # The ledger's time is the policy's checkpoint, the hand-off (see bot.policy.ledger).
        session.add(_handoff_action(draft, seen.tweet_id, since))
        return True
    if now - since >= timeout:
        minutes = round(timeout.total_seconds() / 60)
        why = f"{NOT_SEEN}: no such post read within {minutes} minutes"
        draft_moves.transition(session, draft, DraftState.EXPIRED, by=by, why=why, at=now)
        return True
    return False


def handed_off_at(draft: Draft) -> datetime:
    """When the draft was handed to the person (its newest move to handed_off)."""
    moves = [e.at for e in draft.events if e.to_state == DraftState.HANDED_OFF]
    return max(moves, default=draft.updated_at)


def _own_post_for(session: Session, draft: Draft, since: datetime) -> ChatPost | None:
    """The account's own post, read after the hand-off and not yet in the ledger, that is this draft."""
    taken = select(Action.x_post_id).where(Action.x_post_id.is_not(None))
    query = (
        select(ChatPost)
        .where(
            ChatPost.is_own.is_(True),
            ChatPost.created_at >= since - HANDOFF_CLOCK_SKEW,
            ChatPost.tweet_id.not_in(taken),
        )
        .order_by(ChatPost.created_at)
    )
    wanted = clean(draft.text).strip()
    for post in session.scalars(query):
        same_text = clean(post.text or "").strip() == wanted
        same_reply = draft.kind == DraftKind.REPLY and post.reply_to_tweet_id == draft.target_tweet_id
        if same_text or same_reply:
            return post
    return None


def _handoff_action(draft: Draft, x_post_id: str, now: datetime) -> Action:
    return Action(
        kind=draft.kind,
        chat_slug=draft.chat_slug,
        run_id=draft.run_id,
        draft_id=draft.id,
        target_tweet_id=draft.target_tweet_id,
        x_post_id=x_post_id,
        is_promotional=draft.is_promotional,
        at=now,
        via=Route.HANDOFF,
    )


def edit_problems(store: Store, draft_id: int, text: str) -> list[str]:
    """What is wrong with `text` as draft `draft_id`'s new text (empty: it may be posted), without changing
    anything; `approve` checks the same again."""
    with store.session() as session:
        draft = get_draft(session, draft_id)
        return text_problems(draft, text, _hashtag(session, draft))


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
