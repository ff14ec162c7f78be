"""Whom the account may engage with: never someone on the blocklist, never someone who opted out, and not
more than `replies_per_person` times with one person in one chat session.

An opt-out is a post addressed to the account (mentioning it, or replying to one of its posts) that holds
one of the opt-out words ("stop", "unsubscribe", configurable) as a whole word. It is honoured from then
on, in every chat, and outlives the post's text (which retention purges).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.policy import ledger
from bot.store.db import in_chunks
from bot.store.models import Action, ChatPost, ChatRun, OptOut


def opted_out(session: Session, username: str) -> OptOut | None:
    """The opt-out of `username` ('@Name' or 'name', any case), when they opted out."""
    name = username.removeprefix("@").lower()
    return session.scalars(select(OptOut).where(OptOut.username == name)).first()


def note_opt_out(session: Session, post: ChatPost, chat_slug: str, config: Config) -> OptOut | None:
    """Record the opt-out `post` makes, if it makes one (idempotent); returns the new row."""
    author = (post.author_username or "").lower()
    if post.is_own or not author or not post.text:
        return None
    word = opt_out_word(post.text, config)
    if word is None or not _addressed_to_account(session, post) or opted_out(session, author):
        return None
    row = OptOut(username=author, chat_slug=chat_slug, tweet_id=post.tweet_id, word=word, at=post.created_at)
    session.add(row)
    session.flush()
    return row


def opt_out_word(text: str, config: Config) -> str | None:
    """The first opt-out word `text` holds as a whole word (any case), or None."""
    for word in config.policy.opt_out_words:
        if _whole_word(word).search(text):
            return word
    return None


@functools.cache
def _whole_word(word: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)


def may_engage_with(
    session: Session, username: str, chat_slug: str, config: Config, now: datetime
) -> tuple[bool, str]:
    """Whether the account may reply to, share, repost, like or follow `username` in this chat now; why not.

    Counts the ledger and the drafts already approved or on their way, so triage need not draft more."""
    return EngageCheck(session, chat_slug, config, now)(username)


class EngageCheck:
    """`may_engage_with` for the many authors of one chat at once: what does not depend on the person (the
    blocklist, the chat's current run, its replies in flight) is read at the first question, not at each."""

    def __init__(self, session: Session, chat_slug: str, config: Config, now: datetime) -> None:
        self.session, self.chat_slug, self.config, self.now = session, chat_slug, config, now
        self._opt_outs: dict[str, OptOut | None] = {}  # read ahead by `prefetch`

    def prefetch(self, usernames: Iterable[str]) -> None:
        """Read whether `usernames` opted out, a query per `IN_CHUNK` names, not one per person."""
        names = sorted({name.removeprefix("@").lower() for name in usernames} - self._opt_outs.keys())
        for chunk in in_chunks(names):
            self._opt_outs.update(dict.fromkeys(chunk))
            for row in self.session.scalars(select(OptOut).where(OptOut.username.in_(chunk))):
                self._opt_outs[row.username] = row

    @functools.cached_property
    def _blocked(self) -> set[str]:
        return {handle.lower() for handle in self.config.policy.blocklist}

    @functools.cached_property
    def _run_id(self) -> int | None:
        return _current_run(self.session, self.chat_slug, self.now)

    @functools.cached_property
    def _flying(self) -> list[ledger.Entry]:
        return [
            entry
            for entry in ledger.in_flight(self.session, self.config, ledger.IN_FLIGHT_AT_APPROVAL)
            if entry.kind in ledger.REPLY_KINDS
            and entry.chat_slug == self.chat_slug
            and entry.run_id == self._run_id
        ]

    def __call__(self, username: str) -> tuple[bool, str]:
        name = username.removeprefix("@").lower()
        if name in self._blocked:
            return False, f"@{name} is on your blocklist"
        opt_out = self._opt_outs[name] if name in self._opt_outs else opted_out(self.session, name)
        if opt_out is not None:
            return False, f"@{name} opted out ({opt_out.word!r}, {opt_out.at:%Y-%m-%d})"
        limit = self.config.policy.replies_per_person
        done = ledger.replies_to(self.session, name, self._run_id, self.chat_slug)
        count = done + ledger.targets_by(self.session, self._flying, name)
        if count >= limit:
            return False, f"already {count} replies to @{name} this session (at most {limit})"
        return True, ""


def _current_run(session: Session, chat_slug: str, now: datetime) -> int | None:
    query = (
        select(ChatRun.id)
        .where(ChatRun.chat_slug == chat_slug, ChatRun.window_start <= now)
        .order_by(ChatRun.window_start.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def _addressed_to_account(session: Session, post: ChatPost) -> bool:
    if post.mentions_account:
        return True
    if post.reply_to_tweet_id is None:
        return False
    own = or_(
        select(Action.id).where(Action.x_post_id == post.reply_to_tweet_id).exists(),
        select(ChatPost.id)
        .where(ChatPost.tweet_id == post.reply_to_tweet_id, ChatPost.is_own.is_(True))
        .exists(),
    )
    return bool(session.scalar(select(own)))
