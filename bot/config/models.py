"""The shape of schedules.yaml: frozen pydantic models that reject unknown keys.

Rules that tie several keys together (a 2-weekly chat needs `starting`; slugs are unique) are checked on
the raw input next to pydantic's own checks, so one run reports every problem in the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, Self, get_args
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from bot.config import values
from bot.errors import ChatcaddyError

ReadMode = Literal["all", "hosts", "hosts+mentions"]
READ_MODES: tuple[str, ...] = get_args(ReadMode)

Text = Annotated[str, BeforeValidator(values.parse_text)]
Handle = Annotated[str, BeforeValidator(values.parse_handle)]
Link = Annotated[str, BeforeValidator(values.parse_url)]
Loc = tuple[str | int, ...]
Problems = list[tuple[Loc, str]]


def _lower_handle(handle: str) -> str:
    return handle.removeprefix("@").lower()


def _raise_with(data: Any, handler: Callable[[Any], Any], problems: Problems, title: str) -> None:
    """Raise one ValidationError holding pydantic's own errors for `data` plus `problems`."""
    details = [
        InitErrorDetails(type=values.problem(message), loc=loc, input=data) for loc, message in problems
    ]
    try:
        handler(data)
    except ValidationError as exc:
        details = [*_as_details(exc), *details]
    raise ValidationError.from_exception_data(title, details)


def _as_details(exc: ValidationError) -> list[InitErrorDetails]:
    """Pydantic's errors, re-wrapped so they can be raised again (custom types are not re-raisable as is)."""
    return [
        InitErrorDetails(
            type=PydanticCustomError(
                error["type"], "{reason}", {**error.get("ctx", {}), "reason": error["msg"]}
            ),
            loc=error["loc"],
            input=error["input"],
        )
        for error in exc.errors()
    ]


