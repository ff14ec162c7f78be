"""The policy engine: what is promotional, which way a draft goes, the verdicts at approval and posting."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot import policy
from bot.clock import FakeClock
from bot.config import Config
from bot.errors import DraftStateError
from bot.policy import PolicyHold
from bot.review import approve
from bot.store.db import Store
from bot.store.drafts import edit_text
from bot.store.models import ChatRun, Draft, DraftKind, DraftState, Route
from tests.fixtures.db import make_draft, make_run
from tests.policy_helpers import add_action, add_post, policy_config

# Tuesday 21:14 in New York.
TUESDAY_2114 = datetime(2026, 11, 25, 2, 14, tzinfo=UTC)
NOW = TUESDAY_2114 + timedelta(hours=2)
PROMO = "A1 I wrote it all up at https://ada.example.dev/notes #xchat"
PLAIN = "A1 small steps, every day #xchat"
K = DraftKind


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


# --- What is promotional ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("notes at https://ada.example.dev/notes", "links your own ada.example.dev"),
        ("see www.ada.example.dev", "links your own ada.example.dev"),
        ("see https://blog.ada.example.dev/x", "links your own blog.ada.example.dev"),
        ("ask @AdaKitHQ about it", "mentions your own @adakithq"),
        ("thanks @Ada_Builds!", "mentions your own @ada_builds"),
        ("I built adakit for this", "says 'AdaKit'"),
    ],
)
def test_own_links_handles_and_keywords_make_a_text_promotional(text: str, why: str) -> None:
    assert policy.is_promotional(text, policy_config()) == (True, why)


@pytest.mark.parametrize(
    "text",
    [
        "A1 small steps, every day #xchat",
        "mail me at ada@example.dev",  # an address is no mention
        "https://example.dev/ada.example.dev is someone else's page",
        "adakits are a different thing",  # a keyword is matched as a whole word
    ],
)
def test_other_texts_are_not_promotional(text: str) -> None:
    assert policy.is_promotional(text, policy_config()) == (False, "")


def test_the_drafter_flag_counts_and_every_signal_is_named() -> None:
    config = policy_config()

    assert policy.is_promotional(PLAIN, config, drafter_flag=True) == (
        True,
        "the drafter marked it self-promotional",
    )
    both = policy.is_promotional("AdaKit: https://ada.example.dev", config, drafter_flag=True)
    assert both == (
        True,
        "links your own ada.example.dev; says 'AdaKit'; the drafter marked it self-promotional",
    )


def test_entities_are_counted_as_x_finds_them() -> None:
    found = policy.entities("A1 #xchat #jobs see https://x.co/a?u=@bob and @carol, not ann@mail.com #xchat")

    assert found.hashtags == ("xchat", "jobs", "xchat")
    assert found.mentions == ("carol",)
    assert found.links == ("https://x.co/a?u=@bob",)


# --- Which way a draft goes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "target", "access", "route", "link"),
    [
        (K.ANSWER, {}, "self-serve", Route.API, None),
        (K.REPOST, {}, "self-serve", Route.API, None),
        (K.REPLY, {"mentions_account": True}, "self-serve", Route.API, None),
        (K.REPLY, {"reply_to": "900"}, "self-serve", Route.API, None),  # 900 is the account's post
        (K.REPLY, {"quote_of": "900"}, "self-serve", Route.API, None),
        (K.REPLY, {}, "self-serve", Route.HANDOFF, "https://x.com/intent/post?text=Nice&in_reply_to=501"),
        (K.REPLY, {}, "unrestricted", Route.API, None),
        (K.SHARE, {}, "self-serve", Route.HANDOFF, "https://x.com/intent/post?text=Nice&url=https"),
        (K.SHARE, {}, "unrestricted", Route.API, None),
        (K.LIKE, {}, "unrestricted", Route.HANDOFF, "https://x.com/intent/like?tweet_id=501"),
        (K.FOLLOW, {}, "self-serve", Route.HANDOFF, "https://x.com/intent/follow?screen_name=bob"),
    ],
)
def test_the_route_follows_what_the_api_allows(
    sqlite_store: Store, kind: str, target: dict[str, object], access: str, route: Route, link: str | None
) -> None:
    with sqlite_store.session() as session:
        run = make_run(session, start=NOW)
        post = add_post(session, run, "501", at=NOW, **target)  # type: ignore[arg-type]
        draft = make_draft(session, run=run, kind=kind, text="Nice", target_tweet_id="501")
        choice = policy.route_for(draft, post, policy_config(access=access), own_post_ids={"900"})

    assert choice.route == route
    if link is None:
        assert choice.handoff_url is None
    else:
        assert choice.handoff_url is not None and choice.handoff_url.startswith(link)


def test_a_share_hand_off_links_the_shared_post(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        run = make_run(session, start=NOW)
        post = add_post(session, run, "501", author="carol", at=NOW)
        draft = make_draft(session, run=run, kind=K.SHARE, text="Worth a read", target_tweet_id="501")
        choice = policy.route_for(draft, post, policy_config())

    assert choice.handoff_url == (
        "https://x.com/intent/post?text=Worth+a+read&url=https%3A%2F%2Fx.com%2Fcarol%2Fstatus%2F501"
    )


# --- Engage before promote, the promotional share ------------------------------------------------------


def _promo_draft(store: Store, text: str = PROMO) -> int:
    """A pending answer in the chat's run that started half an hour ago."""
    with store.session() as session:
        start = NOW - timedelta(minutes=30)
        run = session.scalars(select(ChatRun).where(ChatRun.window_start == start)).first()
        return make_draft(session, run=run or make_run(session, start=start), text=text, at=NOW).id


