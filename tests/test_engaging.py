"""After each poll: answers, then replies, shares, reposts, likes and follows drafted best first within the
chat's caps, each with its reason; stale drafts expire with theirs; `regenerate` gives fresh text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.answering import Answerer
from bot.clock import FakeClock
from bot.config import Config
from bot.drafting.offline import OfflineDrafter
from bot.errors import DraftStateError
from bot.freshness import mark_deleted
from bot.policy import forget_deleted, note_opt_out
from bot.replay import drive
from bot.review import approve, queue, reject
from bot.runner import DEMO_TRANSCRIPT, sandbox_gateway
from bot.runs import close_ended_runs
from bot.sandbox.server import SandboxServer
from bot.sandbox.transcript import load_transcript
from bot.store.db import Store
from bot.store.models import ChatPost, ChatRun, Draft
from bot.worker import Worker
from tests.conversation import START, Conversation, demo_config, open_run

TAG = "#JobHuntChat"
Play = Callable[..., tuple[ChatRun, Conversation]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def play(store: Store, clock: FakeClock) -> Play:
    """`play(config, script)`: store the posts `script(talk)` writes, as the reader does (opt-outs noted), and
    move the clock 4 minutes past the last one (so likes, reposts and shares have settled)."""

    def run(config: Config, script: Callable[[Conversation], None]) -> tuple[ChatRun, Conversation]:
        talk = Conversation(config.chats[0])
        script(talk)
        with store.session() as session:
            chat_run = open_run(session, config.chats[0])
            for post in talk.posts.values():
                post.run_id = chat_run.id
                session.add(post)
                session.flush()
                note_opt_out(session, post, chat_run.chat_slug, config)
        clock.set(talk.at + timedelta(minutes=4))
        return chat_run, talk

    return run


def chat_q1(talk: Conversation) -> None:
    talk.post("welcome", "JobHuntChat", f"Welcome to {TAG}!")
    talk.post("hi", "ada_builds", f"Hi from Lisbon! Moving into platform work {TAG}", reply_to="welcome")
    talk.post(
        "ask",
        "marcus_newgrad",
        f"@ada_builds platform work sounds fun, how did you get started? {TAG}",
        reply_to="hi",
    )
    talk.post("q1", "JobHuntChat", f"Q1 How do you use X in your job search? {TAG}")
    talk.post(
        "sam",
        "sam_recruits",
        f"A1 Follow the career handles of companies you like, recruiters post there {TAG}",
        reply_to="q1",
    )
    talk.post(
        "tom", "tom_hires_sre", f"A1 A cover note that mentions one thing about the team {TAG}", reply_to="q1"
    )
    talk.post("r", "omar_frontend", f"@tom_hires_sre how do you find that out? {TAG}", reply_to="tom")
    talk.post("qt", "kenji_ml", f"Underrated advice {TAG}", quote="tom")
    talk.post("stop", "ivan_secops", f"@ada_builds stop {TAG}", reply_to="hi")
    talk.post(
        "ivan", "ivan_secops", f"A1 I follow the career handles of security companies {TAG}", reply_to="q1"
    )
    talk.post("own", "ada_builds", f"Loving this chat, career handles are underrated {TAG}")


def drafts_of(store: Store, run: ChatRun) -> list[Draft]:
    with store.session() as session:
        return list(session.scalars(select(Draft).where(Draft.run_id == run.id).order_by(Draft.id)))


def test_after_a_poll_the_queue_holds_answers_replies_and_reposts_each_with_its_reason(
    store: Store, clock: FakeClock, play: Play
) -> None:
    config = demo_config()
    run, talk = play(config, chat_q1)
    made = Answerer(config=config, store=store, drafter=OfflineDrafter(), clock=clock).draft_missing(run)

    by_target = {(d.kind, d.target_tweet_id): d for d in made}
    assert made[0].kind == "answer"  # answers first
    answer = by_target[("answer", talk.posts["q1"].tweet_id)]
    assert answer.text.startswith("A1 ") and answer.reason.startswith("the host asked Q1; grounded in: ")
    mention = by_target[("reply", talk.posts["ask"].tweet_id)]
    assert mention.reason.startswith("@marcus_newgrad mentioned you with a question")
    assert (mention.score, mention.route) == (0.95, "api")  # it mentions the account: X takes the reply
    touched = by_target[("reply", talk.posts["sam"].tweet_id)]
    assert "touches your talking point (talking point 1" in touched.reason and touched.route == "handoff"
    repost = by_target[("repost", talk.posts["tom"].tweet_id)]
    assert (repost.reason, repost.text) == ("a strong answer (1 reply, quoted 1 time)", "")
    never = {talk.posts[k].tweet_id for k in ("stop", "ivan", "own", "hi")}
    assert not [d for d in made if d.target_tweet_id in never]  # not the account, not who opted out
    for draft in made:
        assert draft.reason and draft.score is not None and draft.expires_at == run.window_end + timedelta(0)
    with store.session() as session:
        ivan = session.scalars(select(ChatPost).where(ChatPost.tweet_id == talk.posts["ivan"].tweet_id)).one()
    assert ivan.triage == "none" and "opted out" in (ivan.triage_reason or "")


def test_drafting_again_makes_nothing_new(store: Store, clock: FakeClock, play: Play) -> None:
    config = demo_config()
    run, _ = play(config, chat_q1)
    answerer = Answerer(config=config, store=store, drafter=OfflineDrafter(), clock=clock)
    first = answerer.draft_missing(run)
    assert first and answerer.draft_missing(run) == []
    assert len(drafts_of(store, run)) == len(first)


def test_the_queue_is_capped_so_a_person_can_review_it(store: Store, clock: FakeClock, play: Play) -> None:
    config = demo_config(max_pending=2, max_replies=0)
    run, talk = play(config, chat_q1)
    answerer = Answerer(config=config, store=store, drafter=OfflineDrafter(), clock=clock)
    made = answerer.draft_missing(run)
    assert [(d.kind, d.target_tweet_id) for d in made] == [
        ("answer", talk.posts["q1"].tweet_id),
        ("reply", talk.posts["ask"].tweet_id),  # the best: a question to the account (max_replies aside)
    ]
    approve(store, [made[0].id], clock=clock, by="cli")
    more = answerer.draft_missing(run)
    assert [d.kind for d in more] == ["repost"]  # one place freed; no reply to others' answers (max 0)


def test_a_reply_that_nothing_of_yours_fits_is_not_drafted_and_the_post_says_why(
    store: Store, clock: FakeClock, play: Play
) -> None:
    def script(talk: Conversation) -> None:
        talk.post("hi", "ada_builds", f"Hi! {TAG}")
        talk.post(
            "ask", "zoe_senior", f"@ada_builds what's the weather like in Lisbon today {TAG}", reply_to="hi"
        )

    config = demo_config()
    config = config.model_copy(
        update={"account": config.account.model_copy(update={"bio": "Hi. #JobHuntChat"})}
    )
    run, talk = play(config, script)
    made = Answerer(config=config, store=store, drafter=OfflineDrafter(), clock=clock).draft_missing(run)
    assert made == []
    with store.session() as session:
        post = session.scalars(select(ChatPost).where(ChatPost.tweet_id == talk.posts["ask"].tweet_id)).one()
    assert post.triage == "none"
    why = "but no draft passed the check: offline draft refused: the draft is empty"
    assert post.triage_reason == f"@zoe_senior mentioned you; {why}"


# --- freshness --------------------------------------------------------------------------------------------


def test_a_draft_about_q1_expires_once_q3_is_asked_and_says_why(
    store: Store, clock: FakeClock, play: Play
) -> None:
    config = demo_config()
    run, talk = play(config, chat_q1)
    answerer = Answerer(config=config, store=store, drafter=OfflineDrafter(), clock=clock)
    answerer.draft_missing(run)
    with store.session() as session:
        for n in (2, 3):
            post = talk.post(f"q{n}", "JobHuntChat", f"Q{n} Another question? {TAG}")
            post.run_id = run.id
            session.add(post)
    answerer.draft_missing(run)
    about_q1 = [d for d in drafts_of(store, run) if d.question_number == 1 and d.kind in ("answer", "reply")]
    assert about_q1 and {d.state for d in about_q1} == {"expired"}
    with store.session() as session:
        events = [session.get(Draft, d.id).events[-1].why for d in about_q1]  # type: ignore[union-attr]
    assert set(events) == {"Q3 was asked: the chat has moved on from Q1"}
    assert [d.state for d in drafts_of(store, run) if d.kind == "repost"] == ["pending"]  # not a conversation


def test_a_draft_whose_target_was_deleted_expires(store: Store, clock: FakeClock, play: Play) -> None:
    config = demo_config()
    run, talk = play(config, chat_q1)
    answerer = Answerer(config=config, store=store, drafter=OfflineDrafter(), clock=clock)
    answerer.draft_missing(run)
    with store.session() as session:
        assert mark_deleted(session, talk.posts["sam"].tweet_id, at=clock.now()) == 1
    answerer.draft_missing(run)
    (reply,) = [d for d in drafts_of(store, run) if d.target_tweet_id == talk.posts["sam"].tweet_id]
    with store.session() as session:
        draft = session.get(Draft, reply.id)
        assert draft is not None and draft.state == "expired"
        assert draft.events[-1].why == "the post it answers was deleted"


def test_each_poll_sees_the_run_as_stored_now_not_as_it_was(
    store: Store, clock: FakeClock, play: Play
) -> None:
    """The worker keeps a run's posts between polls; what changed in the store meanwhile still counts."""
    config = demo_config()
    run, talk = play(config, chat_q1)
    answerer = Answerer(config=config, store=store, drafter=OfflineDrafter(), clock=clock)
    answerer.draft_missing(run)
    late = talk.post(
        "late", "omar_frontend", f"A1 Keeping a list of recruiters on X helps {TAG}", reply_to="sam"
    )
    late.run_id = run.id
    tom, sam = talk.posts["tom"].tweet_id, talk.posts["sam"].tweet_id
    with store.session() as session:
        session.add(late)  # read by the next poll
        stored = session.scalars(select(ChatPost).where(ChatPost.tweet_id == tom)).one()
        stored.triage, stored.triage_reason = "none", "decided again by the worker that held the run"
        forget_deleted(session, sam, clock.now())  # deleted on X: its text goes
    view = answerer.engager.current_view(run)
    assert view.by_id[late.tweet_id].triage is None  # stored since, not triaged yet
    assert view.by_id[tom].triage_reason == "decided again by the worker that held the run"
    assert view.by_id[sam].text is None and view.by_id[sam].deleted_at is not None
    answerer.draft_missing(run)
    view = answerer.engager.current_view(run)
    assert view.by_id[late.tweet_id].triage is not None
    assert view.responses(view.by_id[sam]) == [view.by_id[late.tweet_id]]


