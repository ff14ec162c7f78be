"""Proof by many examples: whatever people and workers do, in whatever order, the ledger never breaks the
engage-before-promote ratio, the promotional share, the posting limits, or the rules about people and text.

Hypothesis draws a policy and a sequence of steps: drafts of every kind (promotional or not, to people on
the blocklist, with hashtags nobody asked for), approvals, edits, reclassifications, claims by the posting
checkpoint (several in flight at once, as racing workers leave them), posts landing or failing, crashes with
a restart that finds the post on X or not, hand-offs seen on X or timing out, opt-outs, and time passing.
The steps go through the real review, policy, publisher and store code; the ledger is audited at the end.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st
from sqlalchemy import delete, select

from bot import policy
from bot.clock import FakeClock
from bot.config import Config
from bot.errors import DraftStateError
from bot.policy.ledger import POST_KINDS, REPLY_KINDS
from bot.policy.rules import ENGAGING_KINDS, TEXT_KINDS
from bot.publisher import _mark_posted
from bot.review import approve, settle_handoffs
from bot.store.db import Store
from bot.store.drafts import edit_text, transition
from bot.store.models import Action, Base, ChatPost, Draft, DraftKind, DraftState, OptOut, Route
from tests.fixtures.db import make_run
from tests.policy_helpers import policy_config

START = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
K = DraftKind
CHATS = ("xchat", "ychat")
PEOPLE = ("carol", "bob", "spam_bot")  # spam_bot is on the blocklist
# Sized for CI; explore more with e.g. `POLICY_EXAMPLES=500 pytest tests/test_policy_properties.py`.
EXAMPLES = {"sqlite": int(os.environ.get("POLICY_EXAMPLES", 30)), "postgres": 8}
TICKS = (0, 20, 600, 3600, 6 * 3600, 3 * 86400)
BASE = policy_config()


# --- The policy and the steps --------------------------------------------------------------------------


@st.composite
def configs(draw: st.DrawFn) -> Config:
    """A policy for `xchat`, and for `ychat` one with its own engagement needs and credits."""
    data = BASE.model_dump()
    data["policy"].update(
        engage_before_promote=draw(st.sampled_from([1, 2, 1, 3])),  # 0, and a share of 0: tests of their own
        max_promo_share=draw(st.sampled_from([0.5, 1.0, 0.25])),
        # Hypothesis leans to the first choice: the usual case first, the tight limits after.
        posts_per_hour=draw(st.sampled_from([3, 6, 2, 12])),
        posts_per_day=draw(st.sampled_from([20, 40, 8, 4])),
        replies_per_person=draw(st.sampled_from([2, 1])),
        credits={"reply": draw(st.sampled_from([1, 2, 0])), "answer": draw(st.sampled_from([1, 0]))},
    )
    other = {**data["chats"][0], "slug": "ychat", "hashtag": "#ychat"}
    other["policy"] = {"engage_before_promote": draw(st.integers(0, 2)), "credits": {"repost": 0, "share": 2}}
    data["chats"] = [data["chats"][0], other]
    return Config.model_validate(data)


Step = tuple[Any, ...]


def drafts(promotional: bool, chat: str) -> st.SearchStrategy[Step]:
    """Plain drafts of every kind, or promotional answers, replies and shares."""
    kinds = [K.ANSWER, K.REPLY, K.SHARE] if promotional else [K.ANSWER, K.REPOST, K.REPLY, K.SHARE, K.LIKE]
    return st.tuples(
        st.just("draft"),
        st.sampled_from(kinds),
        st.just(chat),
        st.just(promotional),
        st.sampled_from([*PEOPLE[:2], *PEOPLE]),  # the one on the blocklist less often
        st.sampled_from([True, False]),  # the target mentions the account
        st.integers(0, 4).map(lambda n: n == 4),  # now and then a hashtag nobody asked for
    )


def through(promotional: bool, chat: str) -> st.SearchStrategy[Step]:
    """A draft taken some of the way, after `seconds`: 5 drafted, then the newest pending drafts approved
    that may be (as `replay --approve all`), published, seen on X; 4 the same for this draft alone; 3 left
    in flight (as a worker that crashed, or one still waiting for X); 2 only approved; 1 only drafted. Most
    go all the way, so much reaches the ledger; promotions are often left in flight, to race the next."""
    depths = [3, 5, 4, 2] if promotional else [5, 4, 5, 3, 2, 1]
    return st.tuples(
        st.just("through"),
        drafts(promotional, chat),
        st.sampled_from([600, 60, 1800, 3600, 0]),
        st.sampled_from(depths),
    )


# What else happens between two drafts: people, workers, crashes, time.
OTHER: st.SearchStrategy[Step] = st.one_of(
    st.tuples(st.just("approve"), st.integers(0, 3)),  # counted back from the newest draft
    st.tuples(st.just("approve_all")),
    st.tuples(st.just("publish")),  # claimed, and X accepts it at once
    st.tuples(st.just("edit"), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("reclassify"), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("claim")),
    st.tuples(st.just("land"), st.integers(0, 5)),
    st.tuples(st.just("fail"), st.integers(0, 5)),
    st.tuples(st.just("restart"), st.lists(st.booleans(), min_size=5, max_size=5)),
    st.tuples(st.just("seen"), st.integers(0, 5)),
    st.tuples(st.just("opt_out"), st.sampled_from(PEOPLE[1:])),
    st.tuples(st.just("tick"), st.sampled_from(TICKS)),
)
# A round in one chat: a few plain engagements, then a draft that promotes, then perhaps something else.
ROUND = st.sampled_from([*CHATS, CHATS[0]]).flatmap(
    lambda chat: st.tuples(
        st.lists(through(False, chat), max_size=2),
        through(True, chat),
        st.one_of(
            st.none(),
            OTHER,
            st.tuples(st.just("race"), drafts(False, chat), st.booleans().flatmap(lambda p: drafts(p, chat))),
        ),
    )
)
STEPS: st.SearchStrategy[list[Step]] = st.lists(ROUND, min_size=2, max_size=5).map(
    lambda rounds: [
        step for plain, last, other in rounds for step in (*plain, last, other) if step is not None
    ]
)


@dataclass
class Chat:
    """One example's world: the store, the policy, a clock, and what the steps made."""

    store: Store
    config: Config
    clock: FakeClock = field(default_factory=lambda: FakeClock(START))
    drafts: list[int] = field(default_factory=list)
    runs: dict[str, int] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def run(self, steps: list[Step]) -> None:
        with self.store.session() as session:
            for slug in CHATS:
                self.runs[slug] = make_run(session, chat_slug=slug, start=START, minutes=12 * 60).id
        for step in steps:
            getattr(self, f"_{step[0]}")(*step[1:])

    def _draft(self, kind: str, chat: str, promo: bool, person: str, mentions: bool, extra_tag: bool) -> None:
        now, tweet = self.clock.now(), str(next(self.ids))
        text = f"{'A1 ' if kind == K.ANSWER else ''}Good point #{chat}"
        text += " https://ada.example.dev" if promo else ""
        text += " #Trending" if extra_tag else ""
        with self.store.session() as session:
            target = None
            if kind != K.ANSWER:
                target = tweet
                session.add(_post(self.runs[chat], tweet, person, f"{person} says hi #{chat}", now, mentions))
            draft = Draft(
                run_id=self.runs[chat],
                chat_slug=chat,
                kind=kind,
                text="" if kind in (K.REPOST, K.LIKE) else text,
                target_tweet_id=target,
                is_promotional=promo and kind in TEXT_KINDS,
                created_at=now,
                updated_at=now,
            )
            session.add(draft)
            session.flush()
            self.drafts.append(draft.id)

    def _approve(self, index: int) -> None:
        if self.drafts:
            draft_id = self.drafts[-1 - index % len(self.drafts)]
            with contextlib.suppress(DraftStateError):  # held, or not pending: both are fine outcomes
                approve(self.store, [draft_id], clock=self.clock, by="cli", config=self.config)

    def _edit(self, index: int, promo: bool) -> None:
        if not self.drafts:
            return
        with self.store.session() as session:
            draft = session.get_one(Draft, self.drafts[-1 - index % len(self.drafts)])
            if draft.kind not in TEXT_KINDS:
                return
            text = f"{draft.text.split(' https://')[0]}{' https://ada.example.dev/more' if promo else ''}"
            with contextlib.suppress(DraftStateError):
                edit_text(session, draft, text, by="cli", at=self.clock.now())

    def _reclassify(self, index: int, promo: bool) -> None:
        if self.drafts:
            with contextlib.suppress(DraftStateError), self.store.session() as session:
                draft_id = self.drafts[-1 - index % len(self.drafts)]
                policy.reclassify(session, draft_id, promo, self.config, by="cli", at=self.clock.now())

    def _claim(self) -> None:
        """The publisher's checkpoint, as `Publisher.publish_one` runs it (without the call to X)."""
        with self.store.session() as session:
            query = select(Draft.id).where(Draft.state == DraftState.APPROVED, Draft.route == Route.API)
            draft_id = session.scalar(query.order_by(Draft.updated_at, Draft.id).limit(1))
            if draft_id is not None:
                policy.claim(session, draft_id, self.config, self.clock.now(), by="publisher")

    def _through(self, draft: Step, seconds: int, depth: int) -> None:
        self._tick(seconds)
        self._draft(*draft[1:])
        if depth == 5:
            self._approve_all()
        elif depth >= 2:
            self._approve(0)
        if depth == 3:
            self._claim()
        if depth >= 4:
            self._publish()
            self._publish()
            self._seen(0)

    def _approve_all(self) -> None:
        """As `replay --approve all`: the pending drafts, one by one, the held ones left pending."""
        with self.store.session() as session:
            query = select(Draft.id).where(Draft.state == DraftState.PENDING).order_by(Draft.id.desc())
            pending = list(session.scalars(query.limit(4)))  # a person looks at the newest few
        for draft_id in pending:
            with contextlib.suppress(DraftStateError):
                approve(self.store, [draft_id], clock=self.clock, by="cli", config=self.config)

    def _race(self, first: Step, second: Step) -> None:
        """Two workers: one has claimed a draft and waits for X while the other is asked to approve and
        post another (a promotion, or not); then X answers both."""
        for draft in (first, second):
            self._draft(*draft[1:])
            self._approve(0)
            self._claim()
        self._land(1)
        self._land(0)

    def _publish(self) -> None:
        self._claim()
        self._land(0)

    def _in_flight(self, index: int) -> int | None:
        with self.store.session() as session:
            posting = list(session.scalars(select(Draft.id).where(Draft.state == DraftState.POSTING)))
        return posting[index % len(posting)] if posting else None

    def _land(self, index: int) -> None:
        """X accepted the post: the publisher records it (exactly as after a successful call)."""
        draft_id = self._in_flight(index)
        if draft_id is not None:
            with self.store.session() as session:
                draft = session.get_one(Draft, draft_id)
                _mark_posted(
                    session, draft, str(next(self.ids)), self.clock.now(), config=self.config, why="posted"
                )

    def _fail(self, index: int) -> None:
        draft_id = self._in_flight(index)
        if draft_id is not None:
            with self.store.session() as session:
                draft = session.get_one(Draft, draft_id)
                transition(
                    session, draft, DraftState.FAILED, by="publisher", why="refused", at=self.clock.now()
                )

    def _restart(self, found: list[bool]) -> None:
        """A crash left posts in flight; at restart each is found on X (posted) or not (approved again)."""
        with self.store.session() as session:
            posting = list(session.scalars(select(Draft).where(Draft.state == DraftState.POSTING)))
            for draft, on_x in zip(posting, found, strict=False):
                if on_x:
                    _mark_posted(
                        session, draft, str(next(self.ids)), self.clock.now(), config=self.config, why="found"
                    )
                else:
                    transition(
                        session,
                        draft,
                        DraftState.APPROVED,
                        by="publisher",
                        why="not found",
                        at=self.clock.now(),
                    )

    def _seen(self, index: int) -> None:
        """The person posted a hand-off on X and the reader saw it; the dashboard settles hand-offs."""
        with self.store.session() as session:
            query = select(Draft).where(Draft.state == DraftState.HANDED_OFF).order_by(Draft.id.desc())
            waiting = list(session.scalars(query))  # the newest first
            if waiting:
                draft = waiting[index % len(waiting)]
                session.add(
                    _post(
                        draft.run_id or 0,
                        str(next(self.ids)),
                        "ada_builds",
                        draft.text,
                        self.clock.now(),
                        False,
                        own=True,
                        reply_to=draft.target_tweet_id,
                    )
                )
        settle_handoffs(self.store, clock=self.clock)

    def _opt_out(self, person: str) -> None:
        with self.store.session() as session:
            post = _post(
                self.runs["xchat"], str(next(self.ids)), person, "@ada_builds stop", self.clock.now(), True
            )
            session.add(post)
            session.flush()
            policy.note_opt_out(session, post, "xchat", self.config)

    def _tick(self, seconds: int) -> None:
        self.clock.advance(seconds)


