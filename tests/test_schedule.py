"""Chat windows: recurrences, daylight-saving changes, "is it live now?", and the check/chats reports."""

from __future__ import annotations

import datetime as dt
import json
import pickle
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.config import Account, Chat, Config
from bot.schedule import (
    EveryOtherWeekTrigger,
    Window,
    chats_report,
    check_report,
    current_window,
    next_windows,
    trigger_for,
)

UTC = dt.UTC
NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
CHICAGO = ZoneInfo("America/Chicago")
ROOT = Path(__file__).resolve().parent.parent


def make_chat(slug: str = "jobhuntchat", duration: str = "60m", **when: Any) -> Chat:
    return Chat.model_validate(
        {
            "slug": slug,
            "hashtag": f"#{slug}",
            "title": slug.title(),
            "when": {"day": "monday", "time": "21:00", "timezone": "America/New_York", **when},
            "duration": duration,
            "hosts": ["@host"],
        }
    )


def starts(windows: list[Window]) -> list[str]:
    """Each window's local start and its UTC hour, e.g. '2026-03-08 21:00 EDT / 01Z'."""
    return [f"{w.start:%Y-%m-%d %H:%M %Z} / {w.start.astimezone(UTC):%H}Z" for w in windows]


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, tz: dt.tzinfo = UTC) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=tz)


def test_weekly_windows_start_at_the_local_time_and_last_the_duration() -> None:
    windows = next_windows(make_chat(), at(2026, 11, 20), 3)

    assert starts(windows) == [
        "2026-11-23 21:00 EST / 02Z",
        "2026-11-30 21:00 EST / 02Z",
        "2026-12-07 21:00 EST / 02Z",
    ]
    assert all(w.end - w.start == dt.timedelta(hours=1) and w.chat_slug == "jobhuntchat" for w in windows)
    assert windows[0].start.tzinfo == NEW_YORK


def test_a_window_starting_exactly_at_after_is_included() -> None:
    start = at(2026, 11, 23, 21, tz=NEW_YORK)

    assert next_windows(make_chat(), start, 1)[0].start == start
    assert next_windows(make_chat(), start + dt.timedelta(seconds=1), 1)[0].start == start + dt.timedelta(
        days=7
    )


@pytest.mark.parametrize(
    ("change_day", "expected"),
    [
        # America/New_York springs forward on Sunday 2026-03-08 and falls back on Sunday 2026-11-01.
        (
            (2026, 3, 1),
            ["2026-03-01 21:00 EST / 02Z", "2026-03-08 21:00 EDT / 01Z", "2026-03-15 21:00 EDT / 01Z"],
        ),
        (
            (2026, 10, 25),
            ["2026-10-25 21:00 EDT / 01Z", "2026-11-01 21:00 EST / 02Z", "2026-11-08 21:00 EST / 02Z"],
        ),
    ],
)
def test_new_york_chats_keep_their_local_time_across_dst(
    change_day: tuple[int, int, int], expected: list[str]
) -> None:
    chat = make_chat(day="sunday")

    assert starts(next_windows(chat, at(*change_day), 3)) == expected


@pytest.mark.parametrize(
    ("from_day", "expected"),
    [
        # Europe/London springs forward on Sunday 2026-03-29 and falls back on Sunday 2026-10-25.
        ((2026, 3, 22), ["2026-03-22 19:00 GMT / 19Z", "2026-03-29 19:00 BST / 18Z"]),
        ((2026, 10, 18), ["2026-10-18 19:00 BST / 18Z", "2026-10-25 19:00 GMT / 19Z"]),
    ],
)
def test_london_chats_keep_their_local_time_across_dst(
    from_day: tuple[int, int, int], expected: list[str]
) -> None:
    chat = make_chat(day="sun", time="19:00", timezone="Europe/London")

    assert starts(next_windows(chat, at(*from_day), 2)) == expected


def test_a_start_in_the_spring_forward_gap_or_the_repeated_hour_happens_once_at_a_real_time() -> None:
    chat = make_chat(day="sunday", time="01:30", timezone="Europe/London")

    # 01:30 does not exist on 2026-03-29 (01:00 GMT jumps to 02:00 BST): it starts at 02:30 BST.
    assert starts(next_windows(chat, at(2026, 3, 28), 2)) == [
        "2026-03-29 02:30 BST / 01Z",
        "2026-04-05 01:30 BST / 00Z",
    ]
    # 01:30 happens twice on 2026-10-25; the chat meets at the first one only.
    assert starts(next_windows(chat, at(2026, 10, 24), 2)) == [
        "2026-10-25 01:30 BST / 00Z",
        "2026-11-01 01:30 GMT / 01Z",
    ]


