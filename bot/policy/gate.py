"""The two checkpoints every draft passes: a person's approval, and the moment it goes out (posted through
the API or handed to the person). Both run under one lock, so the check and the move it allows are atomic:
two approvals, or two workers posting, can never both pass on the same standing.

The lock is an UPDATE of the single `policy_locks` row at the start of the transaction: Postgres holds the
row lock until commit (the second waits, then reads what the first committed); SQLite allows one writer
(the second waits on its busy timeout, then starts from the committed state).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.config import Config
from bot.errors import DraftStateError
from bot.policy.routing import own_posts, route_for, target_post
from bot.policy.rules import Stage, Verdict, verdict
from bot.store.drafts import claim_for_posting, transition
from bot.store.models import Draft, DraftKind, DraftState, PolicyLock, Route

LOCK = "actions"


class PolicyHold(DraftStateError):
    """The policy does not allow this draft now; `verdict` says why and what is missing."""

    def __init__(self, draft_id: int, found: Verdict) -> None:
        self.draft_id = draft_id
        self.verdict = found
        state = "held" if found.held else "not allowed"
        super().__init__(f"draft {draft_id} is {state}: {found.reason}; nothing changed")


def lock(session: Session, now: datetime) -> None:
    """Take the policy lock for the rest of this transaction (call it first in the transaction)."""
    take = update(PolicyLock).where(PolicyLock.name == LOCK).values(at=now)
    if cast(CursorResult[Any], session.execute(take)).rowcount == 1:
        return
    insert = postgres_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(PolicyLock).values(name=LOCK, at=now).on_conflict_do_nothing())  # the first time
    session.execute(take)


def check_approval(session: Session, draft: Draft, config: Config, now: datetime) -> Verdict:
    """Route `draft` (API or hand-off, setting `route` and `handoff_url`) and raise `PolicyHold` unless it may
    be approved now. A hand-off goes out at approval, so it is checked as at posting. Call it after `lock`,
    in the approval's own transaction (a raise rolls the routing back with it)."""
    own = own_posts(session) if draft.kind == DraftKind.REPLY else set()  # only a reply needs them
    choice = route_for(draft, target_post(session, draft), config, own_post_ids=own)
    draft.route = choice.route
    draft.handoff_url = choice.handoff_url
    stage: Stage = "posting" if choice.route == Route.HANDOFF else "approval"
    found = verdict(session, draft, config, now, stage)
    if not found.allowed:
        raise PolicyHold(draft.id, found)
    _settle_promotion(session, draft, found)
    return found


@dataclass(frozen=True)
class Claim:
    """What the posting checkpoint did: `draft` claimed (now posting), or not, with the verdict."""

    draft: Draft | None
    verdict: Verdict | None


def claim(session: Session, draft_id: int, config: Config, now: datetime, *, by: str) -> Claim:
    """Lock, re-check and claim approved draft `draft_id` for posting, in the caller's transaction.

    Allowed: claimed (approved → posting). Held only by posts per hour/day: left approved (the caller waits
    until `verdict.retry_at`). Held or refused otherwise: back to pending, the reason in its history, so a
    person sees it in the queue. Not approved any more (another worker took it): `Claim(None, None)`.
    """
    lock(session, now)
    draft = session.get(Draft, draft_id, populate_existing=True)
    if draft is None or draft.state != DraftState.APPROVED:
        return Claim(None, None)
    found = verdict(session, draft, config, now, "posting")
    if found.allowed:
        _settle_promotion(session, draft, found)
        return Claim(claim_for_posting(session, draft_id, at=now, by=by), found)
    if not found.only_waits_for_time:
        why = f"{'held' if found.held else 'not allowed'} at posting: {found.reason}"
        transition(session, draft, DraftState.PENDING, by=by, why=why, at=now, expected=DraftState.APPROVED)
    return Claim(None, found)


def _settle_promotion(session: Session, draft: Draft, found: Verdict) -> None:
    """Keep the verdict on the draft, so whoever writes its ledger row reads it there. It only ever rises
    (the strictest verdict wins) unless a person reclassified the draft, whose word it then is."""
    draft.is_promotional = found.promotional
    session.flush()
