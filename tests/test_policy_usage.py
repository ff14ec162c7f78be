"""The policy's bookkeeping: what X costs and the budget that narrows then stops reading, retention, the
standing `chatcaddy policy` shows, and `chatcaddy reclassify`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from bot import policy
from bot.cli import main
from bot.clock import FakeClock
from bot.config import Config
from bot.reading import Reader
from bot.runner import sandbox_gateway
from bot.sandbox.server import SandboxServer
from bot.store.db import Store
from bot.store.models import Action, ChatPost, ChatRun, Draft, DraftKind, DraftState, XUsage
from bot.x.types import RateLimit, XRequestRecord
from tests.fixtures.db import make_draft, make_run
from tests.fixtures.sandbox import CHAT_START
from tests.policy_helpers import CONFIG, add_action, add_post, policy_config

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
K = DraftKind


def _record(endpoint: str, status: int | None, posts: int = 0, users: int = 0) -> XRequestRecord:
    limit = RateLimit(endpoint, 450, 449, NOW + timedelta(minutes=15))
    return XRequestRecord(endpoint, status, NOW, posts_read=posts, users_read=users, rate_limit=limit)


# --- What X costs ---------------------------------------------------------------------------------------


def test_the_recorder_prices_every_request_into_x_usage(store: Store) -> None:
    recorder = policy.UsageRecorder(store)

    recorder(_record("search", 200, posts=10, users=5))
    recorder(_record("create_post", 201))
    recorder(_record("create_post", 403))  # refused: nothing created, nothing billed
    recorder(_record("search", None))  # no answer

    with store.session() as session:
        rows = session.scalars(select(XUsage).order_by(XUsage.id)).all()
    assert [(r.endpoint, r.status, r.posts_created, r.usd) for r in rows] == [
        ("search", 200, 0, Decimal("0.100000")),
        ("create_post", 201, 1, Decimal("0.015000")),
        ("create_post", 403, 0, Decimal("0.000000")),
        ("search", None, 0, Decimal("0.000000")),
    ]
    assert (rows[0].rate_limit, rows[0].rate_remaining, rows[0].rate_reset) == (
        450,
        449,
        NOW + timedelta(minutes=15),
    )


def test_the_month_counts_this_month_and_the_link_surcharge(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        for at, usd in ((NOW - timedelta(days=30), "5"), (NOW, "0.25"), (NOW, "0.015")):
            session.add(XUsage(at=at, endpoint="search", status=200, usd=Decimal(usd)))
        linked = make_draft(session, state=DraftState.POSTED, text="A1 see https://ada.example.dev #xchat")
        action = policy.record_action(session, linked, policy_config(), x_post_id="77", at=NOW)

        assert policy.month_spend(session, NOW) == Decimal("0.450")  # 0.25 + 0.015 + (0.20 - 0.015)
        assert action.is_promotional


def _spent_run(store: Store, posts: int, authors: int) -> ChatRun:
    """A run of #JobHuntChat that has already read `posts` posts by `authors` people."""
    with store.session() as session:
        run = make_run(session, chat_slug="jobhuntchat", start=CHAT_START)
        for n in range(posts):
            add_post(session, run, str(n + 1), author=f"user{n % authors}", at=CHAT_START)
        return run


def _budget(config: Config, usd_per_chat: float) -> Config:
    return config.model_copy(
        update={"policy": config.policy.model_copy(update={"usd_per_chat": usd_per_chat})}
    )


@pytest.mark.parametrize(
    ("posts", "mode", "why"),
    [
        (6, "all", ""),  # 6 x $0.005 + 3 x $0.010 = $0.06 of $0.10
        (10, "hosts+mentions", "X budget nearly spent ($0.080 of $0.10 this session"),
        (14, None, "X budget reached ($0.100 of $0.10 this session"),
    ],
)
def test_near_the_budget_reads_narrow_and_at_it_they_stop(
    sqlite_store: Store, config: Config, posts: int, mode: str | None, why: str
) -> None:
    run = _spent_run(sqlite_store, posts, authors=3)
    config = _budget(config, 0.10)

    with sqlite_store.session() as session:
        found, reason = policy.read_mode(session, config.chat("jobhuntchat"), run, config, CHAT_START)

    assert found == mode
    assert reason.startswith(why)


