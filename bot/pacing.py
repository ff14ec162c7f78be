"""Pacing: how much engagement a chat can take now, so a person can review every draft, nobody is flooded,
and the answers keep their place under the hourly post limit.

- At most `max_pending` of the chat's drafts wait for a person at once.
- Per run: `max_replies` replies, and a few shares, reposts, likes and follows (`RUN_LIMITS`), to others'
  posts; replies to people who talk to the account come on top (the policy limits those per person).
- Per question: one reply, one share or repost and one like to others (replies to people who talk to the
  account come on top).
- The hourly post limit (`policy.posts_per_hour`, counted as the policy counts it: posted in the last hour
  plus waiting to be posted) keeps a slot for each answer still to come, estimated from the questions' pace
  (one every 8 minutes until two are seen) up to the chat's last 10 minutes (the wrap-up), and one more slot
  for people who talk to the account.
- Replies and shares to others' answers only use material the answers still to come will not need (two
  pieces to spare); a reply to someone who talks to the account may use the last of it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Chat, Config
from bot.store.models import Action as LedgerRow
from bot.store.models import ChatPost, ChatRun, Draft, DraftKind, DraftState, PostEvent
from bot.triage import Action

RUN_LIMITS = {Action.SHARE: 2, Action.REPOST: 3, Action.LIKE: 5, Action.FOLLOW: 3}
DIRECT = 0.85  # a triage score this high means the post talks to the account
POST_ACTIONS = (Action.REPLY, Action.SHARE, Action.REPOST)
TEXT_ACTIONS = (Action.REPLY, Action.SHARE)
DRAFTED = (*POST_ACTIONS, Action.LIKE, Action.FOLLOW)
# What the policy counts as posts, and the states in which a draft waits to become one.
POST_KINDS = (DraftKind.ANSWER, DraftKind.POST, DraftKind.REPLY, DraftKind.SHARE, DraftKind.REPOST)
WAITING = (DraftState.PENDING, DraftState.APPROVED, DraftState.POSTING, DraftState.HANDED_OFF)
DEFAULT_GAP = timedelta(minutes=8)
WRAP_UP = timedelta(minutes=10)


@dataclass
class Pace:
    """What is left of each cap: `allows` a candidate, then `admit` counts it."""

    pending: int
    max_pending: int
    slots: int
    limits: dict[Action, int]
    spare: int = 0  # pieces of material unsaid beyond those the answers still to come will need
    per_kind: Counter[str] = field(default_factory=Counter)
    per_question: Counter[tuple[str, int | None]] = field(default_factory=Counter)

    @property
    def full(self) -> bool:
        return self.pending >= self.max_pending

    def allows(self, kind: Action, question: int | None, score: float) -> bool:
        """Whether a draft of `kind` about Q`question` may be made now."""
        direct = score >= DIRECT
        is_post = kind in POST_ACTIONS
        if self.full or (not direct and self.per_kind[kind] >= self.limits[kind]):
            return False
        if is_post and self.slots < (1 if direct else 2):
            return False
        if not direct and kind != Action.FOLLOW and self.per_question[(_group(kind), question)] >= 1:
            return False
        # The answers to come need the material; a direct question may still use the last of it.
        return not (kind in TEXT_ACTIONS and not direct and self.spare < 2)

    def admit(self, kind: Action, question: int | None, score: float) -> None:
        """Count a draft of `kind` about Q`question` against the caps."""
        direct = score >= DIRECT
        is_post = kind in POST_ACTIONS
        group = (_group(kind), question)
        self.pending += 1
        self.spare -= kind in TEXT_ACTIONS
        self.per_kind[kind] += not direct
        self.slots -= is_post
        self.per_question[group] += not direct


def pace_for(
    session: Session, run: ChatRun, chat: Chat, config: Config, now: datetime, *, unsaid: int
) -> Pace:
    """The caps of `run` as they stand now; `unsaid` counts the pieces of material not said yet."""
    drafts = list(session.scalars(select(Draft).where(Draft.run_id == run.id)))
    pending = session.scalar(
        select(func.count(Draft.id)).where(Draft.chat_slug == chat.slug, Draft.state == DraftState.PENDING)
    )
    to_come = answers_to_come(session, run, now)
    pace = Pace(
        pending=pending or 0,
        max_pending=chat.max_pending,
        slots=config.policy.posts_per_hour - _posts_counted(session, now) - to_come,
        limits={**RUN_LIMITS, Action.REPLY: chat.max_replies},
        spare=unsaid - to_come,
    )
    for draft in drafts:
        if draft.kind in DRAFTED and (draft.score or 0.0) < DIRECT:
            pace.per_kind[draft.kind] += 1
            pace.per_question[(_group(Action(draft.kind)), draft.question_number)] += 1
    return pace


def answers_to_come(session: Session, run: ChatRun, now: datetime) -> int:
    """How many more questions the host will likely ask before the wrap-up, at the pace seen so far."""
    asked = sorted(
        session.scalars(
            select(ChatPost.created_at).where(ChatPost.run_id == run.id, ChatPost.event == PostEvent.QUESTION)
        )
    )
    gaps = [b - a for a, b in pairwise(asked)]
    gap = sum(gaps, timedelta()) / len(gaps) if gaps else DEFAULT_GAP
    left = run.window_end - WRAP_UP - now
    return math.ceil(left / gap) if left > timedelta() and gap > timedelta() else 0


def _posts_counted(session: Session, now: datetime) -> int:
    posted = session.scalar(
        select(func.count(LedgerRow.id)).where(
            LedgerRow.kind.in_(POST_KINDS), LedgerRow.at > now - timedelta(hours=1)
        )
    )
    waiting = session.scalar(
        select(func.count(Draft.id)).where(Draft.kind.in_(POST_KINDS), Draft.state.in_(WAITING))
    )
    return (posted or 0) + (waiting or 0)


def _group(kind: Action) -> str:
    """Per question, one of each group: a reply, a share or repost, a like."""
    return "share" if kind == Action.REPOST else str(kind)
