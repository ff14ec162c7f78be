"""When each chat is on: APScheduler triggers for the recurrence, windows for "is it live now?".

All recurrence math is APScheduler's (`CronTrigger` works on local wall-clock time, so 21:00 in
America/New_York stays 21:00 across daylight-saving changes); this module only filters and frames it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from bot.config import Chat, Config, format_duration, load_config
from bot.errors import ConfigError

_ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", "last": "last"}
REPORT_WINDOWS = 3


class EveryOtherWeekTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler ships no type hints
    """A weekly `CronTrigger` that keeps only the weeks an even number of weeks from `starting`."""

    __slots__ = ("starting", "weekly")

    def __init__(self, weekly: CronTrigger, starting: dt.date) -> None:
        self.weekly = weekly
        self.starting = starting

    def get_next_fire_time(
        self, previous_fire_time: dt.datetime | None, now: dt.datetime
    ) -> dt.datetime | None:
        fire: dt.datetime | None = self.weekly.get_next_fire_time(previous_fire_time, now)
        while fire is not None and not self._is_on_week(fire):
            fire = self.weekly.get_next_fire_time(fire, fire)
        return fire

    def _is_on_week(self, fire: dt.datetime) -> bool:
        local_day = fire.astimezone(self.weekly.timezone).date()
        return ((local_day - self.starting).days // 7) % 2 == 0

    def __getstate__(self) -> dict[str, Any]:
        return {"version": 1, "weekly": self.weekly, "starting": self.starting}

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state.get("version", 1) > 1:
            raise ValueError(f"cannot restore EveryOtherWeekTrigger state version {state['version']}")
        self.weekly = state["weekly"]
        self.starting = state["starting"]

    def __str__(self) -> str:
        return f"every 2 weeks from {self.starting}: {self.weekly}"

    def __repr__(self) -> str:
        return f"<EveryOtherWeekTrigger (starting={self.starting.isoformat()!r}, weekly={self.weekly!r})>"


def trigger_for(chat: Chat) -> BaseTrigger:
    """An APScheduler trigger firing at the start of each of the chat's windows."""
    when = chat.when
    at = {"hour": when.time.hour, "minute": when.time.minute, "timezone": when.zone}
    weekday = when.day[:3]
    if when.every == "month":
        assert when.nth is not None  # the config guarantees nth for every: month
        return CronTrigger(day=f"{_ORDINALS[when.nth]} {weekday}", **at)
    if when.every == "2 weeks":
        assert when.starting is not None  # the config guarantees starting for every: 2 weeks
        first_day = dt.datetime.combine(when.starting, dt.time(), tzinfo=when.zone)
        return EveryOtherWeekTrigger(
            CronTrigger(day_of_week=weekday, start_date=first_day, **at), when.starting
        )
    return CronTrigger(day_of_week=weekday, **at)


@dataclass(frozen=True)
class Window:
    """One session of a chat, [start, end), as aware datetimes in the chat's zone."""

    chat_slug: str
    start: dt.datetime
    end: dt.datetime

    def contains(self, now: dt.datetime) -> bool:
        """Whether `now` (aware, any zone) falls in the window; the end itself is outside."""
        # Compared in UTC: same-zone comparisons use wall time, which is ambiguous on a fall-back night.
        return _utc(self.start) <= _utc(now) < _utc(self.end)


def next_windows(chat: Chat, after: dt.datetime, count: int) -> list[Window]:
    """The first `count` windows starting at or after `after` (aware)."""
    return list(islice(_windows_from(chat, after), count))


def current_window(chat: Chat, now: dt.datetime) -> Window | None:
    """The window that contains `now` (aware), if the chat is live."""
    for window in _windows_from(chat, _utc(now) - chat.duration):
        if _utc(window.start) > _utc(now):
            return None
        if window.contains(now):
            return window
    return None


def _windows_from(chat: Chat, moment: dt.datetime) -> Iterator[Window]:
    """Every window starting at or after `moment`, in order."""
    trigger = trigger_for(chat)
    fire: dt.datetime | None = trigger.get_next_fire_time(None, _utc(moment))
    while fire is not None:
        if not _is_repeated_wall_time(fire):
            yield _window(chat, fire)
        fire = trigger.get_next_fire_time(fire, fire)


