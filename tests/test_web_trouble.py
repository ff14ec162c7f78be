"""What the dashboard tells beyond the drafts: X's trouble in a banner on every page (and in the queue's own
polling) while it lasts, the drafts the offline drafter wrote because the LLM failed, and that the queue's
verdicts, read once for the whole page, are exactly the policy's verdicts draft by draft."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import requests
from fastapi.testclient import TestClient

from bot.clock import FakeClock
from bot.drafting.offline import OfflineDrafter
from bot.policy.budget import UsageRecorder
from bot.policy.rules import verdict
from bot.runner import sandbox_gateway, transcript_chat
from bot.sandbox.server import SandboxServer
from bot.sandbox.transcript import load_transcript
from bot.schedule import Window
from bot.settings import Settings
from bot.store.db import Store
from bot.store.models import Draft, DraftKind, DraftState
from bot.web.app import create_app
from bot.web.policy import displayable
from bot.web.server import WebServer
from bot.worker import Worker
from bot.x.types import RateLimit, XRequestRecord
from tests.web_helpers import (
    CHAT_START,
    PASSWORD,
    TRANSCRIPT,
    add_draft,
    add_post,
    add_run,
    login,
    make_app,
    shipped_config,
)

NOW = CHAT_START + timedelta(minutes=6)
LLM_KEY = "sk-test-not-a-real-key-4242"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


def _record(store: Store, at: datetime, status: int | None, *, remaining: int = 0) -> None:
    """One request as the worker's gateway records it (through the real usage recorder)."""
    limit = RateLimit(endpoint="search", limit=300, remaining=remaining, reset_at=at + timedelta(minutes=10))
    record = XRequestRecord(
        endpoint="search", status=status, at=at, posts_read=0, users_read=0, rate_limit=limit
    )
    UsageRecorder(store)(record)


def _banner(html: str) -> str | None:
    """The banner's words when it shows, None when it is hidden."""
    found = re.search(r'<div id="x-trouble"[^>]*?( hidden)?>(.*?)</div>', html, re.S)
    assert found, "every logged-in page carries the banner (hidden while X answers)"
    if found.group(1):
        return None
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(2))).strip()


@pytest.mark.parametrize(
    ("status", "remaining", "words"),
    [
        (429, 0, "X is rate-limiting chatcaddy: it waits as X asks (until 02:15 UTC)"),
        (429, 300, "The usage cap of your X API plan is reached"),
        (402, 0, "Your X developer account has no credits left"),
        (503, 0, "X is failing (503)"),
        (None, 0, "X does not answer (timeouts or dropped connections)"),
    ],
)
def test_a_banner_tells_x_trouble_on_every_page_until_it_recovers(
    store: Store, clock: FakeClock, status: int | None, remaining: int, words: str
) -> None:
    add_run(store)
    with TestClient(make_app(store, clock=clock)) as client:
        login(client)
        assert _banner(client.get("/").text) is None
        assert client.get("/api/queue/state").json()["x_trouble"] is None

        _record(store, NOW - timedelta(minutes=2), 200)
        _record(store, NOW - timedelta(minutes=1), status, remaining=remaining)
        _record(store, NOW - timedelta(seconds=5), status, remaining=remaining)
        for page in ("/", "/chats", "/chats/jobhuntchat"):
            shown = _banner(client.get(page).text)
            assert shown is not None and words in shown, (page, shown)
            assert "Since 02:05 UTC." in shown  # when the failing began, not the latest failure
        state = client.get("/api/queue/state").json()
        assert words in state["x_trouble"]["message"]
        assert state["x_trouble"]["since"].startswith("2026-11-24T02:05:00")
        assert "x-trouble" not in client.get("/queue/items").text  # a fragment: the polling keeps it

        _record(store, NOW, 200)  # X answers again
        assert _banner(client.get("/").text) is None
        assert client.get("/api/queue/state").json()["x_trouble"] is None


def test_old_failures_raise_no_banner(store: Store, clock: FakeClock) -> None:
    _record(store, NOW - timedelta(minutes=20), 503)
    with TestClient(make_app(store, clock=clock)) as client:
        login(client)
        assert _banner(client.get("/").text) is None


def test_the_login_page_tells_nothing_about_x(store: Store, clock: FakeClock) -> None:
    _record(store, NOW, 402)
    with TestClient(make_app(store, clock=clock)) as client:
        page = client.get("/login").text
    assert "x-trouble" not in page and "credits" not in page


@pytest.fixture
def live(sqlite_store: Store) -> Iterator[tuple[FakeClock, SandboxServer, Worker, WebServer]]:
    """The sandbox X, a worker recording its requests as `chatcaddy run` does, and the dashboard on HTTP."""
    clock = FakeClock(CHAT_START)
    transcript = load_transcript(TRANSCRIPT)
    chat = transcript_chat(shipped_config(), transcript, duration=timedelta(hours=1))
    config = shipped_config().model_copy(update={"chats": [chat]})
    with SandboxServer(transcript, clock=clock, start=CHAT_START) as sandbox:
        gateway = sandbox_gateway(sandbox, clock, on_request=UsageRecorder(sqlite_store))
        worker = Worker(
            config=config,
            store=sqlite_store,
            gateway=gateway,
            drafter=OfflineDrafter(),
            clock=clock,
            min_gap=0,
        )
        worker.join_window(chat, Window(chat.slug, CHAT_START, CHAT_START + timedelta(hours=1)))
        web = WebServer(make_app(sqlite_store, clock=clock, config=config), "127.0.0.1", 0)
        web.start()
        try:
            yield clock, sandbox, worker, web
        finally:
            web.stop()
            worker.close()