def test_a_window_lasts_its_duration_even_when_the_clocks_change_during_it() -> None:
    chat = make_chat(day="sunday", time="00:30", timezone="Europe/London", duration="2h")

    (window,) = next_windows(chat, at(2026, 3, 28), 1)

    # Subtracting two datetimes of the same zone gives the wall-clock gap (3h here), so compare in UTC.
    assert window.end.astimezone(UTC) - window.start.astimezone(UTC) == dt.timedelta(hours=2)
    assert f"{window.start:%H:%M %Z}-{window.end:%H:%M %Z}" == "00:30 GMT-03:30 BST"


def test_every_two_weeks_keeps_the_weeks_an_even_distance_from_starting() -> None:
    chat = make_chat(
        day="wednesday", time="12:00", timezone="America/Chicago", every="2 weeks", starting="2026-01-07"
    )

    assert starts(next_windows(chat, at(2025, 12, 1), 3)) == [
        "2026-01-07 12:00 CST / 18Z",
        "2026-01-21 12:00 CST / 18Z",
        "2026-02-04 12:00 CST / 18Z",
    ]
    # The day after a session, the next one is two weeks on, not one.
    assert starts(next_windows(chat, at(2026, 1, 8), 1)) == ["2026-01-21 12:00 CST / 18Z"]
    # 44 weeks later, still in step; and across Chicago's DST start on 2026-03-08.
    assert starts(next_windows(chat, at(2026, 11, 5), 1)) == ["2026-11-11 12:00 CST / 18Z"]
    assert starts(next_windows(chat, at(2026, 3, 1), 2)) == [
        "2026-03-04 12:00 CST / 18Z",
        "2026-03-18 12:00 CDT / 17Z",
    ]


def test_every_two_weeks_starting_on_the_other_week_picks_the_other_weeks() -> None:
    chat = make_chat(
        day="wednesday", time="12:00", timezone="America/Chicago", every="2 weeks", starting="2026-01-14"
    )

    assert starts(next_windows(chat, at(2026, 1, 1), 2)) == [
        "2026-01-14 12:00 CST / 18Z",
        "2026-01-28 12:00 CST / 18Z",
    ]


@pytest.mark.parametrize(
    ("nth", "expected_days"),
    [
        (1, ["2026-01-01", "2026-02-05", "2026-03-05"]),
        (2, ["2026-01-08", "2026-02-12", "2026-03-12"]),
        (4, ["2026-01-22", "2026-02-26", "2026-03-26"]),
        ("last", ["2026-01-29", "2026-02-26", "2026-03-26"]),
    ],
)
def test_monthly_on_the_nth_thursday(nth: int | str, expected_days: list[str]) -> None:
    chat = make_chat(day="thursday", time="19:00", timezone="Europe/London", every="month", nth=nth)

    windows = next_windows(chat, at(2026, 1, 1), 3)

    assert [f"{w.start:%Y-%m-%d}" for w in windows] == expected_days
    assert all(f"{w.start:%a %H:%M}" == "Thu 19:00" for w in windows)


def test_last_weekday_of_the_month_across_months_of_different_length() -> None:
    chat = make_chat(day="friday", every="month", nth="last")

    windows = next_windows(chat, at(2026, 1, 1), 6)

    # 31, 28, 31, 30, 31 and 30 days: the last Friday moves with the month's length.
    expected = ["2026-01-30", "2026-02-27", "2026-03-27", "2026-04-24", "2026-05-29", "2026-06-26"]
    assert [f"{w.start:%Y-%m-%d}" for w in windows] == expected
    leap = make_chat(day="tuesday", every="month", nth="last")
    assert f"{next_windows(leap, at(2028, 2, 1), 1)[0].start:%Y-%m-%d}" == "2028-02-29"


def test_current_window_inside_outside_and_at_the_edges() -> None:
    chat = make_chat()
    start = at(2026, 11, 23, 21, tz=NEW_YORK)
    second = dt.timedelta(seconds=1)
    window = Window("jobhuntchat", start, start + dt.timedelta(hours=1))

    assert current_window(chat, start) == window
    assert current_window(chat, start + dt.timedelta(minutes=30)) == window
    assert current_window(chat, start + dt.timedelta(hours=1) - second) == window
    assert current_window(chat, start + dt.timedelta(hours=1)) is None
    assert current_window(chat, start - second) is None
    assert current_window(chat, at(2026, 11, 25, 12)) is None
    # The same instant given in UTC (Tue 02:30Z) finds the same window.
    assert current_window(chat, at(2026, 11, 24, 2, 30)) == window


def test_window_contains_compares_instants_not_wall_clocks() -> None:
    start = at(2026, 11, 23, 21, tz=NEW_YORK)
    window = Window("jobhuntchat", start, start + dt.timedelta(hours=1))

    assert window.contains(at(2026, 11, 24, 2, 0))
    assert not window.contains(at(2026, 11, 24, 3, 0))
    assert window.contains(at(2026, 11, 24, 3, 59, tz=ZoneInfo("Europe/Berlin")))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_windows(make_chat(), dt.datetime(2026, 11, 23), 1)


