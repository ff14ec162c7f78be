"""The worker joins each chat at the right local time, DST weeks included, and joins at once when it
starts inside a window. Driven by the same triggers the BlockingScheduler uses, on a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FakeClock
from bot.config import Config, parse_config
from bot.drafting.offline import OfflineDrafter
from bot.schedule import trigger_for
from bot.store.db import Store
from bot.worker import Worker
from bot.x.gateway import XGateway

ACCOUNT = """
account: {handle: "@ada_builds", name: Ada, bio: Backend engineer., voice: warm}
chats:
"""
CHATS = {
    "newyork": '{slug: newyork, hashtag: "#NYChat", title: NY, hosts: ["@host"], duration: 1h, '
    "when: {day: monday, time: '21:00', timezone: America/New_York}}",
    "london": '{slug: london, hashtag: "#LondonChat", title: London, hosts: ["@host"], duration: 1h, '
    "when: {day: sunday, time: '19:00', timezone: Europe/London}}",
    "biweekly": '{slug: biweekly, hashtag: "#CareerChat", title: Career, hosts: ["@host"], duration: 1h, '
    "when: {day: wednesday, time: '12:00', timezone: America/Chicago, every: 2 weeks, starting: 2026-01-07}}",
    "lastfriday": '{slug: lastfriday, hashtag: "#LastFri", title: Last Friday, hosts: ["@host"], '
    "duration: 45m, when: {day: friday, time: '16:30', timezone: Europe/Berlin, every: month, nth: last}}",
}


def _config(slug: str) -> Config:
    return parse_config(ACCOUNT + f"  - {CHATS[slug]}\n", "schedules.yaml")


def _worker(config: Config, store: Store, clock: FakeClock) -> Worker:
    # Joining makes no X request: the gateway points at a closed port on purpose.
    gateway = XGateway(
        api_key="k",
        api_secret="s",
        access_token="1000-t",
        access_token_secret="ts",
        api_base="http://127.0.0.1:9",
        clock=clock,
    )
    return Worker(config=config, store=store, gateway=gateway, drafter=OfflineDrafter(), clock=clock)


def _joined_at(slug: str, when: datetime, store: Store) -> list[datetime]:
    clock = FakeClock(when)
    return [run.window_start.astimezone(UTC) for run in _worker(_config(slug), store, clock).join_current()]


@pytest.mark.parametrize(
    ("slug", "local_start", "zone"),
    [
        ("newyork", datetime(2026, 3, 2, 21, 0), "America/New_York"),  # week before spring forward (EST)
        ("newyork", datetime(2026, 3, 9, 21, 0), "America/New_York"),  # the day after (EDT)
        ("newyork", datetime(2026, 10, 26, 21, 0), "America/New_York"),  # week before fall back (EDT)
        ("newyork", datetime(2026, 11, 2, 21, 0), "America/New_York"),  # the day after (EST)
        ("london", datetime(2026, 3, 29, 19, 0), "Europe/London"),  # the change day itself (BST)
        ("london", datetime(2026, 3, 22, 19, 0), "Europe/London"),  # a week before (GMT)
        ("london", datetime(2026, 10, 25, 19, 0), "Europe/London"),  # the change day (GMT again)
        ("london", datetime(2026, 10, 18, 19, 0), "Europe/London"),  # a week before (BST)
    ],
)
def test_a_chat_is_joined_at_its_local_time_across_dst(
    slug: str, local_start: datetime, zone: str, sqlite_store: Store
) -> None:
    start = local_start.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    trigger = trigger_for(_config(slug).chats[0])
    fire = trigger.get_next_fire_time(None, start - timedelta(days=1))
    assert fire.astimezone(UTC) == start  # the scheduler's join job fires at local 21:00 / 19:00
    assert _joined_at(slug, start - timedelta(seconds=1), sqlite_store) == []
    assert _joined_at(slug, start, sqlite_store) == [start]
    assert _joined_at(slug, start + timedelta(minutes=59), sqlite_store) == [start]  # a restart inside
    assert _joined_at(slug, start + timedelta(minutes=60), sqlite_store) == []


def test_dst_shifts_the_utc_time_by_an_hour_not_the_local_time() -> None:
    trigger = trigger_for(_config("newyork").chats[0])
    before = trigger.get_next_fire_time(None, datetime(2026, 10, 26, tzinfo=UTC))
    after = trigger.get_next_fire_time(None, datetime(2026, 11, 2, tzinfo=UTC))
    assert (before.hour, after.hour) == (21, 21)
    assert (before.astimezone(UTC).hour, after.astimezone(UTC).hour) == (1, 2)


def test_every_two_weeks_joins_only_in_the_weeks_counted_from_starting(sqlite_store: Store) -> None:
    on = datetime(2026, 12, 9, 18, 0, tzinfo=UTC)  # Wed 12:00 CST, 48 weeks after 2026-01-07
    off = on + timedelta(weeks=1)
    assert _joined_at("biweekly", on + timedelta(minutes=5), sqlite_store) == [on]
    assert _joined_at("biweekly", off + timedelta(minutes=5), sqlite_store) == []
    assert _joined_at("biweekly", on + timedelta(weeks=2, minutes=5), sqlite_store) == [
        on + timedelta(weeks=2)
    ]


@pytest.mark.parametrize(
    ("last_friday", "not_last"),
    [
        (datetime(2027, 2, 26, 16, 30), datetime(2027, 2, 19, 16, 30)),  # 28-day February
        (datetime(2026, 10, 30, 16, 30), datetime(2026, 10, 23, 16, 30)),  # the week after DST ends
        (datetime(2026, 7, 31, 16, 30), datetime(2026, 7, 24, 16, 30)),  # a 31-day month ending on Friday
    ],
)
def test_last_weekday_of_the_month(last_friday: datetime, not_last: datetime, sqlite_store: Store) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = last_friday.replace(tzinfo=berlin).astimezone(UTC)
    assert _joined_at("lastfriday", start + timedelta(minutes=1), sqlite_store) == [start]
    wrong = not_last.replace(tzinfo=berlin).astimezone(UTC)
    assert _joined_at("lastfriday", wrong + timedelta(minutes=1), sqlite_store) == []


def test_joining_twice_finds_the_same_run(sqlite_store: Store) -> None:
    start = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    clock = FakeClock(start + timedelta(minutes=3))
    worker = _worker(_config("newyork"), sqlite_store, clock)
    first = worker.join_current()
    again = _worker(_config("newyork"), sqlite_store, clock).join_current()
    assert [r.id for r in first] == [r.id for r in again]


def test_the_shipped_config_has_a_join_job_trigger_for_every_chat() -> None:
    from bot.config import load_config

    config = load_config(Path(__file__).resolve().parent.parent / "schedules.yaml")
    now = datetime(2026, 11, 25, tzinfo=UTC)
    fires = {chat.slug: trigger_for(chat).get_next_fire_time(None, now) for chat in config.chats}
    assert all(fire is not None and fire > now for fire in fires.values())
