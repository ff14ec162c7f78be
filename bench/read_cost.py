"""2. Read cost: what a 600-post chat-hour costs in X reads, in each read mode, beside a naive poller.

The chat: an hour of 600 posts (about 80 people, 10 questions, replies, mentions of the account, reposts)
under a hashtag that also saw ~30 posts a day over the week before (the host's reminders, people's
follow-ups), as chat hashtags do. Each run gets its own sandbox, whose meter bills as X does: a post read
$0.005 and a user read $0.010, each once per UTC day.

- caddy: the real worker (reading from its window's start, then from its cursor, polling at its own pace);
- naive: the same query every 60 s without `since_id` (nor `start_time`, so X's default of a week),
  every page followed so nothing is missed.

Posts billed are set over the unique chat posts (the posts of the window the query matches; goal 1.00),
users billed over the unique authors of those posts (goal 1.00 or less).

    python -m bench.read_cost [--posts 600]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

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
    week_before,
    windows_of,
)
from bot.clock import FakeClock
from bot.config import ReadMode
from bot.drafting.offline import OfflineDrafter
from bot.query import chat_query
from bot.runner import sandbox_gateway
from bot.sandbox.server import SandboxServer
from bot.sandbox.transcript import Transcript
from bot.store.models import ChatPost

MODES: tuple[ReadMode, ...] = ("all", "hosts+mentions", "hosts")
NAIVE_INTERVAL = 60  # seconds


@dataclass(frozen=True)
class Cost:
    """What one reader of the chat did and was billed."""

    reader: str
    mode: str
    requests: int
    returned: int
    posts_billed: int
    users_billed: int
    usd: float


@dataclass(frozen=True)
class Chat:
    spec: ChatSpec
    played: Transcript
    minutes: int


def chat(posts: int, minutes: int, mode: ReadMode, poll: int) -> Chat:
    spec = chat_spec(1, prefix="Cost", read=mode, minutes=minutes, poll=poll)
    crowd = people(80)
    shape = ChatShape(posts=posts, questions=10, minutes=minutes)
    scripted = chat_posts(spec, shape, crowd, at=timedelta(0), seed=7)
    scripted += week_before(spec, crowd, per_day=max(posts // 20, 1), days=6, seed=8)
    return Chat(spec, transcript([spec], crowd, scripted), minutes)


def caddy(played: Chat) -> tuple[Cost, int, int]:
    """The real worker through the chat (drafts are made, none approved: the chat stays as scripted).
    Returns its cost, the unique chat posts and their unique authors."""
    with Rig(played.played, make_config([played.spec]), OfflineDrafter(), approve=False) as rig:
        rig.play(windows_of([played.spec], [START]))
        with rig.store.session() as session:
            unique = session.scalar(select(func.count(func.distinct(ChatPost.tweet_id)))) or 0
            authors = session.scalar(select(func.count(func.distinct(ChatPost.author_id)))) or 0
        return _cost("caddy", played.spec.read, rig.server.usage()), unique, authors


def naive(played: Chat) -> Cost:
    """The same query every minute, no cursor, every page."""
    clock = FakeClock(START)
    spec = played.spec
    query = chat_query(spec.hashtag, read=spec.read, hosts=[spec.host.username], account="ada_builds")
    with SandboxServer(played.played, clock=clock, start=START) as server:
        gateway = sandbox_gateway(server, clock)
        end = START + timedelta(minutes=played.minutes)
        while clock.now() < end:
            next_token = None
            while True:
                page = gateway.search_page(query, next_token=next_token)
                next_token = page.next_token
                if not next_token:
                    break
            clock.advance(NAIVE_INTERVAL)
        return _cost("naive", spec.read, server.usage())


def _cost(reader: str, mode: str, usage: dict[str, object]) -> Cost:
    billed = usage["billed"]
    requests = usage["requests"]
    assert isinstance(billed, dict) and isinstance(requests, dict)
    usd = billed["post_reads"] * 0.005 + billed["user_reads"] * 0.010
    return Cost(
        reader,
        mode,
        int(requests.get("search", 0)),
        int(usage["tweets_returned"]),  # type: ignore[call-overload]
        billed["post_reads"],
        billed["user_reads"],
        usd,
    )


def run(*, posts: int = 600, minutes: int = 60, poll: int = 10, doc: Path = DOC, command: str) -> Section:
    started = time.perf_counter()
    rows, headlines = [], []
    for mode in MODES:
        played = chat(posts, minutes, mode, poll)
        ours, unique, authors = caddy(played)
        theirs = naive(played)
        hours = minutes / 60
        for cost in (ours, theirs):
            rows.append(
                [
                    mode,
                    cost.reader,
                    f"{cost.requests:,}",
                    f"{cost.returned:,}",
                    f"{unique:,}",
                    f"{cost.posts_billed:,}",
                    f"**{cost.posts_billed / max(unique, 1):.2f}**",
                    f"{authors:,}",
                    f"{cost.users_billed:,}",
                    f"**{cost.users_billed / max(authors, 1):.2f}**",
                    f"${cost.usd / hours:,.2f}",
                ]
            )
        headlines.append(
            Headline(
                f"posts billed / unique chat posts, {mode}",
                f"{ours.posts_billed / max(unique, 1):.2f} "
                f"(naive {theirs.posts_billed / max(unique, 1):.2f})",
                "1.00",
                ours.posts_billed <= unique,
            )
        )
        headlines.append(
            Headline(
                f"users billed / unique authors, {mode}",
                f"{ours.users_billed / max(authors, 1):.2f}",
                "≤ 1.00",
                ours.users_billed <= authors,
            )
        )
        headlines.append(
            Headline(
                f"$ per chat-hour, {mode}",
                f"${ours.usd / hours:,.2f} (naive ${theirs.usd / hours:,.2f})",
                "at most the naive poller's",
                ours.usd <= theirs.usd,
            )
        )
    body = "\n".join(
        [
            f"""A {minutes}-minute chat of {posts} posts (plus reposts, which search does not return) under a
hashtag that saw {max(posts // 20, 1)} posts a day over the 6 days before; each reader on its own sandbox.
*caddy* is the real worker; *naive* sends the same query every 60 s without `since_id` (so X's default window
of a week) and follows every page. Both are billed as X bills: each post and user once per UTC day.""",
            "",
            table(
                (
                    "read mode",
                    "reader",
                    "searches",
                    "posts returned",
                    "unique chat posts",
                    "posts billed",
                    "billed / unique (goal 1.00)",
                    "unique authors",
                    "users billed",
                    "billed / authors (goal ≤ 1.00)",
                    "$ per chat-hour",
                ),
                rows,
            ),
            "",
            """The caddy searches more often than the naive poller (every 5–10 s against every 60 s: a draft
within seconds of the question), but an empty search is free and a post is never returned twice; the naive
poller gets every post back on every poll (de-duplication spares the money, not the traffic) and pays for the
week before the chat.""",
        ]
    )
    return finish(Section("read_cost", body, headlines), command=command, doc=doc, started=started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.read_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=600)
    args = parser.parse_args(argv)
    quiet_logs()
    run(posts=args.posts, command="python -m bench.read_cost")


if __name__ == "__main__":
    main()