def test_chat_drafts_stay_for_the_grace_after_the_window_closes(
    store: Store, clock: FakeClock, play: Play
) -> None:
    config = demo_config()
    config = config.model_copy(
        update={"drafting": config.drafting.model_copy(update={"close_grace_minutes": 10})}
    )
    run, _ = play(config, chat_q1)
    made = Answerer(config=config, store=store, drafter=OfflineDrafter(), clock=clock).draft_missing(run)
    assert {d.expires_at for d in made} == {run.window_end + timedelta(minutes=10)}
    with store.session() as session:
        assert [r.id for r in close_ended_runs(session, run.window_end + timedelta(minutes=1))] == [run.id]
    assert {d.state for d in drafts_of(store, run)} == {"pending"}  # closed, still in its grace
    with store.session() as session:
        close_ended_runs(session, run.window_end + timedelta(minutes=10))
    assert {d.state for d in drafts_of(store, run)} == {"expired"}
    assert {e.why for d in drafts_of(store, run) for e in _events(store, d)[-1:]} == {
        "the chat window closed"
    }


def _events(store: Store, draft: Draft) -> list[Draft]:
    with store.session() as session:
        return list(session.get(Draft, draft.id).events)  # type: ignore[union-attr, arg-type]


# --- regenerate -------------------------------------------------------------------------------------------


