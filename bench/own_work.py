"""4. Own work: chat posts read, parsed and triaged per CPU-second; LLM input tokens per draft; LLM calls per
posted action.

Throughput: the worker joins a chat an hour late, with a backlog of posts waiting, and reads them all in one
poll: search pages, parse, store, classify, triage, draft the answers and the engagement within the caps,
queue. Its thread's CPU time for that poll (`time.thread_time`: the sandbox and the fake model run in other
threads) gives the posts per CPU-second of one core. Once with the offline drafter, once with the LLM drafter
against an OpenAI-compatible server that answers at once (a zero-latency model). Then two more polls with
nothing new: the first still drafts what the caps now allow (drafts that went stale make room), the second
has nothing left to do and shows what a poll costs when the chat is quiet.

LLM use: a 600-post chat-hour with that zero-latency model, every draft approved. Input tokens are the fake
server's estimate (a token per 4 characters of the messages and of the response schema, which the API counts
too, plus 4 per message: OpenAI's rule of thumb).

    python -m bench.own_work [--backlog 2000] [--posts 600]
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bench.common import (
    DOC,
    START,
    ChatShape,
    Headline,
    Rig,
    Section,
    chat_posts,
    chat_spec,
    finish,
    make_config,
    median,
    people,
    percentile,
    quiet_logs,
    table,
    transcript,
    windows_of,
)
from bench.fake_llm import FakeLLM
from bench.latency import llm_drafter
from bot.clock import Clock
from bot.drafting import Drafter
from bot.drafting.offline import OfflineDrafter
from bot.heap import settle_heap
from bot.replay import ReplayClock
from bot.sandbox.transcript import Transcript
from bot.schedule import Window
from bot.store.models import Draft, DraftState

POSTS_GOAL = 2000  # posts per CPU-second
TOKENS_GOAL = 1500  # input tokens per draft, p95
DONE = (DraftState.POSTED, DraftState.HANDED_OFF)
MakeDrafter = Callable[[Clock], Drafter]


@dataclass(frozen=True)
class Burst:
    """One poll that read a backlog."""

    drafter: str
    posts: int
    pages: int
    cpu: float
    wall: float
    drafts: int
    empty_cpu: float  # the next poll, with nothing new (it drafts what the caps now allow)
    idle_cpu: float  # the poll after, with nothing new and nothing left to draft

    def row(self) -> list[str]:
        return [
            self.drafter,
            f"{self.posts:,}",
            f"{self.pages}",
            f"{self.cpu:.2f} s",
            f"**{self.posts / self.cpu:,.0f}**" if self.cpu else "–",
            f"{self.wall:.2f} s",
            f"{self.drafts}",
            f"{self.empty_cpu * 1000:.0f} ms",
            f"{self.idle_cpu * 1000:.0f} ms",
        ]


@dataclass(frozen=True)
class Hour:
    """A chat-hour with the zero-latency model."""

    posts: int
    polls: int
    cpu: list[float]
    drafts: int
    actions: int
    tokens: list[int]
    calls: int


def chat(posts: int, minutes: int, poll: int, seed: int) -> tuple[Transcript, list[Window]]:
    spec = chat_spec(1, prefix="Work", minutes=minutes, poll=poll)
    crowd = people(80)
    shape = ChatShape(posts=posts, minutes=min(minutes, 60))
    played = transcript([spec], crowd, chat_posts(spec, shape, crowd, at=timedelta(0), seed=seed))
    return played, windows_of([spec], [START])


def burst(make: MakeDrafter, name: str, posts: int) -> Burst:
    """Join an hour into a two-hour chat whose first hour holds `posts` posts; poll once, then twice more."""
    played, windows = chat(posts, 120, 10, seed=11)
    config = make_config([chat_spec(1, prefix="Work", minutes=120)])
    clock = ReplayClock(START + timedelta(minutes=61))
    with Rig(played, config, make(clock), clock=clock, approve=False) as rig:
        worker = rig.worker
        worker.join_window(config.chats[0], windows[0])
        settle_heap()  # as the real worker does once started (`run_forever`)
        try:
            began = time.perf_counter()
            worker.tick()
            wall = time.perf_counter() - began
        finally:
            gc.unfreeze()  # the process goes on: the next benchmark, or a test
        pages = rig.server.usage()["requests"].get("search", 0)
        worker.tick()
        worker.tick()
        with rig.store.session() as session:
            drafts = len(list(session.scalars(select(Draft.id))))
        cpu = worker.tick_cpu
        return Burst(name, worker.posts_read, pages, cpu[0], wall, drafts, cpu[1], cpu[2])


def hour(make: MakeDrafter, posts: int, minutes: int, poll: int, calls: Callable[[], int]) -> Hour:
    """Play a chat through with every draft approved."""
    played, windows = chat(posts, minutes, poll, seed=12)
    clock = ReplayClock(START)
    config = make_config([chat_spec(1, prefix="Work", minutes=minutes, poll=poll)])
    with Rig(played, config, make(clock), clock=clock) as rig:
        rig.play(windows)
        with rig.store.session() as session:
            drafts = list(session.scalars(select(Draft)))
        worker = rig.worker
        return Hour(
            worker.posts_read,
            len(worker.ticks),
            worker.tick_cpu,
            len(drafts),
            sum(1 for d in drafts if d.state in DONE),
            [d.llm_input_tokens for d in drafts if d.llm_input_tokens],
            calls(),
        )


def run(
    *, backlog: int = 2000, posts: int = 600, minutes: int = 60, poll: int = 10, doc: Path = DOC, command: str
) -> Section:
    started = time.perf_counter()
    bursts = [burst(lambda _clock: OfflineDrafter(), "offline", backlog)]
    with FakeLLM(latency=0.0) as fake:
        zero = "LLM, L = 0"
        bursts.append(burst(lambda clock: llm_drafter(fake, clock), zero, backlog))
        calls_before = fake.calls
        chat_hour = hour(
            lambda clock: llm_drafter(fake, clock), posts, minutes, poll, lambda: fake.calls - calls_before
        )
    body = "\n".join(
        [
            f"A backlog of {backlog:,} posts read in one poll (the first of a worker joining an hour late):",
            "",
            table(
                (
                    "drafter",
                    "posts stored",
                    "search pages",
                    "worker CPU",
                    "posts per CPU-second (goal ≥ 2,000)",
                    "wall",
                    "drafts made",
                    "CPU of the next, empty poll",
                    "CPU of an idle poll",
                ),
                [b.row() for b in bursts],
            ),
            "",
            f"A {minutes}-minute chat of {posts} posts with the zero-latency model, every draft approved:",
            "",
            table(
                (
                    "polls",
                    "worker CPU",
                    "CPU per poll p50 / p95",
                    "drafts",
                    "drafts by the LLM",
                    "input tokens p50",
                    "p95 (goal ≤ 1,500)",
                    "LLM calls",
                    "posted or handed off",
                    "calls per posted action",
                ),
                [
                    [
                        f"{chat_hour.polls:,}",
                        f"{sum(chat_hour.cpu):.1f} s",
                        f"{median(chat_hour.cpu) * 1000:.0f} / {percentile(chat_hour.cpu, 95) * 1000:.0f} ms",
                        f"{chat_hour.drafts}",
                        f"{len(chat_hour.tokens)}",
                        f"{median(chat_hour.tokens):,.0f}",
                        f"**{percentile(chat_hour.tokens, 95):,.0f}**",
                        f"{chat_hour.calls}",
                        f"{chat_hour.actions}",
                        f"**{chat_hour.calls / max(chat_hour.actions, 1):.2f}**",
                    ]
                ],
            ),
        ]
    )
    headlines = [
        Headline(
            f"posts read, parsed and triaged per CPU-second, {b.drafter}",
            f"{b.posts / b.cpu:,.0f}" if b.cpu else "–",
            "≥ 2,000",
            bool(b.cpu) and b.posts / b.cpu >= POSTS_GOAL,
        )
        for b in bursts
    ]
    headlines += [
        Headline(
            "LLM input tokens per draft p50 / p95",
            f"{median(chat_hour.tokens):,.0f} / {percentile(chat_hour.tokens, 95):,.0f}",
            "p95 ≤ 1,500",
            bool(chat_hour.tokens) and percentile(chat_hour.tokens, 95) <= TOKENS_GOAL,
        ),
        Headline(
            "LLM calls per posted action", f"{chat_hour.calls / max(chat_hour.actions, 1):.2f}", "–", None
        ),
    ]
    return finish(Section("own_work", body, headlines), command=command, doc=doc, started=started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.own_work", description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=2000, help="posts read in one poll")
    parser.add_argument("--posts", type=int, default=600, help="posts in the chat-hour")
    args = parser.parse_args(argv)
    quiet_logs()
    run(backlog=args.backlog, posts=args.posts, command="python -m bench.own_work")


if __name__ == "__main__":
    main()
