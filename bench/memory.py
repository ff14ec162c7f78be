"""6. Memory: the peak RSS of a worker process through a 5-chat evening and through a simulated week.

The worker runs in a process of its own (a fresh interpreter, so nothing of the benchmark's own memory is
counted); the sandbox X server runs here and follows the worker's virtual clock through shared memory.
Five weekly chats meet every evening (two at its start, the others 30, 60 and 90 minutes later, an hour
each), every draft is approved; the worker's RSS is sampled after each evening, its peak (VmHWM) at the end.

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
from bot.sandbox.server import SandboxServer
from bot.sandbox.transcript import Transcript
from bot.schedule import Window
from bot.x.gateway import XGateway

CHATS = 5
OFFSETS = (0, 0, 30, 60, 90)  # minutes after the evening's first chat
POLL = 120  # seconds: the chats' poll interval here (fewer polls, the same posts and drafts)
GOAL_MB = 150.0
FLAT_MB = 10.0  # growth from the first evening to the last that still counts as flat


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


def worker_process(
    url: str,
    token: str,
    chats: list[ChatSpec],
    evenings: list[list[Window]],
    value: Synchronized[float],
    out: Connection,
) -> None:
    """The worker's process: play every evening, report RSS after each and the peak at the end."""
    quiet_logs()
    samples = [("started", *rss_mb())]
    config = make_config(chats)
    clock = PublishingClock(START, value)
    with tempfile.TemporaryDirectory(prefix="chatcaddy-bench-") as folder:
        store = migrated_store(folder)
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
        for day, windows in enumerate(evenings, start=1):
            clock.set(min(w.start for w in windows))
            play(worker, clock, windows, each_step=lambda: approve_pending(store, clock, config, held))
            gc.collect()
            samples.append((f"evening {day}", *rss_mb()))
        store.dispose()
    out.send({"samples": samples, "polls": len(worker.ticks), "posts": worker.posts_read})
    out.close()


def measure(evenings: int, posts: int, minutes: int, poll: int) -> dict[str, object]:
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
        report: dict[str, object] = receive.recv()
        child.join(timeout=60)
    return report


def run(
    *, evenings: int = 7, posts: int = 150, minutes: int = 60, poll: int = POLL, doc: Path = DOC, command: str
) -> Section:
    started = time.perf_counter()
    report = measure(evenings, posts, minutes, poll)
    samples: list[tuple[str, float, float]] = report["samples"]  # type: ignore[assignment]
    first, last = samples[1], samples[-1]
    peak = max(s[2] for s in samples)
    growth = last[1] - first[1]
    rows = [[name, f"{rss:.0f} MB", f"{hwm:.0f} MB"] for name, rss, hwm in samples]
    body = "\n".join(
        [
            f"""{CHATS} weekly chats an evening ({posts} posts and 8 questions each, an hour each,
overlapping), for {evenings} evening(s): {CHATS * evenings * posts:,} posts, every draft approved. The worker
polls every {poll} s here ({poll // 2} s for a minute after a question): fewer polls, the same posts, drafts
and rows. It made {report["polls"]:,} polls and stored {report["posts"]:,} posts.""",
            "",
            table(("after", "RSS", "peak RSS so far"), rows),
            "",
            f"Growth from the first evening to the last: {growth:+.1f} MB (flat: within {FLAT_MB:.0f} MB).",
        ]
    )
    headlines = [
        Headline("worker peak RSS, 5-chat evening", f"{first[2]:.0f} MB", "< 150 MB", first[2] < GOAL_MB),
        Headline(
            f"worker peak RSS after {evenings} evenings (growth)",
            f"{peak:.0f} MB ({growth:+.1f} MB)",
            "< 150 MB, flat",
            peak < GOAL_MB and growth <= FLAT_MB,
        ),
    ]
    return finish(Section("memory", body, headlines), command=command, doc=doc, started=started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.splitlines()[0])
    parser.add_argument("--evenings", type=int, default=7)
    parser.add_argument("--posts", type=int, default=150, help="posts per chat per evening")
    args = parser.parse_args(argv)
    quiet_logs()
    run(evenings=args.evenings, posts=args.posts, command="python -m bench.memory")


if __name__ == "__main__":
    main()
