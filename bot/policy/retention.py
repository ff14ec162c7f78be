"""Keeping only what we may: other people's post texts go 24 h after their chat window closes (ids, metrics
and the account's own actions stay), and a post deleted on X takes its text and its drafts with it.

X's developer rules ask that a post deleted on X leaves the app's store within 24 h: `check_deleted_targets`
looks up the posts that live drafts answer (X bills a post read once a day, so a check every few minutes
costs one read per post and day), and the publisher calls `forget_deleted` when X says a target is gone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from bot.errors import XError
from bot.store.db import Store
from bot.store.models import ChatPost, ChatRun, Draft, DraftState
from bot.x.gateway import XGateway

log = structlog.get_logger("bot.policy.retention")

TEXT_KEPT = timedelta(hours=24)
# Drafts about a deleted post stay only when they are already on X, or on their way there this instant.
KEEP_STATES = (DraftState.POSTED, DraftState.POSTING)
LIVE_STATES = (DraftState.PENDING, DraftState.APPROVED)


def purge_texts(session: Session, now: datetime) -> int:
    """Blank other people's texts in runs whose window closed 24 h or more ago; how many were blanked."""
    closed = select(ChatRun.id).where(ChatRun.window_end <= now - TEXT_KEPT)
    purge = (
        update(ChatPost)
        .where(ChatPost.run_id.in_(closed), ChatPost.is_own.is_(False), ChatPost.text.is_not(None))
        .values(text=None)
    )
    return cast(CursorResult[Any], session.execute(purge)).rowcount


def forget_deleted(session: Session, tweet_id: str, now: datetime) -> int:
    """A post deleted on X: blank its text everywhere, mark it deleted, and delete the drafts about it that
    are not on X; returns how many drafts went."""
    session.execute(
        update(ChatPost)
        .where(ChatPost.tweet_id == tweet_id)
        .values(text=None, deleted_at=now)
        .execution_options(synchronize_session=False)
    )
    drafts = session.scalars(
        select(Draft).where(Draft.target_tweet_id == tweet_id, Draft.state.not_in(KEEP_STATES))
    ).all()
    for draft in drafts:
        session.delete(draft)
    if drafts:
        log.info("retention.target_deleted", tweet=tweet_id, drafts=[d.id for d in drafts])
    return len(drafts)


def check_deleted_targets(store: Store, gateway: XGateway, now: datetime, *, at_most: int = 20) -> int:
    """Look up the posts live drafts answer; forget those X no longer has. Returns how many were gone.

    No transaction is open while X is asked (the usage recorder writes its own)."""
    with store.session() as session:
        query = select(Draft.target_tweet_id).where(
            Draft.state.in_(LIVE_STATES), Draft.target_tweet_id.is_not(None)
        )
        targets = list(dict.fromkeys(t for t in session.scalars(query.order_by(Draft.id)) if t))[:at_most]
    gone = []
    for tweet_id in targets:
        try:
            if gateway.lookup(tweet_id) is None:
                gone.append(tweet_id)
        except XError as error:  # try again next time
            log.warning("retention.lookup_failed", tweet=tweet_id, error=str(error))
    with store.session() as session:
        for tweet_id in gone:
            forget_deleted(session, tweet_id, now)
    return len(gone)
