"""Chat posts for the intelligence tests, classified the way the reader classifies them: a `Conversation`
writes posts 30 s apart (`key` names each for later `reply_to` / `quote`), as plain `ChatPost` objects or
into a store's run."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from bot.config import Chat, Config, load_config
from bot.context import RunView
from bot.events import EventKind, classify
from bot.store.models import ChatPost, ChatRun, PostEvent

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Monday 21:00 in New York
ACCOUNT = "ada_builds"
_MENTION = re.compile(r"(?<![\w@])@(\w{1,20})")


def demo_config(**chat_changes: object) -> Config:
    """The shipped schedules.yaml with the material folder made absolute (tests may run from anywhere)."""
    config = load_config(ROOT / "schedules.yaml")
    account = config.account.model_copy(update={"material": str(ROOT / "material")})
    chat = config.chats[0].model_copy(update=chat_changes)
    return config.model_copy(update={"account": account, "chats": [chat, *config.chats[1:]]})


class Conversation:
    def __init__(self, chat: Chat, *, run_id: int = 1, start: datetime = START) -> None:
        self.chat = chat
        self.run_id = run_id
        self.at = start
        self.posts: dict[str, ChatPost] = {}

    def post(
        self, key: str, by: str, text: str, *, reply_to: str | None = None, quote: str | None = None
    ) -> ChatPost:
        """The next post, 30 s after the previous one."""
        self.at += timedelta(seconds=30)
        parent = self.posts[reply_to].tweet_id if reply_to else None
        quoted = self.posts[quote].tweet_id if quote else None
        event = classify(
            text=text,
            author_username=by,
            hosts=self.chat.hosts,
            account_username=ACCOUNT,
            replied_to_id=parent,
            quoted_id=quoted,
            mentions=_MENTION.findall(text),
        )
        post = ChatPost(
            run_id=self.run_id,
            tweet_id=str(7_000_000 + self.run_id * 1000 + len(self.posts)),
            author_id=f"id_{by}",
            author_username=by,
            text=text,
            created_at=self.at,
            reply_to_tweet_id=parent,
            quote_of_tweet_id=quoted,
            mentions_account=event.mentions_account,
            is_own=event.kind == EventKind.OWN,
            event=PostEvent.OTHER if event.kind == EventKind.OWN else PostEvent(event.kind.value),
            question_number=event.question_number if event.kind == EventKind.QUESTION else None,
            read_at=self.at,
        )
        self.posts[key] = post
        return post

    def view(self) -> RunView:
        return RunView(self.chat, ACCOUNT, list(self.posts.values()))


def open_run(session: Session, chat: Chat, start: datetime = START) -> ChatRun:
    """A run of `chat` from `start`, flushed so it has an id."""
    run = ChatRun(
        chat_slug=chat.slug,
        hashtag=chat.hashtag,
        window_start=start,
        window_end=start + chat.duration,
        opened_at=start,
    )
    session.add(run)
    session.flush()
    return run
