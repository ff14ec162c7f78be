"""The `chatcaddy` command as a person uses it: exit statuses, messages, and nothing changed on error."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.store.db import Store
from bot.store.models import Draft
from tests.fixtures.db import make_draft, make_run

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli_store(sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Store:
    monkeypatch.chdir(tmp_path)  # no .env from the work tree
    monkeypatch.setenv("DATABASE_URL", str(sqlite_store.url))
    monkeypatch.setenv("CHATCADDY_CONFIG", str(ROOT / "schedules.yaml"))
    with sqlite_store.session() as session:
        run = make_run(session, chat_slug="jobhuntchat")
        make_draft(session, run=run, text="A1: small steps, every day #jobhuntchat")
        make_draft(session, run=run, text="A2: ask after a real talk #jobhuntchat")
    return sqlite_store


def _states(store: Store) -> list[str]:
    with store.session() as session:
        return [d.state for d in session.query(Draft).order_by(Draft.id)]


def test_check_prints_ok_for_the_shipped_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--config", str(ROOT / "schedules.yaml")]) == 0
    assert capsys.readouterr().out.startswith("OK: ")


def test_check_reports_every_problem_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "schedules.yaml"
    bad.write_text(
        "account: {handle: '@a', name: A, bio: b, voice: v}\nchats:\n  - {slug: X!, hashtag: nope}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--config", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) >= 3 and all(line.startswith(f"{bad}:3:") for line in lines)


def test_chats_json_lists_three_windows_per_chat(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chats", "--json", "--config", str(ROOT / "schedules.yaml")]) == 0
    chats = json.loads(capsys.readouterr().out)
    assert {c["slug"] for c in chats} >= {"jobhuntchat", "linkedinlocal"}
    assert all(len(c["windows"]) == 3 for c in chats)


def test_queue_lists_pending_drafts_as_text_and_json(
    cli_store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["queue"]) == 0
    out = capsys.readouterr().out
    assert "#1" in out and "A1: small steps" in out and "#2" in out
    assert main(["queue", "--json", "--chat", "jobhuntchat"]) == 0
    assert [d["id"] for d in json.loads(capsys.readouterr().out)] == [1, 2]
    assert main(["queue", "--json", "--chat", "other"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_approve_and_reject_move_the_drafts(cli_store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["approve", "1"]) == 0
    assert main(["reject", "2", "--reason", "off topic"]) == 0
    assert _states(cli_store) == ["approved", "rejected"]
    assert main(["show", "2"]) == 0
    assert "off topic" in capsys.readouterr().out


def test_an_unknown_id_changes_nothing_and_says_which(
    cli_store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["approve", "1", "99"]) == 2
    assert "no draft 99" in capsys.readouterr().err
    assert _states(cli_store) == ["pending", "pending"]


def test_a_draft_no_longer_pending_is_refused_with_its_state(
    cli_store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reject", "1"]) == 0
    assert main(["approve", "2", "1"]) == 2
    assert "draft 1 is rejected, not pending; nothing changed" in capsys.readouterr().err
    assert _states(cli_store) == ["rejected", "pending"]


def test_sigterm_stops_the_worker_cleanly_within_the_grace(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "CHATCADDY_CONFIG": str(ROOT / "schedules.yaml"),
        "OPENAI_API_KEY": "",
    }
    command = [sys.executable, "-m", "bot", "run", "--sandbox", "--no-web"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.DEVNULL, "text": True}
    with subprocess.Popen(command, cwd=tmp_path, env=env, **pipes) as worker:  # type: ignore[call-overload]
        assert worker.stdout is not None
        for line in worker.stdout:  # wait until it is up: it prints what to do next
            if "chatcaddy queue" in line:
                break
        worker.send_signal(signal.SIGTERM)
        try:
            assert worker.wait(timeout=20) == 0
        finally:
            worker.kill()
