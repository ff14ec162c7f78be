"""Editing schedules.yaml while the worker runs: valid edits take effect, invalid ones are reported with
their lines and the last good config keeps running."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from bot.log import configure_logging
from bot.reload import ConfigWatcher
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