def _post(
    run_id: int,
    tweet: str,
    author: str,
    text: str,
    at: datetime,
    mentions: bool,
    *,
    own: bool = False,
    reply_to: str | None = None,
) -> ChatPost:
    return ChatPost(
        run_id=run_id,
        tweet_id=tweet,
        author_id=f"id-{author}",
        author_username=author,
        text=text,
        created_at=at,
        read_at=at,
        mentions_account=mentions,
        is_own=own,
        reply_to_tweet_id=reply_to,
    )


# --- The audit ------------------------------------------------------------------------------------------


def audit(store: Store, config: Config) -> None:
    """Every rule, checked on the ledger as it stands, action by action in `(at, id)` order."""
    with store.session() as session:
        ledger = list(session.scalars(select(Action).order_by(Action.at, Action.id)))
        drafts = {d.id: d for d in session.scalars(select(Draft))}
        posts = {p.tweet_id: p for p in session.scalars(select(ChatPost))}
        opt_outs = {o.username: o.at for o in session.scalars(select(OptOut))}
        edited = {e.draft_id for d in drafts.values() for e in d.events if e.text_before is not None}
    for index, action in enumerate(ledger):
        before = ledger[: index + 1]
        _audit_promotion(config, action, before)
        _audit_limits(config, action, before)
        _audit_people(config, action, before, posts, opt_outs)
        _audit_text_and_route(config, action, drafts, posts, edited)


