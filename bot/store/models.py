"""The tables that hold chatcaddy's business state, as SQLAlchemy 2 typed declarative models.

Every timestamp is a timezone-aware UTC `datetime` (see `UTCDateTime`); every X id is text, because X ids
are 64-bit numbers that JavaScript-minded tools and JSON round trips mangle. Times are never defaulted
here: the caller passes them from its injected `Clock`.

The vocabularies (states, kinds, routes…) are `StrEnum`s, so a member compares equal to its plain string
and either may be stored. Keep `migrations/versions/` in step with this module: a test compares them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names: Alembic's batch mode (SQLite) can only alter constraints it can name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Lengths of the short text columns, shared with the migration.
ID_LEN = 32  # an X id is at most 19 digits
SLUG_LEN = 64
WORD_LEN = 16  # states, kinds, routes, events


class RunState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class PostEvent(StrEnum):
    """What a post read during a chat is, to the chat."""

    QUESTION = "question"
    ANSWER = "answer"
    REPLY = "reply"
    QUOTE = "quote"
    MENTION = "mention"
    OTHER = "other"


class DraftKind(StrEnum):
    ANSWER = "answer"
    REPLY = "reply"
    REPOST = "repost"
    SHARE = "share"
    LIKE = "like"
    FOLLOW = "follow"
    POST = "post"


class DraftState(StrEnum):
    """A draft's life; the allowed moves between these are in `bot.store.drafts.TRANSITIONS`."""

    PENDING = "pending"
    APPROVED = "approved"
    POSTING = "posting"
    POSTED = "posted"
    HANDED_OFF = "handed_off"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"


class Route(StrEnum):
    """How an approved draft reaches X: through the API, or handed to a person (an intent link)."""

    API = "api"
    HANDOFF = "handoff"


class Drafter(StrEnum):
    OFFLINE = "offline"
    LLM = "llm"