def test_regenerate_gives_fresh_text_for_the_same_target_and_keeps_the_old(
    store: Store, clock: FakeClock, play: Play
) -> None:
    config = demo_config()
    run, talk = play(config, chat_q1)
    answerer = Answerer(config=config, store=store, drafter=OfflineDrafter(), clock=clock)
    answer = next(d for d in answerer.draft_missing(run) if d.kind == "answer")
    approve(store, [answer.id], clock=clock, by="cli")

    again = answerer.regenerate(answer.id, hint="my spreadsheet of applications")
    assert (again.id, again.kind, again.target_tweet_id, again.state) == (
        answer.id,
        "answer",
        talk.posts["q1"].tweet_id,
        "pending",
    )
    assert again.text != answer.text and again.text.startswith("A1 ") and "spreadsheet" in again.text
    assert "steered by your hint" in (again.rationale or "")
    with store.session() as session:
        events = session.get(Draft, answer.id).events  # type: ignore[union-attr]
        assert [(e.to_state, e.why) for e in events][-2:] == [
            ("pending", "regenerated: back for review"),
            ("pending", "regenerated: my spreadsheet of applications"),
        ]
        assert events[-1].text_before == answer.text


def test_regenerate_refuses_what_has_no_text_or_is_settled(
    store: Store, clock: FakeClock, play: Play
) -> None:
    config = demo_config()
    run, _ = play(config, chat_q1)
    answerer = Answerer(config=config, store=store, drafter=OfflineDrafter(), clock=clock)
    made = answerer.draft_missing(run)
    repost = next(d for d in made if d.kind == "repost")
    with pytest.raises(DraftStateError, match="is a repost: it has no text to regenerate"):
        answerer.regenerate(repost.id)
    reply = next(d for d in made if d.kind == "reply")
    reject(store, [reply.id], clock=clock, by="cli")
    with pytest.raises(DraftStateError, match="is rejected; only a pending, approved or failed draft"):
        answerer.regenerate(reply.id)
    with pytest.raises(DraftStateError, match="no draft 999"):
        answerer.regenerate(999)