def _audit_promotion(config: Config, action: Action, before: list[Action]) -> None:
    if not action.is_promotional:
        return
    rules = policy.rules_for(config, action.chat_slug)
    same_chat = [a for a in before[:-1] if a.chat_slug == action.chat_slug]
    since = list(itertools.takewhile(lambda a: not a.is_promotional, reversed(same_chat)))
    earned = sum(rules.credit(a.kind) for a in since)
    assert earned >= rules.engage_before_promote, f"promotion {action.id} after {earned} credits"
    if action.kind in POST_KINDS:
        window = [a for a in before if a.kind in POST_KINDS and a.at > action.at - timedelta(days=7)]
        promos = sum(1 for a in window if a.is_promotional)
        assert promos <= rules.max_promo_share * len(window) + 1e-9, f"{promos} of {len(window)} promotional"


def _audit_limits(config: Config, action: Action, before: list[Action]) -> None:
    if action.kind not in POST_KINDS:
        return
    for span, limit in (
        (timedelta(hours=1), config.policy.posts_per_hour),
        (timedelta(days=1), config.policy.posts_per_day),
    ):
        count = sum(1 for a in before if a.kind in POST_KINDS and a.at > action.at - span)
        assert count <= limit, f"{count} posts within {span} (at most {limit})"