def test_trigger_kinds_match_the_recurrence() -> None:
    weekly = trigger_for(make_chat())
    monthly = trigger_for(make_chat(every="month", nth="last"))
    biweekly = trigger_for(make_chat(every="2 weeks", starting="2026-01-05"))

    assert isinstance(weekly, CronTrigger)
    assert str(weekly) == "cron[day_of_week='mon', hour='21', minute='0']"
    assert isinstance(monthly, CronTrigger)
    assert str(monthly) == "cron[day='last mon', hour='21', minute='0']"
    assert isinstance(biweekly, EveryOtherWeekTrigger)
    assert str(biweekly) == "every 2 weeks from 2026-01-05: cron[day_of_week='mon', hour='21', minute='0']"


def test_the_two_week_trigger_survives_pickling_and_skips_off_weeks_for_apscheduler() -> None:
    trigger = trigger_for(make_chat(every="2 weeks", starting="2026-01-05"))
    restored = pickle.loads(pickle.dumps(trigger))
    first = restored.get_next_fire_time(None, at(2026, 1, 1))

    assert first == at(2026, 1, 5, 21, tz=NEW_YORK)
    # APScheduler asks for the fire after the previous one, even when "now" has moved well past it.
    assert restored.get_next_fire_time(first, at(2026, 1, 30)) == at(2026, 1, 19, 21, tz=NEW_YORK)


def two_chat_config() -> Config:
    account = Account.model_validate({"handle": "@ada_builds", "name": "Ada", "bio": "b", "voice": "v"})
    chats = [
        make_chat(),
        make_chat(
            slug="linkedinlocal",
            duration="1h30m",
            day="thursday",
            time="19:00",
            timezone="Europe/London",
            every="month",
            nth=1,
        ),
    ]
    return Config(account=account, chats=chats)


def test_chats_report_shows_windows_in_the_chat_zone_and_the_local_zone_and_marks_the_live_one() -> None:
    now = at(2026, 11, 24, 2, 30)  # Monday 21:30 in New York: #jobhuntchat is on

    text = chats_report(two_chat_config(), now, UTC, as_json=False)

    assert text == (
        "#jobhuntchat  Jobhuntchat  [jobhuntchat]\n"
        "  every Monday at 21:00 America/New_York, 1h; hosts @host; reads all\n"
        "  Mon 2026-11-23 21:00 EST (Tue 02:00 UTC), 1h  <- live now\n"
        "  Mon 2026-11-30 21:00 EST (Tue 02:00 UTC), 1h\n"
        "  Mon 2026-12-07 21:00 EST (Tue 02:00 UTC), 1h\n"
        "\n"
        "#linkedinlocal  Linkedinlocal  [linkedinlocal]\n"
        "  the 1st Thursday of each month at 19:00 Europe/London, 1h30m; hosts @host; reads all\n"
        "  Thu 2026-12-03 19:00 GMT (Thu 19:00 UTC), 1h30m\n"
        "  Thu 2027-01-07 19:00 GMT (Thu 19:00 UTC), 1h30m\n"
        "  Thu 2027-02-04 19:00 GMT (Thu 19:00 UTC), 1h30m"
    )


def test_chats_report_json_has_iso_times_with_offsets() -> None:
    now = at(2026, 11, 24, 2, 30)

    report = json.loads(chats_report(two_chat_config(), now, ZoneInfo("Asia/Tokyo"), as_json=True))

    assert [(chat["slug"], chat["hashtag"], chat["title"]) for chat in report] == [
        ("jobhuntchat", "#jobhuntchat", "Jobhuntchat"),
        ("linkedinlocal", "#linkedinlocal", "Linkedinlocal"),
    ]
    assert report[0]["windows"][0] == {
        "start": "2026-11-23T21:00:00-05:00",
        "end": "2026-11-23T22:00:00-05:00",
        "start_local": "2026-11-24T11:00:00+09:00",
        "end_local": "2026-11-24T12:00:00+09:00",
        "live": True,
    }
    assert [w["live"] for chat in report for w in chat["windows"]] == [True] + [False] * 5
    assert report[1]["windows"][2]["start"] == "2027-02-04T19:00:00+00:00"


def test_check_report_summarises_a_good_file_and_lists_every_problem_of_a_bad_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)

    assert check_report("schedules.yaml") == (
        0,
        "OK: schedules.yaml: 3 chats (jobhuntchat, linkedinlocal, careerchat)",
    )
    status, text = check_report("tests/configs/several_errors.yaml")
    assert status == 2
    assert [line.split(": ")[0] for line in text.splitlines()] == [
        "tests/configs/several_errors.yaml:4:3",
        "tests/configs/several_errors.yaml:12:12",
        "tests/configs/several_errors.yaml:13:13",
        "tests/configs/several_errors.yaml:16:15",
    ]