class UTCDateTime(TypeDecorator[datetime]):
    """A `DateTime(timezone=True)` that only takes aware datetimes and always gives back aware UTC ones.

    SQLite has no time zones: the value is stored as UTC wall time and marked UTC again when read.
    Postgres stores a `timestamptz` and hands it back in the session's zone, so it is converted to UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: pass an aware UTC one (from the Clock)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class ChatRun(Base):
    """One occurrence of a chat's window, e.g. #xchat on 2026-11-23 from 21:00 to 22:00 UTC."""

    __tablename__ = "chat_runs"
    __table_args__ = (UniqueConstraint("chat_slug", "window_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_slug: Mapped[str] = mapped_column(String(SLUG_LEN))
    hashtag: Mapped[str] = mapped_column(String(140))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(WORD_LEN), default=RunState.OPEN)
    # The read cursor: the newest post id already read, so the next search asks only for newer ones.
    since_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    posts: Mapped[list[ChatPost]] = relationship(back_populates="run", passive_deletes=True)

    def __repr__(self) -> str:
        return f"<ChatRun {self.id} {self.chat_slug} {self.window_start.isoformat()} {self.state}>"


class ChatPost(Base):
    """A post read from the chat's hashtag (or a mention) during a run."""

    __tablename__ = "chat_posts"
    __table_args__ = (
        UniqueConstraint("run_id", "tweet_id"),
        Index("ix_chat_posts_tweet_id", "tweet_id"),
        Index("ix_chat_posts_run_id_created_at", "run_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("chat_runs.id", ondelete="CASCADE"))
    tweet_id: Mapped[str] = mapped_column(String(ID_LEN))
    author_id: Mapped[str] = mapped_column(String(ID_LEN))
    author_username: Mapped[str | None] = mapped_column(String(64))
    # Nullable: retention purges other people's text after a while and keeps the row.
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    conversation_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    reply_to_tweet_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    quote_of_tweet_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    lang: Mapped[str | None] = mapped_column(String(WORD_LEN))
    mentions_account: Mapped[bool] = mapped_column(Boolean, default=False)
    is_own: Mapped[bool] = mapped_column(Boolean, default=False)
    event: Mapped[str] = mapped_column(String(WORD_LEN), default=PostEvent.OTHER)
    question_number: Mapped[int | None] = mapped_column(Integer)
    read_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
    # What chatcaddy decided to do about the post (reply, repost, share, like, follow, answer, none) and why;
    # NULL until triaged. `flags`: hostile-input flags for the reviewer, comma-separated.
    triage: Mapped[str | None] = mapped_column(String(WORD_LEN))
    triage_reason: Mapped[str | None] = mapped_column(Text)
    triage_score: Mapped[float | None] = mapped_column(Float)
    flags: Mapped[str | None] = mapped_column(Text)

    run: Mapped[ChatRun] = relationship(back_populates="posts")

    def __repr__(self) -> str:
        return f"<ChatPost {self.id} run={self.run_id} tweet={self.tweet_id} {self.event}>"


class Draft(Base):
    """Something chatcaddy proposes to do (post, reply, repost…), waiting for a person's decision."""

    __tablename__ = "drafts"
    __table_args__ = (
        # One draft per target and kind in a run; a NULL target (a fresh post) may repeat.
        UniqueConstraint("run_id", "kind", "target_tweet_id"),
        Index("ix_drafts_state_chat_slug_created_at", "state", "chat_slug", "created_at"),
        Index("ix_drafts_target_tweet_id", "target_tweet_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("chat_runs.id", ondelete="SET NULL"))
    chat_slug: Mapped[str] = mapped_column(String(SLUG_LEN))
    kind: Mapped[str] = mapped_column(String(WORD_LEN))
    text: Mapped[str] = mapped_column(Text, default="")
    target_tweet_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    question_number: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(WORD_LEN), default=DraftState.PENDING)
    reason: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float | None] = mapped_column(Float)
    route: Mapped[str] = mapped_column(String(WORD_LEN), default=Route.API)
    is_promotional: Mapped[bool] = mapped_column(Boolean, default=False)
    # A person's reclassification (None: the automatic verdict stands); see `bot.policy.promotion`.
    promo_override: Mapped[bool | None] = mapped_column(Boolean)
    drafter: Mapped[str] = mapped_column(String(WORD_LEN), default=Drafter.OFFLINE)
    llm_model: Mapped[str | None] = mapped_column(String(100))
    llm_input_tokens: Mapped[int | None] = mapped_column(Integer)
    llm_output_tokens: Mapped[int | None] = mapped_column(Integer)
    x_post_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    error: Mapped[str | None] = mapped_column(Text)
    handoff_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    posted_at: Mapped[datetime | None]
    # The drafter's own why (the `reason` is triage's); `flags` are the target post's hostile-input flags.
    rationale: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[str | None] = mapped_column(Text)

    run: Mapped[ChatRun | None] = relationship()
    events: Mapped[list[DraftEvent]] = relationship(
        back_populates="draft", order_by="DraftEvent.id", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Draft {self.id} {self.kind} {self.state} chat={self.chat_slug}>"


class DraftEvent(Base):
    """One move of a draft (or an edit of its text): who, when, why."""

    __tablename__ = "draft_events"
    __table_args__ = (Index("ix_draft_events_draft_id", "draft_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"))
    from_state: Mapped[str] = mapped_column(String(WORD_LEN))
    to_state: Mapped[str] = mapped_column(String(WORD_LEN))
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(32))
    why: Mapped[str] = mapped_column(Text, default="")
    text_before: Mapped[str | None] = mapped_column(Text)

    draft: Mapped[Draft] = relationship(back_populates="events")

    def __repr__(self) -> str:
        return f"<DraftEvent draft={self.draft_id} {self.from_state}->{self.to_state} by={self.by}>"


class Action(Base):
    """The ledger: an action actually taken on X (by the API or by a person after a hand-off).

    A draft leads to at most one action (`draft_id` is unique), which is what makes posting exactly-once
    checkable. Rows outlive their runs and drafts (the references become NULL).
    """

    __tablename__ = "actions"
    __table_args__ = (
        UniqueConstraint("draft_id"),
        Index("ix_actions_at", "at"),
        Index("ix_actions_chat_slug_at", "chat_slug", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(WORD_LEN))
    chat_slug: Mapped[str] = mapped_column(String(SLUG_LEN))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("chat_runs.id", ondelete="SET NULL"))
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id", ondelete="SET NULL"))
    target_tweet_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    x_post_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    is_promotional: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime]
    via: Mapped[str] = mapped_column(String(WORD_LEN), default=Route.API)

    def __repr__(self) -> str:
        return f"<Action {self.id} {self.kind} via={self.via} draft={self.draft_id}>"


class XUsage(Base):
    """One call to the X API: what it read or created, what it cost, and the rate limit it reported."""

    __tablename__ = "x_usage"
    __table_args__ = (Index("ix_x_usage_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    endpoint: Mapped[str] = mapped_column(String(100))
    # NULL when no response came back (timeout, refused connection).
    status: Mapped[int | None] = mapped_column(Integer)
    posts_read: Mapped[int] = mapped_column(Integer, default=0)
    users_read: Mapped[int] = mapped_column(Integer, default=0)
    posts_created: Mapped[int] = mapped_column(Integer, default=0)
    usd: Mapped[Decimal] = mapped_column(Numeric(12, 6), default=Decimal(0))
    rate_limit: Mapped[int | None] = mapped_column(Integer)
    rate_remaining: Mapped[int | None] = mapped_column(Integer)
    rate_reset: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<XUsage {self.id} {self.endpoint} {self.status} usd={self.usd}>"


class OptOut(Base):
    """A person who asked the account to stop ("stop", "unsubscribe"): never engaged with again."""

    __tablename__ = "opt_outs"
    __table_args__ = (UniqueConstraint("username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))  # lower-case, without "@"
    chat_slug: Mapped[str] = mapped_column(String(SLUG_LEN))
    tweet_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    word: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<OptOut @{self.username} {self.word!r}>"


class PolicyLock(Base):
    """A row every policy check that may lead to an action updates first, so such checks run one at a time
    (a row lock on Postgres, the single writer on SQLite) and two racing approvals cannot both pass."""

    __tablename__ = "policy_locks"

    name: Mapped[str] = mapped_column(String(WORD_LEN), primary_key=True)
    at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<PolicyLock {self.name} {self.at.isoformat()}>"