def _verdict(
    store: Store, draft_id: int, config: Config, stage: policy.rules.Stage = "approval"
) -> policy.Verdict:
    with store.session() as session:
        return policy.verdict(session, session.get_one(Draft, draft_id), config, NOW, stage)


def test_a_promotion_waits_for_engagement_since_the_last_one_and_says_what_is_missing(store: Store) -> None:
    config = policy_config(engage=4)
    with store.session() as session:
        add_action(session, K.REPLY, TUESDAY_2114 - timedelta(hours=1))
        add_action(session, K.ANSWER, TUESDAY_2114, promotional=True)
        add_action(session, K.REPLY, TUESDAY_2114 + timedelta(minutes=5))
        add_action(session, K.REPOST, TUESDAY_2114 + timedelta(minutes=6))
        add_action(session, K.LIKE, TUESDAY_2114 + timedelta(minutes=7))  # a like earns nothing
        add_action(session, K.ANSWER, TUESDAY_2114 + timedelta(minutes=8))  # nor does an answer
    draft_id = _promo_draft(store)

    found = _verdict(store, draft_id, config)

    assert (found.allowed, found.held, found.missing) == (False, True, 2)
    assert found.reason == "needs 2 more engagements (2 of 4 since your last promotion, Tue 21:14)"
    assert found.promotion_why == "links your own ada.example.dev"


def test_drafts_and_approvals_earn_nothing_only_the_ledger_does(store: Store) -> None:
    config = policy_config(engage=1)
    draft_id = _promo_draft(store)
    with store.session() as session:
        make_draft(
            session, kind=K.REPLY, state=DraftState.APPROVED, text="Agreed #xchat", target_tweet_id="7"
        )
        make_draft(session, kind=K.REPLY, state=DraftState.POSTING, text="Same #xchat", target_tweet_id="8")

    assert _verdict(store, draft_id, config).reason == "needs 1 more engagement (0 of 1 so far)"

    with store.session() as session:
        add_action(session, K.REPLY, NOW - timedelta(minutes=1))
    assert _verdict(store, draft_id, config).allowed


def test_the_share_of_promotional_posts_over_seven_days_holds_a_promotion(store: Store) -> None:
    config = policy_config(engage=0, share=0.25)
    with store.session() as session:
        add_action(session, K.ANSWER, NOW - timedelta(days=8), promotional=True)  # out of the window
        add_action(session, K.ANSWER, NOW - timedelta(days=2), promotional=True)
        for minutes in range(4):
            add_action(session, K.ANSWER, NOW - timedelta(minutes=10 + minutes))
    draft_id = _promo_draft(store)

    found = _verdict(store, draft_id, config)

    assert found.held and found.rules == ("max_promo_share",)
    assert found.reason == (
        "it would make 2 of 6 posts in 7 days promotional (33%, at most 25%): "
        "needs 2 more posts that promote nothing"
    )
    with store.session() as session:
        add_action(session, K.REPLY, NOW - timedelta(minutes=2))
        add_action(session, K.ANSWER, NOW - timedelta(minutes=1))
    assert _verdict(store, draft_id, config).allowed


