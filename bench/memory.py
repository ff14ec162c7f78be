"""6. Memory: the peak RSS of a worker process through a 5-chat evening and through a simulated week, and
the size of its database.

The worker runs in a process of its own (a fresh interpreter, so nothing of the benchmark's own memory is
counted); the sandbox X server runs here and follows the worker's virtual clock through shared memory.
Five weekly chats meet every evening (two at its start, the others 30, 60 and 90 minutes later, an hour
each), every draft is approved. Between evenings the worker's jobs go on with no chat live (the poll closes
what ended, the publisher's housekeeping runs retention: other people's texts go 24 h after their window
closed). Just before the next evening, the worker's RSS and peak (VmHWM) are sampled, and its SQLite
database: its size, its WAL file's, the rows of the tables that grow and the texts still kept.

    python -m bench.memory [--evenings 7] [--posts 150]
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from bench.common import (
    DOC,
    START,
    ChatShape,
    ChatSpec,
    Headline,
    Section,
    TimedWorker,
    approve_pending,
    chat_posts,
    chat_spec,
    finish,
    make_config,
    migrated_store,
    people,
    play,
    quiet_logs,
    table,
    transcript,
)
from bot.clock import FakeClock
from bot.drafting.offline import OfflineDrafter
from bot.policy import UsageRecorder
from bot.policy.retention import TEXT_KEPT
from bot.sandbox.server import SandboxServer
from bot.sandbox.transcript import Transcript
from bot.schedule import Window
from bot.store.db import Store
from bot.store.models import Action, ChatPost, Draft, DraftEvent, XUsage
from bot.worker import Worker
from bot.x.gateway import XGateway

CHATS = 5
OFFSETS = (0, 0, 30, 60, 90)  # minutes after the evening's first chat
POLL = 120  # seconds: the chats' poll interval here (fewer polls, the same posts and drafts)
GOAL_MB = 150.0
FLAT_MB = 10.0  # growth from the first evening to the last that still counts as flat
IDLE_STEP = timedelta(minutes=10)  # between evenings: the worker's jobs, as often as its housekeeping runs
# The rows counted after each evening: the tables that grow with every chat.
COUNTED = {
    "chat posts": ChatPost,
    "drafts": Draft,
    "draft events": DraftEvent,
    "X usage": XUsage,
    "actions": Action,
}


class SharedClock:
    """The sandbox's clock: whatever virtual time the worker's process last set."""

    def __init__(self, value: Synchronized[float]) -> None:
        self.value = value

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.value.value, UTC)

    def sleep(self, seconds: float) -> None:
        """The sandbox never sleeps on its clock."""


class PublishingClock(FakeClock):
    """The worker's virtual clock, published to the sandbox's process at every move."""

    def __init__(self, start: datetime, value: Synchronized[float]) -> None:
        self.value = value
        super().__init__(start)
        self.value.value = start.timestamp()

    def advance(self, by: float | timedelta) -> datetime:
        now = super().advance(by)
        self.value.value = now.timestamp()
        return now

    def set(self, when: datetime) -> None:
        super().set(when)
        self.value.value = when.timestamp()


@dataclass(frozen=True)
class Week:
    chats: list[ChatSpec]
    evenings: list[list[Window]]
    played: Transcript


def week(evenings: int, posts: int, minutes: int = 60, poll: int = POLL) -> Week:
    """`evenings` evenings of the five chats, `minutes` long each (their starts spread in proportion)."""
    chats = [chat_spec(i + 1, prefix="Week", poll=poll, minutes=minutes) for i in range(CHATS)]
    crowd = people(150)
    scripted, plan = [], []
    for day in range(evenings):
        windows = []
        for i, (chat, offset) in enumerate(zip(chats, OFFSETS, strict=True)):
            at = timedelta(days=day, minutes=offset * minutes / 60)
            shape = ChatShape(posts=posts, questions=8, minutes=chat.minutes)
            scripted += chat_posts(chat, shape, crowd, at=at + timedelta(seconds=i), seed=1000 * day + i)
            windows.append(Window(chat.slug, START + at, START + at + timedelta(minutes=chat.minutes)))
        plan.append(windows)
    return Week(chats, plan, transcript(chats, crowd, scripted))


def rss_mb() -> tuple[float, float]:
    """This process's resident set and its peak so far, in MB (from /proc/self/status)."""
    status = Path("/proc/self/status").read_text()

    def field(name: str) -> float:
        found = re.search(rf"^{name}:\s*(\d+) kB", status, re.M)
        return int(found.group(1)) / 1024 if found else float("nan")

    return field("VmRSS"), field("VmHWM")


