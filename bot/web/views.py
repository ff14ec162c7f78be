"""What the dashboard shows, read from the store into plain frozen objects the templates and the JSON API
render: the queue (live chats first), a draft with the post it answers, a chat's run.

Nothing here changes state; every function takes an open `Session` and the current time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.config import Chat, Config
from bot.health import x_health
from bot.policy import ledger
from bot.review import NOT_SEEN, TEXT_LIMIT, post_url
from bot.runs import live_runs
from bot.store.db import in_chunks
from bot.store.models import ChatPost, ChatRun, Draft, DraftEvent, DraftKind, DraftState, PostEvent, Route
from bot.text import weighted_length
from bot.web.policy import Verdict, VerdictCache, policy_verdict

# The policy's verdict on a pending draft (see `bot.web.policy`); a cache may stand in for it.
VerdictSource = Callable[[Session, Draft], Verdict | None]

S = DraftState
IN_FLIGHT = (S.APPROVED, S.POSTING, S.HANDED_OFF)
DONE = (S.POSTED, S.REJECTED, S.EXPIRED)
RECENT = timedelta(minutes=10)  # a decided draft stays in the queue this long, so its outcome is seen
PENDING_SHOWN = 25  # per chat: more than a person decides during a chat; the rest are counted, not drawn
DECIDED_SHOWN = 10  # per chat, the latest decided drafts with their outcome
CONVERSATION_DEPTH = 4  # posts shown above the one a draft answers


@dataclass(frozen=True)
class PostView:
    """A post read from a chat, with who wrote it as the chat sees them."""

    tweet_id: str
    author: str
    role: str  # host, guest, participant or you
    text: str
    at: datetime
    is_question: bool
    question_number: int | None
    url: str


@dataclass(frozen=True)
class DraftView:
    id: int
    chat_slug: str
    kind: str
    route: str
    state: str
    text: str
    reason: str
    score: float | None
    drafter: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    length: int
    limit: int
    question_number: int | None
    is_promotional: bool
    target: PostView | None
    conversation: tuple[PostView, ...]
    verdict: Verdict | None
    status: str
    error: str | None
    handoff_url: str | None
    x_post_url: str | None

    @property
    def pending(self) -> bool:
        return self.state == S.PENDING

    @property
    def is_handoff(self) -> bool:
        return self.route == Route.HANDOFF

    @property
    def editable(self) -> bool:
        """Whether the draft has text a person may rewrite (a like or a follow has none)."""
        return self.kind not in (DraftKind.LIKE, DraftKind.FOLLOW, DraftKind.REPOST)


@dataclass(frozen=True)
class ChatQueue:
    """One chat's part of the queue."""

    slug: str
    title: str
    hashtag: str
    live: bool
    window_end: datetime | None
    question: PostView | None
    drafts: tuple[DraftView, ...]
    not_shown: int = 0  # pending drafts beyond PENDING_SHOWN

    @property
    def pending(self) -> int:
        return sum(1 for d in self.drafts if d.pending) + self.not_shown


@dataclass(frozen=True)
class QueueView:
    chats: tuple[ChatQueue, ...]
    version: str
    now: datetime
    pending_ids: tuple[int, ...] = field(default=())

    @property
    def pending(self) -> int:
        return len(self.pending_ids)