# --- the demo chat ------------------------------------------------------------------------------------------


def test_the_demo_chat_queues_replies_reposts_and_likes_besides_the_answers(
    sqlite_store: Store, clock: FakeClock
) -> None:
    """The shipped config on the demo transcript (polling every minute to keep it quick), every draft
    approved as it comes, through the first 41 minutes: Q1 to Q6."""
    config = demo_config(poll=60)
    config = config.model_copy(update={"chats": config.chats[:1]})
    with SandboxServer(load_transcript(DEMO_TRANSCRIPT), clock=clock, start=START) as server:
        worker = Worker(
            config=config,
            store=sqlite_store,
            gateway=sandbox_gateway(server, clock),
            drafter=OfflineDrafter(),
            clock=clock,
        )
        worker.start()

        def approve_all() -> None:
            ids = [d.id for d in queue(sqlite_store)]
            if ids:
                approve(sqlite_store, ids, clock=clock, by="replay")

        drive(worker, clock, until=START + timedelta(minutes=41), each_step=approve_all)
        ids = {key: server.post_id(key) for key in ("ada_hi",)}
    with sqlite_store.session() as session:
        drafts = list(session.scalars(select(Draft)))
        posts = {p.tweet_id: p for p in session.scalars(select(ChatPost))}
    kinds = Counter(d.kind for d in drafts)
    assert kinds["answer"] == 6 and kinds["reply"] >= 3 and kinds["repost"] >= 1 and kinds["like"] >= 1
    authors = {d.kind: set() for d in drafts}  # type: dict[str, set[str]]
    for draft in drafts:
        authors[draft.kind].add(posts[draft.target_tweet_id].author_username or "")  # type: ignore[index]
    assert {"marcus_newgrad", "kenji_ml"} <= authors["reply"]  # both asked the account something
    assert len(authors["reply"] - {"marcus_newgrad", "kenji_ml"}) >= 1  # answers touching its talking points
    assert "ivan_secops" not in set().union(*authors.values())  # he asked the account to stop
    assert not [d for d in drafts if d.target_tweet_id == ids["ada_hi"] or posts[d.target_tweet_id].is_own]  # type: ignore[index]
    assert all(d.reason for d in drafts)