def test_a_chat_may_ask_for_more_engagement_and_count_credits_its_own_way() -> None:
    config = policy_config(chat_policy="{engage_before_promote: 6, credits: {answer: 2}}")

    rules = policy.rules_for(config, "xchat")
    assert rules.engage_before_promote == 6
    assert (rules.credit("answer"), rules.credit("reply"), rules.credit("like")) == (2, 1, 0)
    assert policy.rules_for(config, "gone").engage_before_promote == 2  # a chat no longer configured


# --- Approval: review.approve with the config ----------------------------------------------------------


def test_a_held_promotion_cannot_be_approved_and_nothing_changes(store: Store, clock: FakeClock) -> None:
    draft_id = _promo_draft(store)

    with pytest.raises(PolicyHold) as held:
        approve(store, [draft_id], clock=clock, by="cli", config=policy_config(engage=2))

    assert str(held.value) == (
        f"draft {draft_id} is held: needs 2 more engagements (0 of 2 so far); nothing changed"
    )
    assert held.value.verdict.missing == 2
    with store.session() as session:
        assert session.get_one(Draft, draft_id).state == DraftState.PENDING


def test_a_second_promotion_waits_while_the_first_is_on_its_way(store: Store, clock: FakeClock) -> None:
    config = policy_config(engage=1)
    with store.session() as session:
        add_action(session, K.REPLY, NOW - timedelta(minutes=3))
    first, second = _promo_draft(store), _promo_draft(store, text="A2 More at https://ada.example.dev #xchat")

    approve(store, [first], clock=clock, by="cli", config=config)
    with pytest.raises(PolicyHold, match="another promotion of yours is on its way"):
        approve(store, [second], clock=clock, by="cli", config=config)


def test_a_person_reclassifies_a_draft_and_the_history_says_so(sqlite_store: Store, clock: FakeClock) -> None:
    config = policy_config(engage=3)
    draft_id = _promo_draft(sqlite_store)

    with sqlite_store.session() as session:
        policy.reclassify(session, draft_id, False, config, by="cli", at=NOW)
    approve(sqlite_store, [draft_id], clock=clock, by="cli", config=config)

    with sqlite_store.session() as session:
        draft = session.get_one(Draft, draft_id)
        whys = [e.why for e in draft.events]
        assert (draft.state, draft.is_promotional) == (DraftState.APPROVED, False)
    assert whys[0] == "reclassified as not promotional (was promotional: links your own ada.example.dev)"

    plain_id = _promo_draft(sqlite_store, text=PLAIN)
    with sqlite_store.session() as session:
        policy.reclassify(session, plain_id, True, config, by="web", at=NOW)
    with pytest.raises(PolicyHold, match="needs 3 more engagements"):
        approve(sqlite_store, [plain_id], clock=clock, by="cli", config=config)


