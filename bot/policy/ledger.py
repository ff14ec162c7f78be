"""The ledger (`actions`): what the account actually did on X, and the questions the rules ask of it.

Only the ledger earns credits. Drafts on their way to X (claimed for posting, handed to the person, or
approved when a person approves another) are "in flight": they count against the limits and a promotion in
flight counts as a promotion made now, so no second one can slip past while the first is on its way.
An action's `at` is the policy's checkpoint that let it go (claimed for posting, or handed off), seconds
before X shows it (or, after a crash, the time it was claimed): the ledger is then in the order the checks
ran under their lock, so what each check saw is exactly what the ledger shows before it. Order is
`(at, id)`: actions recorded at the same instant keep the order they were written in.

A page that judges many drafts at once (the dashboard's queue, `chatcaddy policy`) reads the ledger once
for all of them inside `shared_reads(session)`: the drafts in flight, the counts and the authors are then
read at their first use and reused, instead of once per draft.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from bot.config import Config
from bot.policy.promotion import draft_promotion
from bot.store.db import in_chunks
from bot.store.models import Action, ChatPost, Draft, DraftKind, DraftState, Route

K = DraftKind
# Actions that put a post on the account's timeline (likes and follows do not).
POST_KINDS = frozenset({K.ANSWER, K.POST, K.REPLY, K.SHARE, K.REPOST})
# Actions addressed to one person's post, counted by `replies_per_person`.
REPLY_KINDS = frozenset({K.REPLY, K.SHARE})
# Drafts that count as in flight when a draft is checked at posting, and at approval.
IN_FLIGHT_AT_POSTING = frozenset({DraftState.POSTING, DraftState.HANDED_OFF})
IN_FLIGHT_AT_APPROVAL = IN_FLIGHT_AT_POSTING | {DraftState.APPROVED}
_SHARED = "bot.policy.ledger.shared_reads"
T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    """One action in the ledger, or one draft in flight (then `at` is when it was claimed or handed off)."""

    kind: str
    chat_slug: str
    at: datetime
    promotional: bool
    target_tweet_id: str | None
    run_id: int | None
    in_flight: bool = False


def record_action(
    session: Session,
    draft: Draft,
    config: Config,
    *,
    x_post_id: str | None,
    at: datetime,
    via: str = Route.API,
) -> Action:
    """Write the ledger row for a draft that reached X; promotional as the policy judges the draft now."""
    action = Action(
        kind=draft.kind,
        chat_slug=draft.chat_slug,
        run_id=draft.run_id,
        draft_id=draft.id,
        target_tweet_id=draft.target_tweet_id,
        x_post_id=x_post_id,
        is_promotional=draft_promotion(draft, config)[0],
        at=at,
        via=via,
    )
    session.add(action)
    return action


@dataclass
class _Shared:
    """What `shared_reads` has read so far: each answer by its question, and the authors by post."""

    answers: dict[Hashable, Any] = field(default_factory=dict)
    authors: dict[str, str | None] = field(default_factory=dict)


@contextmanager
def shared_reads(session: Session) -> Iterator[None]:
    """Within it, every ledger question asked of `session` is read once and then reused: the drafts in
    flight (with their promotion verdicts), the counts, the chats' last promotions and the posts' authors.
    For reading only, such as judging a whole queue: nothing may change the ledger or a draft's state
    through `session` meanwhile. Nested uses share the outer one."""
    if _SHARED in session.info:
        yield
        return
    session.info[_SHARED] = _Shared()
    try:
        yield
    finally:
        session.info.pop(_SHARED, None)


def _shared(session: Session) -> _Shared | None:
    shared: _Shared | None = session.info.get(_SHARED)
    return shared


def _once(session: Session, key: Hashable, read: Callable[[], T]) -> T:
    """`read()`, or inside `shared_reads` what it answered the first time `key` was asked."""
    shared = _shared(session)
    if shared is None:
        return read()
    if key not in shared.answers:
        shared.answers[key] = read()
    answer: T = shared.answers[key]
    return answer


def in_flight(
    session: Session, config: Config, states: Collection[str], *, besides: int | None = None
) -> list[Entry]:
    """Drafts in `states` (other than draft `besides`) as ledger entries that have not happened yet."""
    every = _once(session, ("in_flight", frozenset(states)), lambda: _in_flight(session, config, states))
    return [entry for draft_id, entry in every if draft_id != besides]


def _in_flight(session: Session, config: Config, states: Collection[str]) -> list[tuple[int, Entry]]:
    query = select(Draft).where(Draft.state.in_(states))
    return [
        (
            d.id,
            Entry(
                kind=d.kind,
                chat_slug=d.chat_slug,
                at=d.updated_at,
                promotional=draft_promotion(d, config)[0],
                target_tweet_id=d.target_tweet_id,
                run_id=d.run_id,
                in_flight=True,
            ),
        )
        for d in session.scalars(query)
    ]


def last_promotion(session: Session, chat_slug: str) -> Action | None:
    """The chat's newest promotional action."""
    query = (
        select(Action)
        .where(Action.chat_slug == chat_slug, Action.is_promotional.is_(True))
        .order_by(Action.at.desc(), Action.id.desc())
        .limit(1)
    )
    return _once(session, ("last_promotion", chat_slug), lambda: session.scalars(query).first())


