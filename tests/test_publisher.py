"""The publisher against the sandbox: spacing, transient and permanent failures, pagination on a late join,
and one shared search for chats live at the same time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import FakeClock
from bot.config import Config
from bot.drafting.offline import OfflineDrafter
from bot.replay import drive
from bot.review import approve, queue, render_queue
from bot.runner import DEMO_TRANSCRIPT, sandbox_gateway
from bot.sandbox.server import SandboxServer
from bot.sandbox.transcript import load_transcript
from bot.schedule import Window
from bot.store.db import Store
from bot.store.models import ChatPost, ChatRun, Draft
from bot.worker import Worker
from tests.fixtures.chat import CHAT_START


@pytest.fixture
def demo(clock: FakeClock) -> Iterator[SandboxServer]:
    with SandboxServer(load_transcript(DEMO_TRANSCRIPT), clock=clock, start=CHAT_START) as server:
        yield server


def _worker(config: Config, store: Store, server: SandboxServer, clock: FakeClock) -> Worker:
    gateway = sandbox_gateway(server, clock)
    return Worker(config=config, store=store, gateway=gateway, drafter=OfflineDrafter(), clock=clock)


def _answers_for_two_questions(worker: Worker, store: Store, clock: FakeClock) -> list[Draft]:
    worker.start()
    drive(worker, clock, until=CHAT_START + timedelta(minutes=13))
    drafts = [d for d in queue(store) if d.kind == "answer"]
    assert [d.question_number for d in drafts] == [1, 2]
    return drafts


def test_approved_posts_are_spaced_by_min_gap(
    config: Config, sqlite_store: Store, demo: SandboxServer, clock: FakeClock
) -> None:
    worker = _worker(config, sqlite_store, demo, clock)
    drafts = _answers_for_two_questions(worker, sqlite_store, clock)
    approve(sqlite_store, [d.id for d in drafts], clock=clock, by="cli")
    drive(worker, clock, until=clock.now() + timedelta(minutes=1))
    with sqlite_store.session() as session:
        posted = sorted(session.scalars(select(Draft.posted_at).where(Draft.state == "posted")))
    assert len(posted) == 2
    assert posted[1] - posted[0] >= timedelta(seconds=20)


def test_a_server_error_is_retried_later_and_the_post_goes_out_once(
    config: Config, sqlite_store: Store, demo: SandboxServer, clock: FakeClock
) -> None:
    worker = _worker(config, sqlite_store, demo, clock)
    draft = _answers_for_two_questions(worker, sqlite_store, clock)[0]
    demo.set_faults(server_error=6, status=503, endpoint="create_post")
    approve(sqlite_store, [draft.id], clock=clock, by="cli")
    assert worker.publisher.publish_one() is not None  # gave up for now: back to approved
    assert [d.state for d in queue(sqlite_store, include_all=True) if d.id == draft.id] == ["approved"]
    drive(worker, clock, until=clock.now() + timedelta(minutes=2))
    assert [p["text"] for p in demo.posted()] == [draft.text]


def test_a_permanent_refusal_fails_the_draft_with_a_reason_the_queue_shows(
    config: Config, sqlite_store: Store, demo: SandboxServer, clock: FakeClock
) -> None:
    worker = _worker(config, sqlite_store, demo, clock)
    draft = _answers_for_two_questions(worker, sqlite_store, clock)[0]
    demo.set_faults(credits_depleted=True)
    approve(sqlite_store, [draft.id], clock=clock, by="cli")
    worker.publisher.publish_one()
    (failed,) = [d for d in queue(sqlite_store, include_all=True) if d.id == draft.id]
    assert failed.state == "failed"
    assert "credits" in (failed.error or "").lower()
    assert "failed: " in render_queue([failed], as_json=False)
    assert demo.posted() == []


def test_joining_late_reads_every_page(
    config: Config, sqlite_store: Store, demo: SandboxServer, clock: FakeClock
) -> None:
    clock.set(CHAT_START + timedelta(minutes=58))  # the worker starts near the end: 140+ posts wait
    worker = _worker(config, sqlite_store, demo, clock)
    worker.start()
    result = worker.tick()
    assert result.requests >= 2  # 100 per page: followed next_token
    with sqlite_store.session() as session:
        stored = list(session.scalars(select(ChatPost.tweet_id)))
    assert len(stored) == len(set(stored)) == result.tweets_read > 100
    # Q7 is out: Q6 and Q7 are answered; the chat has moved on from Q1 to Q5, decided so, not answered.
    assert sorted(d.question_number or 0 for d in queue(sqlite_store) if d.kind == "answer") == [6, 7]


def test_chats_live_together_share_one_search(
    config: Config, sqlite_store: Store, demo: SandboxServer, clock: FakeClock
) -> None:
    twin = config.chats[0].model_copy(update={"slug": "twin", "hashtag": "#TwinChat"})
    both = config.model_copy(update={"chats": [config.chats[0], twin]})
    worker = _worker(both, sqlite_store, demo, clock)
    for chat in both.chats:
        worker.join_window(chat, Window(chat.slug, clock.now(), clock.now() + timedelta(hours=1)))
    worker.tick()  # first read: each chat alone from its window's start
    before = demo.usage()["requests"]["search"]
    for _ in range(5):
        clock.advance(60)
        worker.tick()
    assert demo.usage()["requests"]["search"] - before == 5  # one combined query per tick, not two
    with sqlite_store.session() as session:
        cursors = set(session.scalars(select(ChatRun.since_id)))
    assert len(cursors) == 1 and None not in cursors  # the runs share the query's cursor


def test_a_first_read_starts_at_the_window_not_a_week_back(
    config: Config, sqlite_store: Store, demo: SandboxServer, clock: FakeClock
) -> None:
    window_start = CHAT_START + timedelta(minutes=10)  # the hashtag was busy before our window
    clock.set(CHAT_START + timedelta(minutes=20))
    worker = _worker(config, sqlite_store, demo, clock)
    chat = config.chats[0]
    worker.join_window(chat, Window(chat.slug, window_start, window_start + timedelta(hours=1)))
    result = worker.tick()
    with sqlite_store.session() as session:
        created = list(session.scalars(select(ChatPost.created_at)))
    assert created and min(created) >= window_start
    assert demo.usage()["tweets_returned"] == result.tweets_read == len(created)  # nothing older was billed
