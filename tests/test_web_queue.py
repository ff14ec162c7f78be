"""The queue as a person uses it: what each draft shows, and the decisions (approve, edit then approve,
reject, regenerate, hand-off) through the pages and the JSON API, on SQLite and Postgres, with the CLI."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.answering import Answerer
from bot.cli import main
from bot.clock import FakeClock
from bot.drafting.offline import OfflineDrafter
from bot.review import settle_handoffs
from bot.runner import web_regenerator
from bot.store.db import Store
from bot.store.models import Action, Draft, DraftEvent, DraftKind, DraftState, Route
from bot.text import weighted_length
from bot.web.server import WebServer
from tests.web_helpers import (
    CHAT_START,
    PASSWORD,
    ROOT,
    add_draft,
    add_post,
    add_run,
    draft_state,
    login,
    make_app,
    shipped_config,
)

Q1 = "Q1 How do you use X in your job search? #JobHuntChat"
ANSWER = "A1 I keep a list of company career handles and check it every Monday #JobHuntChat"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(CHAT_START + timedelta(minutes=6))


@pytest.fixture
def chat(store: Store) -> dict[str, int]:
    """A live #JobHuntChat run: Q1 by the host, a guest's answer, a reply to it; an answer draft to Q1 and a
    reply draft to the reply."""
    run = add_run(store)
    add_post(
        store, run, "100", author="JobHuntChat", text=Q1, at=CHAT_START + timedelta(minutes=5), question=1
    )
    add_post(
        store,
        run,
        "101",
        author="sam_recruits",
        text="A1 Career handles #JobHuntChat",
        at=CHAT_START,
        reply_to="100",
    )
    add_post(
        store,
        run,
        "102",
        author="lena_pivots",
        text="@sam_recruits which ones? #JobHuntChat",
        at=CHAT_START,
        reply_to="101",
    )
    at = CHAT_START + timedelta(minutes=5, seconds=20)
    answer = add_draft(
        store, run, text=ANSWER, at=at, target="100", question=1, reason="the host asked Q1", score=0.82
    )
    reply = add_draft(
        store,
        run,
        text="@lena_pivots the big ones #JobHuntChat",
        at=at,
        kind=DraftKind.REPLY,
        target="102",
        route=Route.HANDOFF,
        reason="Lena asked a question you can answer",
        score=0.6,
    )
    return {"run": run, "answer": answer, "reply": reply}


@pytest.fixture
def client(store: Store, clock: FakeClock) -> TestClient:
    return TestClient(make_app(store, clock=clock))


def test_the_queue_shows_the_live_chat_its_question_and_what_each_draft_answers(
    client: TestClient, chat: dict[str, int]
) -> None:
    login(client)
    page = client.get("/").text
    assert page.index("#JobHuntChat") < page.index(f'id="draft-{chat["answer"]}"')
    question = _section(page, 'class="question"', "</div>")
    assert (
        "Q1" in question and "How do you use X in your job search?" in question and "@JobHuntChat" in question
    )
    answer = _card(page, chat["answer"])
    assert "A1 · answer" in answer and ">API<" in answer and "score 0.82" in answer
    assert '@JobHuntChat <em class="role role-host">host</em>' in answer
    assert "the host asked Q1" in answer and f"{weighted_length(ANSWER)}/280" in answer
    assert "expires" in answer and "Approve</button>" in answer
    reply = _card(page, chat["reply"])
    assert "hand-off" in reply and "Approve &amp; open X" in reply
    assert '@lena_pivots <em class="role role-participant">participant</em>' in reply
    assert "the conversation above (2)" in reply and "@sam_recruits" in reply and "@JobHuntChat" in reply


def _card(page: str, draft_id: int) -> str:
    return _section(page, f'id="draft-{draft_id}"', "</article>")


def _section(page: str, start: str, end: str) -> str:
    begin = page.index(start)
    return page[begin : page.index(end, begin)]


def test_approving_from_the_page_answers_with_the_card_and_the_cli_sees_it(
    client: TestClient, store: Store, chat: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    csrf = login(client)
    answer = client.post(
        f"/drafts/{chat['answer']}/approve", headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
    )
    assert answer.status_code == 200 and "approved: posting shortly" in answer.text
    assert draft_state(store, chat["answer"]).state == DraftState.APPROVED
    again = client.post(
        f"/drafts/{chat['answer']}/approve", headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
    )
    assert again.status_code == 409 and "is approved, not pending; nothing changed" in again.text


def test_an_edit_past_280_is_refused_with_the_count_and_changes_nothing(
    client: TestClient, store: Store, chat: dict[str, int]
) -> None:
    csrf = login(client)
    too_long = "A1 " + "really " * 40 + "#JobHuntChat"
    answer = client.post(
        f"/drafts/{chat['answer']}/approve", data={"text": too_long}, headers={"X-CSRF-Token": csrf}
    )
    assert answer.status_code == 422
    assert f"{weighted_length(too_long)}/280 characters" in answer.text
    assert "editing" in answer.text and "really really" in answer.text  # the edit stays open, text kept
    draft = draft_state(store, chat["answer"])
    assert draft.state == DraftState.PENDING and draft.text == ANSWER

    shorter = "A1 I keep a list of career handles #JobHuntChat"
    api = client.post(
        f"/api/drafts/{chat['answer']}/approve", json={"text": shorter}, headers={"X-CSRF-Token": csrf}
    )
    assert (
        api.status_code == 200
        and api.json()["state"] == DraftState.APPROVED
        and api.json()["text"] == shorter
    )
    with store.session() as session:
        edit = session.scalars(select(DraftEvent).where(DraftEvent.why == "edited")).one()
        assert edit.by == "web" and edit.text_before == ANSWER


def test_the_api_refuses_a_bad_text_with_each_problem(client: TestClient, chat: dict[str, int]) -> None:
    csrf = login(client)
    answer = client.post(
        f"/api/drafts/{chat['answer']}/approve",
        json={"text": "A2 wrong number"},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 422
    assert answer.json()["problems"] == ["hashtag #JobHuntChat missing", "starts with A2, the question is Q1"]


def test_rejecting_keeps_the_reason(client: TestClient, store: Store, chat: dict[str, int]) -> None:
    csrf = login(client)
    answer = client.post(
        f"/drafts/{chat['answer']}/reject", data={"reason": " not my voice "}, headers={"X-CSRF-Token": csrf}
    )
    assert answer.status_code == 200 and ">rejected<" in answer.text
    with store.session() as session:
        draft = session.get(Draft, chat["answer"])
        assert draft is not None and draft.state == DraftState.REJECTED
        assert draft.events[-1].why == "not my voice" and draft.events[-1].by == "web"


def test_the_json_queue_has_the_same_facts(client: TestClient, chat: dict[str, int]) -> None:
    login(client)
    queue = client.get("/api/queue").json()
    assert queue["pending"] == 2
    live = queue["chats"][0]
    assert live["live"] is True and live["question"]["question_number"] == 1
    reply = next(d for d in live["drafts"] if d["id"] == chat["reply"])
    assert reply["route"] == "handoff" and reply["target"]["author"] == "lena_pivots"
    assert [p["author"] for p in reply["conversation"]] == ["JobHuntChat", "sam_recruits"]
    assert [p["role"] for p in reply["conversation"]] == ["host", "participant"]
    assert reply["verdict"] is None or reply["verdict"]["summary"] in ("allowed", "held", "refused")


def test_approving_a_hand_off_gives_the_intent_then_settles_when_the_post_is_seen(
    client: TestClient, store: Store, clock: FakeClock, chat: dict[str, int]
) -> None:
    csrf = login(client)
    answer = client.post(
        f"/drafts/{chat['reply']}/approve", headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
    )
    intent = answer.headers["X-Intent-Url"]
    assert intent.startswith("https://x.com/intent/post?") and "in_reply_to=102" in intent
    assert "%40lena_pivots+the+big+ones" in intent
    assert "waiting for you to post" in answer.text and "Open X to post it" in answer.text
    assert draft_state(store, chat["reply"]).state == DraftState.HANDED_OFF

    clock.advance(timedelta(minutes=1))
    add_post(
        store,
        chat["run"],
        "200",
        author="ada_builds",
        text="@lena_pivots the big ones #JobHuntChat",
        at=clock.now(),
        reply_to="102",
        own=True,
    )
    card = client.get(f"/drafts/{chat['reply']}").text
    assert "waiting for you to post" in card  # a card alone does not settle; the queue does
    queue = client.get("/api/queue").json()
    reply = next(d for d in queue["chats"][0]["drafts"] if d["id"] == chat["reply"])
    assert reply["status"] == "posted" and reply["x_post_url"].endswith("/status/200")
    with store.session() as session:
        action = session.scalars(select(Action).where(Action.draft_id == chat["reply"])).one()
        assert action.via == Route.HANDOFF and action.x_post_id == "200"


def test_a_hand_off_never_seen_is_marked_not_seen(
    store: Store, clock: FakeClock, chat: dict[str, int]
) -> None:
    client = TestClient(make_app(store, clock=clock))
    csrf = login(client)
    client.post(f"/api/drafts/{chat['reply']}/approve", headers={"X-CSRF-Token": csrf})
    clock.advance(timedelta(minutes=14))
    assert settle_handoffs(store, clock=clock) == []
    clock.advance(timedelta(minutes=2))
    assert [d.id for d in settle_handoffs(store, clock=clock)] == [chat["reply"]]
    reply = client.get(f"/api/drafts/{chat['reply']}").json()
    assert reply["state"] == DraftState.EXPIRED and reply["status"] == "not seen"


def test_regenerate_is_refused_clearly_without_a_regenerator(
    client: TestClient, chat: dict[str, int]
) -> None:
    csrf = login(client)
    answer = client.post(f"/api/drafts/{chat['answer']}/regenerate", headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 501 and "not available" in answer.json()["detail"]


def test_regenerate_gives_fresh_text_and_keeps_the_old_in_the_history(
    store: Store, clock: FakeClock, chat: dict[str, int]
) -> None:
    answerer = Answerer(config=shipped_config(), store=store, drafter=OfflineDrafter(), clock=clock)
    client = TestClient(make_app(store, clock=clock, regenerate=web_regenerator(answerer)))
    csrf = login(client)
    assert "Regenerate</button>" in client.get("/").text
    answer = client.post(f"/drafts/{chat['answer']}/regenerate", headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200 and "waiting for you" in answer.text
    fresh = draft_state(store, chat["answer"])
    assert fresh.text != ANSWER and fresh.text.startswith("A1") and fresh.state == DraftState.PENDING
    assert fresh.text in answer.text.replace("&#39;", "'")
    with store.session() as session:
        event = session.scalars(select(DraftEvent).where(DraftEvent.draft_id == chat["answer"])).all()[-1]
        assert event.by == "web" and event.why.startswith("regenerated") and event.text_before == ANSWER


def test_the_queue_version_changes_with_every_move(
    client: TestClient, store: Store, chat: dict[str, int]
) -> None:
    csrf = login(client)
    before = client.get("/api/queue/state").json()
    assert before["pending"] == 2 and sorted(before["pending_ids"]) == sorted([chat["answer"], chat["reply"]])
    assert client.get("/api/queue/state").json()["version"] == before["version"]
    client.post(f"/api/drafts/{chat['answer']}/reject", headers={"X-CSRF-Token": csrf}, json={})
    after = client.get("/api/queue/state").json()
    assert after["version"] != before["version"] and after["pending"] == 1


def test_the_cli_approves_and_rejects_while_the_web_process_serves_the_same_database(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock(CHAT_START + timedelta(minutes=6))
    run = add_run(sqlite_store)
    first = add_draft(sqlite_store, run, text=ANSWER, at=CHAT_START, question=1, target="100")
    second = add_draft(
        sqlite_store, run, text="A2 later #JobHuntChat", at=CHAT_START, question=2, target="101"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", str(sqlite_store.url))
    monkeypatch.setenv("CHATCADDY_CONFIG", str(ROOT / "schedules.yaml"))
    web = WebServer(make_app(sqlite_store, clock=clock), "127.0.0.1", 0)
    web.start()
    try:
        assert main(["approve", str(first)]) == 0
        assert main(["reject", str(second), "--reason", "too early"]) == 0
        session = requests.Session()
        page = session.get(f"{web.url}/login", timeout=5)
        token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
        assert token is not None
        session.post(f"{web.url}/login", data={"secret": PASSWORD, "login_csrf": token.group(1)}, timeout=5)
        states = {
            d["id"]: d["state"]
            for d in session.get(f"{web.url}/api/queue", timeout=5).json()["chats"][0]["drafts"]
        }
        assert states == {first: DraftState.APPROVED, second: DraftState.REJECTED}
    finally:
        web.stop()
    out = capsys.readouterr().out
    assert f"approved #{first}" in out and f"rejected #{second}" in out


def test_the_cli_prints_the_intent_for_a_hand_off(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = add_run(sqlite_store)
    reply = add_draft(
        sqlite_store,
        run,
        text="@lena thanks #JobHuntChat",
        at=CHAT_START,
        kind=DraftKind.REPLY,
        target="102",
        route=Route.HANDOFF,
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", str(sqlite_store.url))
    monkeypatch.setenv("CHATCADDY_CONFIG", str(ROOT / "schedules.yaml"))
    assert main(["approve", str(reply)]) == 0
    assert (
        "post it yourself on X (the text is filled in): https://x.com/intent/post?" in capsys.readouterr().out
    )
    assert draft_state(sqlite_store, reply).state == DraftState.HANDED_OFF


def test_a_long_queue_draws_the_oldest_25_of_a_chat_and_counts_the_rest(
    sqlite_store: Store, clock: FakeClock
) -> None:
    run = add_run(sqlite_store)
    ids = [
        add_draft(sqlite_store, run, text=f"Post {n} #JobHuntChat", at=CHAT_START, kind=DraftKind.POST)
        for n in range(30)
    ]
    client = TestClient(make_app(sqlite_store, clock=clock))
    login(client)
    page = client.get("/").text
    drawn = [int(i) for i in re.findall(r'<article class="draft[^"]*" id="draft-(\d+)"', page)]
    assert drawn == ids[:25]
    assert "5 more drafts wait in this chat" in page
    queue = client.get("/api/queue").json()
    assert queue["pending"] == 30 and queue["chats"][0]["not_shown"] == 5
