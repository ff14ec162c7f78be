"""Editing schedules.yaml while the worker runs: valid edits take effect, invalid ones are reported with
their lines and the last good config keeps running."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import structlog
from sqlalchemy import select

from bot.clock import FakeClock
from bot.config import Config
from bot.drafting.offline import OfflineDrafter
from bot.log import configure_logging
from bot.reload import ConfigWatcher
from bot.runner import sandbox_gateway
from bot.sandbox.server import SandboxServer
from bot.store.db import Store
from bot.store.models import Draft, DraftKind
from bot.worker import Worker
from tests.fixtures.chat import ROOT


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "schedules.yaml"
    shutil.copy(ROOT / "schedules.yaml", path)
    return path


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(stream=stream, json=True)
    yield stream
    structlog.contextvars.clear_contextvars()


def test_an_unchanged_file_gives_nothing_new(config_file: Path) -> None:
    watcher = ConfigWatcher(config_file)
    assert watcher.changed() is None


def test_a_valid_edit_is_picked_up(config_file: Path) -> None:
    watcher = ConfigWatcher(config_file)
    config_file.write_text(config_file.read_text().replace("title: Job Hunt Chat", "title: Job Hunt Hour"))
    config = watcher.changed()
    assert config is not None and config.chat("jobhuntchat").title == "Job Hunt Hour"
    assert watcher.changed() is None  # once


def test_an_invalid_edit_is_reported_with_its_line_and_nothing_changes(
    config_file: Path, logs: io.StringIO
) -> None:
    watcher = ConfigWatcher(config_file)
    text = config_file.read_text()
    config_file.write_text(text.replace("day: monday", "day: mondy", 1))
    assert watcher.changed() is None
    (line,) = [json.loads(line) for line in logs.getvalue().splitlines() if "config.invalid" in line]
    line_number = text[: text.index("day: monday")].count("\n") + 1
    assert any(
        f"schedules.yaml:{line_number}:" in problem and "mondy" in problem for problem in line["problems"]
    )
    assert watcher.problems == line["problems"]
    config_file.write_text(text)  # fixed again: picked up, problems cleared
    assert watcher.changed() is not None and watcher.problems == []


def test_a_reload_reaches_the_drafts_the_worker_writes_next(
    config: Config, sqlite_store: Store, sandbox: SandboxServer, fake_clock: FakeClock
) -> None:
    """Not only the reader: the account's voice, bio and talking points drive the next drafts."""
    worker = Worker(
        config=config,
        store=sqlite_store,
        gateway=sandbox_gateway(sandbox, fake_clock),
        drafter=OfflineDrafter(),
        clock=fake_clock,
    )
    worker.start()
    fake_clock.advance(timedelta(minutes=6))
    worker.tick()  # Q1 is out: answered from the shipped account
    duck = "I rehearse every networking tip with a rubber duck before I try it on people"
    account = config.account.model_copy(
        update={"bio": "Rubber duck whisperer.", "talking_points": [duck], "material": None}
    )
    worker.reload(config.model_copy(update={"account": account}))
    fake_clock.advance(timedelta(minutes=10))
    worker.tick()  # Q2 is out
    worker.close()

    with sqlite_store.session() as session:
        answers = {
            d.question_number: d.text
            for d in session.scalars(select(Draft).where(Draft.kind == DraftKind.ANSWER))
        }
    assert "duck" not in answers[1]
    assert "rubber duck" in answers[2]
