"""Time, injected.

Everything that asks "what time is it?" or "wait a while" takes a `Clock`, so tests drive time with a
`FakeClock` instead of sleeping. All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`; a `SystemClock` wakes early when it is interrupted (shutdown)."""


class SystemClock:
    """The wall clock. `sleep` waits on an event so a shutdown can cut a wait short."""

    def __init__(self) -> None:
        self._interrupted = threading.Event()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._interrupted.wait(seconds)

    def interrupt(self) -> None:
        """Wake every current and future `sleep` at once (used when the worker shuts down)."""
        self._interrupted.set()

    @property
    def interrupted(self) -> bool:
        return self._interrupted.is_set()


class FakeClock:
    """A clock that only moves when told to; `sleep` moves it forward instead of waiting. Thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
        self.advance(max(seconds, 0.0))

    def advance(self, by: float | timedelta) -> datetime:
        delta = by if isinstance(by, timedelta) else timedelta(seconds=by)
        with self._lock:
            self._now += delta
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when.astimezone(UTC)
