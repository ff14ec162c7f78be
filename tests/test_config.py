"""schedules.yaml: the shipped file loads; every kind of mistake is reported at its line and column."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from ruamel.yaml import YAML

from bot.config import Config, UnknownChatError, format_duration, load_config, parse_config
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = Path(__file__).resolve().parent / "configs"

VALID = """\
account:
  handle: "@Ada_Builds"
  name: Ada Example
  bio: Backend engineer.
  voice: warm
chats:
  - slug: jobhuntchat
    hashtag: "#JobHuntChat"
    title: Job Hunt Chat
    when: {day: Mon, time: "21:00", timezone: America/New_York}
    duration: 1h30m
    hosts: ["@JobHuntChat", HostTwo]
"""

# (file in tests/configs, every issue it must produce as "line:column: message"), in report order.
MALFORMED = [
    ("bad_day", ["11:12: chats[0].when.day: 'mondy' is not a weekday; use monday … sunday (or mon … sun)"]),
    (
        "bad_time",
        ['12:13: chats[0].when.time: \'9pm\' is not a time; write "HH:MM" on a 24-hour clock, e.g. "21:00"'],
    ),
    (
        "bad_timezone",
        [
            "13:17: chats[0].when.timezone: 'America/NewYork' is not an IANA time zone; "
            "use a name like America/New_York or Europe/London"
        ],
    ),
    (
        "bad_duration",
        [
            "15:15: chats[0].duration: '90 minutes' is not a duration; "
            "write hours and/or minutes, e.g. 45m, 1h, 1h30m"
        ],
    ),
    (
        "duration_too_long",
        ["15:15: chats[0].duration: '13h' is out of range; a chat lasts between 5m and 12h"],
    ),
    (
        "unknown_key_top",
        ["17:1: top level: unknown key 'schedule'; allowed: account, policy, drafting, chats"],
    ),
    (
        "unknown_key_account",
        [
            "6:3: account: unknown key 'email'; "
            "allowed: handle, name, bio, voice, talking_points, own_links, interests, material"
        ],
    ),
    (
        "unknown_key_policy",
        [
            "7:3: policy: unknown key 'engage_before_promotion'; allowed: engage_before_promote, credits, "
            "max_promo_share, promo_keywords, own_domains, own_handles, x_access, posts_per_hour, "
            "posts_per_day, replies_per_person, max_hashtags, max_mentions, max_links, opt_out_words, "
            "blocklist, usd_per_chat, usd_per_month, budget_warning"
        ],
    ),
    (
        "unknown_key_chat",
        [
            "17:5: chats[0]: unknown key 'host'; "
            "allowed: slug, hashtag, title, when, duration, hosts, guests, read, poll, "
            "max_pending, max_replies, repost_host_questions, policy"
        ],
    ),
    (
        "unknown_key_when",
        ["15:7: chats[0].when: unknown key 'note'; allowed: day, time, timezone, every, starting, nth"],
    ),
    ("missing_account_name", ["1:1: account: missing required key 'name'; name is your display name"]),
    (
        "missing_when_time",
        [
            "10:5: chats[0].when: missing required key 'time'; "
            'time is the local start time, "HH:MM" on a 24-hour clock'
        ],
    ),
    (
        "missing_chats",
        [
            "1:1: top level: missing required key 'chats'; "
            "chats is a list of chats, each beginning '- slug: ...'"
        ],
    ),
    (
        "wrong_type_hosts",
        [
            "16:12: chats[0].hosts: expected a list, got '@JobHuntChat'; "
            "hosts is a list of the hosts' handles, e.g. ['@JobHuntChat']"
        ],
    ),
    (
        "wrong_type_poll",
        ["17:11: chats[0].poll: 'fast' is not allowed; use a whole number of seconds from 2 to 300"],
    ),
    ("wrong_type_bio", ["4:3: account.bio: a list is not text; write a plain string"]),
    (
        "biweekly_without_starting",
        [
            "14:14: chats[0].when.every: '2 weeks' needs a starting date: "
            "add starting: YYYY-MM-DD (a day it runs)"
        ],
    ),
    (
        "starting_wrong_weekday",
        [
            "15:17: chats[0].when.starting: 2026-01-07 is a wednesday but day is monday; "
            "starting must be a monday, e.g. 2026-01-12"
        ],
    ),
    (
        "monthly_without_nth",
        ["14:14: chats[0].when.every: 'month' needs nth: 1, 2, 3, 4 or last (which weekday of the month)"],
    ),
    (
        "nth_out_of_range",
        ["15:12: chats[0].when.nth: 5 (int) is not a week of the month; use 1, 2, 3, 4 or last"],
    ),
    (
        "nth_with_weekly",
        ["15:12: chats[0].when.nth: nth only applies to every: month, not every: week; remove it"],
    ),
    (
        "duplicate_slug",
        ["17:11: chats[1].slug: 'jobhuntchat' is already used by chats[0]; each chat needs its own slug"],
    ),
    (
        "duplicate_hashtag",
        [
            "18:14: chats[1].hashtag: '#jobhuntchat' is already used by chats[0] (case is ignored); "
            "each chat needs its own hashtag"
        ],
    ),
    (
        "bad_hashtag",
        [
            "8:14: chats[0].hashtag: '#Job-Hunt-Chat' is not a hashtag; "
            "write # then letters, digits or _ (not only digits), e.g. #JobHuntChat"
        ],
    ),
    (
        "hashtag_unquoted",
        [
            '8:13: chats[0].hashtag: is empty; put the hashtag in quotes, e.g. "#JobHuntChat" '
            "(a bare # starts a comment)"
        ],
    ),
    (
        "bad_slug",
        [
            "7:11: chats[0].slug: 'Job Hunt' is not a slug; "
            "use lower-case letters, digits and -, e.g. jobhuntchat"
        ],
    ),
    (
        "bad_handle",
        [
            "2:11: account.handle: '@ada builds' is not an X handle; "
            "write @ then 1-15 letters, digits or _, e.g. @JobHuntChat"
        ],
    ),
    (
        "bad_host",
        [
            "16:29: chats[0].hosts[1]: '#JobHuntChat' is not an X handle; "
            "write @ then 1-15 letters, digits or _, e.g. @JobHuntChat"
        ],
    ),
    (
        "handle_unquoted",
        [
            "2:11: YAML syntax: found character '@' that cannot start any token "
            '(put values that start with @ in quotes, e.g. "@JobHuntChat")'
        ],
    ),
    (
        "bad_url",
        [
            "8:7: account.own_links[1]: 'ada.example.dev/blog' is not a link; "
            "use a full http(s) URL, e.g. https://ada.example.dev"
        ],
    ),
    ("bad_read", ["17:11: chats[0].read: 'everyone' is not allowed; use one of: all, hosts, hosts+mentions"]),
    (
        "bad_policy_count",
        [
            "7:26: policy.engage_before_promote: -1 (int) is not allowed; "
            "use a whole number of engagements 0 or more"
        ],
    ),
    (
        "bad_policy_values",
        [
            "7:23: policy.credits: unknown key 'retweet'; "
            "allowed: reply, share, repost, like, answer, post, follow",
            "7:41: policy.credits.like: -1 (int) is not allowed; use a whole number of credits from 0 to 10",
            "8:20: policy.max_promo_share: 1.5 (float) is not allowed; use a number from 0 to 1 (a share)",
            "9:17: policy.own_domains[0]: 'https://ada.example.dev' is not a domain; "
            "write just the name, e.g. ada.example.dev (no https://)",
            "10:13: policy.x_access: 'free' is not allowed; use one of: self-serve, unrestricted",
            "11:19: policy.posts_per_hour: 0 (int) is not allowed; use a whole number of posts from 1 to 100",
            "12:18: policy.usd_per_month: 'twenty' is not allowed; use a number 0 or more (dollars)",
        ],
    ),
    (
        "bad_chat_policy",
        [
            "14:30: chats[0].policy.engage_before_promote: 'many' is not allowed; "
            "use a whole number of engagements 0 or more",
            "15:7: chats[0].policy: unknown key 'posts_per_hour'; "
            "allowed: engage_before_promote, credits, max_promo_share, usd_per_chat",
        ],
    ),
    (
        "yaml_syntax_error",
        [
            "17:1: YAML syntax: expected ',' or ']', but got '<stream end>' "
            "(while parsing a flow sequence that starts at line 16, column 12)"
        ],
    ),
    (
        "duplicate_key",
        [
            '15:7: YAML syntax: found duplicate key "day" with value "tuesday" (original value: "monday") '
            "(while constructing a mapping that starts at line 11, column 7)"
        ],
    ),
    (
        "tab_indentation",
        [
            "3:1: YAML syntax: found character '\\t' that cannot start any token "
            "(indent with spaces, not tabs)"
        ],
    ),
    ("empty", ["1:1: the file is empty; it needs account, chats and optionally policy (see schedules.yaml)"]),
    (
        "only_comments",
        ["1:1: the file is empty; it needs account, chats and optionally policy (see schedules.yaml)"],
    ),
    (
        "chats_not_a_list",
        [
            "6:8: chats: expected a list, got 'jobhuntchat'; "
            "chats is a list of chats, each beginning '- slug: ...'"
        ],
    ),
    (
        "chats_empty",
        [
            "6:1: chats: the list is empty; add at least one: "
            "chats is a list of chats, each beginning '- slug: ...'"
        ],
    ),
    (
        "bad_max_pending",
        ["17:18: chats[0].max_pending: 0 (int) is not allowed; use a whole number of drafts from 1 to 50"],
    ),
    (
        "bad_max_replies",
        ["17:18: chats[0].max_replies: 'many' is not allowed; use a whole number of replies from 0 to 50"],
    ),
    (
        "bad_repost_flag",
        ["17:28: chats[0].repost_host_questions: 'yes' is not true or false; write true or false"],
    ),
    (
        "bad_drafting_numbers",
        [
            "18:17: drafting.token_budget: 100 (int) is not allowed; "
            "use a whole number of tokens from 1000 to 100000",
            "19:24: drafting.close_grace_minutes: -5 (int) is not allowed; "
            "use a whole number of minutes from 0 to 240",
        ],
    ),
    (
        "bad_drafting_lists",
        [
            "18:21: drafting.sensitive_topics: expected a list, got 'politics'; "
            "sensitive_topics is a list of words no draft may touch",
            "19:31: drafting.commitment_phrases[1]: is empty; write some text",
        ],
    ),
    (
        "unknown_key_drafting",
        [
            "18:3: drafting: unknown key 'expire_after'; allowed: token_budget, expire_after_questions, "
            "close_grace_minutes, sensitive_topics, commitment_phrases"
        ],
    ),
    (
        "wrong_type_interests_material",
        [
            "6:14: account.interests: expected a list, got 'Kubernetes'; "
            "interests is a list of topics you care about; posts about them are worth a reply",
            "7:3: account.material: a list is not text; write a plain string",
        ],
    ),
    (
        "top_level_list",
        ["1:1: top level: expected a mapping with keys account, policy, drafting, chats; got a list"],
    ),
    (
        "several_errors",
        [
            "4:3: account: unknown key 'nickname'; "
            "allowed: handle, name, bio, voice, talking_points, own_links, interests, material",
            "12:12: chats[0].when.day: 'mondy' is not a weekday; use monday … sunday (or mon … sun)",
            "13:13: chats[0].when.time: '25:61' is not a time; "
            'write "HH:MM" on a 24-hour clock, e.g. "21:00"',
            "16:15: chats[0].duration: '2m' is out of range; a chat lasts between 5m and 12h",
        ],
    ),
]


def issues_of(path: str | Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(issue) for issue in caught.value.issues]


def test_the_shipped_schedules_yaml_loads() -> None:
    config = load_config(ROOT / "schedules.yaml")

    assert config.account.handle == "ada_builds"
    assert len(config.account.talking_points) >= 4
    assert [chat.slug for chat in config.chats] == ["jobhuntchat", "linkedinlocal", "careerchat"]
    job_hunt = config.chat("jobhuntchat")
    assert (job_hunt.hashtag, job_hunt.when.day, job_hunt.when.time) == (
        "#JobHuntChat",
        "monday",
        dt.time(21),
    )
    assert (job_hunt.when.timezone, job_hunt.when.every, job_hunt.duration) == (
        "America/New_York",
        "week",
        dt.timedelta(hours=1),
    )
    assert config.chat("linkedinlocal").when.nth == 1
    assert config.chat("careerchat").when.starting == dt.date(2026, 1, 7)


@pytest.mark.parametrize(("name", "expected"), MALFORMED, ids=[name for name, _ in MALFORMED])
def test_a_malformed_config_is_reported_at_its_line_and_column(name: str, expected: list[str]) -> None:
    path = CONFIGS / f"{name}.yaml"

    assert issues_of(path) == [f"{path}:{issue}" for issue in expected]


def test_every_malformed_file_has_a_case() -> None:
    assert {path.stem for path in CONFIGS.glob("*.yaml")} == {name for name, _ in MALFORMED}


def test_the_issue_carries_file_line_and_column_and_the_path_stays_relative(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(CONFIGS.parent)

    with pytest.raises(ConfigError) as caught:
        load_config("configs/bad_day.yaml")

    (issue,) = caught.value.issues
    assert (issue.file, issue.line, issue.column) == ("configs/bad_day.yaml", 11, 12)
    assert str(caught.value).startswith("configs/bad_day.yaml:11:12: chats[0].when.day: 'mondy'")


def test_a_missing_file_is_one_issue_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"

    assert issues_of(missing) == [f"{missing}:1:1: no such file; pass the path of your schedules.yaml"]


def test_a_directory_or_non_utf8_file_is_an_issue_not_a_traceback(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("account:\n  name: Zo\xeb\n".encode("latin-1"))

    assert issues_of(tmp_path)[0].startswith(f"{tmp_path}:1:1: cannot read the file")
    assert issues_of(latin1)[0].startswith(f"{latin1}:1:1: not UTF-8 text")


def test_values_are_normalised_and_defaults_filled() -> None:
    config = parse_config(VALID, "schedules.yaml")

    chat = config.chats[0]
    assert config.account.handle == "Ada_Builds"
    assert config.account.handle_lower == "ada_builds"
    assert (config.account.talking_points, config.account.own_links) == ([], [])
    assert config.policy.engage_before_promote == 4
    assert chat.when.day == "monday"
    assert chat.when.weekday == 0
    assert chat.when.every == "week"
    assert chat.when.zone.key == "America/New_York"
    assert chat.duration == dt.timedelta(hours=1, minutes=30)
    assert chat.hosts == ["JobHuntChat", "HostTwo"]
    assert chat.hosts_lower == {"jobhuntchat", "hosttwo"}
    assert chat.is_host("@JOBHUNTCHAT")
    assert not chat.is_host("@someone")
    assert (chat.guests, chat.read, chat.poll) == ([], "all", 10)


@pytest.mark.parametrize(
    ("written", "minutes"), [("5m", 5), ("45m", 45), ("1h", 60), ("1h30m", 90), ("12h", 720), ("2H15M", 135)]
)
def test_durations_parse_and_print_back(written: str, minutes: int) -> None:
    config = parse_config(VALID.replace("1h30m", written), "schedules.yaml")

    assert config.chats[0].duration == dt.timedelta(minutes=minutes)
    assert format_duration(config.chats[0].duration) == written.lower()


def test_an_unquoted_time_is_read_as_text_not_as_a_sexagesimal_number() -> None:
    text = VALID.replace('time: "21:00"', "time: 21:00")

    assert parse_config(text, "s.yaml").chats[0].when.time == dt.time(21)


@pytest.mark.parametrize("day", ["monday", "Monday", "MON", "mon"])
def test_weekdays_accept_any_case_and_three_letters(day: str) -> None:
    config = parse_config(VALID.replace("day: Mon", f"day: {day}"), "schedules.yaml")

    assert config.chats[0].when.day == "monday"


def test_monthly_last_weekday_and_biweekly_load() -> None:
    text = VALID.replace("timezone: America/New_York}", "timezone: UTC, every: month, nth: last}")
    assert parse_config(text, "s.yaml").chats[0].when.nth == "last"

    text = VALID.replace(
        "timezone: America/New_York}", "timezone: UTC, every: 2 weeks, starting: 2026-01-05}"
    )
    assert parse_config(text, "s.yaml").chats[0].when.starting == dt.date(2026, 1, 5)


def test_models_are_frozen() -> None:
    config = parse_config(VALID, "schedules.yaml")

    with pytest.raises(ValidationError):
        config.chats[0].slug = "other"  # type: ignore[misc]


def test_an_unknown_chat_slug_names_the_known_ones() -> None:
    config = parse_config(VALID, "schedules.yaml")

    with pytest.raises(KeyError) as caught:
        config.chat("nope")

    assert isinstance(caught.value, UnknownChatError)
    assert str(caught.value) == "no chat 'nope' in the config; known chats: jobhuntchat"


def test_models_built_in_python_check_the_same_rules() -> None:
    config = parse_config(VALID, "s.yaml")
    chat = config.chats[0].model_dump()

    with pytest.raises(ValidationError, match="already used by chats\\[0\\]"):
        Config(account=config.account, chats=[chat, chat])
    with pytest.raises(ValidationError, match="needs a starting date"):
        Config.model_validate(
            {"account": config.account, "chats": [{**chat, "when": {**chat["when"], "every": "2 weeks"}}]}
        )


# Keys from the real schema, so random documents get past the top level often.
_KEYS = st.sampled_from(
    ["account", "policy", "chats", "handle", "name", "bio", "voice", "slug", "hashtag", "title", "when",
     "day", "time", "timezone", "every", "starting", "nth", "duration", "hosts", "read", "poll", "x"]
)  # fmt: skip
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-5, 400)
    | st.sampled_from(["monday", "21:00", "UTC", "2 weeks", "month", "1h", "@a", "#A", "last", "2026-01-05"])
    | st.text(max_size=12)
    | st.dates()
)
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_KEYS, children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_any_text_either_loads_or_raises_config_error(text: str) -> None:
    try:
        parse_config(text, "fuzz.yaml")
    except ConfigError as exc:
        assert exc.issues
        assert all(
            issue.file == "fuzz.yaml" and issue.line >= 1 and issue.column >= 1 for issue in exc.issues
        )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DOCUMENTS)
def test_any_yaml_document_either_loads_or_raises_config_error(document: object) -> None:
    stream = io.StringIO()
    YAML().dump(document, stream)
    try:
        parse_config(stream.getvalue(), "fuzz.yaml")
    except ConfigError as exc:
        assert exc.issues
        assert all(": " in issue.message or issue.message.startswith("the file") for issue in exc.issues)