def test_the_reader_stops_reading_a_chat_whose_budget_is_spent(
    sqlite_store: Store, config: Config, sandbox: SandboxServer, fake_clock: FakeClock
) -> None:
    run = _spent_run(sqlite_store, 14, authors=3)
    reader = Reader(
        config=_budget(config, 0.10),
        store=sqlite_store,
        gateway=sandbox_gateway(sandbox, fake_clock),
        clock=fake_clock,
    )
    fake_clock.advance(timedelta(minutes=20))

    with capture_logs() as logs:
        result = reader.poll([run])
        reader.poll([run])

    assert result.requests == 0 and sandbox.requests() == []
    assert result.limited["jobhuntchat"].endswith("reading jobhuntchat stopped")
    told = [e for e in logs if e["event"] == "budget.read_mode"]
    assert [(e["log_level"], e["read"]) for e in told] == [("warning", "stopped")]  # once, not every poll


def test_near_the_budget_the_reader_reads_only_hosts_and_mentions(
    sqlite_store: Store, config: Config, sandbox: SandboxServer, fake_clock: FakeClock
) -> None:
    run = _spent_run(sqlite_store, 10, authors=3)
    reader = Reader(
        config=_budget(config, 0.10),
        store=sqlite_store,
        gateway=sandbox_gateway(sandbox, fake_clock),
        clock=fake_clock,
    )
    fake_clock.advance(timedelta(minutes=20))

    result = reader.poll([run])

    stored = result.new_posts["jobhuntchat"]
    assert {(p.author_username, p.mentions_account) for p in stored} <= {
        ("JobHuntChat", False),
        ("marcus_newgrad", True),
        ("coach_priya", True),
    }
    assert {p.author_username for p in stored} >= {"JobHuntChat", "coach_priya"}  # the host, a mention


# --- Retention ------------------------------------------------------------------------------------------


