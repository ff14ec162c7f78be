"""The chat pages: the schedule (next windows, as times the browser shows in the viewer's zone), and a chat's
session: its posts as read with the host's questions marked, the actions taken, the engage/promote standing
as a server-drawn chart, and what its reads cost so far."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from bot.clock import FakeClock
from bot.store.db import Store
from bot.store.models import Action, Route
from bot.web.charts import standing_svg
from bot.web.chat_views import ReadCost, Standing, StandingPoint
from tests.web_helpers import CHAT_START, add_draft, add_post, add_run, login, make_app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(CHAT_START + timedelta(minutes=30))


@pytest.fixture
def client(sqlite_store: Store, clock: FakeClock) -> TestClient:
    client = TestClient(make_app(sqlite_store, clock=clock))
    login(client)
    return client


def test_the_schedule_lists_each_chat_with_its_next_windows(client: TestClient) -> None:
    page = client.get("/chats").text
    for tag in ("#JobHuntChat", "#LinkedInLocal", "#CareerChat"):
        assert tag in page
    assert "every Monday at 21:00 America/New_York" in page
    assert "live now" in page  # the clock is inside Monday's #JobHuntChat
    starts = re.findall(r'<time class="local" datetime="([^"]+)"', page)
    assert "2026-11-24T02:00:00+00:00" in starts and "2026-12-01T02:00:00+00:00" in starts
    api = client.get("/api/chats").json()
    job = next(c for c in api if c["slug"] == "jobhuntchat")
    assert [w["live"] for w in job["windows"]] == [True, False, False]


def _session(store: Store) -> int:
    run = add_run(store)
    at = CHAT_START + timedelta(minutes=5)
    add_post(
        store, run, "100", author="JobHuntChat", text="Q1 How do you use X? #JobHuntChat", at=at, question=1
    )
    add_post(store, run, "101", author="sam_recruits", text="A1 Lists! #JobHuntChat", at=at, reply_to="100")
    add_post(
        store, run, "102", author="sam_recruits", text="A1 And alerts #JobHuntChat", at=at, reply_to="100"
    )
    add_post(store, run, "103", author="ada_builds", text="Hi from Lisbon #JobHuntChat", at=at, own=True)
    draft = add_draft(store, run, text="A1 I keep a list #JobHuntChat", at=at, question=1, target="100")
    with store.session() as session:
        for minutes, kind, promotional, x_id, draft_id in (
            (-60, "reply", False, "90", None),  # before the session: part of the standing it starts with
            (7, "answer", False, "200", draft),
            (9, "reply", False, "201", None),
            (12, "post", True, "202", None),
            (14, "reply", False, "203", None),
        ):
            session.add(
                Action(
                    kind=kind,
                    chat_slug="jobhuntchat",
                    run_id=run if minutes > 0 else None,
                    draft_id=draft_id,
                    x_post_id=x_id,
                    is_promotional=promotional,
                    at=CHAT_START + timedelta(minutes=minutes),
                    via=Route.API,
                )
            )
    return run


def test_a_chat_page_shows_posts_actions_standing_and_cost(client: TestClient, sqlite_store: Store) -> None:
    run = _session(sqlite_store)
    page = client.get(f"/chats/jobhuntchat?run={run}").text
    question = re.search(r'<li class="question">(.*?)</li>', page, re.S)
    assert question and "Q1" in question.group(1) and "How do you use X?" in question.group(1)
    assert page.count('<li class="question">') == 1 and page.count('<li class="own">') == 1
    assert "A1 I keep a list #JobHuntChat" in page and "via the API" in page and ">promotion<" in page
    assert "<svg" in page and "needed to promote" in page and "chart-promo" in page
    assert "≈ $0.050" in page  # 4 posts × $0.005 + 3 authors × $0.010
    detail = client.get(f"/api/chats/jobhuntchat?run={run}").json()["run"]
    assert (detail["posts_read"], detail["authors_read"]) == (4, 3)
    assert detail["read_cost_usd"] == pytest.approx(4 * 0.005 + 3 * 0.010)
    assert len(detail["actions"]) == 4 and detail["engagements_needed"] >= 1
    points = [(p["since_promotion"], p["promotion"]) for p in detail["standing"]]
    assert [promo for _, promo in points] == [False, False, True, False]
    assert points[2][0] == 0  # a promotion starts the count again


def test_a_chat_not_joined_yet_says_so(client: TestClient) -> None:
    page = client.get("/chats/careerchat")
    assert page.status_code == 200 and "has not joined this chat yet" in page.text
    assert client.get("/chats/no-such-chat").status_code == 404
    assert client.get("/api/chats/no-such-chat").status_code == 404


def test_the_standing_chart_draws_the_level_the_threshold_and_each_promotion() -> None:
    start = CHAT_START
    standing = Standing(
        needed=4,
        start=start,
        end=start + timedelta(hours=1),
        initial=2,
        points=(
            StandingPoint(start + timedelta(minutes=15), 3, False),
            StandingPoint(start + timedelta(minutes=30), 0, True),
            StandingPoint(start + timedelta(minutes=45), 1, False),
        ),
    )
    svg = str(standing_svg(standing))
    assert svg.startswith("<svg") and 'role="img"' in svg and "style=" not in svg
    assert "1 now; the policy asks for 4" in svg
    path = re.search(r'class="chart-engage" d="([^"]+)"', svg)
    assert path is not None and path.group(1).count("H") == 4  # three steps and the run to the end
    assert svg.count('class="chart-promo"') == 1 and "promotion at 02:30 UTC" in svg


def test_the_read_cost_counts_each_post_and_author_once() -> None:
    assert ReadCost(posts=20, authors=5).usd == pytest.approx(0.15)
