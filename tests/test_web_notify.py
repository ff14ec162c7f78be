"""Notifications: one apprise message when drafts wait unseen, at most one per chat per few minutes, each
draft told once; a draft on a visible dashboard page is seen and not told. Apprise sends real HTTP (its `json://`
service) to a local server standing in for Slack, Discord, Telegram or e-mail."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer

from bot.clock import FakeClock
from bot.errors import ConfigError
from bot.settings import Settings, load_settings
from bot.store.db import Store
from bot.web.deps import SeenDrafts, WebContext
from bot.web.notify import Notifier, notifier_from_settings, notify_urls
from tests.web_helpers import CHAT_START, add_draft, add_run, login, make_app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(CHAT_START + timedelta(minutes=5))


def _notifier(
    store: Store, clock: FakeClock, httpserver: HTTPServer, seen: SeenDrafts | None = None
) -> Notifier:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    return Notifier(
        store=store,
        clock=clock,
        seen=seen or SeenDrafts(),
        urls=[f"json://127.0.0.1:{httpserver.port}/hook"],
        after=timedelta(seconds=60),
        dashboard_url="https://caddy.example.org",
    )


def _messages(httpserver: HTTPServer) -> list[dict[str, str]]:
    return [json.loads(request.get_data()) for request, _ in httpserver.log]


def test_drafts_unseen_for_a_minute_bring_one_message_per_chat(
    sqlite_store: Store, clock: FakeClock, httpserver: HTTPServer
) -> None:
    run = add_run(sqlite_store)
    add_draft(
        sqlite_store, run, text="A1 I keep a list of career handles #JobHuntChat", at=clock.now(), question=1
    )
    add_draft(
        sqlite_store, run, text="A2 Referrals after a real talk #JobHuntChat", at=clock.now(), question=2
    )
    notifier = _notifier(sqlite_store, clock, httpserver)
    clock.advance(timedelta(seconds=59))
    assert notifier.check() == []
    clock.advance(timedelta(seconds=1))
    assert notifier.check() == ["jobhuntchat"]
    [message] = _messages(httpserver)
    assert message["title"] == "chatcaddy: 2 drafts waiting in jobhuntchat"
    assert "A1 I keep a list of career handles" in message["message"]
    assert "https://caddy.example.org" in message["message"]

    add_draft(sqlite_store, run, text="A3 A third one #JobHuntChat", at=clock.now(), question=3)
    clock.advance(timedelta(minutes=2))
    assert notifier.check() == []  # a new draft, but the chat was told 2 minutes ago
    assert notifier.check() == []
    clock.advance(timedelta(minutes=3))
    assert notifier.check() == ["jobhuntchat"]
    messages = _messages(httpserver)
    assert len(messages) == 2 and messages[1]["title"] == "chatcaddy: 1 draft waiting in jobhuntchat"
    clock.advance(timedelta(minutes=10))
    assert notifier.check() == []  # each draft is told once


def test_a_draft_on_a_visible_page_is_seen_and_not_told(
    sqlite_store: Store, clock: FakeClock, httpserver: HTTPServer
) -> None:
    run = add_run(sqlite_store)
    draft = add_draft(sqlite_store, run, text="A1 hi #JobHuntChat", at=clock.now(), question=1)
    app = make_app(sqlite_store, clock=clock)
    web: WebContext = app.state.web
    client = TestClient(app)
    csrf = login(client)
    client.get(f"/api/queue/state?seen={draft}")  # without the CSRF header: not counted
    assert not web.seen.was_seen(draft)
    client.get(f"/api/queue/state?seen={draft},x,99999999999", headers={"X-CSRF-Token": csrf})
    assert web.seen.was_seen(draft)
    notifier = _notifier(sqlite_store, clock, httpserver, seen=web.seen)
    clock.advance(timedelta(minutes=5))
    assert notifier.check() == []
    assert httpserver.log == []


def test_the_setting_is_checked_and_never_echoed(
    sqlite_store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert notify_urls(" slack://a/b/c,  discord://1/2\nmailto://u:p@example.org ") == [
        "slack://a/b/c",
        "discord://1/2",
        "mailto://u:p@example.org",
    ]
    settings = Settings(chatcaddy_notify="json://127.0.0.1:9/ok nonsense://secret-token-123")
    with pytest.raises(ConfigError) as raised:
        notifier_from_settings(settings, store=sqlite_store, clock=clock, seen=SeenDrafts(), dashboard_url="")
    assert "URL number 2 (nonsense://…) is not one apprise knows" in str(raised.value)
    assert "secret-token-123" not in str(raised.value)
    assert (
        notifier_from_settings(
            Settings(), store=sqlite_store, clock=clock, seen=SeenDrafts(), dashboard_url=""
        )
        is None
    )
    monkeypatch.setenv("CHATCADDY_NOTIFY_AFTER", "soon")
    with pytest.raises(ConfigError, match=r"CHATCADDY_NOTIFY_AFTER: .*whole number of seconds"):
        load_settings()
