"""1. Latency: from a host question becoming visible in the sandbox to its draft in the queue.

Chat sessions of many questions (about 100 s apart, at random moments) play one after another through the
real pipeline, once with the offline drafter and once with an LLM drafter whose OpenAI-compatible server
answers after a fixed latency L. Per question:

- latency: the answer draft's `created_at` minus the moment the sandbox made the question visible;
- wait: from that moment to the start of the first poll after it (the poller's share);
- own work: latency − wait − L (reading, storing, triage, drafting and queueing: our share).

For questions arriving at random moments the wait is uniform over the poll interval I: its median is I/2
(the floor I/2 + L of the issue) and its 95th percentile 0.95·I. So the p95 is set beside the p95 of the
per-question floor (wait + L), and the goal is that the difference stays under 100 ms.

    python -m bench.latency [--questions 110] [--llm-latency 0.3]
"""

from __future__ import annotations

import argparse
import bisect
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bench.common import (
    DOC,
    MATERIAL,
    START,
    ChatShape,
    ChatSpec,
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
from bot.clock import Clock
from bot.drafting import Drafter, make_drafter
from bot.drafting.offline import OfflineDrafter
from bot.replay import ReplayClock
from bot.sandbox.transcript import Transcript
from bot.schedule import Window
from bot.store.models import ChatPost, Draft, DraftKind, PostEvent

GOAL_MS = 100.0


@dataclass(frozen=True)
class Plan:
    """How many questions, in sessions of how many, how far apart; the chats' poll; the model's latency."""

    questions: int = 110
    per_session: int = 10  # questions per chat session, as real chats ask (5 to 10)
    spacing: int = 100  # seconds between a session's questions, on average
    poll: int = 10  # seconds: the chats' configured poll interval (the shipped default)
    llm_latency: float = 0.3  # seconds

    @property
    def sessions(self) -> int:
        return max(1, math.ceil(self.questions / self.per_session))


@dataclass(frozen=True)
class Timing:
    """One question: its latency, the wait for the poll that saw it, and the rest (ms)."""

    latency: float
    wait: float
    own: float


@dataclass(frozen=True)
class Result:
    drafter: str
    llm_latency: float  # seconds
    plan: Plan
    timings: list[Timing]
    polls: int

    @property
    def latencies(self) -> list[float]:
        return [t.latency for t in self.timings]

    @property
    def floors(self) -> list[float]:
        """Per question: the wait for the next poll, plus the model's time (ms)."""
        return [t.wait + self.llm_latency * 1000 for t in self.timings]

    @property
    def gap(self) -> float:
        return percentile(self.latencies, 95) - percentile(self.floors, 95)

    def row(self) -> list[str]:
        own = [t.own for t in self.timings]
        return [
            self.drafter,
            f"{len(self.timings)} of {self.plan.questions}",
            _ms(median(self.latencies)),
            _ms(percentile(self.latencies, 95)),
            _ms(max(self.latencies, default=math.nan)),
            _ms(self.plan.poll * 500 + self.llm_latency * 1000),
            _ms(percentile(self.floors, 95)),
            f"**{_ms(self.gap)}**",
            _ms(median(own)),
            _ms(percentile(own, 95)),
        ]


def _ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:,.0f} ms"


def sessions(plan: Plan) -> tuple[list[ChatSpec], Transcript, list[Window]]:
    """Chat sessions one after another, `per_session` questions each (the last gets the rest)."""
    crowd = people(60)
    chats, posts, starts = [], [], []
    at = timedelta(0)
    for i in range(plan.sessions):
        n = min(plan.per_session, plan.questions - i * plan.per_session)
        minutes = max(5, math.ceil(n * plan.spacing / 0.8 / 60))
        chat = chat_spec(i + 1, prefix="Latency", poll=plan.poll, minutes=minutes)
        shape = ChatShape(posts=n * 5 + 3, questions=n, minutes=minutes, topical_share=0.0, jitter=0.3)
        posts += chat_posts(chat, shape, crowd, at=at, seed=100 + i)
        chats.append(chat)
        starts.append(START + at)
        at += timedelta(minutes=minutes + 2)
    return chats, transcript(chats, crowd, posts), windows_of(chats, starts)