def test_other_people_s_texts_go_24_hours_after_their_window_closes(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        old = make_run(session, start=NOW - timedelta(hours=26), minutes=60)  # closed 25 h ago
        recent = make_run(session, start=NOW - timedelta(hours=24), minutes=60)  # closed 23 h ago
        add_post(session, old, "1", at=old.window_start)
        add_post(session, old, "2", author="ada_builds", text="A1 mine", is_own=True, at=old.window_start)
        add_post(session, recent, "3", at=recent.window_start)
        add_action(session, K.ANSWER, old.window_start, run=old)

        assert policy.purge_texts(session, NOW) == 1

    with sqlite_store.session() as session:
        texts = dict(session.execute(select(ChatPost.tweet_id, ChatPost.text)).all())
        assert texts == {"1": None, "2": "A1 mine", "3": "A1 more questions than answers #xchat"}
        assert session.scalar(select(Action.id)) is not None  # the account's own actions stay


def test_a_post_deleted_on_x_takes_its_text_and_drafts_along(store: Store) -> None:
    with store.session() as session:
        run = make_run(session, start=NOW)
        add_post(session, run, "10", at=NOW)
        for state, kind in (
            (DraftState.PENDING, K.REPLY),
            (DraftState.APPROVED, K.LIKE),
            (DraftState.POSTED, K.REPOST),
        ):
            make_draft(session, run=run, kind=kind, state=state, text="x #xchat", target_tweet_id="10")
        make_draft(session, run=run, kind=K.REPLY, text="other #xchat", target_tweet_id="11")

        assert policy.forget_deleted(session, "10", NOW) == 2

    with store.session() as session:
        left = session.execute(select(Draft.target_tweet_id, Draft.state).order_by(Draft.id)).all()
        post = session.scalars(select(ChatPost)).one()
    assert [tuple(row) for row in left] == [("10", DraftState.POSTED), ("11", DraftState.PENDING)]
    assert (post.text, post.deleted_at) == (None, NOW)


def test_drafts_about_a_post_x_no_longer_has_are_found_and_removed(
    sqlite_store: Store, sandbox: SandboxServer, fake_clock: FakeClock
) -> None:
    fake_clock.advance(timedelta(minutes=11))  # "oops" was deleted at 10 minutes
    with sqlite_store.session() as session:
        run = make_run(session, chat_slug="jobhuntchat", start=CHAT_START)
        for key in ("oops", "q1"):
            make_draft(session, run=run, kind=K.LIKE, text="", target_tweet_id=sandbox.post_id(key))

    gone = policy.check_deleted_targets(sqlite_store, sandbox_gateway(sandbox, fake_clock), fake_clock.now())

    assert gone == 1
    with sqlite_store.session() as session:
        assert list(session.scalars(select(Draft.target_tweet_id))) == [sandbox.post_id("q1")]


# --- Standing, and the commands -------------------------------------------------------------------------


def _seeded(store: Store) -> int:
    """Two replies since a promotion on Tuesday 21:14 New York time, and a promotion waiting."""
    promoted = datetime(2026, 11, 25, 2, 14, tzinfo=UTC)
    with store.session() as session:
        add_action(session, K.ANSWER, promoted, promotional=True)
        add_action(session, K.REPLY, promoted + timedelta(minutes=5))
        add_action(session, K.REPLY, promoted + timedelta(minutes=6))
        run = make_run(session, start=NOW - timedelta(minutes=10))
        return make_draft(session, run=run, text="A2 all at https://ada.example.dev #xchat").id


def test_the_standing_shows_credits_limits_and_what_is_held(sqlite_store: Store) -> None:
    draft_id = _seeded(sqlite_store)

    with sqlite_store.session() as session:
        found = policy.standing(session, policy_config(engage=4), NOW)

    (chat,) = found.chats
    assert (chat.chat, chat.credits, chat.needed, chat.last_promotion) == (
        "xchat",
        2,
        4,
        "2026-11-25T02:14:00+00:00",
    )
    assert [(h.id, h.held, h.reason) for h in chat.held] == [
        (draft_id, True, "needs 2 more engagements (2 of 4 since your last promotion, Tue 21:14)")
    ]
    assert (found.posts_7d, found.promotional_7d, found.posts_last_hour) == (3, 1, 0)
    text = policy.render_standing(found, as_json=False)
    assert "xchat: 2 of 4 engagement credits since the last promotion" in text
    assert f"#{draft_id} held: needs 2 more engagements" in text


@pytest.fixture
def cli_env(sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Store:
    config = tmp_path / "schedules.yaml"
    config.write_text(CONFIG.format(engage=4, share=1.0, per_hour=10, access="self-serve", chat_policy="{}"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", str(sqlite_store.url))
    monkeypatch.setenv("CHATCADDY_CONFIG", str(config))
    return sqlite_store


def test_chatcaddy_policy_prints_the_standing_as_json(
    cli_env: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    draft_id = _seeded(cli_env)

    assert main(["policy", "--json"]) == 0

    shown = json.loads(capsys.readouterr().out)
    assert shown["chats"][0]["credits"] == 2
    assert shown["chats"][0]["held"][0]["id"] == draft_id
    assert main(["policy", "--chat", "nope"]) == 1
    assert "known chats: xchat" in capsys.readouterr().err


def test_a_held_approval_says_why_and_reclassify_logs_the_change(
    cli_env: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    draft_id = _seeded(cli_env)

    assert main(["approve", str(draft_id)]) == 2
    assert (
        "is held: needs 2 more engagements (2 of 4 since your last promotion, Tue 21:14)"
        in capsys.readouterr().err
    )

    assert main(["reclassify", str(draft_id), "--not-promotional"]) == 0
    assert f"draft #{draft_id} is now not promotional" in capsys.readouterr().out
    assert main(["approve", str(draft_id)]) == 0
    with cli_env.session() as session:
        draft = session.get_one(Draft, draft_id)
        assert [e.why for e in draft.events][:2] == [
            "reclassified as not promotional (was promotional: links your own ada.example.dev)",
            "approved",
        ]
