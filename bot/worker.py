"""The worker: joins each chat window on time, reads it, drafts answers, posts what a person approved.

`Worker` holds the work, one method per job, each driven by the injected clock. `run_forever` wires those
jobs onto an APScheduler `BlockingScheduler` (rebuilt from the config at every start: business state lives
in our tables, not in a job store); replays and tests drive the same methods in virtual time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import structlog
from apscheduler.events import EVENT_SCHEDULER_STARTED, SchedulerEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.answering import Answerer
from bot.clock import Clock, SystemClock
from bot.config import Chat, Config
from bot.drafting import Drafter
from bot.errors import XError, XPermanentError, XTransientError
from bot.health import HealthWatch, x_health
from bot.heap import settle_heap
from bot.lease import Leases
from bot.publisher import Publisher
from bot.reading import PollResult, Reader
from bot.reload import ConfigWatcher
from bot.review import settle_handoffs
from bot.runs import close_ended_runs, live_runs, open_run
from bot.schedule import Window, current_window, trigger_for
from bot.store.db import Store
from bot.store.models import ChatRun
from bot.x.gateway import XGateway

log = structlog.get_logger("bot.worker")

MISFIRE_GRACE = 300  # seconds: a join that fires up to 5 minutes late still joins
PERMANENT_BACKOFF = 60.0  # seconds between reads while X refuses for a reason a person must fix
SHUTDOWN_GRACE = 20.0  # seconds to finish the in-flight post after SIGTERM
QUIET_AFTER = timedelta(minutes=3)  # no new post for this long: the chat is quiet, poll slower
FAST_FOR = timedelta(seconds=60)  # poll faster for a minute after a host question: answers flood in


@dataclass
class PollPace:
    """Adaptive polling: faster right after a host question, slower when quiet, never past the rate limit."""

    base: float = 10.0
    last_new_post: datetime | None = None
    fast_until: datetime | None = None

    def next_interval(self, result: PollResult, now: datetime, rate_floor: float) -> float:
        if result.questions:
            self.fast_until = now + FAST_FOR
        if result.new_posts or self.last_new_post is None:
            self.last_new_post = now
        if self.fast_until and now < self.fast_until:
            interval = max(2.0, self.base / 2)
        elif now - self.last_new_post >= QUIET_AFTER:
            interval = min(self.base * 2, 60.0)
        else:
            interval = self.base
        return max(interval, rate_floor)


class Worker:
    def __init__(
        self,
        *,
        config: Config,
        store: Store,
        gateway: XGateway,
        drafter: Drafter,
        clock: Clock,
        min_gap: float = 20.0,
    ) -> None:
        self.config = config
        self.store = store
        self.gateway = gateway
        self.clock = clock
        self.reader = Reader(config=config, store=store, gateway=gateway, clock=clock)
        self.answerer = Answerer(config=config, store=store, drafter=drafter, clock=clock)
        self.publisher = Publisher(config=config, store=store, gateway=gateway, clock=clock, min_gap=min_gap)
        self.pace = PollPace(base=min((c.poll for c in config.chats), default=10))
        self.leases = Leases(store)
        self.health = HealthWatch()

    def close(self) -> None:
        """Free what the worker holds outside the database's rows: its leases' connection, its connections
        to X."""
        self.leases.release()
        self.gateway.close()

    def reload(self, config: Config) -> None:
        """Use a new config from the next job on (the parts that read it hold the same attribute)."""
        self.config = config
        for part in (self.reader, self.publisher):
            part.config = config
        self.answerer.reload(config)
        self.pace.base = min((c.poll for c in config.chats), default=10)

    def start(self) -> list[ChatRun]:
        """At start: settle posts a crash left half-done, then join every chat whose window is open now."""
        self.publisher.reconcile()
        return self.join_current()

    def join_current(self) -> list[ChatRun]:
        joined = []
        for chat in self.config.chats:
            window = current_window(chat, self.clock.now())
            if window is not None:
                joined.append(self.join_window(chat, window))
        return joined

    def join_window(self, chat: Chat, window: Window) -> ChatRun:
        with self.store.session() as session:
            run = open_run(session, chat, window, now=self.clock.now())
        log.info(
            "chat.joined", chat=chat.slug, run=run.id, start=window.start.isoformat(), cursor=run.since_id
        )
        return run

    def join(self, slug: str) -> None:
        """The job fired at a window's start (or up to the misfire grace after it)."""
        self.join_current() if slug == "*" else self._join_slug(slug)

    def _join_slug(self, slug: str) -> None:
        chat = self.config.chat(slug)
        window = current_window(chat, self.clock.now())
        if window is not None:
            self.join_window(chat, window)

    def tick(self) -> PollResult:
        """One poll of every live chat: close ended runs, read, draft the answers still missing."""
        now = self.clock.now()
        with self.store.session() as session:
            for run in close_ended_runs(session, now):
                log.info("chat.closed", chat=run.chat_slug, run=run.id)
            runs = live_runs(session, now)
        held = set(self.leases.runs(run.id for run in runs))  # with several workers, each run has one reader
        runs = [run for run in runs if run.id in held]
        if not runs:
            return PollResult()
        try:
            result = self.reader.poll(runs)
        except XError as exc:  # told once through the health watch, tried again at the next poll
            result = PollResult(error=exc)
        for run in runs:
            structlog.contextvars.bind_contextvars(chat=run.chat_slug, run=run.id)
            self.answerer.draft_missing(run)
        structlog.contextvars.unbind_contextvars("chat", "run")
        with self.store.session() as session:
            self.health.update(x_health(session, self.clock.now()))
        settle_handoffs(self.store, clock=self.clock, by="worker")  # seen posted, or not seen in time
        return result

    def next_poll_in(self, result: PollResult) -> float:
        interval = self.pace.next_interval(result, self.clock.now(), self._rate_floor())
        if isinstance(result.error, XTransientError) and result.error.retry_after:
            return max(interval, result.error.retry_after)  # X said when to come back
        if isinstance(result.error, XPermanentError):
            return max(interval, PERMANENT_BACKOFF)  # credits, keys: a person must act first
        return interval

    def _rate_floor(self) -> float:
        """Seconds between searches that keep within what the last rate-limit headers allow."""
        limit = self.gateway.rate_limits.get("search")
        if limit is None:
            return 0.0
        seconds_left = (limit.reset_at - self.clock.now()).total_seconds()
        if seconds_left <= 0:
            return 0.0
        return seconds_left / max(limit.remaining, 1) if limit.remaining > 0 else seconds_left

    def has_live_runs(self) -> bool:
        with self.store.session() as session:
            return bool(live_runs(session, self.clock.now()))