def _is_repeated_wall_time(fire: dt.datetime) -> bool:
    """The second 01:30 of a fall-back night: cron matches that wall time twice; a chat meets once."""
    return fire.fold == 1 and fire.replace(fold=0).utcoffset() != fire.utcoffset()


def _window(chat: Chat, fire: dt.datetime) -> Window:
    # Through UTC: a start in a spring-forward gap becomes the real local time, and the end is
    # `duration` of elapsed time even when the clocks change during the chat.
    start = _utc(fire).astimezone(chat.when.zone)
    end = (_utc(fire) + chat.duration).astimezone(chat.when.zone)
    return Window(chat.slug, start, end)


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {moment.isoformat()}")
    return moment.astimezone(dt.UTC)


def check_report(path: str | Path) -> tuple[int, str]:
    """`chatcaddy check`: exit code 0 and a one-line summary, or 2 and every problem, one per line."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        return 2, str(exc)
    count = len(config.chats)
    slugs = ", ".join(chat.slug for chat in config.chats)
    return 0, f"OK: {path}: {count} chat{'' if count == 1 else 's'} ({slugs})"


def chats_report(config: Config, now: dt.datetime, local_tz: dt.tzinfo, as_json: bool) -> str:
    """`chatcaddy chats`: each chat's live and next windows, in the chat's zone and in `local_tz`."""
    upcoming = {chat.slug: _upcoming(chat, now) for chat in config.chats}
    if as_json:
        return json.dumps(
            [_chat_json(chat, upcoming[chat.slug], now, local_tz) for chat in config.chats], indent=2
        )
    return "\n\n".join(_chat_text(chat, upcoming[chat.slug], now, local_tz) for chat in config.chats)


def _upcoming(chat: Chat, now: dt.datetime) -> list[Window]:
    """The live window, if any, then the next ones: windows that have not ended by `now`."""
    not_ended = _utc(now) - chat.duration + dt.timedelta(microseconds=1)
    return next_windows(chat, not_ended, REPORT_WINDOWS)


def describe_recurrence(chat: Chat) -> str:
    """'every Monday at 21:00 America/New_York', 'the 1st Thursday of each month at 19:00 Europe/London'."""
    when = chat.when
    day = when.day.capitalize()
    if when.every == "month":
        assert when.nth is not None
        pattern = f"the {_ORDINALS[when.nth]} {day} of each month"
    elif when.every == "2 weeks":
        pattern = f"every other {day} (from {when.starting})"
    else:
        pattern = f"every {day}"
    return f"{pattern} at {when.time:%H:%M} {when.timezone}"


def _chat_text(chat: Chat, windows: list[Window], now: dt.datetime, local_tz: dt.tzinfo) -> str:
    hosts = ", ".join(f"@{host}" for host in chat.hosts)
    lines = [
        f"{chat.hashtag}  {chat.title}  [{chat.slug}]",
        f"  {describe_recurrence(chat)}, {format_duration(chat.duration)}; hosts {hosts}; reads {chat.read}",
    ]
    for window in windows:
        start, local = window.start, window.start.astimezone(local_tz)
        line = (
            f"  {start:%a %Y-%m-%d %H:%M} {_zone_name(start)} ({local:%a %H:%M} {_zone_name(local)}), "
            f"{format_duration(chat.duration)}"
        )
        lines.append(line + ("  <- live now" if window.contains(now) else ""))
    return "\n".join(lines)


def _zone_name(moment: dt.datetime) -> str:
    return moment.tzname() or moment.strftime("%z")


def _chat_json(chat: Chat, windows: list[Window], now: dt.datetime, local_tz: dt.tzinfo) -> dict[str, Any]:
    return {
        "slug": chat.slug,
        "hashtag": chat.hashtag,
        "title": chat.title,
        "windows": [
            {
                "start": window.start.isoformat(),
                "end": window.end.isoformat(),
                "start_local": window.start.astimezone(local_tz).isoformat(),
                "end_local": window.end.astimezone(local_tz).isoformat(),
                "live": window.contains(now),
            }
            for window in windows
        ],
    }
