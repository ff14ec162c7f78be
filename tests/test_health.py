"""X's faults through the worker: it keeps running, backs off as X says, loses nothing, and tells the
person once, in words, until X answers again."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import structlog
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.config import Config
from bot.drafting.offline import OfflineDrafter
from bot.health import x_health
from bot.log import configure_logging
from bot.policy.budget import UsageRecorder
from bot.runner import sandbox_gateway
from bot.sandbox.server import SandboxServer
from bot.sandbox.transcript import load_transcript
from bot.store.db import Store
from bot.store.models import ChatPost
from bot.worker import Worker
from tests.fixtures.chat import CHAT_START, ROOT


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(stream=stream, json=True)
    yield stream
    structlog.contextvars.clear_contextvars()


@pytest.fixture
def chat(clock: FakeClock) -> Iterator[SandboxServer]:
    transcript = load_transcript(ROOT / "tests" / "transcripts" / "basic.yaml")
    with SandboxServer(transcript, clock=clock, start=CHAT_START) as server:
        yield server


def _worker(config: Config, store: Store, server: SandboxServer, clock: FakeClock) -> Worker:
    gateway = sandbox_gateway(server, clock, on_request=UsageRecorder(store))
    worker = Worker(config=config, store=store, gateway=gateway, drafter=OfflineDrafter(), clock=clock)
    worker.start()
    return worker


def _events(logs: io.StringIO, name: str) -> list[dict[str, object]]:
    return [e for e in map(json.loads, logs.getvalue().splitlines()) if e["event"] == name]


def _stored(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count(ChatPost.id))) or 0)


@pytest.mark.parametrize(
    ("faults", "words"),
    [
        ({"server_error": 40, "status": 503}, "X is failing (503)"),
        ({"drop": 40}, "X does not answer"),
        ({"credits_depleted": True}, "no credits left"),
        ({"rate_limit": 40, "reset_in": 600}, "rate-limiting"),
    ],
)
def test_x_trouble_is_told_once_and_nothing_is_lost(
    faults: dict[str, object],
    words: str,
    config: Config,
    sqlite_store: Store,
    chat: SandboxServer,
    clock: FakeClock,
    logs: io.StringIO,
) -> None:
    worker = _worker(config, sqlite_store, chat, clock)
    clock.advance(timedelta(minutes=3))
    worker.tick()
    before = _stored(sqlite_store)
    chat.set_faults(endpoint="search", **faults)
    waits = []
    for _ in range(3):
        clock.advance(timedelta(minutes=1))
        result = worker.tick()  # does not raise: the worker keeps running
        assert result.error is not None
        waits.append(worker.next_poll_in(result))
    with sqlite_store.session() as session:
        health = x_health(session, clock.now())
    assert not health.ok and words in health.message
    (trouble,) = _events(logs, "x.trouble")  # once, not at every poll
    assert words in str(trouble["message"])
    if "rate_limit" in faults:
        assert min(waits) >= 500  # backs off as the reset header says
    chat.set_faults(clear=True)
    clock.advance(timedelta(minutes=11))
    worker.tick()
    assert len(_events(logs, "x.recovered")) == 1
    assert _stored(sqlite_store) > before  # read on from the cursor: nothing was lost
    with sqlite_store.session() as session:
        assert x_health(session, clock.now()).ok
