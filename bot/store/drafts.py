"""The draft state machine: which moves are allowed, and making each one atomically with its event row.

The happy path is pending → approved → posting → posted; every allowed move (`TRANSITIONS`):

    pending     → approved | rejected | expired
    approved    → posting | handed_off | pending (unapprove) | expired
    posting     → posted | failed | approved (transient failure: retry later) | handed_off (403 reply)
    handed_off  → posted (seen) | expired (not seen)
    failed      → pending (a person retries)
    posted, rejected, expired: terminal

Every move is a conditional `UPDATE ... WHERE id = :id AND state = :from`, so two processes (the web
UI and the worker, or two workers) cannot both make a move from the same state: the loser changes
nothing and is told the draft's real state. Each move writes a `draft_events` row in the same
transaction. Times come from the caller's `Clock`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from bot.errors import DraftStateError
from bot.store.models import Draft, DraftEvent, DraftState

S = DraftState
TRANSITIONS: Mapping[DraftState, frozenset[DraftState]] = {
    S.PENDING: frozenset({S.APPROVED, S.REJECTED, S.EXPIRED}),
    S.APPROVED: frozenset({S.POSTING, S.HANDED_OFF, S.PENDING, S.EXPIRED}),
    S.POSTING: frozenset({S.POSTED, S.FAILED, S.APPROVED, S.HANDED_OFF}),
    S.HANDED_OFF: frozenset({S.POSTED, S.EXPIRED}),
    S.FAILED: frozenset({S.PENDING}),
    S.POSTED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}
TERMINAL_STATES = frozenset(state for state, moves in TRANSITIONS.items() if not moves)
# A person may rewrite a draft's text only before it is on its way to X.
EDITABLE_STATES = frozenset({S.PENDING, S.APPROVED})
# Drafts that lapse when their `expires_at` passes (a hand-off expires by the worker's own rule).
EXPIRABLE_STATES = frozenset({S.PENDING, S.APPROVED})


def can_transition(from_state: str, to_state: str) -> bool:
    """Whether the table allows moving a draft from `from_state` to `to_state`."""
    return from_state in TRANSITIONS and to_state in TRANSITIONS[DraftState(from_state)]


def transition(
    session: Session,
    draft: Draft,
    to: str,
    *,
    by: str,
    why: str = "",
    at: datetime,
    expected: str | Collection[str] | None = None,
) -> DraftEvent:
    """Move `draft` to state `to`, recording who (`by`: cli, web, worker, publisher…), why and when.

    `expected` narrows the states the move may start from (a person's "approve" means from pending
    only, never a draft the publisher is posting). Raises `DraftStateError` and changes nothing when
    the draft is in another state, here or in the database: "draft 12 is posted, not pending; nothing
    changed". Fields that go with the move (x_post_id, posted_at, error…) are the caller's to set.
    """
    target = _known_state(to)
    _require_by(by)
    starts = _starting_states(target, expected)
    _attach(session, draft)
    seen = draft.state
    if seen not in starts:
        raise _not_allowed(draft.id, seen, starts)
    if not _update_if_in_state(session, draft.id, seen, {"state": target, "updated_at": at}):
        session.refresh(draft)  # moved by someone else since it was read: report where it is now
        raise _not_allowed(draft.id, draft.state, [seen])
    return _record(session, draft.id, seen, target, by=by, why=why, at=at)


def approve(session: Session, draft_id: int, *, by: str, at: datetime, why: str = "") -> Draft:
    """A person approves a pending draft."""
    return _move_by_id(session, draft_id, S.PENDING, S.APPROVED, by=by, at=at, why=why)


def reject(session: Session, draft_id: int, *, by: str, at: datetime, why: str = "") -> Draft:
    """A person rejects a pending draft."""
    return _move_by_id(session, draft_id, S.PENDING, S.REJECTED, by=by, at=at, why=why)


def unapprove(session: Session, draft_id: int, *, by: str, at: datetime, why: str = "") -> Draft:
    """A person takes back an approval the publisher has not acted on yet."""
    return _move_by_id(session, draft_id, S.APPROVED, S.PENDING, by=by, at=at, why=why)


def retry(session: Session, draft_id: int, *, by: str, at: datetime, why: str = "") -> Draft:
    """A person sends a failed draft back to review."""
    return _move_by_id(session, draft_id, S.FAILED, S.PENDING, by=by, at=at, why=why)


def _move_by_id(
    session: Session, draft_id: int, source: str, target: str, *, by: str, at: datetime, why: str
) -> Draft:
    draft = get_draft(session, draft_id)
    transition(session, draft, target, by=by, why=why, at=at, expected=source)
    return draft


def claim_for_posting(session: Session, draft_id: int, *, at: datetime, by: str) -> Draft | None:
    """Atomically move draft `draft_id` from approved to posting; None when it is not approved (any more).

    Of several workers claiming the same draft, exactly one gets it. Commit (leave the session block)
    before calling X, so the claim is visible to the others and no row lock is held during the call.
    """
    _require_by(by)
    values = {"state": S.POSTING, "updated_at": at}
    if not _update_if_in_state(session, draft_id, S.APPROVED, values):
        return None
    draft = session.get(Draft, draft_id, populate_existing=True)
    assert draft is not None  # the UPDATE just matched it
    _record(session, draft_id, S.APPROVED, S.POSTING, by=by, why="claimed for posting", at=at)
    return draft


def edit_text(
    session: Session, draft: Draft, text: str, *, by: str, at: datetime, why: str = "edited"
) -> DraftEvent:
    """Replace a pending or approved draft's text; the event keeps the text it had before."""
    _require_by(by)
    _attach(session, draft)
    current, before = draft.state, draft.text
    if current not in EDITABLE_STATES or not _update_if_in_state(
        session, draft.id, current, {"text": text, "updated_at": at}
    ):
        session.refresh(draft)
        raise DraftStateError(
            f"draft {draft.id} is {draft.state}, not pending or approved: it can no longer be edited; "
            "nothing changed"
        )
    event = _record(session, draft.id, current, current, by=by, why=why, at=at)
    event.text_before = before
    return event