def db_figures(store: Store) -> dict[str, int]:
    """The database's size (its pages, as SQLite counts them: the file once the WAL is checkpointed), the
    WAL file's, the rows of the tables that grow, and how many of other people's posts still hold their text
    (and its bytes)."""
    database = store.engine.url.database
    assert database is not None
    wal = Path(database + "-wal")
    figures = {"wal": wal.stat().st_size if wal.exists() else 0}
    with store.session() as session:
        pages, page_size = (
            session.execute(text(f"PRAGMA {p}")).scalar_one() for p in ("page_count", "page_size")
        )
        figures["database"] = int(pages) * int(page_size)
        for name, model in COUNTED.items():
            figures[name] = int(session.scalar(select(func.count()).select_from(model)) or 0)
        kept = select(func.count(), func.coalesce(func.sum(func.length(ChatPost.text)), 0)).where(
            ChatPost.text.is_not(None), ChatPost.is_own.is_(False)
        )
        texts, text_bytes = session.execute(kept).one()
    figures |= {"texts kept": int(texts), "text bytes": int(text_bytes)}
    return figures


def idle(worker: Worker, clock: FakeClock, until: datetime) -> int:
    """The hours between evenings: the poll (closing what ended) and the publisher (retention's purge every
    ten minutes) run as the worker runs them with no chat live, every `IDLE_STEP` of virtual time. Returns
    how many polls that was."""
    polls = 0
    while clock.now() + IDLE_STEP < until:
        clock.advance(IDLE_STEP)
        worker.tick()
        polls += 1
        while worker.publisher.publish_one() is not None:
            pass
    return polls


def worker_process(
    url: str,
    token: str,
    chats: list[ChatSpec],
    evenings: list[list[Window]],
    value: Synchronized[float],
    out: Connection,
) -> None:
    """The worker's process: play every evening and the day after it, then report RSS and the database."""
    quiet_logs()
    config = make_config(chats)
    clock = PublishingClock(START, value)
    with tempfile.TemporaryDirectory(prefix="chatcaddy-bench-") as folder:
        store = migrated_store(folder)
        samples: list[tuple[str, float, float, dict[str, int]]] = [("started", *rss_mb(), db_figures(store))]
        gateway = XGateway(
            api_key="sandbox-key",
            api_secret="sandbox-secret",
            access_token=token,
            access_token_secret="sandbox-token-secret",
            api_base=url,
            clock=clock,
            on_request=UsageRecorder(store),
        )
        worker = TimedWorker(
            config=config, store=store, gateway=gateway, drafter=OfflineDrafter(), clock=clock
        )
        held: set[int] = set()
        idle_polls = 0
        for day, windows in enumerate(evenings, start=1):
            clock.set(max(clock.now(), min(w.start for w in windows)))
            play(worker, clock, windows, each_step=lambda: approve_pending(store, clock, config, held))
            idle_polls += idle(worker, clock, until=START + timedelta(days=day))  # until the next evening
            gc.collect()
            samples.append((f"evening {day}", *rss_mb(), db_figures(store)))
        worker.close()
        store.dispose()
    out.send({"samples": samples, "polls": len(worker.ticks) - idle_polls, "posts": worker.posts_read})
    out.close()


def measure(evenings: int, posts: int, minutes: int, poll: int) -> dict[str, Any]:
    plan = week(evenings, posts, minutes, poll)
    spawn = multiprocessing.get_context("spawn")
    value = spawn.Value("d", START.timestamp(), lock=False)
    with SandboxServer(plan.played, clock=SharedClock(value), start=START) as server:
        receive, send = spawn.Pipe(duplex=False)
        child = spawn.Process(
            target=worker_process,
            args=(server.url, server.access_token, plan.chats, plan.evenings, value, send),
            name="bench-worker",
        )
        child.start()
        send.close()
        report: dict[str, Any] = receive.recv()
        child.join(timeout=60)
    return report


