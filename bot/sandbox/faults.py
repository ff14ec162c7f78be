"""Faults a test or a demo switches on through `POST /__sandbox/faults`.

Counted knobs (`rate_limit`, `server_error`, `drop`) hit the next n requests and then stop; switches
(`credits_depleted`, `usage_capped`, `unauthorized`, `latency_ms`) stay on until turned off or cleared.
An `endpoint` in the same request scopes the knobs to that endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.sandbox.limits import DEFAULT_LIMITS

COUNTED = ("drop", "rate_limit", "server_error")
SWITCHES = ("unauthorized", "credits_depleted", "usage_capped")
# The order faults win in when several apply to one request.
PRECEDENCE = ("drop", "unauthorized", "credits_depleted", "usage_capped", "rate_limit", "server_error")
KNOBS = frozenset({*COUNTED, *SWITCHES, "latency_ms", "status", "reset_in", "endpoint", "limits", "clear"})


class FaultSettingError(ValueError):
    """The faults request is malformed; the message says which knob and why."""


@dataclass
class Fault:
    """One fault switched on: `remaining` requests (None = until cleared), scoped to `endpoint` if set."""

    kind: str
    endpoint: str | None
    remaining: int | None = None
    status: int = 503
    reset_in: float = 60.0
    latency_ms: float = 0.0

    def applies_to(self, endpoint: str) -> bool:
        return self.endpoint is None or self.endpoint == endpoint

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"endpoint": self.endpoint}
        if self.kind in COUNTED:
            out["remaining"] = self.remaining
        if self.kind == "server_error":
            out["status"] = self.status
        if self.kind == "rate_limit":
            out["reset_in"] = self.reset_in
        if self.kind == "latency_ms":
            out["latency_ms"] = self.latency_ms
        return out


class Faults:
    """The faults switched on, keyed by (kind, endpoint scope)."""

    def __init__(self) -> None:
        self._faults: dict[tuple[str, str | None], Fault] = {}

    def clear(self) -> None:
        self._faults.clear()

    def configure(self, knobs: dict[str, Any]) -> None:
        """Apply the knobs of one faults request (all checked before any is applied)."""
        unknown = sorted(set(knobs) - KNOBS)
        if unknown:
            raise FaultSettingError(f"unknown knob(s) {unknown}; known: {sorted(KNOBS)}")
        if not isinstance(knobs.get("clear", False), bool):
            raise FaultSettingError("clear must be true or false")
        endpoint = knobs.get("endpoint")
        if endpoint is not None and endpoint not in DEFAULT_LIMITS:
            raise FaultSettingError(f"endpoint {endpoint!r} is not one of {sorted(DEFAULT_LIMITS)}")
        status = _number(knobs, "status", 503, whole=True)
        if not 500 <= status <= 599:
            raise FaultSettingError(f"status must be a 5xx status, got {status}")
        reset_in = _number(knobs, "reset_in", 60, whole=False)
        changes: list[Fault | tuple[str, None]] = []
        for kind in COUNTED:
            if kind in knobs:
                count = _number(knobs, kind, 0, whole=True)
                changes.append(Fault(kind, endpoint, count, status, reset_in) if count > 0 else (kind, None))
        for kind in SWITCHES:
            if kind in knobs:
                if not isinstance(knobs[kind], bool):
                    raise FaultSettingError(f"{kind} must be true or false")
                changes.append(Fault(kind, endpoint) if knobs[kind] else (kind, None))
        if "latency_ms" in knobs:
            latency = _number(knobs, "latency_ms", 0, whole=False)
            changes.append(
                Fault("latency_ms", endpoint, latency_ms=latency) if latency > 0 else ("latency_ms", None)
            )
        if knobs.get("clear"):
            self._faults.clear()
        for change in changes:
            if isinstance(change, Fault):
                self._faults[(change.kind, endpoint)] = change
            else:
                self._faults.pop((change[0], endpoint), None)

    def latency(self, endpoint: str) -> float:
        """Seconds to wait before answering a request to `endpoint`."""
        delays = [
            f.latency_ms for f in self._faults.values() if f.kind == "latency_ms" and f.applies_to(endpoint)
        ]
        return max(delays, default=0.0) / 1000

    def take(self, endpoint: str) -> Fault | None:
        """The fault that hits this request, using up one of a counted fault's requests."""
        for kind in PRECEDENCE:
            for key, fault in list(self._faults.items()):
                if fault.kind != kind or not fault.applies_to(endpoint):
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        del self._faults[key]
                return fault
        return None

    def as_json(self) -> dict[str, list[dict[str, Any]]]:
        """`GET /__sandbox/faults`: each knob switched on, with its scope and what is left of it."""
        out: dict[str, list[dict[str, Any]]] = {}
        for fault in self._faults.values():
            out.setdefault(fault.kind, []).append(fault.as_json())
        return out


def _number(knobs: dict[str, Any], name: str, default: float, *, whole: bool) -> Any:
    value = knobs.get(name, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (whole and not isinstance(value, int))
    ):
        raise FaultSettingError(f"{name} must be a {'whole ' if whole else ''}number, got {value!r}")
    if value < 0:
        raise FaultSettingError(f"{name} must not be negative")
    return value