def queue_view(
    session: Session, config: Config, now: datetime, verdicts: VerdictCache | None = None
) -> QueueView:
    """Live chats first (each with its current question), then any other chat with drafts to show."""
    # The version is read before the content: SQLite reads each SELECT afresh, so a change committed in
    # between must make the page fetch again rather than pass for seen.
    version = queue_version(session)
    listed = _queue_drafts(session, now)
    runs = live_runs(session, now)
    slugs = list(dict.fromkeys([*(run.chat_slug for run in runs), *(d.chat_slug for d in listed)]))
    shown = {slug: _shown([d for d in listed if d.chat_slug == slug]) for slug in slugs}
    # Only the drafts drawn are loaded whole (a chat may have hundreds waiting), in one query.
    drafts = _load_drafts(session, [d.id for kept, _ in shown.values() for d in kept])
    posts = PostCache(session, [d.target_tweet_id for d in drafts.values()])
    handed_off = _left_handed_off_ids(session, [d.id for d in drafts.values() if d.state == S.EXPIRED])
    judge: VerdictSource = (
        verdicts.source(config, now, version)
        if verdicts is not None
        else lambda db, draft: policy_verdict(db, draft, config, now)
    )
    chats = []
    # Every verdict asks the ledger the same questions (the drafts in flight, the counts, the authors): they
    # are read once for the whole page.
    with ledger.shared_reads(session):
        ledger.read_authors(session, [d.target_tweet_id for d in drafts.values() if d.state == S.PENDING])
        for slug in slugs:
            chat = _chat(config, slug)
            run = next((r for r in runs if r.chat_slug == slug), None)
            kept, not_shown = shown[slug]
            chats.append(
                ChatQueue(
                    slug=slug,
                    title=chat.title if chat else slug,
                    hashtag=chat.hashtag if chat else (run.hashtag if run else ""),
                    live=run is not None,
                    window_end=run.window_end if run else None,
                    question=_current_question(session, run, chat, config) if run else None,
                    drafts=tuple(
                        _draft_view(
                            session, drafts[d.id], config, now, posts, judge, left_handed_off=handed_off
                        )
                        for d in kept
                        if d.id in drafts  # deleted since it was listed
                    ),
                    not_shown=not_shown,
                )
            )
    pending = tuple(d.id for d in listed if d.state == S.PENDING)
    return QueueView(tuple(chats), version, now, pending)


class Listed(NamedTuple):
    """A draft in the queue before it is loaded: enough to choose what is drawn."""

    id: int
    chat_slug: str
    state: str


def _shown(drafts: list[Listed]) -> tuple[list[Listed], int]:
    """A chat's drafts to draw, in their order: the oldest pending ones and the latest others; and how many
    pending ones were left out."""
    pending = [d for d in drafts if d.state == S.PENDING]
    others = [d for d in drafts if d.state != S.PENDING]
    keep = {d.id for d in pending[:PENDING_SHOWN]} | {d.id for d in others[-DECIDED_SHOWN:]}
    return [d for d in drafts if d.id in keep], max(0, len(pending) - PENDING_SHOWN)


def _queue_drafts(session: Session, now: datetime) -> list[Listed]:
    shown = or_(
        Draft.state.in_((S.PENDING, *IN_FLIGHT, S.FAILED)),
        (Draft.state.in_(DONE)) & (Draft.updated_at >= now - RECENT),
    )
    # Oldest first and in a stable order: a decided draft stays where it was, so nothing jumps under the
    # person's finger (or their j/k) when the page refreshes.
    query = select(Draft.id, Draft.chat_slug, Draft.state).where(shown).order_by(Draft.created_at, Draft.id)
    return [Listed(draft_id, slug, state) for draft_id, slug, state in session.execute(query)]


def _load_drafts(session: Session, ids: Sequence[int]) -> dict[int, Draft]:
    """Drafts by id, a query per `IN_CHUNK` ids."""
    found: dict[int, Draft] = {}
    for chunk in in_chunks(ids):
        found.update((d.id, d) for d in session.scalars(select(Draft).where(Draft.id.in_(chunk))))
    return found


def _left_handed_off_ids(session: Session, ids: Sequence[int]) -> set[int]:
    """Which of these drafts were handed off once (an expired one of them was then never seen on X)."""
    found: set[int] = set()
    for chunk in in_chunks(ids):
        query = select(DraftEvent.draft_id).where(
            DraftEvent.draft_id.in_(chunk), DraftEvent.from_state == S.HANDED_OFF
        )
        found.update(session.scalars(query.distinct()))
    return found


