"""Reading live chats: one recent search per group of chats live at the same time, every page followed,
each post stored with its chat event and the cursor moved in the same transaction, so a crash or restart
neither reads a post twice nor skips one.

Cursor rule (X's): remember the first page's `meta.newest_id` as the next `since_id`; follow `next_token`
with the same `since_id`. Chats that share a query share a cursor; a chat joining a group late is first
read alone from its window's start, then joins (its posts may be read once more on that tick: the store
keeps one row per post and run).

The X budget (`bot.policy.read_mode`) may narrow a chat that reads `all` to hosts and mentions, or stop
reading it; each post stored is also checked for an opt-out addressed to the account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.config import Chat, Config, ReadMode
from bot.errors import XError
from bot.events import EventKind, classify
from bot.policy import ReadBudget, note_opt_out
from bot.query import ChatMatch, chat_query, combined_queries, route_post
from bot.runs import save_cursor
from bot.store.db import Store, in_chunks
from bot.store.models import ChatPost, ChatRun, PostEvent
from bot.x.gateway import XGateway
from bot.x.types import SearchPage, XPost

MAX_PAGES = 50  # a bound on one poll: 5,000 posts is far beyond any chat's burst


@dataclass
class PollResult:
    """What one poll read: posts returned by X (with repeats) and posts new to the store, per chat;
    `limited`: the chats the X budget narrowed or stopped, and why."""

    requests: int = 0
    tweets_read: int = 0
    error: XError | None = None  # X failed this poll (after the gateway's bounded retries)
    new_posts: dict[str, list[ChatPost]] = field(default_factory=dict)
    limited: dict[str, str] = field(default_factory=dict)

    @property
    def questions(self) -> list[ChatPost]:
        return [p for posts in self.new_posts.values() for p in posts if p.event == PostEvent.QUESTION]


class Reader:
    """Polls the X gateway for every live run and stores what it reads."""

    def __init__(self, *, config: Config, store: Store, gateway: XGateway, clock: Clock) -> None:
        self.config = config
        self.store = store
        self.gateway = gateway
        self.clock = clock
        self._budget = ReadBudget()
        self._modes: dict[str, ReadMode | None] = {}  # as the X budget allows (see `_within_budget`)

    def poll(self, runs: Sequence[ChatRun]) -> PollResult:
        """Read every live run once: the groups already reading first, then each new run alone."""
        result = PollResult()
        runs = self._within_budget(runs, result)
        ongoing = [run for run in runs if run.since_id is not None]
        for group in self._groups(ongoing):
            self._read_group(group, result)
        for run in runs:
            if run.since_id is None:
                newest = self._read_group([run], result)
                self._catch_up(run, newest, [other for other in runs if other is not run])
        return result

    def _within_budget(self, runs: Sequence[ChatRun], result: PollResult) -> list[ChatRun]:
        """The runs the X budget lets read, each with the mode it may read in (`bot.policy.ReadBudget`):
        its own, hosts+mentions near the budget, none at it."""
        now, allowed = self.clock.now(), []
        for run in runs:
            chat = self.config.chat(run.chat_slug)
            mode, why = self._budget.mode(self.store, chat, run, self.config, now)
            if why:
                result.limited[run.chat_slug] = why
            self._modes[run.chat_slug] = mode
            if mode is not None:
                allowed.append(run)
        return allowed

    def _catch_up(self, run: ChatRun, newest: str | None, others: list[ChatRun]) -> None:
        """A new run just read everything up to now on its own, after the other runs were read. Moving its
        cursor up to theirs lets it share their query from the next tick without a gap (its own posts up
        to now are read) and without reading their posts again."""
        with self.store.session() as session:
            query = select(ChatRun.since_id).where(ChatRun.id.in_([other.id for other in others]))
            candidates = [int(cursor) for cursor in session.scalars(query) if cursor]
            if newest:
                candidates.append(int(newest))
            if candidates:
                save_cursor(session, [run.id], str(max(candidates)))

    def _groups(self, runs: Sequence[ChatRun]) -> list[list[ChatRun]]:
        by_slug = {run.chat_slug: run for run in runs}
        parts = [(run.chat_slug, self._query(self.config.chat(run.chat_slug))) for run in runs]
        return [[by_slug[slug] for slug in slugs] for _query, slugs in combined_queries(parts)]

    def _query(self, chat: Chat) -> str:
        read = self._modes.get(chat.slug) or chat.read
        return chat_query(chat.hashtag, read=read, hosts=chat.hosts, account=self.config.account.handle)

    def _read_group(self, runs: list[ChatRun], result: PollResult) -> str | None:
        """Read one query for `runs`; returns the newest post id seen (None when nothing came)."""
        query = combined_queries(
            [(run.chat_slug, self._query(self.config.chat(run.chat_slug))) for run in runs]
        )
        text = query[0][0]
        cursors = [int(run.since_id) for run in runs if run.since_id is not None]
        since_id = str(min(cursors)) if cursors else None
        # Without a cursor, read from the window's start, not X's default of a whole week.
        start_time = None if since_id else min(run.window_start for run in runs)
        pages = self._all_pages(text, since_id, start_time, result)
        newest = pages[0].newest_id if pages else None
        posts = [post for page in pages for post in page.posts]
        with self.store.session() as session:
            stored = _stored_ids(session, runs, posts)
            matches = [_match(self.config.chat(run.chat_slug)) for run in runs]
            made = [new for post in posts for new in self._rows(post, runs, matches, stored)]
            # One bulk insert for the whole poll, handing back the stored rows (a unit-of-work flush of
            # each new object costs twice as much); the opt-out check after it looks up the account's
            # posts, which may be among these rows.
            by_key = {
                (row.run_id, row.tweet_id): row for row in _insert(session, [values for values, _ in made])
            }
            for values, slug in made:  # in the order read (the rows come back in any order)
                row = by_key[(values["run_id"], values["tweet_id"])]
                result.new_posts.setdefault(slug, []).append(row)
                note_opt_out(session, row, slug, self.config)
            if newest is not None:
                save_cursor(session, [run.id for run in runs], newest)
        return newest

    def _all_pages(
        self, query: str, since_id: str | None, start_time: datetime | None, result: PollResult
    ) -> list[SearchPage]:
        pages: list[SearchPage] = []
        next_token: str | None = None
        for _ in range(MAX_PAGES):
            page = self.gateway.search_page(
                query, since_id=since_id, next_token=next_token, start_time=start_time
            )
            result.requests += 1
            result.tweets_read += len(page.posts)
            pages.append(page)
            next_token = page.next_token
            if not next_token:
                break
        return pages

    def _rows(
        self, post: XPost, runs: list[ChatRun], matches: list[ChatMatch], stored: set[tuple[int, str]]
    ) -> list[tuple[dict[str, Any], str]]:
        """The new rows `post` makes (their values), with their chat, one per run it belongs to and is not
        stored for (`stored` grows)."""
        account = self.config.account.handle
        author = post.author.username if post.author else ""
        slugs = route_post(post.hashtags, author, post.mentions, matches, account=account)
        rows = []
        for run in runs:
            if run.chat_slug not in slugs or (
                post.created_at is not None and post.created_at < run.window_start
            ):
                continue
            if (run.id, post.id) in stored:
                continue
            stored.add((run.id, post.id))
            rows.append(
                (_chat_post(run, post, self.config.chat(run.chat_slug), account, self.clock), run.chat_slug)
            )
        return rows


def _match(chat: Chat) -> ChatMatch:
    return ChatMatch(slug=chat.slug, hashtag=chat.hashtag, read=chat.read, hosts=tuple(chat.hosts))


def _stored_ids(session: Session, runs: list[ChatRun], posts: list[XPost]) -> set[tuple[int, str]]:
    """The (run, post) pairs among `posts` already stored: one query a chunk, not one a post."""
    ids = sorted({post.id for post in posts})
    found: set[tuple[int, str]] = set()
    for chunk in in_chunks(ids):
        query = select(ChatPost.run_id, ChatPost.tweet_id).where(
            ChatPost.run_id.in_([run.id for run in runs]), ChatPost.tweet_id.in_(chunk)
        )
        found.update((run_id, tweet_id) for run_id, tweet_id in session.execute(query))
    return found


def _insert(session: Session, rows: list[dict[str, Any]]) -> list[ChatPost]:
    """Store `rows` in bulk; the stored posts, in any order. `render_nulls`: the rows with and without a
    parent or a question number share one statement (SQLAlchemy otherwise starts a new batch whenever the
    missing columns differ: hundreds of statements for one poll)."""
    statement = insert(ChatPost).returning(ChatPost).execution_options(render_nulls=True)
    return list(session.scalars(statement, rows)) if rows else []


def _chat_post(run: ChatRun, post: XPost, chat: Chat, account: str, clock: Clock) -> dict[str, Any]:
    """The values of the stored post."""
    author = post.author.username if post.author else ""
    event = classify(
        text=post.text,
        author_username=author,
        hosts=chat.hosts,
        account_username=account,
        replied_to_id=post.replied_to_id,
        quoted_id=post.quoted_id,
        mentions=post.mentions,
    )
    now = clock.now()
    return {
        "run_id": run.id,
        "tweet_id": post.id,
        "author_id": post.author_id or "",
        "author_username": author or None,
        "text": post.text,
        "created_at": post.created_at or now,
        "conversation_id": post.conversation_id,
        "reply_to_tweet_id": post.replied_to_id,
        "quote_of_tweet_id": post.quoted_id,
        "lang": post.lang,
        "mentions_account": event.mentions_account,
        "is_own": event.kind == EventKind.OWN,
        "event": _post_event(event.kind),
        "question_number": event.question_number if event.kind == EventKind.QUESTION else None,
        "read_at": now,
    }


def _post_event(kind: EventKind) -> PostEvent:
    # The account's own posts are stored as "other" with is_own set: recorded, never answered.
    return PostEvent.OTHER if kind == EventKind.OWN else PostEvent(kind.value)