def _audit_people(
    config: Config,
    action: Action,
    before: list[Action],
    posts: dict[str, ChatPost],
    opt_outs: dict[str, datetime],
) -> None:
    if action.kind not in ENGAGING_KINDS or action.target_tweet_id is None:
        return
    author = (posts[action.target_tweet_id].author_username or "").lower()
    assert author != "spam_bot", "engaged someone on the blocklist"
    assert author not in opt_outs or action.at <= opt_outs[author], f"engaged @{author} after they opted out"
    if action.kind in REPLY_KINDS:
        same = [
            a
            for a in before
            if a.kind in REPLY_KINDS
            and a.run_id == action.run_id
            and a.target_tweet_id
            and (posts[a.target_tweet_id].author_username or "").lower() == author
        ]
        assert len(same) <= config.policy.replies_per_person, f"{len(same)} replies to @{author}"


def _audit_text_and_route(
    config: Config, action: Action, drafts: dict[int, Draft], posts: dict[str, ChatPost], edited: set[int]
) -> None:
    draft = drafts.get(action.draft_id or 0)
    if draft is None:
        return
    if draft.kind in TEXT_KINDS:
        found = policy.entities(draft.text)
        assert (
            len(found.hashtags) <= config.policy.max_hashtags and len(found.links) <= config.policy.max_links
        )
        foreign = [t for t in found.hashtags if t.lower() != draft.chat_slug]
        assert not foreign or draft.id in edited, f"draft {draft.id} added {foreign} by itself"
    if action.via == Route.API and draft.kind == K.REPLY:
        assert posts[draft.target_tweet_id or ""].mentions_account, "an API reply to a post not mentioning us"
    assert not (action.via == Route.API and draft.kind in (K.SHARE, K.LIKE, K.FOLLOW)), (
        "refused by self-serve"
    )


