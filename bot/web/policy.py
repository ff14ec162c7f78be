"""The policy's word on a draft as the queue shows it: allowed, held (and what is missing) or refused.

The verdict itself is `bot.policy.rules.verdict` (issue 5); this module only makes it displayable, and shows
nothing while that module is not installed.
"""

from __future__ import annotations

import importlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.config import Config
from bot.store.models import Draft


@dataclass(frozen=True)
class Verdict:
    """What the queue shows: `summary` is "allowed", "held" or "refused"; `missing` says why, in words."""

    allowed: bool
    summary: str
    missing: str = ""
    promotional: bool = False


def policy_verdict(session: Session, draft: Draft, config: Config, now: datetime) -> Verdict | None:
    """The policy's verdict on approving `draft` now; None when there is no policy module."""
    verdict = _policy_function()
    if verdict is None:
        return None
    return displayable(verdict(session, draft, config, now))


def _policy_function() -> Any:
    try:
        module = importlib.import_module("bot.policy.rules")
    except ImportError:
        return None
    return getattr(module, "verdict", None)


def displayable(result: Any) -> Verdict:
    """A `bot.policy.rules.Verdict` (allowed, held, reason, promotional, promotion_why) for the page."""
    allowed = bool(getattr(result, "allowed", True))
    promotional = bool(getattr(result, "promotional", False))
    if allowed:
        why = str(getattr(result, "promotion_why", "") or "")
        return Verdict(True, "allowed", f"a promotion ({why})" if promotional and why else "", promotional)
    summary = "held" if getattr(result, "held", False) else "refused"
    return Verdict(False, summary, str(getattr(result, "reason", "") or ""), promotional)


class VerdictCache:
    """Verdicts on pending drafts, kept while nothing they depend on can have changed: the queue's version
    (every draft move, and so every ledger row, writes a draft event), the draft's own last change, and the
    minute. The queue refreshes every few seconds; the policy then runs only for what changed."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._kept: OrderedDict[tuple[object, ...], Verdict | None] = OrderedDict()
        self._lock = threading.Lock()

    def source(
        self, config: Config, now: datetime, version: str
    ) -> Callable[[Session, Draft], Verdict | None]:
        minute = now.replace(second=0, microsecond=0)

        def judge(session: Session, draft: Draft) -> Verdict | None:
            key = (version, minute, draft.id, draft.updated_at)
            with self._lock:
                if key in self._kept:
                    self._kept.move_to_end(key)
                    return self._kept[key]
            verdict = policy_verdict(session, draft, config, now)
            with self._lock:
                self._kept[key] = verdict
                while len(self._kept) > self.size:
                    self._kept.popitem(last=False)
            return verdict

        return judge
