"""The sandbox's world: users and posts, when each becomes visible, and what the account did.

IDs are snowflake-like: `(milliseconds since epoch << 22) | sequence`, so a post that becomes visible later
always has a larger id and `since_id` works as on X. Transcript posts use the lower half of the sequence bits,
posts made while the sandbox runs (API or injected) the upper half, so they sort after every post already
visible at that millisecond.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.sandbox.query import SearchDoc
from bot.sandbox.text import Entities, Hashtag, Link, Mention, analyse, words
from bot.sandbox.transcript import Transcript, User

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LIVE_SEQ = 1 << 21  # first sequence number of posts made while the sandbox runs


def to_ms(when: datetime) -> int:
    return (when - _EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


@dataclass(eq=False)
class Post:
    """One post as X knows it. `text` is what X shows (URLs as t.co links); `raw_text` what was written."""

    id: int
    author: User
    text: str
    raw_text: str
    entities: Entities
    created_at: datetime
    lang: str = "en"
    reply_to: Post | None = None
    quote_of: Post | None = None
    repost_of: Post | None = None
    key: str | None = None
    deleted_at: datetime | None = None
    likers: set[str] = field(default_factory=set)
    # What search matches on never changes once posted: worked out at the first search, then kept.
    _doc: SearchDoc | None = field(default=None, init=False, repr=False)

    @property
    def id_str(self) -> str:
        return str(self.id)

    def visible(self, now: datetime) -> bool:
        """Posted by `now` and not deleted by then."""
        return self.created_at <= now and (self.deleted_at is None or self.deleted_at > now)

    def conversation_root(self) -> Post:
        post = self
        while post.reply_to is not None:
            post = post.reply_to
        return post

    def mentions(self, user: User) -> bool:
        return any(m.username.lower() == user.username.lower() for m in self.entities.mentions)

    def search_doc(self) -> SearchDoc:
        if self._doc is None:
            self._doc = self._make_search_doc()
        return self._doc

    def _make_search_doc(self) -> SearchDoc:
        return SearchDoc(
            words=words(self.text),
            hashtags=frozenset(h.tag.lower() for h in self.entities.hashtags),
            mentions=frozenset(m.username.lower() for m in self.entities.mentions),
            author=self.author.username.lower(),
            author_id=self.author.id,
            to_user=self.reply_to.author.username.lower() if self.reply_to else None,
            is_reply=self.reply_to is not None,
            is_quote=self.quote_of is not None,
            is_retweet=self.repost_of is not None,
            lang=self.lang,
            conversation_id=self.conversation_root().id_str,
            urls=tuple(u.expanded_url for u in self.entities.urls),
        )


class World:
    """Every user and post of one sandbox run. Not thread-safe: the server holds its lock around calls."""

    def __init__(self, transcript: Transcript, start: datetime, speed: float) -> None:
        self.account = transcript.account
        self.hashtag = transcript.hashtag
        self._users = {u.username.lower(): u for u in transcript.everyone()}
        self._users_by_id = {u.id: u for u in transcript.everyone()}
        self.posts: dict[int, Post] = {}
        self._keys: dict[str, Post] = {}
        # Indexes, so a search or a metric costs what it returns, not the size of the world:
        self._ids: list[int] = []  # every post id, ascending
        self._responses: dict[int, list[Post]] = {}  # id → the posts replying to, quoting, reposting it
        self._by_author: dict[str, list[Post]] = {}
        self._last_live_id = 0
        self._load(transcript, start, speed)

    # -- users ----------------------------------------------------------------------------------------------

    def user(self, username: str) -> User | None:
        return self._users.get(username.lstrip("@").lower())

    def user_by_id(self, user_id: str) -> User | None:
        return self._users_by_id.get(user_id)

    def user_id_of(self, username: str) -> str | None:
        user = self.user(username)
        return user.id if user else None

    # -- posts ----------------------------------------------------------------------------------------------

    def find(self, post_id: str | int, now: datetime) -> Post | None:
        """The post with this id when it is visible at `now`; None when unknown, not yet posted or deleted."""
        try:
            post = self.posts.get(int(post_id))
        except ValueError:
            return None
        return post if post is not None and post.visible(now) else None

    def by_key(self, key: str) -> Post:
        """The post a transcript or injected `key` got; KeyError when no post has it."""
        return self._keys[key]

    def visible(self, now: datetime, *, above: int | None = None) -> list[Post]:
        """Every post visible at `now`, newest (largest id) first; only those with an id over `above`."""
        first = 0 if above is None else bisect_right(self._ids, above)
        posts = (self.posts[post_id] for post_id in reversed(self._ids[first:]))
        return [p for p in posts if p.visible(now)]

    def create(
        self,
        author: User,
        text: str,
        now: datetime,
        *,
        reply_to: Post | None = None,
        quote_of: Post | None = None,
        repost_of: Post | None = None,
        key: str | None = None,
    ) -> Post:
        """A post made now (by the API or injected by a test), with an id above every visible post's."""
        post_id = max((to_ms(now) << 22) | _LIVE_SEQ, self._last_live_id + 1)
        self._last_live_id = post_id
        created_at = from_ms(post_id >> 22)
        post = self._build(post_id, author, text, created_at, "en", reply_to, quote_of, repost_of, key)
        self._add(post)
        return post

    def delete(self, post: Post, now: datetime) -> None:
        post.deleted_at = now

    def public_metrics(self, post: Post, now: datetime) -> dict[str, int]:
        """Counts from the posts visible at `now`: replies, quotes and reposts among them, and likes."""
        replies = quotes = reposts = 0
        for other in self._responses.get(post.id, ()):
            if not other.visible(now):
                continue
            replies += other.reply_to is post and other.repost_of is None
            quotes += other.quote_of is post
            reposts += other.repost_of is post
        return {
            "retweet_count": reposts,
            "reply_count": replies,
            "like_count": len(post.likers),
            "quote_count": quotes,
            "bookmark_count": 0,
            "impression_count": 0,
        }

    def tweet_count(self, user: User, now: datetime) -> int:
        return sum(1 for p in self._by_author.get(user.id, ()) if p.visible(now))

    def reply_allowed(self, target: Post) -> bool:
        """Self-serve rule: the target is the account's own post, mentions it, replies to it or quotes it."""
        account = self.account
        return (
            target.author is account
            or target.mentions(account)
            or (target.reply_to is not None and target.reply_to.author is account)
            or (target.quote_of is not None and target.quote_of.author is account)
        )

    # -- building -------------------------------------------------------------------------------------------

    def _load(self, transcript: Transcript, start: datetime, speed: float) -> None:
        def when(offset: timedelta) -> datetime:
            return from_ms(to_ms(start + offset / speed))

        order = sorted(range(len(transcript.posts)), key=lambda i: (when(transcript.posts[i].at), i))
        ids = {
            index: (to_ms(when(transcript.posts[index].at)) << 22) | seq for seq, index in enumerate(order)
        }
        for index, scripted in enumerate(transcript.posts):
            author = self._users[scripted.by.lower()]
            reply_to, quote_of, repost_of = (
                self._keys[k] if k else None for k in (scripted.reply_to, scripted.quote, scripted.repost)
            )
            post = self._build(
                ids[index],
                author,
                scripted.text,
                when(scripted.at),
                scripted.lang,
                reply_to,
                quote_of,
                repost_of,
                scripted.key,
            )
            if scripted.deleted_at is not None:
                post.deleted_at = when(scripted.deleted_at)
            self._add(post)

    def _build(
        self,
        post_id: int,
        author: User,
        text: str,
        created_at: datetime,
        lang: str,
        reply_to: Post | None,
        quote_of: Post | None,
        repost_of: Post | None,
        key: str | None,
    ) -> Post:
        if repost_of is not None:
            text = f"RT @{repost_of.author.username}: {repost_of.text}"
            shown, entities = text, _repost_entities(repost_of)
        else:
            shown, entities = analyse(text, self.user_id_of)
        return Post(
            post_id, author, shown, text, entities, created_at, lang, reply_to, quote_of, repost_of, key
        )

    def _add(self, post: Post) -> None:
        self.posts[post.id] = post
        insort(self._ids, post.id)
        self._by_author.setdefault(post.author.id, []).append(post)
        targets = {id(t): t for t in (post.reply_to, post.quote_of, post.repost_of) if t is not None}
        for target in targets.values():
            self._responses.setdefault(target.id, []).append(post)
        if post.key is not None:
            self._keys[post.key] = post


def _repost_entities(original: Post) -> Entities:
    """A repost's entities: the original's, shifted past the `RT @user: ` prefix, plus that mention."""
    name = original.author.username
    shift = len(name) + 6
    return Entities(
        tuple(Hashtag(h.start + shift, h.end + shift, h.tag) for h in original.entities.hashtags),
        (
            Mention(3, 4 + len(name), name, original.author.id),
            *(Mention(m.start + shift, m.end + shift, m.username, m.id) for m in original.entities.mentions),
        ),
        tuple(
            Link(u.start + shift, u.end + shift, u.url, u.expanded_url, u.display_url)
            for u in original.entities.urls
        ),
    )
