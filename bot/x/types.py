"""What the X gateway hands back: plain frozen dataclasses, free of tweepy types, and how they are read
from X's JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class XUser:
    """An X account as X describes it."""

    id: str
    username: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class XPost:
    """One post (tweet). `mentions` are usernames without "@", `hashtags` tags without "#",
    `urls` the expanded links; `author` is filled in when the response included the user."""

    id: str
    text: str
    author_id: str | None
    created_at: datetime | None = None
    conversation_id: str | None = None
    in_reply_to_user_id: str | None = None
    replied_to_id: str | None = None
    quoted_id: str | None = None
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    lang: str | None = None
    # Left out of the hash (a dict cannot be hashed) so posts still work in sets and as keys.
    metrics: dict[str, int] | None = field(default=None, hash=False)
    author: XUser | None = None

    @property
    def url(self) -> str:
        """The post's address on x.com (works without the username too)."""
        if self.author is not None:
            return f"https://x.com/{self.author.username}/status/{self.id}"
        return f"https://x.com/i/web/status/{self.id}"


@dataclass(frozen=True)
class SearchPage:
    """One page of recent-search results. `users` maps user id to user for every author in the page;
    `referenced` maps post id to the replied-to or quoted posts X included."""

    posts: list[XPost]
    users: dict[str, XUser]
    newest_id: str | None
    oldest_id: str | None
    next_token: str | None
    result_count: int
    referenced: dict[str, XPost] = field(default_factory=dict)


@dataclass(frozen=True)
class RateLimit:
    """The rate-limit window of one endpoint, from X's `x-rate-limit-*` headers."""

    endpoint: str
    limit: int
    remaining: int
    reset_at: datetime


@dataclass(frozen=True)
class XRequestRecord:
    """One HTTP request the gateway made, for usage accounting. `status` is None when no answer came."""

    endpoint: str
    status: int | None
    at: datetime
    posts_read: int
    users_read: int
    rate_limit: RateLimit | None


# --- Reading X's JSON ---------------------------------------------------------------------------------------

Json = dict[str, Any]


def parse_user(raw: Json) -> XUser:
    """A user object from X (`id`, `username`, `name`, optionally `description`)."""
    return XUser(
        id=str(raw["id"]),
        username=str(raw.get("username", "")),
        name=str(raw.get("name", "")),
        description=str(raw.get("description") or ""),
    )


def parse_post(raw: Json, users: Mapping[str, XUser] | None = None) -> XPost:
    """A tweet object from X; `users` (id → user, from `includes.users`) fills in the author."""
    author_id = _optional_str(raw.get("author_id"))
    references = {ref.get("type"): str(ref.get("id")) for ref in raw.get("referenced_tweets") or []}
    entities: Json = raw.get("entities") or {}
    metrics = raw.get("public_metrics")
    return XPost(
        id=str(raw["id"]),
        text=str(raw.get("text", "")),
        author_id=author_id,
        created_at=_parse_time(raw.get("created_at")),
        conversation_id=_optional_str(raw.get("conversation_id")),
        in_reply_to_user_id=_optional_str(raw.get("in_reply_to_user_id")),
        replied_to_id=references.get("replied_to"),
        quoted_id=references.get("quoted"),
        hashtags=tuple(str(tag["tag"]) for tag in entities.get("hashtags") or [] if "tag" in tag),
        mentions=tuple(str(m["username"]) for m in entities.get("mentions") or [] if "username" in m),
        urls=tuple(
            str(url.get("expanded_url") or url["url"])
            for url in entities.get("urls") or []
            if url.get("expanded_url") or url.get("url")
        ),
        lang=_optional_str(raw.get("lang")),
        metrics={str(k): int(v) for k, v in metrics.items()} if isinstance(metrics, dict) else None,
        author=(users or {}).get(author_id) if author_id else None,
    )


def parse_rate_limit(endpoint: str, headers: Mapping[str, str]) -> RateLimit | None:
    """The `x-rate-limit-*` headers of a response, or None when X sent none (or garbled ones)."""
    try:
        return RateLimit(
            endpoint=endpoint,
            limit=int(headers["x-rate-limit-limit"]),
            remaining=int(headers["x-rate-limit-remaining"]),
            reset_at=datetime.fromtimestamp(int(headers["x-rate-limit-reset"]), UTC),
        )
    except (KeyError, ValueError, OverflowError):
        return None


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _parse_time(value: object) -> datetime | None:
    """X's `2026-11-23T21:00:00.000Z` as an aware UTC datetime; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
