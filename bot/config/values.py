"""Parsers for the single values of schedules.yaml, each failing with a message that says what is allowed.

They raise `PydanticCustomError` (a `ValueError`) so pydantic reports them against the field they belong to;
the message is passed as context, so braces in what the user typed are never read as placeholders.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic_core import PydanticCustomError

Every = Literal["week", "2 weeks", "month"]
Nth = int | Literal["last"]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EVERY_CHOICES: tuple[Every, ...] = ("week", "2 weeks", "month")
MIN_DURATION = dt.timedelta(minutes=5)
MAX_DURATION = dt.timedelta(hours=12)

_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?")
_HANDLE = re.compile(r"@?([A-Za-z0-9_]{1,15})")
_SLUG = re.compile(r"[a-z0-9-]+")
_HASHTAG = re.compile(r"#\w+")


def problem(message: str) -> PydanticCustomError:
    """A validation problem whose text is shown to the user as is."""
    return PydanticCustomError("config", "{reason}", {"reason": message})


def shown(value: Any) -> str:
    """How a value the user wrote is quoted back in a message (short, one line)."""
    if isinstance(value, dict | list):
        return "a mapping" if isinstance(value, dict) else "a list"
    text = repr(value) if isinstance(value, str) else f"{value!r} ({type(value).__name__})"
    return text if len(text) <= 60 else text[:57] + "..."


def parse_text(value: Any) -> str:
    """Non-empty text, stripped."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, str):
        raise problem("is empty; write some text")
    raise problem(f"{shown(value)} is not text; write a plain string")


def parse_choice(value: Any, choices: tuple[str, ...]) -> str:
    """One of a fixed set of words."""
    if isinstance(value, str) and value.strip().lower() in choices:
        return value.strip().lower()
    raise problem(f"{shown(value)} is not allowed; use one of: {', '.join(choices)}")


def parse_weekday(value: Any) -> str:
    """A weekday name, full or 3-letter, any case -> the full lower-case name ('monday')."""
    if isinstance(value, str):
        word = value.strip().lower()
        for day in WEEKDAYS:
            if word in (day, day[:3]):
                return day
    raise problem(f"{shown(value)} is not a weekday; use monday … sunday (or mon … sun)")


def parse_time(value: Any) -> dt.time:
    """'HH:MM' on a 24-hour clock -> a `time`."""
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    match = _TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return dt.time(int(match[1]), int(match[2]))
    raise problem(f'{shown(value)} is not a time; write "HH:MM" on a 24-hour clock, e.g. "21:00"')


def parse_timezone(value: Any) -> str:
    """An IANA time zone name such as 'America/New_York' (checked against the tz database)."""
    if isinstance(value, str) and value.strip():
        name = value.strip()
        try:
            ZoneInfo(name)
        except (KeyError, ValueError, OSError):  # not found is a KeyError; odd keys raise the others
            pass
        else:
            return name
    raise problem(
        f"{shown(value)} is not an IANA time zone; use a name like America/New_York or Europe/London"
    )


def parse_duration(value: Any) -> dt.timedelta:
    """'45m', '1h', '1h30m' -> a `timedelta` between 5 minutes and 12 hours."""
    if isinstance(value, dt.timedelta):
        duration = value
    else:
        match = _DURATION.fullmatch(value.strip().lower()) if isinstance(value, str) else None
        if not match or not (match[1] or match[2]):
            raise problem(
                f"{shown(value)} is not a duration; write hours and/or minutes, e.g. 45m, 1h, 1h30m"
            )
        duration = dt.timedelta(hours=int(match[1] or 0), minutes=int(match[2] or 0))
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise problem(f"{shown(value)} is out of range; a chat lasts between 5m and 12h")
    return duration


def format_duration(duration: dt.timedelta) -> str:
    """The inverse of `parse_duration`: 1h30m, 1h, 45m."""
    hours, minutes = divmod(int(duration.total_seconds()) // 60, 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes or not hours else "")


def parse_every(value: Any) -> Every:
    """'week', '2 weeks' or 'month' (any case, any spacing)."""
    if isinstance(value, str):
        words = " ".join(value.lower().split())
        for choice in EVERY_CHOICES:
            if words == choice:
                return choice
    raise problem(f"{shown(value)} is not a recurrence; use week, 2 weeks or month")


def parse_nth(value: Any) -> Nth:
    """Which weekday of the month: 1..4 or 'last'."""
    if isinstance(value, str) and value.strip().lower() == "last":
        return "last"
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4:
        return value
    raise problem(f"{shown(value)} is not a week of the month; use 1, 2, 3, 4 or last")


def parse_date(value: Any) -> dt.date:
    """A calendar date, YYYY-MM-DD (YAML already turns an unquoted one into a `date`)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise problem(f"{shown(value)} is not a date; write YYYY-MM-DD, e.g. 2026-01-07")


def parse_handle(value: Any) -> str:
    """An X handle, '@name' or 'name' -> 'name' (case kept; compare lower-cased)."""
    match = _HANDLE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match:
        return match[1]
    raise problem(
        f"{shown(value)} is not an X handle; write @ then 1-15 letters, digits or _, e.g. @JobHuntChat"
    )


def parse_slug(value: Any) -> str:
    """A short id for the chat: lower-case letters, digits and '-'."""
    if isinstance(value, str) and _SLUG.fullmatch(value):
        return value
    raise problem(f"{shown(value)} is not a slug; use lower-case letters, digits and -, e.g. jobhuntchat")


def parse_hashtag(value: Any) -> str:
    """'#' then letters, digits or '_', not only digits (X does not link an all-digit tag)."""
    if isinstance(value, str) and _HASHTAG.fullmatch(value) and not value[1:].isdigit():
        return value
    if value is None:  # `hashtag: #JobHuntChat` unquoted: YAML reads everything after # as a comment
        raise problem('is empty; put the hashtag in quotes, e.g. "#JobHuntChat" (a bare # starts a comment)')
    raise problem(
        f"{shown(value)} is not a hashtag; write # then letters, digits or _ "
        "(not only digits), e.g. #JobHuntChat"
    )


def parse_url(value: Any) -> str:
    """An http(s) URL with a host."""
    if isinstance(value, str) and not any(ch.isspace() for ch in value):
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.hostname:
            return value
    raise problem(f"{shown(value)} is not a link; use a full http(s) URL, e.g. https://ada.example.dev")


def parse_count(value: Any, *, low: int, high: int | None, unit: str) -> int:
    """A whole number in [low, high] (no bools, no text)."""
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= low
        and (high is None or value <= high)
    ):
        return value
    allowed = f"from {low} to {high}" if high is not None else f"{low} or more"
    raise problem(f"{shown(value)} is not allowed; use a whole number of {unit} {allowed}")


def parse_number(value: Any, *, low: float, high: float | None, unit: str) -> float:
    """A number (whole or decimal) in [low, high], e.g. a share of posts or an amount of dollars."""
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and value == value  # NaN is not a number anyone means
        and value >= low
        and (high is None or value <= high)
    ):
        return float(value)
    allowed = f"from {low:g} to {high:g}" if high is not None else f"{low:g} or more"
    raise problem(f"{shown(value)} is not allowed; use a number {allowed} ({unit})")


_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def parse_domain(value: Any) -> str:
    """A domain name such as 'ada.example.dev' (lower-cased, a leading 'www.' dropped)."""
    if isinstance(value, str):
        name = value.strip().lower().removeprefix("www.")
        if _DOMAIN.fullmatch(name):
            return name
    raise problem(f"{shown(value)} is not a domain; write just the name, e.g. ada.example.dev (no https://)")