class _InFlight:
    """Counts the jobs running now, so a shutdown can wait for them before stopping the scheduler."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def __enter__(self) -> None:
        with self._idle:
            self._count += 1

    def __exit__(self, *_exc: object) -> None:
        with self._idle:
            self._count -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout)


def run_forever(
    worker: Worker,
    clock: SystemClock,
    on_ready: Callable[[], None] | None = None,
    config_path: Path | None = None,
) -> int:
    """Run the worker's jobs on a BlockingScheduler until SIGTERM/SIGINT; with `config_path`, pick up
    edits of the config every minute and on SIGHUP. Returns the exit status."""
    scheduler = BlockingScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(max_workers=3)},
        job_defaults={"misfire_grace_time": MISFIRE_GRACE, "coalesce": True, "max_instances": 1},
    )
    in_flight = _InFlight()

    def poll_in(seconds: float) -> None:
        run_date = clock.now() + timedelta(seconds=seconds)
        scheduler.add_job(poll, "date", run_date=run_date, id="poll", replace_existing=True)

    def poll() -> None:
        delay = 30.0
        with in_flight:
            try:
                result = worker.tick()  # also closes ended runs and expires drafts past their grace
                if worker.has_live_runs():
                    delay = worker.next_poll_in(result)
            except Exception:
                log.exception("poll.failed")
        if not clock.interrupted:
            poll_in(delay)

    def join(slug: str) -> None:
        with in_flight:
            worker.join(slug)
        poll_in(0)  # read the chat now, not at the next idle check

    def publish() -> None:
        with in_flight:
            try:
                while worker.leases.publisher() and worker.publisher.publish_one() is not None:
                    pass
            except Exception:
                log.exception("publish.failed")

    def schedule_joins() -> None:
        wanted = {f"join:{chat.slug}": chat for chat in worker.config.chats}
        for job in scheduler.get_jobs():
            if job.id.startswith("join:") and job.id not in wanted:
                job.remove()
        for job_id, chat in wanted.items():
            scheduler.add_job(join, trigger_for(chat), args=[chat.slug], id=job_id, replace_existing=True)

    watcher = ConfigWatcher(config_path) if config_path is not None else None

    def reload() -> None:
        assert watcher is not None
        with in_flight:
            config = watcher.changed()
            if config is not None:
                worker.reload(config)
                schedule_joins()
                worker.join_current()  # a chat whose window is open now is joined at once
                poll_in(0)

    worker.start()
    schedule_joins()
    poll_in(0)
    if watcher is not None:
        scheduler.add_job(reload, "interval", seconds=60, id="reload")
        signal.signal(
            signal.SIGHUP, lambda *_: scheduler.add_job(reload, id="reload-now", replace_existing=True)
        )
    scheduler.add_job(publish, "interval", seconds=2, id="publish")
    _install_signal_handlers(scheduler, clock, in_flight)
    settle_heap()  # start-up's objects out of the collector's way: no 100 ms pause in a poll
    log.info("worker.started", chats=[c.slug for c in worker.config.chats])
    if on_ready is not None:
        on_ready()
    if not clock.interrupted:  # a signal before the scheduler ran: nothing to finish
        with contextlib.suppress(JobLookupError):  # a stop that met the main loop handing a job out
            scheduler.start()
    worker.leases.release()
    log.info("worker.stopped")
    return 0


def _install_signal_handlers(scheduler: BlockingScheduler, clock: SystemClock, in_flight: _InFlight) -> None:
    """Warm, then cold (as rq does). First SIGTERM/SIGINT: take no new job, let the running ones finish
    (an in-flight post is recorded), within 20 s. Second signal: exit at once."""

    def stop_when_idle() -> None:
        # Stop the scheduler only once no job runs: stopping it while its main loop hands a job out makes
        # APScheduler lose track of that job.
        if in_flight.wait_idle(SHUTDOWN_GRACE):
            scheduler.shutdown(wait=False)
        else:
            log.warning("worker.grace_over", grace_seconds=SHUTDOWN_GRACE)
            os._exit(1)

    stopping = threading.Lock()

    def begin_stop() -> None:
        if scheduler.state == STATE_STOPPED or not stopping.acquire(blocking=False):
            return  # not running yet (see on_start), or already stopping
        scheduler.pause()  # the main loop hands out no new job from here on
        threading.Thread(target=stop_when_idle, daemon=True).start()

    def handle(signum: int, _frame: FrameType | None) -> None:
        if clock.interrupted:
            log.warning("worker.exit_now", signal=signum)
            os._exit(1)
        log.info("worker.stopping", signal=signum, grace_seconds=SHUTDOWN_GRACE)
        clock.interrupt()  # cut short any wait (retries, backoff)
        begin_stop()

    def on_start(_event: SchedulerEvent) -> None:
        # A signal while `start()` was on its way (after run_forever's check, before the state said
        # running) found nothing to stop: stop now.
        if clock.interrupted:
            begin_stop()

    scheduler.add_listener(on_start, EVENT_SCHEDULER_STARTED)
    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
