"""The policy in the whole pipeline: a replayed chat with promotional drafts and `--approve all`, and the
publisher routing replies the self-serve API would refuse to the person, against the sandbox X server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import FakeClock
from bot.config import Config
from bot.config.models import ChatPolicy, Credits
from bot.drafting.offline import OfflineDrafter
from bot.replay import Replay
from bot.review import approve
from bot.runner import sandbox_gateway
from bot.sandbox.server import SandboxServer
from bot.sandbox.transcript import load_transcript
from bot.store.db import Store
from bot.store.models import Action, ChatRun, Draft, DraftKind, DraftState, Route, XUsage
from bot.worker import Worker
from tests.test_policy_properties import audit

PROMO_TRANSCRIPT = Path(__file__).resolve().parent / "transcripts" / "promo.yaml"
SITE = "https://ada.example.dev"
TALKING_POINTS = [
    f"I publish a one-page write-up of each side project at {SITE}",
    "I track every application in a spreadsheet with the date of the next follow-up",
    "I ask for a referral only after a real conversation, never cold",
    f"My platform engineering portfolio, month by month: {SITE}/notes/platform-pivot",
    "I keep a list of company career handles and check it every Monday",
]


@pytest.fixture
def promo_config(config: Config) -> Config:
    """The shipped account with two talking points that link its own site; #JobHuntChat asks for two
    engagement credits before a promotion, an answer earning one."""
    account = config.account.model_copy(update={"talking_points": TALKING_POINTS})
    rules = ChatPolicy(
        engage_before_promote=2, credits=Credits.model_validate({"answer": 1}), max_promo_share=0.5
    )
    chat = config.chats[0].model_copy(update={"policy": rules})
    return config.model_copy(update={"account": account, "chats": [chat, *config.chats[1:]]})


def test_a_replay_with_approve_all_never_posts_a_promotion_before_its_credits(
    promo_config: Config, sqlite_store: Store
) -> None:
    summary = Replay(
        config=promo_config,
        transcript=load_transcript(PROMO_TRANSCRIPT),
        store=sqlite_store,
        drafter=OfflineDrafter(),
        approve="all",
        speed=6,
    ).run()

    audit(sqlite_store, promo_config)  # every promotion in the ledger came after its credits, and more
    assert summary["held"] >= 1 and len(summary["held_drafts"]) == summary["held"]
    assert all("more engagement" in held["reason"] for held in summary["held_drafts"])
    promos = [i for i, p in enumerate(summary["posts"]) if SITE in p["text"]]
    assert promos and promos[0] >= 2  # two posts earned the credits the first promotion needed
    assert summary["x_refused"] == []  # the sandbox refused nothing the policy sent
    with sqlite_store.session() as session:
        assert session.scalar(select(XUsage.id).limit(1)) is not None  # the replay's requests are priced


def test_replies_the_api_would_refuse_are_handed_off_and_the_others_posted(
    config: Config, sqlite_store: Store, sandbox: SandboxServer, fake_clock: FakeClock
) -> None:
    worker = Worker(
        config=config,
        store=sqlite_store,
        gateway=sandbox_gateway(sandbox, fake_clock),
        drafter=OfflineDrafter(),
        clock=fake_clock,
    )
    fake_clock.advance(timedelta(minutes=5))
    run = worker.join_current()[0]
    worker.reader.poll([run])
    mentions, plain = sandbox.post_id("welcome_ada"), sandbox.post_id("a1_sam")  # "@ada_builds welcome!"
    with sqlite_store.session() as session:
        ids = [_reply(session, run.id, target) for target in (mentions, plain)]

    approve(sqlite_store, ids, clock=fake_clock, by="cli", config=config)
    while worker.publisher.publish_one() is not None:
        pass

    with sqlite_store.session() as session:
        posted, handed = (session.get_one(Draft, draft_id) for draft_id in ids)
    assert (posted.state, posted.route) == (DraftState.POSTED, Route.API)
    assert (handed.state, handed.route) == (DraftState.HANDED_OFF, Route.HANDOFF)
    assert handed.handoff_url is not None and f"in_reply_to={plain}" in handed.handoff_url
    assert [(p["kind"], p["reply_to"]) for p in sandbox.posted()] == [("reply", mentions)]
    assert [r for r in sandbox.requests() if r["status"] == 403] == []


def test_a_reply_x_refuses_after_all_becomes_a_hand_off_not_a_failure(
    config: Config, sqlite_store: Store, sandbox: SandboxServer, fake_clock: FakeClock
) -> None:
    # The config claims unrestricted access, but the sandbox is self-serve: X answers 403.
    claims_more = config.model_copy(
        update={"policy": config.policy.model_copy(update={"x_access": "unrestricted"})}
    )
    worker = Worker(
        config=claims_more,
        store=sqlite_store,
        gateway=sandbox_gateway(sandbox, fake_clock),
        drafter=OfflineDrafter(),
        clock=fake_clock,
    )
    fake_clock.advance(timedelta(minutes=7))
    run = worker.join_current()[0]
    worker.reader.poll([run])
    with sqlite_store.session() as session:
        draft_id = _reply(session, run.id, sandbox.post_id("a1_sam"))
    approve(sqlite_store, [draft_id], clock=fake_clock, by="cli", config=claims_more)

    worker.publisher.publish_one()

    with sqlite_store.session() as session:
        draft = session.get_one(Draft, draft_id)
        assert (draft.state, draft.error) == (DraftState.HANDED_OFF, None)
        assert draft.handoff_url is not None and "in_reply_to=" in draft.handoff_url
        assert session.scalar(select(Action.id)) is None  # a hand-off is no action until it is seen


def test_a_repost_of_a_post_deleted_on_x_takes_its_drafts_along(
    config: Config, sqlite_store: Store, sandbox: SandboxServer, fake_clock: FakeClock
) -> None:
    worker = Worker(
        config=config,
        store=sqlite_store,
        gateway=sandbox_gateway(sandbox, fake_clock),
        drafter=OfflineDrafter(),
        clock=fake_clock,
    )
    fake_clock.advance(timedelta(minutes=9, seconds=30))
    run = worker.join_current()[0]
    worker.reader.poll([run])
    oops = sandbox.post_id("oops")
    with sqlite_store.session() as session:
        repost = Draft(
            run_id=run.id,
            chat_slug=run.chat_slug,
            kind=DraftKind.REPOST,
            target_tweet_id=oops,
            created_at=fake_clock.now(),
            updated_at=fake_clock.now(),
        )
        session.add(repost)
    approve(sqlite_store, [repost.id], clock=fake_clock, by="cli", config=config)
    fake_clock.advance(timedelta(minutes=1))  # deleted at 10 minutes

    worker.publisher.publish_one()

    with sqlite_store.session() as session:
        assert session.scalars(select(Draft).where(Draft.target_tweet_id == oops)).all() == []


def _reply(session: Session, run_id: int, target: str) -> int:
    """A reply draft in the run, as triage would queue it."""
    run = session.get_one(ChatRun, run_id)
    draft = Draft(
        run_id=run_id,
        chat_slug=run.chat_slug,
        kind=DraftKind.REPLY,
        text="Agreed, and it pays off later #JobHuntChat",
        target_tweet_id=target,
        created_at=run.window_start,
        updated_at=run.window_start,
    )
    session.add(draft)
    session.flush()
    return draft.id
