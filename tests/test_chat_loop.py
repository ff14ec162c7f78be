"""The chat loop end to end: the sandbox X server over HTTP, the real tweepy client, the worker's jobs,
the offline drafter, the queue and the publisher, on SQLite and on Postgres, in virtual time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from bot.clock import FakeClock
from bot.config import Config
from bot.drafting.offline import OfflineDrafter
from bot.replay import Replay, drive
from bot.review import approve, queue
from bot.runner import DEMO_TRANSCRIPT, sandbox_gateway
from bot.sandbox.server import SandboxServer
from bot.sandbox.transcript import load_transcript
from bot.store.db import Store
from bot.store.models import Action, ChatPost, ChatRun, Draft, DraftState
from bot.text import check_answer
from bot.worker import Worker
from tests.fixtures.chat import CHAT_START, ROOT

BASIC = ROOT / "tests" / "transcripts" / "basic.yaml"

MakeWorker = Callable[[SandboxServer], Worker]


@pytest.fixture
def chat_sandbox(clock: FakeClock) -> Iterator[SandboxServer]:
    with SandboxServer(load_transcript(BASIC), clock=clock, start=CHAT_START) as server:
        yield server


@pytest.fixture
def make_worker(config: Config, store: Store, clock: FakeClock) -> Iterator[MakeWorker]:
    made: list[Worker] = []

    def make(server: SandboxServer) -> Worker:
        gateway = sandbox_gateway(server, clock)
        drafter = OfflineDrafter()
        made.append(Worker(config=config, store=store, gateway=gateway, drafter=drafter, clock=clock))
        return made[-1]

    yield make
    for worker in made:  # as a process's end closes its connections
        worker.close()


def _answers(store: Store) -> list[Draft]:
    """The pending answer drafts (the queue also holds replies, likes, follows… for other posts)."""
    return [draft for draft in queue(store) if draft.kind == "answer"]


def _stored_tweets(store: Store) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(ChatPost.tweet_id)))


def test_the_demo_chat_plays_through_with_every_answer_posted_once(config: Config, store: Store) -> None:
    summary = Replay(
        config=config,
        transcript=load_transcript(DEMO_TRANSCRIPT),
        store=store,
        drafter=OfflineDrafter(),
        approve="all",
    ).run()

    assert summary["questions"] == 7
    answers = [p["text"] for p in summary["posts"] if p["text"].startswith("A")]
    assert [text.split()[0] for text in answers] == [f"A{n}" for n in range(1, 8)]
    for n, text in enumerate(answers, start=1):
        assert check_answer(text, n=n, hashtag="#JobHuntChat") == []
    assert summary["posted"] == len(summary["posts"])
    assert summary["tweets_read"] == summary["unique_tweets"] > 100
    assert summary["latency_ms"]["max"] is not None


def test_a_question_becomes_a_draft_in_the_queue_and_approval_posts_it_once(
    chat_sandbox: SandboxServer, make_worker: MakeWorker, store: Store, clock: FakeClock
) -> None:
    worker = make_worker(chat_sandbox)
    assert [run.chat_slug for run in worker.start()] == ["jobhuntchat"]
    drive(worker, clock, until=CHAT_START + timedelta(minutes=6))

    (draft,) = _answers(store)
    assert (draft.kind, draft.question_number, draft.state) == ("answer", 1, "pending")
    assert draft.text.startswith("A1") and "#JobHuntChat" in draft.text
    assert draft.target_tweet_id == chat_sandbox.post_id("q1")
    assert chat_sandbox.posted() == []  # nothing goes out without a person

    approve(store, [draft.id], clock=clock, by="cli")
    drive(worker, clock, until=clock.now() + timedelta(minutes=2))
    posted = chat_sandbox.posted()
    assert [p["text"] for p in posted] == [draft.text]
    with store.session() as session:
        stored = session.get(Draft, draft.id)
        assert stored is not None
        assert (stored.state, stored.x_post_id) == ("posted", posted[0]["id"])
        assert session.scalar(select(func.count(Action.id))) == 1


def test_a_restart_in_the_middle_resumes_from_the_cursor_without_reading_a_post_twice(
    chat_sandbox: SandboxServer, make_worker: MakeWorker, store: Store, clock: FakeClock
) -> None:
    first = make_worker(chat_sandbox)
    first.start()
    drive(first, clock, until=CHAT_START + timedelta(minutes=7))
    read_before = chat_sandbox.usage()["tweets_returned"]
    assert 0 < read_before < len(chat_sandbox.posted()) + 15

    first.close()  # the process died: its connections (and leases) are gone with it
    clock.advance(timedelta(minutes=2))  # down for two minutes, then a new process starts
    second = make_worker(chat_sandbox)
    assert [run.since_id for run in second.start()] != [None]  # joined the same run, cursor kept
    drive(second, clock, until=CHAT_START + timedelta(minutes=61))

    stored = _stored_tweets(store)
    assert len(stored) == len(set(stored))
    assert chat_sandbox.usage()["tweets_returned"] == len(stored)  # tweets_read == unique_tweets
    with store.session() as session:
        assert session.scalar(select(func.count(ChatRun.id))) == 1
        assert session.scalar(select(ChatRun.state)) == "closed"
        answers = list(session.scalars(select(Draft.question_number).where(Draft.kind == "answer")))
    assert sorted(answers) == [1, 2]


class _Crash(Exception):
    """Stands for the process dying: raised by the database driver, not by our code."""


def _crash_when_recording_posted(store: Store) -> Callable[[], None]:
    def before_execute(_conn: object, _cursor: object, statement: str, params: object, *_: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE DRAFTS") and "posted" in str(params):
            raise _Crash("killed between the API call and the commit")

    event.listen(store.engine, "before_cursor_execute", before_execute)
    return lambda: event.remove(store.engine, "before_cursor_execute", before_execute)


def test_a_crash_between_the_api_call_and_the_commit_does_not_post_twice(
    chat_sandbox: SandboxServer, make_worker: MakeWorker, store: Store, clock: FakeClock
) -> None:
    worker = make_worker(chat_sandbox)
    worker.start()
    drive(worker, clock, until=CHAT_START + timedelta(minutes=6))
    (draft,) = _answers(store)
    approve(store, [draft.id], clock=clock, by="cli")

    heal = _crash_when_recording_posted(store)
    with pytest.raises(_Crash):
        worker.publisher.publish_one()
    heal()
    assert len(chat_sandbox.posted()) == 1  # it reached X
    with store.session() as session:
        assert session.scalar(select(Draft.state).where(Draft.id == draft.id)) == "posting"

    worker.close()  # the process died
    restarted = make_worker(chat_sandbox)
    restarted.start()  # reconciles against the account's own recent posts
    drive(restarted, clock, until=clock.now() + timedelta(minutes=3))
    assert len(chat_sandbox.posted()) == 1
    with store.session() as session:
        stored = session.get(Draft, draft.id)
        assert stored is not None
        assert (stored.state, stored.x_post_id) == ("posted", chat_sandbox.posted()[0]["id"])
        assert session.scalar(select(func.count(Action.id))) == 1


def test_a_crash_before_the_post_reached_x_posts_it_after_the_restart(
    chat_sandbox: SandboxServer, make_worker: MakeWorker, store: Store, clock: FakeClock
) -> None:
    worker = make_worker(chat_sandbox)
    worker.start()
    drive(worker, clock, until=CHAT_START + timedelta(minutes=6))
    (draft,) = _answers(store)
    approve(store, [draft.id], clock=clock, by="cli")
    with store.session() as session:  # claimed, then the process died before calling X
        from bot.store.drafts import claim_for_posting

        assert claim_for_posting(session, draft.id, at=clock.now(), by="publisher") is not None

    worker.close()  # the process died
    restarted = make_worker(chat_sandbox)
    restarted.start()
    with store.session() as session:
        assert session.scalar(select(Draft.state).where(Draft.id == draft.id)) == DraftState.APPROVED
    drive(restarted, clock, until=clock.now() + timedelta(minutes=1))
    assert [p["text"] for p in chat_sandbox.posted()] == [draft.text]


def test_drafts_nobody_acted_on_expire_when_the_window_closes(
    chat_sandbox: SandboxServer, make_worker: MakeWorker, store: Store, clock: FakeClock
) -> None:
    worker = make_worker(chat_sandbox)
    worker.start()
    drive(worker, clock, until=CHAT_START + timedelta(minutes=61))
    assert queue(store) == []
    with store.session() as session:
        states = set(session.scalars(select(Draft.state)))
    assert states == {"expired"}


def test_an_edited_answer_is_checked_again_before_approval(
    chat_sandbox: SandboxServer, make_worker: MakeWorker, store: Store, clock: FakeClock
) -> None:
    from bot.errors import DraftStateError

    worker = make_worker(chat_sandbox)
    worker.start()
    drive(worker, clock, until=CHAT_START + timedelta(minutes=6))
    (draft,) = _answers(store)
    with pytest.raises(DraftStateError, match="starts with A2, the question is Q1"):
        approve(store, [draft.id], clock=clock, by="cli", text="A2 wrong number #JobHuntChat")
    with pytest.raises(DraftStateError, match="289/280 characters"):
        approve(store, [draft.id], clock=clock, by="cli", text="A1 " + "x" * 273 + " #JobHuntChat")
    assert [d.state for d in _answers(store)] == ["pending"]  # nothing changed

    edited = "A1 I keep a list of company career handles #JobHuntChat"
    approve(store, [draft.id], clock=clock, by="cli", text=edited)
    drive(worker, clock, until=clock.now() + timedelta(seconds=30))
    assert [p["text"] for p in chat_sandbox.posted()] == [edited]


def test_joining_late_answers_only_the_questions_the_chat_is_still_on(
    make_worker: MakeWorker, store: Store, clock: FakeClock
) -> None:
    """A worker (re)started at minute 30 of the demo chat reads Q1 to Q4 at once: answers to Q1 and Q2
    would expire the moment they were drafted (Q4 is out), so they are not drafted, and say why."""
    with SandboxServer(load_transcript(DEMO_TRANSCRIPT), clock=clock, start=CHAT_START) as server:
        clock.advance(timedelta(minutes=30))
        worker = make_worker(server)
        worker.start()
        worker.tick()

    assert sorted(draft.question_number or 0 for draft in _answers(store)) == [3, 4]
    with store.session() as session:
        skipped = session.scalars(
            select(ChatPost).where(ChatPost.question_number.in_([1, 2])).order_by(ChatPost.question_number)
        ).all()
        assert [(q.question_number, q.triage) for q in skipped] == [(1, "none"), (2, "none")]
        assert all("Q4 was out when it was read" in (q.triage_reason or "") for q in skipped)
