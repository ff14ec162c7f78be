"""What the chat pages show: the schedule (next windows), and one run of a chat: its posts as read, the
actions taken, the engage/promote standing over time, and what its reads cost so far."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Chat, Config, format_duration
from bot.review import post_url
from bot.runs import live_runs
from bot.sandbox.billing import PRICES
from bot.schedule import current_window, describe_recurrence, next_windows
from bot.store.models import Action, ChatPost, ChatRun, Draft
from bot.web.views import PostView, posts_of, runs_of

UPCOMING = 3


@dataclass(frozen=True)
class WindowView:
    start: datetime
    end: datetime
    live: bool


@dataclass(frozen=True)
class ScheduleEntry:
    slug: str
    hashtag: str
    title: str
    recurrence: str
    timezone: str
    duration: str
    windows: tuple[WindowView, ...]


@dataclass(frozen=True)
class RunView:
    id: int
    window_start: datetime
    window_end: datetime
    state: str
    live: bool


@dataclass(frozen=True)
class ActionView:
    at: datetime
    kind: str
    via: str
    text: str
    is_promotional: bool
    x_post_url: str | None


@dataclass(frozen=True)
class ReadCost:
    """An estimate of what reading the run cost, at X's prices: each post and each author read is billed
    once per UTC day, so posts and authors are counted once."""

    posts: int
    authors: int

    @property
    def usd(self) -> float:
        return self.posts * PRICES["post_reads"] + self.authors * PRICES["user_reads"]


@dataclass(frozen=True)
class StandingPoint:
    """The engage/promote standing after one action: genuine actions since the chat's last promotion."""

    at: datetime
    since_promotion: int
    promotion: bool


@dataclass(frozen=True)
class Standing:
    needed: int  # engagements the policy asks for before each promotion
    start: datetime
    end: datetime
    initial: int  # the standing when the window opened
    points: tuple[StandingPoint, ...]

    @property
    def now(self) -> int:
        return self.points[-1].since_promotion if self.points else self.initial


@dataclass(frozen=True)
class ChatPage:
    entry: ScheduleEntry
    runs: tuple[RunView, ...]
    run: RunView | None
    posts: tuple[PostView, ...]
    actions: tuple[ActionView, ...]
    standing: Standing | None
    cost: ReadCost


def schedule(config: Config, now: datetime) -> list[ScheduleEntry]:
    """Every chat with its live window (if any) and the next ones."""
    return [schedule_entry(chat, now) for chat in config.chats]


def schedule_entry(chat: Chat, now: datetime) -> ScheduleEntry:
    live = current_window(chat, now)
    upcoming = next_windows(chat, now, UPCOMING - (1 if live else 0))
    windows = ([live] if live else []) + upcoming
    return ScheduleEntry(
        slug=chat.slug,
        hashtag=chat.hashtag,
        title=chat.title,
        recurrence=describe_recurrence(chat),
        timezone=chat.when.timezone,
        duration=format_duration(chat.duration),
        windows=tuple(WindowView(w.start, w.end, w.contains(now)) for w in windows),
    )


def chat_page(session: Session, config: Config, chat: Chat, now: datetime, run_id: int | None) -> ChatPage:
    """A chat's page: the chosen run (by default the live one, else the latest)."""
    runs = runs_of(session, chat.slug)
    live_ids = {r.id for r in live_runs(session, now)}
    run = next((r for r in runs if r.id == run_id), None) if run_id else (runs[0] if runs else None)
    if run_id and run is None:
        run = session.scalars(
            select(ChatRun).where(ChatRun.id == run_id, ChatRun.chat_slug == chat.slug)
        ).first()
    return ChatPage(
        entry=schedule_entry(chat, now),
        runs=tuple(_run_view(r, live_ids) for r in runs),
        run=_run_view(run, live_ids) if run else None,
        posts=tuple(posts_of(session, run, config)) if run else (),
        actions=tuple(_actions(session, run)) if run else (),
        standing=standing(session, config, chat, run, now) if run else None,
        cost=read_cost(session, run) if run else ReadCost(0, 0),
    )


def _run_view(run: ChatRun, live_ids: set[int]) -> RunView:
    return RunView(run.id, run.window_start, run.window_end, run.state, run.id in live_ids)


def _actions(session: Session, run: ChatRun) -> list[ActionView]:
    query = (
        select(Action, Draft.text)
        .outerjoin(Draft, Draft.id == Action.draft_id)
        .where(Action.run_id == run.id)
        .order_by(Action.at, Action.id)
    )
    return [
        ActionView(
            at=action.at,
            kind=action.kind,
            via=action.via,
            text=text or "",
            is_promotional=action.is_promotional,
            x_post_url=post_url(action.x_post_id) if action.x_post_id else None,
        )
        for action, text in session.execute(query)
    ]


def read_cost(session: Session, run: ChatRun) -> ReadCost:
    posts, authors = session.execute(
        select(
            func.count(func.distinct(ChatPost.tweet_id)), func.count(func.distinct(ChatPost.author_id))
        ).where(ChatPost.run_id == run.id)
    ).one()
    return ReadCost(int(posts), int(authors))


def standing(session: Session, config: Config, chat: Chat, run: ChatRun, now: datetime) -> Standing:
    """Genuine actions since the chat's last promotion, after each action of the run's window."""
    end = min(run.window_end, max(now, run.window_start))
    history = session.execute(
        select(Action.at, Action.kind, Action.is_promotional)
        .where(Action.chat_slug == chat.slug, Action.at <= end)
        .order_by(Action.at, Action.id)
    ).all()
    credit = _credits(config, chat)
    count, initial, points = 0, 0, []
    for at, kind, promotional in history:
        count = 0 if promotional else count + credit(kind)
        if at < run.window_start:
            initial = count
        else:
            points.append(StandingPoint(at, count, bool(promotional)))
    return Standing(_needed(config, chat), run.window_start, end, initial, tuple(points))


def _chat_rules(config: Config, chat: Chat) -> Any:
    """The policy's effective rules for the chat (`bot.policy.rules.rules_for`), None without a policy."""
    try:
        rules = importlib.import_module("bot.policy.rules")
    except ImportError:
        return None
    return rules.rules_for(config, chat.slug)


def _needed(config: Config, chat: Chat) -> int:
    rules = _chat_rules(config, chat)
    return int(rules.engage_before_promote if rules else config.policy.engage_before_promote)


def _credits(config: Config, chat: Chat) -> Callable[[str], int]:
    """How much each kind of action earns towards a promotion: the policy's credits, else 1 each."""
    rules = _chat_rules(config, chat)
    return (lambda kind: int(rules.credit(kind))) if rules else (lambda _kind: 1)