@dataclass(frozen=True)
class Trouble:
    """X is failing: what the banner on every page says, while it lasts."""

    message: str
    since: datetime | None


def x_trouble(session: Session, now: datetime) -> Trouble | None:
    """X's trouble now, in words (as the worker logged it), or None while X answers."""
    health = x_health(session, now)
    return None if health.ok else Trouble(health.message, health.since)


def pending_ids(session: Session) -> tuple[int, ...]:
    """The drafts waiting for a person, oldest first: what the page's title badge counts."""
    query = select(Draft.id).where(Draft.state == S.PENDING).order_by(Draft.created_at, Draft.id)
    return tuple(session.scalars(query))


def queue_version(session: Session) -> str:
    """Changes whenever anything the queue shows may have changed: every draft move or edit writes a draft
    event, and a new host question a chat post."""
    drafts = session.execute(select(func.count(Draft.id), func.max(Draft.id))).one()
    moves = session.scalar(select(func.max(DraftEvent.id)))
    question = session.scalar(select(func.max(ChatPost.id)).where(ChatPost.event == PostEvent.QUESTION))
    raw = f"{drafts[0]}|{drafts[1]}|{moves}|{question}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def draft_view(session: Session, draft: Draft, config: Config, now: datetime) -> DraftView:
    """One draft as the queue shows it."""
    posts = PostCache(session, [draft.target_tweet_id])
    return _draft_view(session, draft, config, now, posts, lambda db, d: policy_verdict(db, d, config, now))


def _draft_view(
    session: Session,
    draft: Draft,
    config: Config,
    now: datetime,
    posts: PostCache,
    verdicts: VerdictSource,
    *,
    left_handed_off: Collection[int] | None = None,
) -> DraftView:
    chat = _chat(config, draft.chat_slug)
    target = posts.get(draft.target_tweet_id)
    return DraftView(
        id=draft.id,
        chat_slug=draft.chat_slug,
        kind=draft.kind,
        route=draft.route,
        state=draft.state,
        text=draft.text,
        reason=draft.reason,
        score=draft.score,
        drafter=draft.drafter,
        created_at=draft.created_at,
        updated_at=draft.updated_at,
        expires_at=draft.expires_at,
        length=_length(draft.text),
        limit=TEXT_LIMIT,
        question_number=draft.question_number,
        is_promotional=draft.is_promotional,
        target=post_view(target, chat, config) if target else None,
        conversation=tuple(post_view(p, chat, config) for p in posts.ancestors(target)),
        # The approval verdict matters while the person decides; a decided draft needs none.
        verdict=verdicts(session, draft) if draft.state == S.PENDING else None,
        status=draft_status(draft, None if left_handed_off is None else draft.id in left_handed_off),
        error=draft.error,
        handoff_url=draft.handoff_url,
        x_post_url=post_url(draft.x_post_id) if draft.x_post_id else None,
    )


@lru_cache(maxsize=4096)
def _length(text: str) -> int:
    """The weighted length, remembered: twitter-text takes about a millisecond a text, every refresh."""
    return weighted_length(text)


def draft_status(draft: Draft, left_handed_off: bool | None = None) -> str:
    """The draft's state as a person reads it; `left_handed_off` (whether it was handed off once) is read
    from its history unless given."""
    state = DraftState(draft.state)
    if state == S.HANDED_OFF:
        return "waiting for you to post"
    if state == S.EXPIRED and (_left_handed_off(draft) if left_handed_off is None else left_handed_off):
        return NOT_SEEN
    return {
        S.PENDING: "waiting for you",
        S.APPROVED: "approved: posting shortly",
        S.POSTING: "posting…",
        S.POSTED: "posted",
        S.REJECTED: "rejected",
        S.EXPIRED: "expired",
        S.FAILED: "failed",
    }[state]


def _left_handed_off(draft: Draft) -> bool:
    return any(e.from_state == S.HANDED_OFF for e in draft.events)