def test_a_posted_draft_can_no_longer_be_reclassified(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        draft_id = make_draft(session, state=DraftState.POSTED).id

    with (
        sqlite_store.session() as session,
        pytest.raises(DraftStateError, match="can no longer be reclassified"),
    ):
        policy.reclassify(session, draft_id, True, policy_config(), by="cli", at=NOW)


def test_two_racing_approvals_of_promotions_let_exactly_one_through(store: Store, clock: FakeClock) -> None:
    config = policy_config(engage=1)
    with store.session() as session:
        add_action(session, K.REPLY, NOW - timedelta(minutes=3))
    ids = [_promo_draft(store), _promo_draft(store, text="A2 see https://ada.example.dev #xchat")]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve_one(draft_id: int) -> None:
        barrier.wait()
        try:
            approve(store, [draft_id], clock=clock, by="cli", config=config)
            outcomes.append("approved")
        except PolicyHold:
            outcomes.append("held")

    threads = [threading.Thread(target=approve_one, args=(draft_id,)) for draft_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(outcomes) == ["approved", "held"]


# --- Posting: the atomic re-check -----------------------------------------------------------------------


def _claim(store: Store, draft_id: int, config: Config, at: datetime = NOW) -> policy.Claim:
    with store.session() as session:
        return policy.claim(session, draft_id, config, at, by="publisher")


def test_at_posting_a_promotion_that_lost_its_credits_goes_back_to_the_queue(store: Store) -> None:
    config = policy_config(engage=1)
    with store.session() as session:
        add_action(session, K.REPLY, NOW - timedelta(minutes=3))
        draft_id = make_draft(session, state=DraftState.APPROVED, text=PROMO).id
        add_action(session, K.ANSWER, NOW - timedelta(minutes=1), promotional=True)  # a hand-off, seen

    claim = _claim(store, draft_id, config)

    assert claim.draft is None and claim.verdict is not None and claim.verdict.held
    with store.session() as session:
        draft = session.get_one(Draft, draft_id)
        assert draft.state == DraftState.PENDING
        assert draft.events[-1].why == (
            "held at posting: needs 1 more engagement (0 of 1 since your last promotion, Tue 23:13)"
        )


def test_two_workers_claiming_two_promotions_at_once_post_only_one(store: Store) -> None:
    config = policy_config(engage=1)
    with store.session() as session:
        add_action(session, K.REPLY, NOW - timedelta(minutes=3))
        ids = [make_draft(session, state=DraftState.APPROVED, text=PROMO).id for _ in range(2)]
    barrier = threading.Barrier(2)
    claimed: list[bool] = []

    def claim_one(draft_id: int) -> None:
        barrier.wait()
        claimed.append(_claim(store, draft_id, config).draft is not None)

    threads = [threading.Thread(target=claim_one, args=(draft_id,)) for draft_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(claimed) == [False, True]
    with store.session() as session:
        states = sorted(session.scalars(select(Draft.state).where(Draft.id.in_(ids))))
    assert states == [DraftState.PENDING, DraftState.POSTING]


def test_the_hourly_limit_keeps_a_draft_approved_until_a_slot_frees(store: Store) -> None:
    config = policy_config(per_hour=2)
    with store.session() as session:
        add_action(session, K.ANSWER, NOW - timedelta(minutes=50))
        add_action(session, K.REPLY, NOW - timedelta(minutes=10))
        draft_id = make_draft(session, state=DraftState.APPROVED, text=PLAIN).id

    held = _claim(store, draft_id, config)
    assert held.draft is None and held.verdict is not None
    assert held.verdict.reason == "2 posts in the last hour (at most 2); next slot 04:24 UTC"
    assert held.verdict.retry_at == NOW + timedelta(minutes=10)
    with store.session() as session:
        assert session.get_one(Draft, draft_id).state == DraftState.APPROVED

    assert _claim(store, draft_id, config, at=NOW + timedelta(minutes=10)).draft is not None


def test_a_post_on_its_way_counts_against_the_hourly_limit(store: Store) -> None:
    config = policy_config(per_hour=2)
    with store.session() as session:
        add_action(session, K.ANSWER, NOW - timedelta(minutes=30))
        first, second = (make_draft(session, state=DraftState.APPROVED, text=PLAIN).id for _ in range(2))

    assert _claim(store, first, config).draft is not None  # now posting: X has not answered yet
    waiting = _claim(store, second, config)

    assert waiting.draft is None and waiting.verdict is not None
    assert waiting.verdict.rules == ("posts_per_hour",)


# --- Text and people ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("A1 #xchat #xchat #xchat", "3 hashtags (at most 2): remove some"),
        ("A1 @a @b @c #xchat", "3 mentions (at most 2): remove some"),
        ("A1 https://a.example.com https://b.example.com #xchat", "2 links (at most 1): remove some"),
        (
            "A1 on it #xchat #TrendingNow",
            "adds #TrendingNow: only the chat's own hashtag is added for you; edit the text to keep it",
        ),
    ],
)
def test_what_spam_systems_watch_is_limited(sqlite_store: Store, text: str, reason: str) -> None:
    with sqlite_store.session() as session:
        draft_id = make_draft(session, run=make_run(session, start=NOW), text=text).id

    found = _verdict(sqlite_store, draft_id, policy_config())

    assert (found.allowed, found.held, found.reason) == (False, False, reason)


def test_a_hashtag_a_person_typed_in_stays(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        draft = make_draft(session, run=make_run(session, start=NOW), text=PLAIN)
        edit_text(session, draft, "A1 small steps #xchat #100DaysOfCode", by="cli", at=NOW)
        draft_id = draft.id

    assert _verdict(sqlite_store, draft_id, policy_config()).allowed


def test_nobody_on_the_blocklist_or_who_opted_out_is_engaged(sqlite_store: Store, clock: FakeClock) -> None:
    config = policy_config()
    with sqlite_store.session() as session:
        run = make_run(session, start=NOW - timedelta(minutes=10))
        add_post(session, run, "601", author="spam_bot", at=NOW)
        stop = add_post(
            session,
            run,
            "602",
            author="Bob",
            text="@ada_builds please STOP replying",
            at=NOW,
            mentions_account=True,
        )
        assert policy.note_opt_out(session, stop, "xchat", config) is not None
        assert policy.note_opt_out(session, stop, "xchat", config) is None  # once is enough
        spam = make_draft(session, run=run, kind=K.REPLY, text="Hi #xchat", target_tweet_id="601").id
        bob = make_draft(session, run=run, kind=K.LIKE, text="", target_tweet_id="602").id

        assert policy.may_engage_with(session, "@Spam_Bot", "xchat", config, NOW) == (
            False,
            "@spam_bot is on your blocklist",
        )
        assert policy.may_engage_with(session, "bob", "xchat", config, NOW) == (
            False,
            "@bob opted out ('stop', 2026-11-25)",
        )
        assert policy.may_engage_with(session, "carol", "xchat", config, NOW) == (True, "")

    assert _verdict(sqlite_store, spam, config).reason == "@spam_bot is on your blocklist"
    assert _verdict(sqlite_store, bob, config).reason == "@bob opted out ('stop')"


def test_a_stop_not_addressed_to_the_account_is_no_opt_out(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        run = make_run(session, start=NOW)
        post = add_post(session, run, "603", text="A2 never stop learning #xchat", at=NOW)
        assert policy.note_opt_out(session, post, "xchat", policy_config()) is None
        own = add_post(session, run, "604", author="ada_builds", text="A3 mine #xchat", at=NOW, is_own=True)
        reply = add_post(session, run, "605", text="unsubscribe", reply_to=own.tweet_id, at=NOW)
        assert policy.note_opt_out(session, reply, "xchat", policy_config()) is not None


def test_replies_to_one_person_are_limited_per_chat_session(store: Store) -> None:
    config = policy_config()
    with store.session() as session:
        run = make_run(session, start=NOW - timedelta(minutes=30))
        for n in range(3):
            add_post(session, run, f"70{n}", author="carol", at=NOW)
        add_post(session, run, "709", author="carol", at=NOW)
        for n in range(2):
            add_action(session, K.REPLY, NOW - timedelta(minutes=5), target=f"70{n}", run=run)
        make_draft(
            session,
            run=run,
            kind=K.REPLY,
            state=DraftState.APPROVED,
            text="Yes #xchat",
            target_tweet_id="702",
        )
        draft_id = make_draft(session, run=run, kind=K.REPLY, text="And #xchat", target_tweet_id="709").id

        assert policy.may_engage_with(session, "carol", "xchat", config, NOW) == (
            False,
            "already 3 replies to @carol this session (at most 3)",
        )

    assert _verdict(store, draft_id, config).reason == "already 3 replies to @carol this session (at most 3)"
    later = policy.may_engage_with
    with store.session() as session:
        next_run = make_run(session, start=NOW + timedelta(days=7))
        assert next_run.id != run.id
        assert later(session, "carol", "xchat", config, NOW + timedelta(days=7)) == (True, "")


def test_the_ledger_row_takes_the_policy_s_verdict_not_only_the_drafter_s_flag(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        draft = make_draft(session, state=DraftState.POSTED, text=PROMO)
        assert draft.is_promotional is False  # the drafter did not say so
        action = policy.record_action(session, draft, policy_config(), x_post_id="99", at=NOW)

    assert action.is_promotional is True