def test_sandbox_faults_show_in_the_banner_and_go_once_x_answers(
    live: tuple[FakeClock, SandboxServer, Worker, WebServer],
) -> None:
    clock, sandbox, worker, web = live
    browser = requests.Session()
    form = browser.get(f"{web.url}/login").text
    token = re.search(r'name="login_csrf" value="([^"]+)"', form)
    assert token
    browser.post(f"{web.url}/login", data={"secret": PASSWORD, "login_csrf": token.group(1)})
    clock.advance(timedelta(minutes=3))
    worker.tick()
    assert _banner(browser.get(f"{web.url}/").text) is None

    sandbox.set_faults(endpoint="search", credits_depleted=True)
    clock.advance(timedelta(minutes=1))
    assert worker.tick().error is not None
    shown = _banner(browser.get(f"{web.url}/").text)
    assert shown is not None and "no credits left" in shown
    assert "no credits left" in browser.get(f"{web.url}/api/queue/state").json()["x_trouble"]["message"]

    sandbox.set_faults(clear=True)
    clock.advance(timedelta(minutes=11))
    worker.tick()
    assert _banner(browser.get(f"{web.url}/chats").text) is None
    assert browser.get(f"{web.url}/api/queue/state").json()["x_trouble"] is None


def _app(store: Store, clock: FakeClock, *, llm_key: str) -> TestClient:
    settings = Settings(dashboard_password=PASSWORD, openai_api_key=llm_key)
    return TestClient(create_app(store=store, config=shipped_config(), clock=clock, settings=settings))


def _set_drafter(store: Store, draft_id: int, drafter: str) -> None:
    with store.session() as session:
        draft = session.get(Draft, draft_id)
        assert draft is not None
        draft.drafter = drafter


@pytest.mark.parametrize("llm_key", [LLM_KEY, ""])
def test_a_draft_the_offline_drafter_wrote_for_a_failing_llm_says_so(
    store: Store, clock: FakeClock, llm_key: str
) -> None:
    run = add_run(store)
    at = CHAT_START + timedelta(minutes=5)
    by_llm = add_draft(store, run, text="A1 Career pages first #JobHuntChat", at=at, question=1)
    offline = add_draft(store, run, text="A1 I keep a list of handles #JobHuntChat", at=at, question=1)
    _set_drafter(store, by_llm, "llm")
    _set_drafter(store, offline, "offline")
    with _app(store, clock, llm_key=llm_key) as client:
        login(client)
        page = client.get("/").text
        cards = {d: client.get(f"/drafts/{d}").text for d in (by_llm, offline)}
        api = client.get(f"/api/drafts/{offline}").json()
    assert "drafted offline" not in cards[by_llm]
    if llm_key:  # an LLM drafts here: the offline draft is the fallback, and says so
        assert "drafted offline" in cards[offline]
        assert page.count("drafted offline") == 1
    else:  # every draft is the offline drafter's: nothing to point out
        assert "drafted offline" not in page
    assert api["drafter"] == "offline"
    assert LLM_KEY not in page and LLM_KEY not in cards[offline]  # the key never reaches the page


def test_the_queue_judges_every_draft_as_the_policy_does_one_by_one(store: Store, clock: FakeClock) -> None:
    """The queue reads the ledger once for all its verdicts; each must be the one `verdict` gives alone."""
    config = shipped_config()
    run = add_run(store)
    at = CHAT_START + timedelta(minutes=5)
    for q in range(1, 5):
        add_post(
            store, run, f"10{q}", author="JobHuntChat", text=f"Q{q} Where? #JobHuntChat", at=at, question=q
        )
    for n in range(4):
        add_post(store, run, f"20{n}", author="sam_recruits", text=f"tip {n} #JobHuntChat", at=at)
    add_post(store, run, "300", author="lena_pivots", text="hello #JobHuntChat", at=at)

    def reply(target: str, state: str = DraftState.PENDING) -> int:
        text = "@sam_recruits good one #JobHuntChat"
        return add_draft(store, run, text=text, at=at, kind=DraftKind.REPLY, target=target, state=state)

    for n in range(3):  # three replies to sam on their way: a fourth is one too many this session
        reply(f"20{n}", DraftState.APPROVED)
    add_draft(store, run, text="A1 See my course", at=at, target="101", promotional=True, state="approved")
    pending = [
        reply("203"),
        add_draft(store, run, text="@lena_pivots same here #JobHuntChat", at=at, kind="reply", target="300"),
        add_draft(store, run, text="A2 Lists #JobHuntChat", at=at, target="102", question=2),
        add_draft(store, run, text="A3 My course helps #JobHuntChat", at=at, target="103", promotional=True),
        add_draft(store, run, text="A4 Lists #JobHuntChat #OtherChat", at=at, target="104", question=4),
    ]
    with TestClient(make_app(store, clock=clock, config=config)) as client:
        login(client)
        queue = client.get("/api/queue").json()
    shown = {d["id"]: d["verdict"] for chat in queue["chats"] for d in chat["drafts"]}
    with store.session() as session:
        for draft_id in pending:
            draft = session.get(Draft, draft_id)
            assert draft is not None
            alone = displayable(verdict(session, draft, config, clock.now()))
            assert shown[draft_id] == {
                "allowed": alone.allowed,
                "summary": alone.summary,
                "missing": alone.missing,
            }
    summaries = [shown[d]["summary"] for d in pending]
    assert summaries.count("allowed") == 2 and "held" in summaries and "refused" in summaries
    assert "already 3 replies to @sam_recruits" in shown[pending[0]]["missing"]
