"""Who may use the dashboard: every route but the login refuses a browser without a session, every state
change refuses one without the CSRF token, failed logins are limited, cookies and headers are strict, and the
server will not listen beyond this computer without a password."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from bot.cli import main
from bot.clock import FakeClock
from bot.errors import ConfigError
from bot.store.db import Store
from bot.store.models import DraftState
from bot.web.auth import LOGIN_COOKIE, SESSION_COOKIE, Auth
from bot.web.server import is_loopback, require_safe_address
from tests.web_helpers import CHAT_START, PASSWORD, ROOT, add_draft, add_run, draft_state, login, make_app

PUBLIC = {"/login", "/healthz", "/counter-rules.js"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(CHAT_START + timedelta(minutes=10))


@pytest.fixture
def client(sqlite_store: Store, clock: FakeClock) -> TestClient:
    return TestClient(make_app(sqlite_store, clock=clock))


def _routes(client: TestClient) -> list[tuple[str, str]]:
    """Every (method, concrete path) the app serves, but the static files."""
    found = []
    for route in _flat(client.app.routes):  # type: ignore[attr-defined]
        path = route.path.replace("{draft_id}", "1").replace("{slug}", "jobhuntchat")
        methods = route.methods if isinstance(route, APIRoute) else getattr(route, "methods", {"GET"})
        found += [(method, path) for method in sorted(methods) if method != "HEAD"]
    return found


def _flat(routes: list[Any]) -> list[Any]:
    """The routes, with those of included routers listed in place; without the static mount."""
    flat = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            flat += _flat(included.routes)
        elif not isinstance(route, Mount):
            flat.append(route)
    return flat


def test_every_route_but_the_login_is_refused_without_a_session(
    client: TestClient, sqlite_store: Store
) -> None:
    draft = add_draft(sqlite_store, add_run(sqlite_store), text="A1 hi #JobHuntChat", at=CHAT_START)
    routes = _routes(client)
    assert len(routes) >= 15
    for cookie in (None, "eyJzaWQiOiJ4IiwiaWF0IjoxfQ.forged"):
        client.cookies.clear()
        if cookie:
            client.cookies.set(SESSION_COOKIE, cookie)
        for method, path in routes:
            if path in PUBLIC:
                continue
            answer = client.request(method, path, follow_redirects=False)
            if path.startswith("/api/"):
                assert answer.status_code == 401, (method, path, answer.status_code)
            else:
                assert answer.status_code == 303 and answer.headers["location"] == "/login", (method, path)
    assert draft_state(sqlite_store, draft).state == DraftState.PENDING


def test_an_htmx_request_without_a_session_is_sent_to_the_login(client: TestClient) -> None:
    answer = client.get("/queue/items", headers={"HX-Request": "true"})
    assert answer.status_code == 401 and answer.headers["HX-Redirect"] == "/login"


def test_state_changes_are_refused_without_the_csrf_token(client: TestClient, sqlite_store: Store) -> None:
    run = add_run(sqlite_store)
    draft = add_draft(sqlite_store, run, text="A1 hi #JobHuntChat", at=CHAT_START)
    csrf = login(client)
    posts = [
        (m, p.replace("/1/", f"/{draft}/")) for m, p in _routes(client) if m == "POST" and p not in PUBLIC
    ]
    assert {"/logout", f"/drafts/{draft}/approve", f"/api/drafts/{draft}/reject"} <= {p for _, p in posts}
    for _method, path in posts:
        for headers in ({}, {"X-CSRF-Token": "not-the-token"}, {"X-CSRF-Token": ""}):
            answer = client.post(path, headers=headers, data={"csrf_token": "wrong"}, follow_redirects=False)
            assert answer.status_code == 403, (path, headers, answer.status_code)
            assert "CSRF" in answer.text
    assert draft_state(sqlite_store, draft).state == DraftState.PENDING
    assert client.get("/", follow_redirects=False).status_code == 200  # still logged in: logout refused too
    answer = client.post(f"/api/drafts/{draft}/approve", headers={"X-CSRF-Token": csrf}, json={})
    assert answer.status_code == 200 and answer.json()["state"] == DraftState.APPROVED


def test_the_session_cookie_is_httponly_lax_and_secure_behind_https(client: TestClient) -> None:
    plain = _session_cookie_header(client, {})
    assert "HttpOnly" in plain and "SameSite=lax" in plain and "Secure" not in plain
    behind_router = _session_cookie_header(TestClient(client.app), {"X-Forwarded-Proto": "https"})
    assert (
        "Secure"
        in TestClient(client.app).get("/login", headers={"X-Forwarded-Proto": "https"}).headers["set-cookie"]
    )
    assert "Secure" in behind_router and "HttpOnly" in behind_router


def _session_cookie_header(client: TestClient, headers: dict[str, str]) -> str:
    page = client.get("/login", headers=headers)
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token is not None
    login_cookie = f"{LOGIN_COOKIE}={token.group(1)}"  # sent by hand: a Secure cookie is not sent over http
    answer = client.post(
        "/login",
        data={"secret": PASSWORD, "login_csrf": token.group(1)},
        headers={**headers, "Cookie": login_cookie},
        follow_redirects=False,
    )
    return next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and SESSION_COOKIE in v)


def test_pages_carry_a_strict_csp_and_no_inline_script_or_style(
    client: TestClient, sqlite_store: Store
) -> None:
    add_draft(sqlite_store, add_run(sqlite_store), text="A1 hi #JobHuntChat", at=CHAT_START)
    login(client)
    for path in ("/", "/chats", "/chats/jobhuntchat", "/login", "/queue/items"):
        answer = client.get(path)
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"
        html = answer.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path  # every script is a file
        assert not re.search(r"\son[a-z]+=", html) and not re.search(r"\sstyle=", html), path
    https = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert https.headers["strict-transport-security"].startswith("max-age=")


def test_failed_logins_are_limited_then_allowed_again(client: TestClient, clock: FakeClock) -> None:
    for _ in range(5):
        assert _try_login(client, "wrong password").status_code == 401
    refused = _try_login(client, PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "too many failed logins" in refused.text
    clock.advance(timedelta(minutes=5, seconds=1))
    assert _try_login(client, PASSWORD).status_code == 303


def _try_login(client: TestClient, secret: str) -> object:
    page = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token is not None
    return client.post(
        "/login", data={"secret": secret, "login_csrf": token.group(1)}, follow_redirects=False
    )


def test_the_login_form_refuses_a_post_from_elsewhere(client: TestClient) -> None:
    answer = client.post("/login", data={"secret": PASSWORD}, follow_redirects=False)
    assert answer.status_code == 403 and SESSION_COOKIE not in answer.headers.get("set-cookie", "")


def test_a_session_expires_and_logging_out_ends_it(client: TestClient, clock: FakeClock) -> None:
    csrf = login(client)
    cookie = client.cookies[SESSION_COOKIE]
    assert client.post("/logout", headers={"X-CSRF-Token": csrf}, follow_redirects=False).status_code == 303
    client.cookies.set(SESSION_COOKIE, cookie)  # the old cookie, replayed
    assert client.get("/api/queue").status_code == 401
    login(client)
    clock.advance(timedelta(hours=12, minutes=1))
    assert client.get("/api/queue").status_code == 401


def test_without_a_password_a_one_time_token_logs_one_browser_in(
    sqlite_store: Store, clock: FakeClock
) -> None:
    printed: list[str] = []
    auth = Auth(password="", clock=clock, on_new_token=printed.append)
    first = auth.token
    assert first
    app = make_app(sqlite_store, clock=clock, auth=auth)
    browser = TestClient(app)
    assert browser.get(f"/login?token={first}", follow_redirects=False).headers["location"] == "/"
    assert browser.get("/api/queue").status_code == 200
    other = TestClient(app)
    assert other.get(f"/login?token={first}", follow_redirects=False).status_code == 401  # spent
    assert printed == [auth.token] and auth.token != first
    assert other.get(f"/login?token={printed[0]}", follow_redirects=False).status_code == 303


def test_the_server_only_listens_beyond_loopback_with_a_password() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        assert is_loopback(host)
        require_safe_address(host, "")
    for host in ("0.0.0.0", "192.168.1.4", "::", "example.com"):
        assert not is_loopback(host)
        with pytest.raises(ConfigError, match="DASHBOARD_PASSWORD is not set"):
            require_safe_address(host, "")
        require_safe_address(host, "a password")


def test_chatcaddy_web_refuses_0_0_0_0_without_a_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DASHBOARD_PASSWORD", raising=False)
    monkeypatch.setenv("CHATCADDY_CONFIG", str(ROOT / "schedules.yaml"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'chatcaddy.db'}")
    assert main(["web", "--host", "0.0.0.0", "--port", "0"]) == 2
    assert (
        "DASHBOARD_PASSWORD is not set: the dashboard will not listen on 0.0.0.0" in capsys.readouterr().err
    )