# --- The properties -------------------------------------------------------------------------------------


@pytest.fixture
def postgres_store(postgres_db_url: str) -> Iterator[Store]:
    """A migrated Postgres store for the whole property test (its examples empty it first)."""
    with Store(postgres_db_url) as store:
        store.upgrade()
        yield store


def _empty(store: Store) -> None:
    with store.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))


def _check(store: Store, config: Config, steps: list[Step]) -> None:
    _empty(store)
    Chat(store, config).run(steps)
    audit(store, config)


def _explore(store: Store, config: Config, steps: list[Step]) -> None:
    """`_check`, telling Hypothesis how much reached the ledger (to aim for more, and for the statistics)."""
    _check(store, config, steps)
    with store.session() as session:
        ledger = list(session.scalars(select(Action)))
    # Steer towards examples where much reaches the ledger, promotions above all.
    target(len(ledger), label="ledger rows")
    target(sum(a.is_promotional for a in ledger), label="promotions")
    event(f"ledger rows: {'0' if not ledger else '1-3' if len(ledger) < 4 else '4+'}")
    event(f"promotions in the ledger: {min(sum(a.is_promotional for a in ledger), 2)}")
    event(f"hand-offs in the ledger: {min(sum(a.via == Route.HANDOFF for a in ledger), 1)}")


def _property(backend: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Hypothesis over a policy and 5 to 12 drafts with other steps between them; the store fixture is
    shared by the examples (each empties it first)."""
    checks = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]

    def decorate(test: Callable[..., None]) -> Callable[..., None]:
        drawn = given(config=configs(), steps=STEPS)(test)
        return settings(
            max_examples=EXAMPLES[backend], deadline=None, derandomize=True, suppress_health_check=checks
        )(drawn)

    return decorate


@pytest.fixture
def memory_store() -> Iterator[Store]:
    """SQLite in memory: the same SQL as on a file, without the disk, so more examples fit."""
    with Store("sqlite://") as store:
        store.upgrade()
        yield store


@_property("sqlite")
def test_no_sequence_of_steps_breaks_a_rule_on_sqlite(
    memory_store: Store, config: Config, steps: list[Step]
) -> None:
    _explore(memory_store, config, steps)


@pytest.mark.postgres
@_property("postgres")
def test_no_sequence_of_steps_breaks_a_rule_on_postgres(
    postgres_store: Store, config: Config, steps: list[Step]
) -> None:
    _explore(postgres_store, config, steps)


def test_the_audit_catches_a_promotion_without_credits(sqlite_store: Store) -> None:
    """The audit is not blind: a ledger written around the policy fails it."""
    config = policy_config(engage=1)
    with sqlite_store.session() as session:
        session.add(Action(kind=K.ANSWER, chat_slug="xchat", is_promotional=True, at=START, via=Route.API))

    with pytest.raises(AssertionError, match="after 0 credits"):
        audit(sqlite_store, config)


def test_the_steps_do_reach_the_ledger(sqlite_store: Store) -> None:
    """A plain walk through the steps posts, hands off and holds, so the audit has something to check."""
    config = policy_config(engage=1)
    steps: list[Step] = [
        ("draft", K.REPLY, "xchat", False, "bob", True, False),
        ("draft", K.ANSWER, "xchat", True, "bob", False, False),
        ("draft", K.SHARE, "xchat", False, "carol", False, False),
        ("approve", 0),
        ("approve", 1),
        ("approve", 2),
        ("claim",),
        ("land", 0),
        ("seen", 0),
        ("approve", 1),
        ("claim",),
        ("land", 0),
    ]
    _check(sqlite_store, config, steps)
    with sqlite_store.session() as session:
        kinds = [
            (a.kind, a.via, a.is_promotional) for a in session.scalars(select(Action).order_by(Action.id))
        ]
    assert kinds == [
        (K.REPLY, Route.API, False),
        (K.SHARE, Route.HANDOFF, False),
        (K.ANSWER, Route.API, True),
    ]