def kinds_since(session: Session, chat_slug: str, after: Action | None) -> dict[str, int]:
    """How many actions of each kind the chat's ledger holds after `after` (all of them when None)."""
    query = select(Action.kind, func.count()).where(Action.chat_slug == chat_slug).group_by(Action.kind)
    if after is not None:
        query = query.where(tuple_(Action.at, Action.id) > tuple_(after.at, after.id))
    key = ("kinds_since", chat_slug, after.id if after is not None else None)
    return dict(_once(session, key, lambda: {kind: count for kind, count in session.execute(query)}))


def posts_since(session: Session, since: datetime, *, promotional: bool | None = None) -> int:
    """Posts (see `POST_KINDS`) in the ledger after `since`, all or only (non-)promotional ones."""
    query = select(func.count()).where(Action.kind.in_(POST_KINDS), Action.at > since)
    if promotional is not None:
        query = query.where(Action.is_promotional.is_(promotional))
    return _once(session, ("posts_since", since, promotional), lambda: session.scalar(query) or 0)


def post_times_since(session: Session, since: datetime) -> list[datetime]:
    """When each post after `since` was made, oldest first (to tell when a rolling limit frees a slot)."""
    query = select(Action.at).where(Action.kind.in_(POST_KINDS), Action.at > since).order_by(Action.at)
    return list(_once(session, ("post_times_since", since), lambda: list(session.scalars(query))))


def replies_to(session: Session, username: str, run_id: int | None, chat_slug: str) -> int:
    """Replies and shares in the ledger addressed to `username`'s posts during this chat session."""
    authors = select(ChatPost.tweet_id).where(func.lower(ChatPost.author_username) == username.lower())
    query = select(func.count()).where(
        Action.kind.in_(REPLY_KINDS), Action.chat_slug == chat_slug, Action.target_tweet_id.in_(authors)
    )
    query = query.where(Action.run_id == run_id) if run_id is not None else query
    key = ("replies_to", username.lower(), run_id, chat_slug)
    return _once(session, key, lambda: session.scalar(query) or 0)


def author_of(session: Session, tweet_id: str | None) -> str | None:
    """The username (lower-case) of a post read from a chat, when it was read."""
    if tweet_id is None:
        return None
    shared = _shared(session)
    if shared is not None:
        if tweet_id not in shared.authors:
            read_authors(session, [tweet_id])
        return shared.authors[tweet_id]
    query = select(ChatPost.author_username).where(
        ChatPost.tweet_id == tweet_id, ChatPost.author_username.is_not(None)
    )
    name = session.scalars(query.limit(1)).first()
    return name.lower() if name else None


def read_authors(session: Session, tweet_ids: Iterable[str | None]) -> None:
    """Inside `shared_reads`: read the authors of these posts in one query, for `author_of` to answer
    from (nothing outside it)."""
    shared = _shared(session)
    if shared is None:
        return
    wanted = sorted({i for i in tweet_ids if i is not None} - set(shared.authors))
    for chunk in in_chunks(wanted):
        shared.authors.update(dict.fromkeys(chunk))
        query = select(ChatPost.tweet_id, ChatPost.author_username).where(
            ChatPost.tweet_id.in_(chunk), ChatPost.author_username.is_not(None)
        )
        for tweet_id, name in session.execute(query.order_by(ChatPost.id)):
            if shared.authors[tweet_id] is None and name:  # the post's first read names its author
                shared.authors[tweet_id] = name.lower()


def targets_by(session: Session, entries: Iterable[Entry], username: str) -> int:
    """How many of `entries` address a post by `username`."""
    wanted = username.lower()
    return sum(1 for entry in entries if author_of(session, entry.target_tweet_id) == wanted)


def ledger_entries(session: Session, *, chat_slug: str | None = None) -> list[Entry]:
    """The whole ledger (or one chat's) in order: what the property tests audit."""
    query = select(Action).order_by(Action.at, Action.id)
    if chat_slug is not None:
        query = query.where(Action.chat_slug == chat_slug)
    return [
        Entry(a.kind, a.chat_slug, a.at, a.is_promotional, a.target_tweet_id, a.run_id)
        for a in session.scalars(query)
    ]
