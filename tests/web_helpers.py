"""Helpers for the dashboard tests: an app on a store, logging a test client in, and a live chat (sandbox X
server + worker + dashboard on free ports, all on one fake clock the test moves)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.clock import Clock, FakeClock
from bot.config import Config, load_config
from bot.drafting.offline import OfflineDrafter
from bot.runner import sandbox_gateway, transcript_chat
from bot.sandbox.server import SandboxServer
from bot.sandbox.transcript import load_transcript
from bot.schedule import Window
from bot.settings import Settings
from bot.store.db import Store
from bot.store.models import ChatPost, ChatRun, Draft, DraftKind, DraftState, PostEvent, Route
from bot.web.app import create_app
from bot.web.auth import Auth
from bot.web.deps import Regenerator
from bot.web.server import WebServer
from bot.worker import Worker

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"
# Monday 21:00 in New York: the shipped #JobHuntChat window opens.
CHAT_START = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
TRANSCRIPT = ROOT / "tests" / "transcripts" / "basic.yaml"


def shipped_config() -> Config:
    return load_config(ROOT / "schedules.yaml")


def make_app(
    store: Store,
    *,
    clock: Clock,
    config: Config | None = None,
    password: str = PASSWORD,
    auth: Auth | None = None,
    poll_seconds: float = 2.0,
    regenerate: Regenerator | None = None,
) -> FastAPI:
    return create_app(
        store=store,
        config=config or shipped_config(),
        clock=clock,
        settings=Settings(dashboard_password=password),
        auth=auth,
        poll_seconds=poll_seconds,
        regenerate=regenerate,
    )


def login(client: TestClient, secret: str = PASSWORD) -> str:
    """Log the client in through the login form; returns the session's CSRF token."""
    page = client.get("/login")
    form_token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert form_token, page.text
    answer = client.post(
        "/login", data={"secret": secret, "login_csrf": form_token.group(1)}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    return str(client.get("/api/session").json()["csrf"])


def add_run(store: Store, *, start: datetime = CHAT_START, slug: str = "jobhuntchat") -> int:
    with store.session() as session:
        run = ChatRun(
            chat_slug=slug,
            hashtag="#JobHuntChat",
            window_start=start,
            window_end=start + timedelta(hours=1),
            opened_at=start,
        )
        session.add(run)
        session.flush()
        return run.id


def add_post(
    store: Store,
    run_id: int,
    tweet_id: str,
    *,
    author: str,
    text: str,
    at: datetime,
    reply_to: str | None = None,
    question: int | None = None,
    own: bool = False,
) -> None:
    with store.session() as session:
        session.add(
            ChatPost(
                run_id=run_id,
                tweet_id=tweet_id,
                author_id=f"id-{author}",
                author_username=author,
                text=text,
                created_at=at,
                reply_to_tweet_id=reply_to,
                event=PostEvent.QUESTION if question else PostEvent.ANSWER,
                question_number=question,
                is_own=own,
                read_at=at,
            )
        )


def add_draft(
    store: Store,
    run_id: int | None,
    *,
    text: str,
    at: datetime,
    kind: str = DraftKind.ANSWER,
    target: str | None = None,
    question: int | None = None,
    route: str = Route.API,
    state: str = DraftState.PENDING,
    reason: str = "the host asked a question",
    score: float | None = 0.8,
    promotional: bool = False,
) -> int:
    with store.session() as session:
        draft = Draft(
            run_id=run_id,
            chat_slug="jobhuntchat",
            kind=kind,
            text=text,
            target_tweet_id=target,
            question_number=question,
            state=state,
            reason=reason,
            score=score,
            route=route,
            is_promotional=promotional,
            created_at=at,
            updated_at=at,
            expires_at=at + timedelta(minutes=30),
        )
        session.add(draft)
        session.flush()
        return draft.id


def draft_state(store: Store, draft_id: int) -> Draft:
    with store.session() as session:
        draft = session.get(Draft, draft_id)
        assert draft is not None
        return draft


@dataclass
class LiveChat:
    """The #JobHuntChat of tests/transcripts/basic.yaml, live now: Q1 at 5 min, Q2 at 15 min."""

    clock: FakeClock
    store: Store
    sandbox: SandboxServer
    worker: Worker
    web: WebServer
    config: Config

    @property
    def url(self) -> str:
        return self.web.url

    def at_minute(self, minutes: float) -> None:
        """Move the shared clock to `minutes` after the chat's start and poll once, as the worker would."""
        self.clock.set(CHAT_START + timedelta(minutes=minutes))
        self.worker.tick()

    def publish(self) -> Draft | None:
        return self.worker.publisher.publish_one()

    def drafts(self) -> list[Draft]:
        with self.store.session() as session:
            return list(session.query(Draft).order_by(Draft.id))

    def posted_texts(self) -> list[str]:
        return [post["text"] for post in self.sandbox.posted()]


@contextmanager
def live_chat(store: Store, *, poll_seconds: float = 0.25) -> Iterator[LiveChat]:
    clock = FakeClock(CHAT_START)
    transcript = load_transcript(TRANSCRIPT)
    sandbox = SandboxServer(transcript, clock=clock, start=CHAT_START)
    sandbox.start()
    chat = transcript_chat(shipped_config(), transcript, duration=timedelta(hours=1))
    config = shipped_config().model_copy(update={"chats": [chat]})
    worker = Worker(
        config=config,
        store=store,
        gateway=sandbox_gateway(sandbox, clock),
        drafter=OfflineDrafter(),
        clock=clock,
        min_gap=0,
    )
    worker.join_window(chat, Window(chat.slug, CHAT_START, CHAT_START + timedelta(hours=1)))
    app = make_app(store, clock=clock, config=config, poll_seconds=poll_seconds)
    web = WebServer(app, "127.0.0.1", 0)
    web.start()
    try:
        yield LiveChat(clock, store, sandbox, worker, web, config)
    finally:
        web.stop()
        sandbox.stop()
        worker.close()
