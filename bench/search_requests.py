"""3. Search requests with 1, 5 and 20 chats live at once: they must grow with poll ticks, not with chats.

The chats share one window; each has its own hashtag, host and crowd of posts. The worker combines the
queries of the chats live together into as few as fit X's 512 characters, so a tick costs one search (plus a
page for each further hundred posts) however many chats are live. The last row reads 20 chats in
`hosts+mentions`, whose queries are longer: they no longer fit one query, and the requests per tick show it.

    python -m bench.search_requests [--posts-per-chat 60]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bench.common import (
    DOC,
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
    people,
    quiet_logs,
    table,
    transcript,
    windows_of,
)
from bot.config import ReadMode
from bot.drafting.offline import OfflineDrafter
from bot.query import chat_query, combined_queries

RATE_LIMIT = 300  # recent searches per 15 minutes (per user)
WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Scenario:
    """What one worker did with `chats` chats live at once."""

    chats: int
    mode: ReadMode
    ticks: int
    searches: int
    queries: int
    longest: int
    peak: int
    refused: int  # searches answered 429
    hours: float

    @property
    def per_tick(self) -> float:
        return self.searches / max(self.ticks, 1)

    def row(self) -> list[object]:
        per_hour = self.searches / self.hours
        return [
            self.chats,
            self.mode,
            f"{self.queries} ({self.longest} chars)",
            f"{self.ticks:,}",
            f"{self.searches:,}",
            f"**{self.per_tick:.2f}**",
            f"{per_hour:,.0f}",
            f"{per_hour / self.chats:,.0f}",
            f"{self.peak} of {RATE_LIMIT}",
            f"{self.refused}",
        ]


def scenario(chats: int, mode: ReadMode, posts_per_chat: int, minutes: int, poll: int) -> Scenario:
    specs = [chat_spec(i + 1, prefix="Many", read=mode, minutes=minutes, poll=poll) for i in range(chats)]
    crowd = people(120)
    posts = []
    for i, spec in enumerate(specs):
        shape = ChatShape(posts=posts_per_chat, questions=8, minutes=minutes)
        posts += chat_posts(spec, shape, crowd, at=timedelta(seconds=7 * i), seed=300 + i)
    with Rig(transcript(specs, crowd, posts), make_config(specs), OfflineDrafter(), approve=False) as rig:
        rig.play(windows_of(specs, [START] * chats))
        searches = [r for r in rig.server.requests() if r["endpoint"] == "search"]
        ticks = len(rig.worker.ticks)
    times = [datetime.fromisoformat(r["at"].replace("Z", "+00:00")) for r in searches]
    queries = _queries(specs)
    return Scenario(
        chats,
        mode,
        ticks,
        len(searches),
        len(queries),
        max(len(q) for q, _ in queries),
        _peak(times),
        sum(1 for r in searches if r["status"] == 429),
        minutes / 60,
    )


def _queries(specs: list[ChatSpec]) -> list[tuple[str, list[str]]]:
    parts = [
        (s.slug, chat_query(s.hashtag, read=s.read, hosts=[s.host.username], account="ada_builds"))
        for s in specs
    ]
    return combined_queries(parts)


def _peak(times: list[datetime]) -> int:
    """The most searches in any 15 minutes."""
    best, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= WINDOW:
            first += 1
        best = max(best, last - first + 1)
    return best


def run(
    *,
    counts: tuple[int, ...] = (1, 5, 20),
    posts_per_chat: int = 60,
    minutes: int = 30,
    poll: int = 10,
    doc: Path = DOC,
    command: str,
) -> Section:
    started = time.perf_counter()
    plans: list[tuple[int, ReadMode]] = [(n, "all") for n in counts] + [(counts[-1], "hosts+mentions")]
    results = [scenario(n, mode, posts_per_chat, minutes, poll) for n, mode in plans]
    rows = [r.row() for r in results]
    flat = [r for r in results if r.mode == "all"]
    spread = [r.per_tick for r in flat]
    body = "\n".join(
        [
            f"All chats live in one {minutes}-minute window (rates per hour are scaled from it), "
            f"{posts_per_chat} posts and 8 questions each, "
            "polled by one worker (every 10 s; 5 s for a minute after a question). A tick is one poll of "
            "every live chat.",
            "",
            table(
                (
                    "chats live",
                    "read mode",
                    "queries per tick (longest)",
                    "poll ticks",
                    "searches",
                    "searches per tick",
                    "searches per hour",
                    "per chat-hour",
                    "most in any 15 min (limit)",
                    "refused (429)",
                ),
                rows,
            ),
            "",
            """Searches follow the ticks: a tick is one search per combined query, plus a page per further
hundred posts. A chat that joins is first read on its own, from its window's start, then shares the query
(those first reads are what lifts 20 chats above 1.00). Chats that do not fit one 512-character query cost a
search more per query; the worker then paces itself by the rate-limit headers (X's window is fixed, 15
minutes from its first request, so a sliding 15 minutes may hold more than 300).""",
        ]
    )
    headlines = [
        Headline(
            f"searches per tick with {', '.join(str(r.chats) for r in flat)} chats",
            " / ".join(f"{s:.2f}" for s in spread),
            "flat (with ticks, not chats)",
            max(spread) - min(spread) < 0.25,
        )
    ]
    return finish(Section("search_requests", body, headlines), command=command, doc=doc, started=started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.search_requests", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--posts-per-chat", type=int, default=60)
    args = parser.parse_args(argv)
    quiet_logs()
    run(posts_per_chat=args.posts_per_chat, command="python -m bench.search_requests")


if __name__ == "__main__":
    main()