def measure(make: Callable[[Clock], Drafter], name: str, llm_latency: float, plan: Plan) -> Result:
    """Play the sessions with the drafter `make` builds; every answer draft's timing."""
    chats, played, windows = sessions(plan)
    clock = ReplayClock(START)
    with Rig(played, make_config(chats, material=MATERIAL), make(clock), clock=clock) as rig:
        rig.play(windows)
        with rig.store.session() as session:
            asked = list(session.scalars(select(ChatPost).where(ChatPost.event == PostEvent.QUESTION)))
            drafted = {
                d.target_tweet_id: d.created_at
                for d in session.scalars(select(Draft).where(Draft.kind == DraftKind.ANSWER))
            }
        visible = {q.tweet_id: rig.server.visible_at(q.tweet_id) for q in asked}
        timings = [
            _timing(visible[q.tweet_id], drafted[q.tweet_id], rig.worker.ticks, llm_latency)
            for q in asked
            if q.tweet_id in drafted
        ]
        return Result(name, llm_latency, plan, timings, len(rig.worker.ticks))


def _timing(visible: datetime, drafted: datetime, ticks: list[datetime], llm_latency: float) -> Timing:
    seen = ticks[min(bisect.bisect_left(ticks, visible), len(ticks) - 1)]
    latency = (drafted - visible).total_seconds() * 1000
    wait = max((seen - visible).total_seconds() * 1000, 0.0)
    return Timing(latency, wait, latency - wait - llm_latency * 1000)


def llm_drafter(fake: FakeLLM, clock: Clock) -> Drafter:
    """The LLM drafter the settings would make, pointed at the fake model."""
    return make_drafter(api_key="bench-key", base_url=fake.base_url, model="bench-model", clock=clock)


def run(*, plan: Plan | None = None, doc: Path = DOC, command: str) -> Section:
    plan = plan or Plan()
    started = time.perf_counter()
    results = [measure(lambda _clock: OfflineDrafter(), "offline", 0.0, plan)]
    with FakeLLM(latency=plan.llm_latency) as fake:
        name = f"LLM, L = {plan.llm_latency * 1000:.0f} ms"
        results.append(measure(lambda clock: llm_drafter(fake, clock), name, plan.llm_latency, plan))
    body = "\n".join(
        [
            f"""{plan.questions} host questions in {plan.sessions} chat sessions played one after another,
about {plan.spacing} s apart at random moments, with chatter between them; every chat polls every
{plan.poll} s (the worker polls every {plan.poll / 2:g} s for a minute after a question). Latency is from the
moment the sandbox shows a question to the moment its answer draft is queued. The floor I/2 + L is the median
wait for a poll plus the model's time; the p95 is set beside the p95 of the per-question floor (the measured
wait for the next poll + L), and the difference is our own work at the tail.""",
            "",
            table(
                (
                    "drafter",
                    "questions drafted",
                    "p50",
                    "p95",
                    "max",
                    "floor I/2 + L",
                    "floor p95 (wait + L)",
                    "p95 − floor p95 (goal < 100 ms)",
                    "own work p50",
                    "own work p95",
                ),
                [r.row() for r in results],
            ),
            "",
            f"Polls made: {', '.join(f'{r.drafter} {r.polls}' for r in results)}.",
        ]
    )
    headlines = [
        Headline(
            f"question → draft p95 − floor, {r.drafter}",
            f"{r.gap:,.0f} ms (p95 {percentile(r.latencies, 95) / 1000:.2f} s)",
            "< 100 ms",
            r.gap < GOAL_MS,
        )
        for r in results
    ]
    headlines += [
        Headline(
            f"questions with an answer draft, {r.drafter}",
            f"{len(r.timings)} of {plan.questions}",
            "all",
            len(r.timings) == plan.questions,
        )
        for r in results
    ]
    return finish(Section("latency", body, headlines), command=command, doc=doc, started=started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=110)
    parser.add_argument("--per-session", type=int, default=10)
    parser.add_argument("--llm-latency", type=float, default=0.3, help="seconds the fake model takes")
    args = parser.parse_args(argv)
    quiet_logs()
    plan = Plan(questions=args.questions, per_session=args.per_session, llm_latency=args.llm_latency)
    run(plan=plan, command="python -m bench.latency")


if __name__ == "__main__":
    main()
