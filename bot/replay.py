"""Replay: one whole chat through the real pipeline (sandbox X server over HTTP, the real tweepy client,
the worker's jobs, the drafter, the queue, the publisher, the database of DATABASE_URL), in virtual time.

The clock jumps from one due job to the next, so an hour plays in seconds, but within a step real time
runs on: the latency from a question becoming visible to its draft being queued includes the real work.
With `--approve all` every new draft is approved through the same path as `chatcaddy approve`.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select

from bot.clock import FakeClock
from bot.config import Config
from bot.drafting import Drafter
from bot.policy import PolicyHold, UsageRecorder
from bot.review import approve, queue
from bot.runner import sandbox_gateway, transcript_chat, transcript_length
from bot.sandbox.server import SandboxServer
from bot.sandbox.transcript import Transcript
from bot.schedule import Window
from bot.store.db import Store
from bot.store.models import ChatPost, Draft, DraftState
from bot.worker import Worker

# The rules that hold a promotion until the account has engaged enough.
RATIO_RULES = {"engage_before_promote", "max_promo_share"}
REPLAY_START = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Monday 21:00 in New York


class ReplayClock(FakeClock):
    """Virtual time that jumps between steps and runs at real speed within one."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._mark = time.perf_counter()

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=time.perf_counter() - self._mark)

    def set(self, when: datetime) -> None:
        super().set(when)
        self._mark = time.perf_counter()


@dataclass
class Reads:
    requests: int = 0
    tweets_read: int = 0


def drive(
    worker: Worker, clock: FakeClock, *, until: datetime, each_step: Callable[[], None] | None = None
) -> Reads:
    """Run the worker's jobs in virtual time until `until`: poll when the pace says, post what is approved
    as soon as its gap allows, jumping the clock from one due moment to the next."""
    reads = Reads()
    next_poll = clock.now()
    while clock.now() < until:
        if clock.now() >= next_poll:
            result = worker.tick()
            reads.requests += result.requests
            reads.tweets_read += result.tweets_read
            next_poll = clock.now() + timedelta(seconds=worker.next_poll_in(result))
        if each_step is not None:
            each_step()
        while worker.publisher.publish_one() is not None:
            pass
        clock.set(_next_step(clock, next_poll, worker, until))
    return reads


def _next_step(clock: FakeClock, next_poll: datetime, worker: Worker, until: datetime) -> datetime:
    """The next moment something is due: a poll, a post waiting for its gap, or the end."""
    times = [next_poll, until]
    if worker.publisher.has_work():
        due = worker.publisher.next_due() or clock.now()
        times.append(max(due, clock.now() + timedelta(seconds=1)))
    return max(min(times), clock.now())