def run(
    *, evenings: int = 7, posts: int = 150, minutes: int = 60, poll: int = POLL, doc: Path = DOC, command: str
) -> Section:
    started = time.perf_counter()
    report = measure(evenings, posts, minutes, poll)
    samples: list[tuple[str, float, float, dict[str, int]]] = report["samples"]
    first, last = samples[1], samples[-1]
    peak = max(s[2] for s in samples)
    growth = last[1] - first[1]
    rows = [
        [name, f"{rss:.0f} MB", f"{hwm:.0f} MB", _mb(db["database"]), _mb(db["wal"]), *_counts(db)]
        for name, rss, hwm, db in samples
    ]
    headers = ("after", "RSS", "peak RSS so far", "database", "WAL file", *COUNTED, "others' texts kept")
    # Retention keeps the last day's texts only: at most about one evening's posts.
    bounded = all(db["texts kept"] <= 1.2 * first[3]["chat posts"] for *_, db in samples)
    body = [
        f"""{CHATS} weekly chats an evening ({posts} posts and 8 questions each, an hour each,
overlapping), for {evenings} evening(s): {CHATS * evenings * posts:,} posts, every draft approved. The worker
polls every {poll} s here ({poll // 2} s for a minute after a question): fewer polls, the same posts, drafts
and rows. It made {report["polls"]:,} polls in the evenings and stored {report["posts"]:,} posts.

Between evenings the worker's jobs run every {IDLE_STEP.seconds // 60} virtual minutes with no chat live, and
the publisher's housekeeping blanks other people's texts {TEXT_KEPT.days * 24} h after their chat's window
closed. Each row is taken just before the next evening (a day after the evening began). The database is
SQLite: its size as SQLite counts its pages (the file's, once the write-ahead log is checked in), and the
write-ahead log's file (WAL).""",
        "",
        table(headers, rows),
        "",
        f"RSS growth from the first evening to the last: {growth:+.1f} MB (flat: within {FLAT_MB:.0f} MB).",
    ]
    if evenings > 1:
        days = evenings - 1
        per = {n: (last[3][n] - first[3][n]) / days for n in (*COUNTED, "database")}
        grows = ", ".join(f"{per[n]:,.0f} {n}" for n in COUNTED)
        most = max(db["texts kept"] for *_, db in samples)
        body += [
            "",
            f"""Bounded by retention: other people's texts. Only the last evening's are ever kept at a row
(at most {most:,}, {last[3]["texts kept"]:,} after the last evening); every earlier one is blanked.""",
            "",
            f"""Growing, by design: the rows themselves (a post's ids, author, time, event and triage; the
account's own posts and drafts with their history; the X usage ledger; the actions), per evening:
{grows}.
The database grows {_mb(round(per["database"]))} an evening ({_mb(first[3]["database"])} after the first
evening, {_mb(last[3]["database"])} after the last); the WAL file stays at its high-water mark
({_mb(last[3]["wal"])}: SQLite writes it over again after each checkpoint, and nothing truncates it).""",
        ]
    headlines = [
        Headline("worker peak RSS, 5-chat evening", f"{first[2]:.0f} MB", "< 150 MB", first[2] < GOAL_MB),
        Headline(
            f"worker peak RSS after {evenings} evenings (growth)",
            f"{peak:.0f} MB ({growth:+.1f} MB)",
            "< 150 MB, flat",
            peak < GOAL_MB and growth <= FLAT_MB,
        ),
        Headline(
            f"database after {evenings} evenings (texts kept)",
            f"{_mb(last[3]['database'])} + {_mb(last[3]['wal'])} WAL ({last[3]['texts kept']:,} texts)",
            "texts bounded by retention",
            bounded,
        ),
    ]
    return finish(Section("memory", "\n".join(body), headlines), command=command, doc=doc, started=started)


def _mb(size: int) -> str:
    return f"{size / 1024**2:.1f} MB"


def _counts(db: dict[str, int]) -> list[str]:
    return [*(f"{db[n]:,}" for n in COUNTED), f"{db['texts kept']:,} ({db['text bytes'] / 1024:,.0f} KB)"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.splitlines()[0])
    parser.add_argument("--evenings", type=int, default=7)
    parser.add_argument("--posts", type=int, default=150, help="posts per chat per evening")
    args = parser.parse_args(argv)
    quiet_logs()
    run(evenings=args.evenings, posts=args.posts, command="python -m bench.memory")


if __name__ == "__main__":
    main()