def _optional(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`parse`, except that None (`key:` with no value, or a dumped model) stays None."""
    return lambda value: None if value is None else parse(value)


def _parsed(parse: Callable[[Any], Any], raw: Mapping[Any, Any], key: str) -> Any:
    """`parse(raw[key])`, or None when the key is absent or its value is invalid (reported elsewhere)."""
    if raw.get(key) is None:
        return None
    try:
        return parse(raw[key])
    except ValueError:
        return None


def _parse_flag(value: Any) -> bool:
    """true or false (YAML booleans only: 'yes' stays text)."""
    if isinstance(value, bool):
        return value
    raise values.problem(f"{values.shown(value)} is not true or false; write true or false")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Account(_Frozen):
    """Who is taking part: the X account and what it talks about."""

    handle: Handle = Field(description="your X handle, e.g. '@ada_builds'")
    name: Text = Field(description="your display name")
    bio: Text = Field(description="one or two sentences about you")
    voice: Text = Field(description="how your posts should sound, e.g. 'warm, concrete, no emoji walls'")
    talking_points: list[Text] = Field(default=[], description="a list of things you can speak to")
    own_links: list[Link] = Field(default=[], description="a list of http(s) links that are yours")
    interests: list[Text] = Field(
        default=[], description="a list of topics you care about; posts about them are worth a reply"
    )
    material: Annotated[str | None, BeforeValidator(_optional(values.parse_text))] = Field(
        default=None, description="a folder of your own material: bio.md, posts.yaml, links.yaml"
    )

    @property
    def handle_lower(self) -> str:
        """The handle lower-cased, for matching (X handles are case-insensitive)."""
        return self.handle.lower()


def _count(low: int, high: int | None, unit: str) -> BeforeValidator:
    return BeforeValidator(lambda v: values.parse_count(v, low=low, high=high, unit=unit))


def _number(low: float, high: float | None, unit: str) -> BeforeValidator:
    return BeforeValidator(lambda v: values.parse_number(v, low=low, high=high, unit=unit))


XAccess = Literal["self-serve", "unrestricted"]
X_ACCESS: tuple[str, ...] = get_args(XAccess)
Credit = Annotated[int, _count(0, 10, "credits")]
Domain = Annotated[str, BeforeValidator(values.parse_domain)]
Share = Annotated[float, _number(0, 1, "a share")]
Dollars = Annotated[float, _number(0, None, "dollars")]
Engagements = Annotated[int, _count(0, None, "engagements")]


class Credits(_Frozen):
    """What each kind of action the ledger records earns toward the next promotional post."""

    reply: Credit = Field(default=1, description="credits for a reply to someone's post, 0 to 10")
    share: Credit = Field(default=1, description="credits for sharing someone's post with a comment, 0 to 10")
    repost: Credit = Field(default=1, description="credits for a repost, 0 to 10")
    like: Credit = Field(default=0, description="credits for a like, 0 to 10")
    answer: Credit = Field(default=0, description="credits for an answer to a host's question, 0 to 10")
    post: Credit = Field(default=0, description="credits for a post of your own, 0 to 10")
    follow: Credit = Field(default=0, description="credits for a follow, 0 to 10")


class Policy(_Frozen):
    """How the caddy behaves: engage before promoting, stay within X's rules, within a budget."""

    engage_before_promote: Engagements = Field(
        default=4, description="engagement credits needed since your last promotional post"
    )
    credits: Credits = Field(
        default=Credits(), description="a mapping: reply, share, repost, like, answer, post, follow"
    )
    max_promo_share: Share = Field(
        default=0.2, description="at most this share (0 to 1) of your posts over 7 days may be promotional"
    )
    promo_keywords: list[Text] = Field(
        default=[], description="a list of words that make a post promotional (your product's name)"
    )
    own_domains: list[Domain] = Field(default=[], description="a list of domains that are yours")
    own_handles: list[Handle] = Field(default=[], description="a list of your products' or company's handles")
    x_access: Annotated[XAccess, BeforeValidator(lambda v: values.parse_choice(v, X_ACCESS))] = Field(
        default="self-serve", description="what your X API access may do: self-serve or unrestricted"
    )
    posts_per_hour: Annotated[int, _count(1, 100, "posts")] = Field(
        default=10, description="at most this many posts in any hour, 1 to 100"
    )
    posts_per_day: Annotated[int, _count(1, 1000, "posts")] = Field(
        default=40, description="at most this many posts in any 24 hours, 1 to 1000"
    )
    replies_per_person: Annotated[int, _count(0, 50, "replies")] = Field(
        default=3, description="at most this many replies to one person in one chat session, 0 to 50"
    )
    max_hashtags: Annotated[int, _count(1, 10, "hashtags")] = Field(
        default=2, description="at most this many hashtags in a post, 1 to 10"
    )
    max_mentions: Annotated[int, _count(0, 10, "mentions")] = Field(
        default=2, description="at most this many @mentions in a post, 0 to 10"
    )
    max_links: Annotated[int, _count(0, 10, "links")] = Field(
        default=1, description="at most this many links in a post, 0 to 10"
    )
    opt_out_words: list[Text] = Field(
        default=["stop", "unsubscribe"], description="a list of words with which a person opts out"
    )
    blocklist: list[Handle] = Field(default=[], description="a list of handles never to engage with")
    usd_per_chat: Dollars = Field(default=2.0, description="dollars of X usage one chat session may cost")
    usd_per_month: Dollars = Field(default=20.0, description="dollars of X usage a calendar month may cost")
    budget_warning: Share = Field(
        default=0.8, description="at this share (0 to 1) of a budget, read only hosts and mentions"
    )


class ChatPolicy(_Frozen):
    """One chat's own policy: a key left out follows the global `policy:` (credits key by key)."""

    engage_before_promote: Annotated[
        int | None,
        BeforeValidator(_optional(lambda v: values.parse_count(v, low=0, high=None, unit="engagements"))),
    ] = Field(default=None, description="engagement credits needed since your last promotional post")
    credits: Credits | None = Field(
        default=None, description="a mapping: reply, share, repost, like, answer, post, follow"
    )
    max_promo_share: Annotated[
        float | None,
        BeforeValidator(_optional(lambda v: values.parse_number(v, low=0, high=1, unit="a share"))),
    ] = Field(
        default=None, description="at most this share (0 to 1) of your posts over 7 days may be promotional"
    )
    usd_per_chat: Annotated[
        float | None,
        BeforeValidator(_optional(lambda v: values.parse_number(v, low=0, high=None, unit="dollars"))),
    ] = Field(default=None, description="dollars of X usage one session of this chat may cost")


# Topics no draft ever touches: matched at the start of a word, any case ("politic" matches "political").
DEFAULT_SENSITIVE_TOPICS = ("politic", "election", "religio", "abortion", "suicid", "self-harm", "terroris")
# Promises a draft must never make on the account's behalf (any case; ' and ’ alike).
DEFAULT_COMMITMENT_PHRASES = (
    "I promise",
    "I guarantee",
    "guaranteed",
    "I'll refer you",
    "I will refer you",
    "I can refer you",
    "I'll introduce you",
    "I'll send you",
    "I will send you",
    "DM me",
    "I'll DM you",
    "we're hiring",
    "I'll hire",
    "free consultation",
)


class Drafting(_Frozen):
    """How drafts are written and when they stop making sense."""

    token_budget: Annotated[
        int, BeforeValidator(lambda v: values.parse_count(v, low=1000, high=100_000, unit="tokens"))
    ] = Field(default=3000, description="the most tokens a draft's prompt may use, 1000 to 100000")
    expire_after_questions: Annotated[
        int, BeforeValidator(lambda v: values.parse_count(v, low=1, high=10, unit="questions"))
    ] = Field(default=2, description="a draft about Q<n> expires once Q<n+this> is asked, 1 to 10")
    close_grace_minutes: Annotated[
        int, BeforeValidator(lambda v: values.parse_count(v, low=0, high=240, unit="minutes"))
    ] = Field(default=0, description="minutes a chat's drafts stay after its window closes, 0 to 240")
    sensitive_topics: list[Text] = Field(
        default=list(DEFAULT_SENSITIVE_TOPICS), description="a list of words no draft may touch"
    )
    commitment_phrases: list[Text] = Field(
        default=list(DEFAULT_COMMITMENT_PHRASES), description="a list of promises no draft may make"
    )


class When(_Frozen):
    """When a chat starts: a weekday and a local time in an IANA zone, every week, 2 weeks or month."""

    day: Annotated[str, BeforeValidator(values.parse_weekday)] = Field(
        description="a weekday: monday … sunday (or mon … sun)"
    )
    time: Annotated[dt.time, BeforeValidator(values.parse_time)] = Field(
        description='the local start time, "HH:MM" on a 24-hour clock'
    )
    timezone: Annotated[str, BeforeValidator(values.parse_timezone)] = Field(
        description="an IANA time zone, e.g. America/New_York"
    )
    every: Annotated[values.Every, BeforeValidator(values.parse_every)] = Field(
        default="week", description="week, 2 weeks or month"
    )
    starting: Annotated[dt.date | None, BeforeValidator(_optional(values.parse_date))] = Field(
        default=None, description="for every: 2 weeks, the date (YYYY-MM-DD) of one session"
    )
    nth: Annotated[values.Nth | None, BeforeValidator(_optional(values.parse_nth))] = Field(
        default=None, description="for every: month, which of the month's weekdays: 1, 2, 3, 4 or last"
    )

    @model_validator(mode="wrap")
    @classmethod
    def _check_rules(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        problems = _when_problems(data) if isinstance(data, Mapping) else []
        if problems:
            _raise_with(data, handler, problems, cls.__name__)
        return handler(data)

    @property
    def zone(self) -> ZoneInfo:
        """The chat's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def weekday(self) -> int:
        """Monday is 0, as in `date.weekday()`."""
        return values.WEEKDAYS.index(self.day)


def _when_problems(raw: Mapping[Any, Any]) -> Problems:
    """The rules between `every`, `starting`, `nth` and `day`, checked on the raw mapping."""
    every = _parsed(values.parse_every, raw, "every") or ("week" if "every" not in raw else None)
    day = _parsed(values.parse_weekday, raw, "day")
    starting = _parsed(values.parse_date, raw, "starting")
    has_starting, has_nth = raw.get("starting") is not None, raw.get("nth") is not None
    problems: Problems = []
    if every == "2 weeks" and not has_starting:
        problems.append(
            (("every",), "'2 weeks' needs a starting date: add starting: YYYY-MM-DD (a day it runs)")
        )
    if every == "month" and not has_nth:
        problems.append((("every",), "'month' needs nth: 1, 2, 3, 4 or last (which weekday of the month)"))
    if has_starting and every in ("week", "month"):
        problems.append(
            (("starting",), f"starting only applies to every: 2 weeks, not every: {every}; remove it")
        )
    if has_nth and every in ("week", "2 weeks"):
        problems.append((("nth",), f"nth only applies to every: month, not every: {every}; remove it"))
    if every == "2 weeks" and day and starting and starting.weekday() != values.WEEKDAYS.index(day):
        nearest = starting + dt.timedelta(days=(values.WEEKDAYS.index(day) - starting.weekday()) % 7)
        problems.append(
            (
                ("starting",),
                f"{starting} is a {values.WEEKDAYS[starting.weekday()]} but day is {day}; "
                f"starting must be a {day}, e.g. {nearest}",
            )
        )
    return problems


class Chat(_Frozen):
    """One recurring X chat."""

    slug: Annotated[str, BeforeValidator(values.parse_slug)] = Field(
        description="a short id: lower-case letters, digits and -"
    )
    hashtag: Annotated[str, BeforeValidator(values.parse_hashtag)] = Field(description="e.g. '#JobHuntChat'")
    title: Text = Field(description="the chat's name, e.g. Job Hunt Chat")
    when: When = Field(description="a mapping: day, time, timezone, every (+ starting or nth)")
    duration: Annotated[dt.timedelta, BeforeValidator(values.parse_duration)] = Field(
        description="how long it lasts, e.g. 45m, 1h, 1h30m (5m to 12h)"
    )
    hosts: list[Handle] = Field(
        min_length=1, description="a list of the hosts' handles, e.g. ['@JobHuntChat']"
    )
    guests: list[Handle] = Field(default=[], description="a list of guest handles")
    read: Annotated[ReadMode, BeforeValidator(lambda v: values.parse_choice(v, READ_MODES))] = Field(
        default="all", description="whose posts to read: all, hosts or hosts+mentions"
    )
    poll: Annotated[
        int, BeforeValidator(lambda v: values.parse_count(v, low=2, high=300, unit="seconds"))
    ] = Field(default=10, description="seconds between searches during the chat, 2 to 300")
    max_pending: Annotated[
        int, BeforeValidator(lambda v: values.parse_count(v, low=1, high=50, unit="drafts"))
    ] = Field(
        default=8, description="at most this many of this chat's drafts waiting for you at once, 1 to 50"
    )
    max_replies: Annotated[
        int, BeforeValidator(lambda v: values.parse_count(v, low=0, high=50, unit="replies"))
    ] = Field(default=5, description="at most this many replies to others' answers per session, 0 to 50")
    repost_host_questions: Annotated[bool, BeforeValidator(_parse_flag)] = Field(
        default=False, description="true or false: suggest reposting each host question"
    )

    policy: ChatPolicy | None = Field(
        default=None,
        description="a mapping: engage_before_promote, credits, max_promo_share, usd_per_chat "
        "(this chat's own; the rest follows the global policy)",
    )

    @property
    def hosts_lower(self) -> frozenset[str]:
        """Host handles lower-cased, for matching."""
        return frozenset(host.lower() for host in self.hosts)

    @property
    def guests_lower(self) -> frozenset[str]:
        """Guest handles lower-cased, for matching."""
        return frozenset(guest.lower() for guest in self.guests)

    def is_host(self, handle: str) -> bool:
        """Whether `handle` ('@Name' or 'name', any case) hosts this chat."""
        return _lower_handle(handle) in self.hosts_lower


class UnknownChatError(ChatcaddyError, KeyError):
    """No chat with that slug in the config."""

    def __str__(self) -> str:
        return str(self.args[0])


class Config(_Frozen):
    """The whole of schedules.yaml."""

    account: Account = Field(
        description="a mapping: handle, name, bio, voice, talking_points, own_links, interests, material"
    )
    policy: Policy = Field(
        default=Policy(),
        description="a mapping: engage_before_promote, credits, max_promo_share, limits and budget "
        "(see schedules.yaml)",
    )
    drafting: Drafting = Field(
        default=Drafting(),
        description="a mapping: token_budget, expire_after_questions, close_grace_minutes, "
        "sensitive_topics, commitment_phrases",
    )
    chats: list[Chat] = Field(min_length=1, description="a list of chats, each beginning '- slug: ...'")

    @model_validator(mode="wrap")
    @classmethod
    def _check_unique(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        problems = _duplicate_problems(data.get("chats")) if isinstance(data, Mapping) else []
        if problems:
            _raise_with(data, handler, problems, cls.__name__)
        return handler(data)

    def chat(self, slug: str) -> Chat:
        """The chat with this slug; `UnknownChatError` (a KeyError) naming the known slugs otherwise."""
        for chat in self.chats:
            if chat.slug == slug:
                return chat
        known = ", ".join(chat.slug for chat in self.chats)
        raise UnknownChatError(f"no chat {slug!r} in the config; known chats: {known}")


def _duplicate_problems(raw_chats: Any) -> Problems:
    """Slugs and hashtags (case-insensitively) must differ between chats."""
    if not isinstance(raw_chats, list):
        return []
    problems: Problems = []
    for key, fold in (("slug", str), ("hashtag", str.lower)):
        first_seen: dict[str, int] = {}
        for index, chat in enumerate(raw_chats):
            value = chat.get(key) if isinstance(chat, Mapping) else None
            if not isinstance(value, str):
                continue
            if fold(value) in first_seen:
                where = f"chats[{first_seen[fold(value)]}]" + (
                    " (case is ignored)" if key == "hashtag" else ""
                )
                problems.append(
                    ((index, key), f"{value!r} is already used by {where}; each chat needs its own {key}")
                )
            else:
                first_seen[fold(value)] = index
    return [(("chats", *loc), message) for loc, message in problems]