def expire_due(session: Session, *, at: datetime, by: str = "worker") -> list[Draft]:
    """Expire every pending or approved draft whose `expires_at` is at or before `at`; returns them."""
    due = session.scalars(
        select(Draft).where(Draft.state.in_(EXPIRABLE_STATES), Draft.expires_at <= at).order_by(Draft.id)
    ).all()
    expired = []
    for draft in due:
        try:
            transition(session, draft, S.EXPIRED, by=by, why="not acted on before it expired", at=at)
        except DraftStateError:
            continue  # someone else moved it meanwhile: theirs wins
        expired.append(draft)
    return expired


def get_draft(session: Session, draft_id: int) -> Draft:
    """The draft with this id; `DraftStateError` ("no draft 99") when there is none."""
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise DraftStateError(f"no draft {draft_id}")
    return draft


def pending_drafts(session: Session, chat_slug: str | None = None, include_all: bool = False) -> list[Draft]:
    """Drafts waiting for a person, oldest first; `include_all` lists drafts in every state instead."""
    query = select(Draft).order_by(Draft.created_at, Draft.id)
    if not include_all:
        query = query.where(Draft.state == S.PENDING)
    if chat_slug is not None:
        query = query.where(Draft.chat_slug == chat_slug)
    return list(session.scalars(query))


def _update_if_in_state(session: Session, draft_id: int, state: str, values: dict[str, Any]) -> bool:
    """UPDATE the draft only if it is still in `state`; True when it was. Atomic on SQLite and Postgres."""
    result = session.execute(update(Draft).where(Draft.id == draft_id, Draft.state == state).values(**values))
    return cast(CursorResult[Any], result).rowcount == 1


def _record(
    session: Session, draft_id: int, from_state: str, to_state: str, *, by: str, why: str, at: datetime
) -> DraftEvent:
    event = DraftEvent(draft_id=draft_id, from_state=from_state, to_state=to_state, at=at, by=by, why=why)
    session.add(event)
    return event


def _attach(session: Session, draft: Draft) -> None:
    """Make sure the draft is in this session and has an id (a new or a detached one is fine)."""
    if draft not in session:
        session.add(draft)
    if draft.id is None:
        session.flush()


def _known_state(name: str) -> DraftState:
    try:
        return DraftState(name)
    except ValueError:
        known = ", ".join(DraftState)
        raise DraftStateError(f"unknown draft state {name!r}; the states are {known}") from None


def _require_by(by: str) -> None:
    if not by or len(by) > 32:
        raise DraftStateError(f"`by` says who makes the change (cli, web…) in 1 to 32 characters, not {by!r}")


def _starting_states(target: DraftState, expected: str | Collection[str] | None) -> list[str]:
    """The states a move to `target` may start from, in `DraftState` order."""
    sources = [state for state, moves in TRANSITIONS.items() if target in moves]
    if expected is None:
        return list(sources)
    wanted = {expected} if isinstance(expected, str) else set(expected)
    if not wanted <= set(sources):
        raise ValueError(f"the state machine has no move from {sorted(wanted)} to {target}")
    return [state for state in sources if state in wanted]


def _not_allowed(draft_id: int, current: str, starts: list[str]) -> DraftStateError:
    expected = ", ".join(starts[:-1]) + " or " + starts[-1] if len(starts) > 1 else starts[0]
    return DraftStateError(f"draft {draft_id} is {current}, not {expected}; nothing changed")