@dataclass
class Replay:
    config: Config
    transcript: Transcript
    store: Store
    drafter: Drafter
    speed: float = 1.0
    approve: Literal["all", "none"] = "none"
    start: datetime = REPLAY_START
    tier: str = "self-serve"
    # Drafts the policy held at approval: id → (the rules that held it, the reason), the last time.
    held: dict[int, tuple[tuple[str, ...], str]] = field(default_factory=dict, init=False)

    def run(self) -> dict[str, Any]:
        clock = ReplayClock(self.start)
        server = SandboxServer(
            self.transcript, clock=clock, start=self.start, speed=self.speed, tier=self.tier
        )
        server.start()
        try:
            return self._play(server, clock)
        finally:
            server.stop()

    def _play(self, server: SandboxServer, clock: ReplayClock) -> dict[str, Any]:
        length = transcript_length(self.transcript) / self.speed + timedelta(minutes=1)
        chat = transcript_chat(self.config, self.transcript, duration=max(length, timedelta(minutes=5)))
        config = self.config.model_copy(update={"chats": [chat]})
        worker = Worker(
            config=config,
            store=self.store,
            gateway=sandbox_gateway(server, clock, on_request=UsageRecorder(self.store)),
            drafter=self.drafter,
            clock=clock,
        )
        window = Window(chat.slug, self.start, self.start + chat.duration)
        run = worker.join_window(chat, window)
        worker.publisher.reconcile()
        each_step = (lambda: self._approve_pending(clock, config)) if self.approve == "all" else None
        try:
            reads = drive(worker, clock, until=window.end + timedelta(seconds=1), each_step=each_step)
            worker.tick()  # closes the run and expires what is left
        finally:
            worker.close()
        with self.store.session() as session:
            unique = len(set(session.scalars(select(ChatPost.tweet_id).where(ChatPost.run_id == run.id))))
        return self._summary(server, run.id, reads.tweets_read, unique)

    def _approve_pending(self, clock: ReplayClock, config: Config) -> None:
        """Approve every pending draft the policy allows, one by one, as a person would; note the held."""
        for draft in queue(self.store):
            try:
                approve(self.store, [draft.id], clock=clock, by="replay", config=config)
            except PolicyHold as hold:
                self.held[draft.id] = (hold.verdict.rules, hold.verdict.reason)

    def _summary(self, server: SandboxServer, run_id: int, reads: int, unique: int) -> dict[str, Any]:
        with self.store.session() as session:
            drafts = list(session.scalars(select(Draft).where(Draft.run_id == run_id).order_by(Draft.id)))
            questions = list(
                session.scalars(
                    select(ChatPost).where(ChatPost.run_id == run_id, ChatPost.event == "question")
                )
            )
        visible = {p.tweet_id: server.visible_at(p.tweet_id) for p in questions}
        latencies = [
            (d.created_at - visible[d.target_tweet_id]).total_seconds() * 1000
            for d in drafts
            if d.kind == "answer" and d.target_tweet_id in visible
        ]
        usage = server.usage()
        states = Counter(d.state for d in drafts)
        held = {d.id: d for d in drafts if d.id in self.held}
        return {
            "questions": len(questions),
            "drafts": dict(Counter(d.kind for d in drafts)),
            "posted": states[DraftState.POSTED],
            "handed_off": states[DraftState.HANDED_OFF],
            "held": len(held),
            "blocked_by_ratio": sum(
                1
                for d in held.values()
                if d.state != DraftState.POSTED and set(self.held[d.id][0]) & RATIO_RULES
            ),
            "expired": states[DraftState.EXPIRED],
            "rejected": states[DraftState.REJECTED],
            "x_requests": usage["requests_total"],
            # Calls X refused (not rate limits, not posts gone): none when the policy routes as X allows.
            "x_refused": [
                {"endpoint": r["endpoint"], "status": r["status"]}
                for r in server.requests()
                if r["status"] is not None and 400 <= r["status"] < 500 and r["status"] not in (404, 429)
            ],
            "tweets_read": reads,
            "unique_tweets": unique,
            "billed_usd": usage["usd"],
            "llm_calls": sum(1 for d in drafts if d.drafter == "llm"),
            "llm_input_tokens": sum(d.llm_input_tokens or 0 for d in drafts),
            "latency_ms": _percentiles(latencies),
            "posts": [
                {
                    "text": p["text"],
                    "kind": p["kind"],
                    "reply_to": p.get("reply_to"),
                    "quote_of": p.get("quote_of"),
                }
                for p in server.posted()
            ],
            "handoffs": [
                {"draft_id": d.id, "kind": d.kind, "url": d.handoff_url} for d in drafts if d.handoff_url
            ],
            "held_drafts": [
                {"draft_id": d.id, "state": d.state, "reason": self.held[d.id][1]} for d in held.values()
            ],
        }


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 1), "p95": round(p95, 1), "max": round(ordered[-1], 1)}


def render_summary(summary: dict[str, Any]) -> str:
    latency = summary["latency_ms"]
    lines = [
        f"questions {summary['questions']}  drafts {summary['drafts']}  posted {summary['posted']}  "
        f"handed off {summary['handed_off']}  expired {summary['expired']}  held {summary['held']} "
        f"(never posted for the promotion rules: {summary['blocked_by_ratio']})",
        f"X requests {summary['x_requests']}  tweets read {summary['tweets_read']} "
        f"(unique {summary['unique_tweets']})  billed ${summary['billed_usd']:.3f}",
        f"question → draft latency ms: p50 {latency['p50']}  p95 {latency['p95']}  max {latency['max']}",
    ]
    lines += [f"  posted: {p['text']}" for p in summary["posts"]]
    lines += [f"  held #{h['draft_id']} ({h['state']}): {h['reason']}" for h in summary["held_drafts"]]
    return "\n".join(lines)
