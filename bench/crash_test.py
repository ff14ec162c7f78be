"""Crash safety, proven: SIGKILL the worker at random moments over a live sandbox chat with approvals
flowing, restart it each time, and check what a person cares about at the end.

The sandbox X server runs in its own process (it keeps its state across the worker's deaths); the worker is
the real `chatcaddy run`; approvals go through the same path as `chatcaddy approve`. At the end:
- every approved draft reached X exactly once (no text twice in the sandbox's posts),
- every chat post of the window was read and stored once (compared with a fresh search),
- one answer draft per host question (or, read after the chat moved on, a decision saying so), no
  duplicate drafts,
- every draft is in a final state or still pending for a person.

    python -m bench.crash_test --kills 50 --speed 30        # the full run (about 3 minutes)
    python -m bench.crash_test --kills 8 --speed 60 --json  # what the test suite runs
    python -m bench.crash_test --workers 3 --database-url postgresql://…   # three workers, one killed
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import select

from bot.clock import SystemClock
from bot.review import approve, queue
from bot.runner import DEMO_TRANSCRIPT
from bot.sandbox.transcript import load_transcript
from bot.store.db import Store, open_store, upgrade
from bot.store.models import ChatPost, Draft
from bot.x.gateway import XGateway

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_TOKEN = "1000-sandbox"  # the demo account's id, as the sandbox expects
READ_BACK = 6  # seconds: time for a poll (every 2 s) to read back the account's last post


@dataclass
class CrashReport:
    kills: int = 0
    restarts: int = 0
    approved: int = 0
    posted_to_x: int = 0
    duplicate_posts: int = 0
    approved_not_posted: int = 0
    posts_in_window: int = 0
    posts_stored: int = 0
    posts_missed: int = 0
    posts_stored_twice: int = 0
    questions: int = 0
    answer_drafts: int = 0
    questions_passed: int = 0  # read after the chat had moved on: decided "none", not answered
    duplicate_drafts: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _config(folder: Path, start: datetime, minutes: int) -> Path:
    """The shipped account with one chat whose window opens at `start` (UTC, whole minute)."""
    shipped = (ROOT / "schedules.yaml").read_text()
    # The account as shipped; its material folder is found beside the shipped file, not this copy.
    account = shipped[: shipped.index("\nchats:")].replace(
        "material: material", f"material: {ROOT / 'material'}"
    )
    day = start.strftime("%A").lower()
    chat = (
        "\nchats:\n"
        '  - {slug: jobhuntchat, hashtag: "#JobHuntChat", title: Job Hunt Chat, hosts: ["@JobHuntChat"],\n'
        f"     when: {{day: {day}, time: '{start:%H:%M}', timezone: UTC}}, duration: {minutes}m, poll: 2}}\n"
    )
    path = folder / "schedules.yaml"
    path.write_text(account + chat)
    return path


class Chat:
    """The sandbox in its own process, a worker process that can be killed, and the approver."""

    def __init__(self, folder: Path, database_url: str, speed: float) -> None:
        self.folder = folder
        self.database_url = database_url
        self.port = _free_port()
        now = datetime.now(UTC)
        self.window_start = now.replace(second=0, microsecond=0)
        length = max(p.at for p in load_transcript(DEMO_TRANSCRIPT).posts) / speed
        self.chat_end = now + length  # the last post is visible by then
        # A window lasts at least 5 minutes; the test ends with the chat, well inside it.
        minutes = max(5, math.ceil((self.chat_end - self.window_start).total_seconds() / 60) + 1)
        self.config = _config(folder, self.window_start, minutes)
        self.sandbox = subprocess.Popen(
            [sys.executable, "-m", "bot", "sandbox", "serve", "--transcript", str(DEMO_TRANSCRIPT),
             "--speed", str(speed), "--port", str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self.sandbox.stdout is not None
        self.sandbox.stdout.readline()  # "Sandbox X server at …": it is listening
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers: list[subprocess.Popen[bytes]] = []
        self.log = (folder / "worker.log").open("ab")  # the workers' stderr, for a post-mortem

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "CHATCADDY_CONFIG": str(self.config),
            "X_API_BASE": self.url,
            "X_API_KEY": "crash-test",
            "X_API_SECRET": "crash-test",
            "X_ACCESS_TOKEN": SANDBOX_TOKEN,
            "X_ACCESS_TOKEN_SECRET": "crash-test",
            "OPENAI_API_KEY": "",
            "CHATCADDY_MIN_GAP": "1",
            "CHATCADDY_LOG_LEVEL": "WARNING",
        }

    def start_worker(self) -> subprocess.Popen[bytes]:
        worker = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--no-web"], cwd=self.folder, env=self.env(),
            stdout=subprocess.DEVNULL, stderr=self.log,
        )  # fmt: skip
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: subprocess.Popen[bytes] | None = None) -> None:
        worker = worker or self.workers[-1]
        worker.send_signal(signal.SIGKILL)
        worker.wait()

    def stop(self) -> None:
        for process in [*self.workers, self.sandbox]:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=25)
                except subprocess.TimeoutExpired:
                    process.kill()
        if self.sandbox.stdout is not None:
            self.sandbox.stdout.close()
        self.log.close()

    def usage(self) -> dict[str, Any]:
        usage: dict[str, Any] = requests.get(f"{self.url}/__sandbox/usage", timeout=10).json()
        return usage


def _approve_everything(store: Store) -> int:
    ids = [draft.id for draft in queue(store)]
    if ids:
        approve(store, ids, clock=SystemClock(), by="crash-test")
    return len(ids)


def run(kills: int, speed: float, database_url: str | None = None, seed: int = 7) -> CrashReport:
    random.seed(seed)
    report = CrashReport()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chatcaddy-crash-") as tmp:
        folder = Path(tmp)
        url = database_url or f"sqlite:///{folder / 'crash.db'}"
        chat = Chat(folder, url, speed)
        upgrade(url)  # what `chatcaddy db upgrade` does at release
        store = open_store(url)
        try:
            # Spread the kills over the chat, leaving its last fifth for a clean finish.
            life = (chat.chat_end - datetime.now(UTC)).total_seconds() * 0.8 / max(kills, 1)
            for _ in range(kills):
                chat.start_worker()
                report.restarts += 1
                time.sleep(random.uniform(0.3, 2 * life))
                report.approved += _approve_everything(store)
                chat.kill_worker()
                report.kills += 1
            chat.start_worker()  # the last one lives to the end of the chat and posts what is approved
            while datetime.now(UTC) < chat.chat_end + timedelta(seconds=10) or _in_flight(store):
                report.approved += _approve_everything(store)
                time.sleep(1)
            time.sleep(READ_BACK)
            _check(chat, store, report)
        finally:
            chat.stop()
            store.dispose()
    report.seconds = round(time.monotonic() - started, 1)
    return report


def run_workers(workers: int, speed: float, database_url: str, seed: int = 5) -> CrashReport:
    """Several workers on one Postgres database over the same chat; one is SIGKILLed mid-chat. Each post
    must be read from X once (the run is leased to one reader) and each approved draft posted once."""
    random.seed(seed)
    report = CrashReport()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chatcaddy-workers-") as tmp:
        upgrade(database_url)
        store = open_store(database_url)
        chat = Chat(Path(tmp), database_url, speed)
        try:
            crew = [chat.start_worker() for _ in range(workers)]
            halfway = chat.chat_end - (chat.chat_end - datetime.now(UTC)) / 2
            while datetime.now(UTC) < chat.chat_end + timedelta(seconds=10) or _in_flight(store):
                report.approved += _approve_everything(store)
                if report.kills == 0 and datetime.now(UTC) >= halfway:
                    chat.kill_worker(random.choice(crew))
                    report.kills += 1
                time.sleep(1)
            time.sleep(READ_BACK)
            returned = chat.usage()["tweets_returned"]  # before the check's own search reads them all
            _check(chat, store, report)
            if returned != report.posts_stored:
                report.problems.append(f"X returned {returned} posts for {report.posts_stored} unique ones")
        finally:
            chat.stop()
            store.dispose()
    report.seconds = round(time.monotonic() - started, 1)
    return report


def _in_flight(store: Store) -> bool:
    with store.session() as session:
        return (
            session.scalar(select(Draft.id).where(Draft.state.in_(("approved", "posting"))).limit(1))
            is not None
        )


def _check(chat: Chat, store: Store, report: CrashReport) -> None:
    posted = requests.get(f"{chat.url}/__sandbox/posts", timeout=10).json()
    texts = Counter(post["text"] for post in posted)
    report.posted_to_x = len(posted)
    report.duplicate_posts = sum(n - 1 for n in texts.values() if n > 1)
    with store.session() as session:
        drafts = list(session.scalars(select(Draft)))
        stored = list(session.scalars(select(ChatPost.tweet_id)))
        questions = set(session.scalars(select(ChatPost.tweet_id).where(ChatPost.event == "question")))
        # A question read after the chat moved on (the worker was down) is decided "none", saying why.
        passed = set(
            session.scalars(
                select(ChatPost.tweet_id).where(ChatPost.event == "question", ChatPost.triage == "none")
            )
        )
    approved_ever = [d for d in drafts if d.state in ("approved", "posting", "posted", "failed")]
    report.approved_not_posted = sum(1 for d in approved_ever if d.state != "posted" or texts[d.text] != 1)
    in_window = _search_all(chat)
    report.posts_in_window = len(in_window)
    report.posts_stored = len(set(stored))
    report.posts_missed = len(in_window - set(stored))
    report.posts_stored_twice = len(stored) - len(set(stored))
    report.questions = len(questions)
    answers = Counter(d.target_tweet_id for d in drafts if d.kind == "answer")
    report.answer_drafts = len(answers)
    report.duplicate_drafts = sum(
        n - 1 for n in Counter((d.kind, d.target_tweet_id) for d in drafts).values() if n > 1
    )
    for name in (
        "duplicate_posts",
        "approved_not_posted",
        "posts_missed",
        "posts_stored_twice",
        "duplicate_drafts",
    ):
        if getattr(report, name):
            report.problems.append(f"{name}: {getattr(report, name)}")
    report.questions_passed = len(passed)
    undecided = questions - set(answers) - passed
    if undecided:
        report.problems.append(f"{len(undecided)} of {report.questions} questions not answered nor decided")


def _search_all(chat: Chat) -> set[str]:
    """Every post of the window as X has it now: the reference for "every chat post was read"."""
    gateway = XGateway(
        api_key="check",
        api_secret="check",
        access_token=SANDBOX_TOKEN,
        access_token_secret="check",
        api_base=chat.url,
        clock=SystemClock(),
    )
    found: set[str] = set()
    token = None
    while True:
        page = gateway.search_page("#JobHuntChat -is:retweet", next_token=token, start_time=chat.window_start)
        found |= {post.id for post in page.posts}
        token = page.next_token
        if not token:
            return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--speed", type=float, default=30.0)
    parser.add_argument("--database-url", default=os.environ.get("CRASH_DATABASE_URL"))
    parser.add_argument(
        "--workers", type=int, default=1, help="N > 1: N workers on Postgres (--database-url), one killed"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.workers > 1 and not (args.database_url or "").startswith("postgresql"):
        parser.error("--workers needs a Postgres --database-url (several workers share it)")
    report = (
        run_workers(args.workers, args.speed, args.database_url)
        if args.workers > 1
        else run(args.kills, args.speed, args.database_url)
    )
    if args.json:
        print(json.dumps({**asdict(report), "ok": report.ok}, indent=2))
    else:
        for key, value in asdict(report).items():
            print(f"{key:>22}: {value}")
        print("OK" if report.ok else "BROKEN")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
