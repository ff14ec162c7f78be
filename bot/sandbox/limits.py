"""Per-endpoint rate limits in 15-minute windows, timed by the injected clock (per-user limits of X)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW = timedelta(minutes=15)

DEFAULT_LIMITS: dict[str, int] = {
    "search": 300,
    "create_post": 100,
    "repost": 50,
    "like": 50,
    "follow": 50,
    "me": 75,
    "timeline": 900,
    "lookup": 900,
}


@dataclass
class _Window:
    started: datetime
    used: int = 0


@dataclass(frozen=True)
class Quota:
    """What the `x-rate-limit-*` headers say after a request."""

    limit: int
    remaining: int
    reset: datetime

    def headers(self) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(self.limit),
            "x-rate-limit-remaining": str(self.remaining),
            "x-rate-limit-reset": str(int(self.reset.timestamp())),
        }


class RateLimits:
    """A window opens at an endpoint's first request and closes 15 minutes later."""

    def __init__(self, overrides: dict[str, int] | None = None) -> None:
        self._base = {**DEFAULT_LIMITS, **(overrides or {})}
        self.limits = dict(self._base)
        self._windows: dict[str, _Window] = {}

    def override(self, limits: dict[str, int]) -> None:
        """Change some limits now (faults endpoint); the current windows keep what they used."""
        self.limits.update(limits)

    def reset(self) -> None:
        """Back to the limits the server started with (faults `clear`)."""
        self.limits = dict(self._base)

    def _window(self, endpoint: str, now: datetime) -> _Window:
        window = self._windows.get(endpoint)
        if window is None or now >= window.started + WINDOW:
            window = self._windows[endpoint] = _Window(now)
        return window

    def take(self, endpoint: str, now: datetime) -> tuple[bool, Quota]:
        """Use one request of `endpoint`'s window: (allowed, quota after it)."""
        window = self._window(endpoint, now)
        limit = self.limits.get(endpoint, 900)
        allowed = window.used < limit
        if allowed:
            window.used += 1
        return allowed, Quota(limit, max(limit - window.used, 0), window.started + WINDOW)

    def peek(self, endpoint: str, now: datetime) -> Quota:
        """The quota without using a request (for answers that did not count against it)."""
        window = self._windows.get(endpoint)
        limit = self.limits.get(endpoint, 900)
        if window is None or now >= window.started + WINDOW:
            return Quota(limit, limit, now + WINDOW)
        return Quota(limit, max(limit - window.used, 0), window.started + WINDOW)
