"""The pay-per-use meter: what a run would cost on X (prices of 2026-02-06, see shared/x-api.md).

Reads of the same post or user are billed once per UTC day, as X de-duplicates them; an empty search
returns nothing and so costs nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

PRICES = {
    "post_reads": 0.005,
    "user_reads": 0.010,
    "posts_created": 0.015,
    "posts_created_with_url": 0.20,
    "summoned_replies": 0.010,
}


class Meter:
    """Counts requests and billable resources; `usage()` is the `/__sandbox/usage` answer."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.tweets_returned = 0
        self.billed: Counter[str] = Counter({kind: 0 for kind in PRICES})
        self._seen: set[tuple[date, str, str]] = set()

    def request(self, endpoint: str) -> None:
        self.requests[endpoint] += 1

    def returned(self, count: int) -> None:
        """`count` posts went out in an answer's `data` (counted every time, billed or not)."""
        self.tweets_returned += count

    def read(self, now: datetime, *, tweets: Iterable[str] = (), users: Iterable[str] = ()) -> None:
        """Bill posts and users read at `now`, each once per UTC day."""
        day = now.date()
        for kind, ids in (("post_reads", tweets), ("user_reads", users)):
            for resource_id in ids:
                seen = (day, kind, resource_id)
                if seen not in self._seen:
                    self._seen.add(seen)
                    self.billed[kind] += 1

    def created(self, *, has_url: bool, summoned: bool) -> None:
        """Bill a created post: with a URL it costs most; a reply to a post that mentions us costs least."""
        kind = "posts_created_with_url" if has_url else "summoned_replies" if summoned else "posts_created"
        self.billed[kind] += 1

    def usage(self) -> dict[str, Any]:
        usd = sum(PRICES[kind] * count for kind, count in self.billed.items())
        return {
            "requests": dict(self.requests),
            "requests_total": sum(self.requests.values()),
            "tweets_returned": self.tweets_returned,
            "billed": dict(self.billed),
            "usd": round(usd, 6),
        }