def role_of(author: str | None, chat: Chat | None, config: Config, *, is_own: bool = False) -> str:
    """host, guest, you or participant."""
    handle = (author or "").lower()
    if is_own or handle == config.account.handle_lower.lstrip("@"):
        return "you"
    if chat is not None and handle in {h.lower().lstrip("@") for h in chat.hosts}:
        return "host"
    if chat is not None and handle in {g.lower().lstrip("@") for g in chat.guests}:
        return "guest"
    return "participant"


def post_view(post: ChatPost, chat: Chat | None, config: Config) -> PostView:
    return PostView(
        tweet_id=post.tweet_id,
        author=post.author_username or post.author_id,
        role=role_of(post.author_username, chat, config, is_own=post.is_own),
        text=post.text if post.text is not None else "(text removed after the retention period)",
        at=post.created_at,
        is_question=post.event == PostEvent.QUESTION,
        question_number=post.question_number,
        url=post_url(post.tweet_id, post),
    )


class PostCache:
    """Posts read from the chats, by X id, loaded in one query for a whole queue."""

    def __init__(self, session: Session, tweet_ids: Iterable[str | None]) -> None:
        self.session = session
        self._posts: dict[str, ChatPost | None] = {}
        self._load({i for i in tweet_ids if i})
        level = [p for p in self._posts.values() if p is not None]
        for _ in range(CONVERSATION_DEPTH):  # the conversations above them, one query per level
            parents = {p.reply_to_tweet_id for p in level if p.reply_to_tweet_id} - set(self._posts)
            if not parents:
                break
            self._load(parents)
            level = [post for i in parents if (post := self._posts[i]) is not None]

    def _load(self, tweet_ids: set[str]) -> None:
        wanted = sorted(tweet_ids - set(self._posts))
        for chunk in in_chunks(wanted):
            self._posts.update(dict.fromkeys(chunk))
            query = select(ChatPost).where(ChatPost.tweet_id.in_(chunk)).order_by(ChatPost.id)
            for post in self.session.scalars(query):
                self._posts[post.tweet_id] = post  # the newest read of it wins

    def get(self, tweet_id: str | None) -> ChatPost | None:
        if tweet_id is None:
            return None
        if tweet_id not in self._posts:
            self._load({tweet_id})
        return self._posts[tweet_id]

    def ancestors(self, post: ChatPost | None) -> list[ChatPost]:
        """The posts above `post` in its conversation, as far as they were read, oldest first."""
        chain: list[ChatPost] = []
        current = post
        while current is not None and current.reply_to_tweet_id and len(chain) < CONVERSATION_DEPTH:
            current = self.get(current.reply_to_tweet_id)
            if current is not None:
                chain.append(current)
        return list(reversed(chain))


def _current_question(session: Session, run: ChatRun, chat: Chat | None, config: Config) -> PostView | None:
    """The newest host question of the run: what the chat is talking about now."""
    query = (
        select(ChatPost)
        .where(ChatPost.run_id == run.id, ChatPost.event == PostEvent.QUESTION)
        .order_by(ChatPost.created_at.desc(), ChatPost.id.desc())
        .limit(1)
    )
    post = session.scalars(query).first()
    return post_view(post, chat, config) if post is not None else None


def _chat(config: Config, slug: str) -> Chat | None:
    return next((c for c in config.chats if c.slug == slug), None)


def chat_or_none(config: Config, slug: str) -> Chat | None:
    return _chat(config, slug)


def posts_of(session: Session, run: ChatRun, config: Config) -> list[PostView]:
    chat = _chat(config, run.chat_slug)
    query = select(ChatPost).where(ChatPost.run_id == run.id).order_by(ChatPost.created_at, ChatPost.id)
    return [post_view(p, chat, config) for p in session.scalars(query)]


def runs_of(session: Session, slug: str, limit: int = 12) -> Sequence[ChatRun]:
    query = (
        select(ChatRun).where(ChatRun.chat_slug == slug).order_by(ChatRun.window_start.desc()).limit(limit)
    )
    return list(session.scalars(query))
