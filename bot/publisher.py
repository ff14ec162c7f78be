"""The publisher: posts approved drafts through the X gateway, exactly once.

    approved --claim (one transaction)--> posting --API call--> posted (+ ledger row, same transaction)
                                                    \\--403 reply not allowed--> handed_off (intent link)
                                                    \\--permanent error------> failed (reason kept)
                                                    \\--transient error------> approved (tried again later)

A crash between the API call and the commit leaves the draft in `posting`. At start, `reconcile` looks for
such a draft's text among the account's own recent posts: found means it went out (mark it posted), not
found means it did not (back to approved). Posts are spaced `min_gap` seconds apart.

The claim is the policy's posting checkpoint (`bot.policy.claim`): under the policy lock it checks the draft
again (engage before promote, promotional share, posts per hour and day, people) and claims it, leaves it
approved until a posts-per-hour/day slot frees, or sends it back to pending with the reason. A share goes
out as a quote only on unrestricted access (else it was handed off at approval). A post X says is gone
takes its drafts with it. Every ten minutes the publisher also blanks the texts retention no longer keeps.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import policy
from bot.clock import Clock
from bot.config import Config
from bot.errors import XError, XNotFound, XPermanentError, XReplyNotAllowed, XTransientError
from bot.intents import reply_intent
from bot.store.db import Store
from bot.store.drafts import transition
from bot.store.models import Draft, DraftKind, DraftState, Route
from bot.x.gateway import XGateway

log = structlog.get_logger("bot.publisher")
BY = "publisher"
HOUSEKEEPING_EVERY = timedelta(minutes=10)


class Publisher:
    def __init__(
        self, *, config: Config, store: Store, gateway: XGateway, clock: Clock, min_gap: float = 20.0
    ) -> None:
        self.config = config
        self.store = store
        self.gateway = gateway
        self.clock = clock
        self.min_gap = timedelta(seconds=min_gap)
        self._retry_at: datetime | None = None
        self._housekept_at: datetime | None = None

    def reconcile(self) -> int:
        """Settle drafts left in `posting` by a crash; returns how many there were."""
        with self.store.session() as session:
            stuck = list(session.scalars(select(Draft).where(Draft.state == DraftState.POSTING)))
        if not stuck:
            return 0
        own = {post.text: post.id for post in self.gateway.own_recent_posts(max_results=100)}
        for draft in stuck:
            with self.store.session() as session:
                current = session.get(Draft, draft.id)
                assert current is not None
                if current.kind != DraftKind.REPOST and current.text in own:
                    _mark_posted(
                        session,
                        current,
                        own[current.text],
                        self.clock.now(),
                        config=self.config,
                        why="found on X at restart",
                    )
                else:
                    transition(
                        session,
                        current,
                        DraftState.APPROVED,
                        by=BY,
                        why="not found on X at restart",
                        at=self.clock.now(),
                    )
        return len(stuck)

    def next_due(self) -> datetime | None:
        """When the next post may go out (None: any time): `min_gap` after the last one, later after a
        transient failure."""
        with self.store.session() as session:
            last = session.scalar(select(func.max(Draft.posted_at)))
        times = [t for t in (last + self.min_gap if last else None, self._retry_at) if t is not None]
        return max(times, default=None)

    def has_work(self) -> bool:
        """Whether an approved draft waits for the API."""
        with self.store.session() as session:
            query = select(Draft.id).where(Draft.state == DraftState.APPROVED, Draft.route == Route.API)
            return session.scalar(query.limit(1)) is not None

    def publish_one(self) -> Draft | None:
        """Post the oldest approved API draft when one is due; returns it in its new state."""
        now = self.clock.now()
        self._housekeeping(now)
        due = self.next_due()
        if due is not None and due > now:
            return None
        with self.store.session() as session:
            draft_id = session.scalar(
                select(Draft.id)
                .where(Draft.state == DraftState.APPROVED, Draft.route == Route.API)
                .order_by(Draft.updated_at, Draft.id)
                .limit(1)
            )
            if draft_id is None:
                return None
            claim = policy.claim(session, draft_id, self.config, now, by=BY)
            if claim.draft is None and claim.verdict is not None and not claim.verdict.only_waits_for_time:
                log.info("draft.held", draft=draft_id, reason=claim.verdict.reason)
                return session.get(Draft, draft_id)  # back in the queue with the reason: try the next one
        if claim.draft is None:  # another worker claimed it, or a posts-per-hour/day slot is not free yet
            if claim.verdict is not None:
                self._retry_at = claim.verdict.retry_at
            return None
        return self._send(claim.draft)

    def _housekeeping(self, now: datetime) -> None:
        """Retention's purge of other people's texts, at most every `HOUSEKEEPING_EVERY`."""
        if self._housekept_at is not None and now - self._housekept_at < HOUSEKEEPING_EVERY:
            return
        self._housekept_at = now
        with self.store.session() as session:
            policy.purge_texts(session, now)

    def _send(self, draft: Draft) -> Draft:
        structlog.contextvars.bind_contextvars(draft=draft.id)
        try:
            x_id = self._call(draft)
        except XError as exc:
            return self._failed(draft, exc)
        finally:
            structlog.contextvars.unbind_contextvars("draft")
        with self.store.session() as session:
            current = session.get(Draft, draft.id)
            assert current is not None
            _mark_posted(
                session, current, x_id, self.clock.now(), config=self.config, why="posted through the API"
            )
        log.info("draft.posted", draft=draft.id, x_post_id=x_id)
        self._retry_at = None
        return current

    def _call(self, draft: Draft) -> str | None:
        if draft.kind == DraftKind.REPOST:
            assert draft.target_tweet_id is not None
            self.gateway.repost(draft.target_tweet_id)
            return None
        reply_to = draft.target_tweet_id if draft.kind == DraftKind.REPLY else None
        quote_of = draft.target_tweet_id if draft.kind == DraftKind.SHARE else None
        return self.gateway.create_post(draft.text, reply_to=reply_to, quote_of=quote_of)

    def _failed(self, draft: Draft, exc: XError) -> Draft:
        now = self.clock.now()
        with self.store.session() as session:
            current = session.get(Draft, draft.id)
            assert current is not None
            if isinstance(exc, XReplyNotAllowed) and current.target_tweet_id:
                current.route = Route.HANDOFF
                current.handoff_url = reply_intent(current.text, current.target_tweet_id)
                transition(session, current, DraftState.HANDED_OFF, by=BY, why=str(exc), at=now)
            elif isinstance(exc, XNotFound) and current.target_tweet_id:
                transition(session, current, DraftState.FAILED, by=BY, why=str(exc), at=now)
                policy.forget_deleted(session, current.target_tweet_id, now)  # its drafts go with the post
            elif isinstance(exc, XTransientError):
                self._retry_at = now + timedelta(seconds=exc.retry_after or 30)
                transition(session, current, DraftState.APPROVED, by=BY, why=f"will retry: {exc}", at=now)
            else:
                assert isinstance(exc, XPermanentError)
                current.error = str(exc)
                transition(session, current, DraftState.FAILED, by=BY, why=str(exc), at=now)
        log.warning("draft.not_posted", draft=draft.id, state=current.state, reason=str(exc))
        return current


def _mark_posted(
    session: Session, draft: Draft, x_id: str | None, now: datetime, *, config: Config, why: str
) -> None:
    claimed_at = draft.updated_at  # the ledger's time is the policy's checkpoint (see bot.policy.ledger)
    draft.x_post_id = x_id
    draft.posted_at = now
    transition(session, draft, DraftState.POSTED, by=BY, why=why, at=now)
    policy.record_action(session, draft, config, x_post_id=x_id, at=claimed_at, via=Route.API)
