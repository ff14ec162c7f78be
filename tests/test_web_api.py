"""The JSON API against its own OpenAPI schema: schemathesis generates requests for every operation (valid and
invalid ones) and sends them over real HTTP to a logged-in dashboard; no answer may be a server error, and
every answer must match the schema."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from bot.answering import Answerer
from bot.clock import FakeClock
from bot.drafting.offline import OfflineDrafter
from bot.runner import web_regenerator
from bot.store.db import open_store
from bot.store.models import DraftKind, Route
from bot.web.server import WebServer
from tests.web_helpers import CHAT_START, PASSWORD, add_draft, add_post, add_run, make_app, shipped_config


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A dashboard on a SQLite file with a live run and a few drafts, served on a free port, logged in."""
    path: Path = tmp_path_factory.mktemp("api") / "chatcaddy.db"
    store = open_store(f"sqlite:///{path}", auto_upgrade=True)
    run = add_run(store)
    for n in range(1, 4):
        question = str(100 + n)
        add_post(
            store,
            run,
            question,
            author="JobHuntChat",
            text=f"Q{n} Hi? #JobHuntChat",
            at=CHAT_START,
            question=n,
        )
        add_draft(store, run, text=f"A{n} take #JobHuntChat", at=CHAT_START, question=n, target=question)
    add_draft(
        store,
        run,
        text="@x hi #JobHuntChat",
        at=CHAT_START,
        kind=DraftKind.REPLY,
        target="100",
        route=Route.HANDOFF,
    )
    clock = FakeClock(CHAT_START + timedelta(minutes=10))
    answerer = Answerer(config=shipped_config(), store=store, drafter=OfflineDrafter(), clock=clock)
    app = make_app(store, clock=clock, regenerate=web_regenerator(answerer))
    web = WebServer(app, "127.0.0.1", 0)
    web.start()
    session = requests.Session()
    form = session.get(f"{web.url}/login", timeout=5)
    token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
    assert token is not None
    session.post(f"{web.url}/login", data={"secret": PASSWORD, "login_csrf": token.group(1)}, timeout=5)
    csrf = session.get(f"{web.url}/api/session", timeout=5).json()["csrf"]
    session.headers["X-CSRF-Token"] = csrf
    yield {
        "url": web.url,
        "session": session,
        "schema": session.get(f"{web.url}/api/openapi.json", timeout=5).json(),
    }
    session.close()
    web.stop()
    store.dispose()


@pytest.mark.parametrize("mode", list(GenerationMode), ids=str)
def test_the_api_answers_every_generated_request_without_a_server_error(
    live_api: dict[str, Any], mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_dict(live_api["schema"])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    tried = 0
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def call(case: Any) -> None:
            case.call_and_validate(
                base_url=live_api["url"],
                session=live_api["session"],
                checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
            )

        try:
            call()
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE  # nothing to get wrong in an operation without input
            continue
        tried += 1
    assert tried >= 6


def test_the_schema_lists_the_decisions(live_api: dict[str, Any]) -> None:
    paths = live_api["schema"]["paths"]
    assert {"/api/queue", "/api/drafts/{draft_id}/approve", "/api/drafts/{draft_id}/reject"} <= set(paths)
    assert "/api/chats/{slug}" in paths and "post" in paths["/api/drafts/{draft_id}/regenerate"]
