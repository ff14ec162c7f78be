"""The draft state machine: allowed and refused moves, their event rows, and claims raced by workers."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.errors import DraftStateError
from bot.store import (
    TERMINAL_STATES,
    TRANSITIONS,
    Draft,
    DraftEvent,
    DraftState,
    Store,
    approve,
    claim_for_posting,
    edit_text,
    expire_due,
    get_draft,
    pending_drafts,
    reject,
    retry,
    transition,
    unapprove,
)
from tests.fixtures.db import NOW, make_draft, make_run

LATER = NOW + timedelta(minutes=5)
ALLOWED = [(source, target) for source, targets in TRANSITIONS.items() for target in sorted(targets)]
REFUSED = [
    (source, target) for source in DraftState for target in DraftState if target not in TRANSITIONS[source]
]


def _events(store: Store, draft_id: int) -> list[tuple[str, str, str, str]]:
    with store.session() as session:
        rows = session.scalars(
            select(DraftEvent).where(DraftEvent.draft_id == draft_id).order_by(DraftEvent.id)
        )
        return [(event.from_state, event.to_state, event.by, event.why) for event in rows]


def _state_in_db(store: Store, draft_id: int) -> str:
    with store.session() as session:
        state = session.scalar(select(Draft.state).where(Draft.id == draft_id))
        assert state is not None
        return state


def test_the_table_has_every_move_asked_for_and_no_more() -> None:
    assert {source: set(targets) for source, targets in TRANSITIONS.items()} == {
        "pending": {"approved", "rejected", "expired"},
        "approved": {"posting", "handed_off", "pending", "expired"},
        "posting": {"posted", "failed", "approved", "handed_off"},
        "handed_off": {"posted", "expired"},
        "failed": {"pending"},
        "posted": set(),
        "rejected": set(),
        "expired": set(),
    }
    assert {"posted", "rejected", "expired"} == TERMINAL_STATES


def test_every_allowed_move_happens_and_leaves_an_event(store: Store) -> None:
    with store.session() as session:
        drafts = {move: make_draft(session, state=move[0]).id for move in ALLOWED}

    for (source, target), draft_id in drafts.items():
        with store.session() as session:
            draft = get_draft(session, draft_id)
            transition(session, draft, target, by="web", why=f"{source} to {target}", at=LATER)

        with store.session() as session:
            moved = get_draft(session, draft_id)
            assert (moved.state, moved.updated_at) == (target, LATER), (source, target)
        assert _events(store, draft_id) == [(source, target, "web", f"{source} to {target}")]


def test_every_refused_move_raises_and_changes_nothing(store: Store) -> None:
    with store.session() as session:
        drafts = {move: make_draft(session, state=move[0]).id for move in REFUSED}

    for (source, target), draft_id in drafts.items():
        refused = f"^draft {draft_id} is {source}, not .*; nothing changed$"
        with pytest.raises(DraftStateError, match=refused), store.session() as session:
            transition(session, get_draft(session, draft_id), target, by="cli", at=LATER)

        with store.session() as session:
            draft = get_draft(session, draft_id)
            assert (draft.state, draft.updated_at) == (source, NOW), (source, target)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(DraftEvent)) == 0


def test_the_refusal_tells_a_person_what_is_wrong(store: Store) -> None:
    with store.session() as session:
        draft = make_draft(session, state=DraftState.POSTED)
        with pytest.raises(DraftStateError) as caught:
            transition(session, draft, "approved", by="cli", at=LATER)

    assert str(caught.value) == f"draft {draft.id} is posted, not pending or posting; nothing changed"


def test_a_stale_copy_cannot_undo_a_move_made_elsewhere(store: Store) -> None:
    with store.session() as session:
        stale = make_draft(session)  # the web UI shows it as pending…
        draft_id = stale.id
    with store.session() as worker:
        transition(worker, get_draft(worker, draft_id), "expired", by="worker", at=LATER)

    too_late = f"draft {draft_id} is expired, not pending; nothing changed"
    with pytest.raises(DraftStateError, match=too_late), store.session() as web:  # …a person approves it
        transition(web, stale, "approved", by="web", at=LATER)

    assert _state_in_db(store, draft_id) == "expired"
    assert _events(store, draft_id) == [("pending", "expired", "worker", "")]


def test_a_person_approves_rejects_unapproves_and_retries(store: Store) -> None:
    with store.session() as session:
        first, second, third = (make_draft(session, text=f"A{n}").id for n in range(3))
        failed = make_draft(session, state=DraftState.FAILED, text="A4").id

    with store.session() as session:
        assert approve(session, first, by="web", at=LATER).state == "approved"
        assert unapprove(session, first, by="web", at=LATER, why="second thoughts").state == "pending"
        assert reject(session, second, by="cli", at=LATER, why="off topic").state == "rejected"
        assert approve(session, third, by="cli", at=LATER).state == "approved"
        assert retry(session, failed, by="cli", at=LATER).state == "pending"

    assert _events(store, first) == [
        ("pending", "approved", "web", ""),
        ("approved", "pending", "web", "second thoughts"),
    ]
    assert _events(store, second) == [("pending", "rejected", "cli", "off topic")]
    assert _events(store, failed) == [("failed", "pending", "cli", "")]


def test_a_person_cannot_approve_a_draft_that_is_not_pending(store: Store) -> None:
    with store.session() as session:
        posted = make_draft(session, state=DraftState.POSTED, text="A1").id
        posting = make_draft(session, state=DraftState.POSTING, text="A2").id

    with pytest.raises(DraftStateError) as caught, store.session() as session:
        approve(session, posted, by="cli", at=LATER)
    assert str(caught.value) == f"draft {posted} is posted, not pending; nothing changed"

    # posting → approved is the publisher's retry, not a person's approval
    with pytest.raises(DraftStateError, match="is posting, not pending"), store.session() as session:
        approve(session, posting, by="web", at=LATER)
    with pytest.raises(DraftStateError, match=r"^no draft 99$"), store.session() as session:
        reject(session, 99, by="web", at=LATER)

    assert (_state_in_db(store, posted), _state_in_db(store, posting)) == ("posted", "posting")
    assert _events(store, posting) == []


def test_unknown_states_and_drafts_are_named(store: Store) -> None:
    with store.session() as session:
        draft = make_draft(session)
        with pytest.raises(DraftStateError, match="unknown draft state 'aproved'; the states are pending, "):
            transition(session, draft, "aproved", by="cli", at=LATER)
        with pytest.raises(DraftStateError, match=r"^no draft 99$"):
            get_draft(session, 99)


def test_who_made_the_move_is_required(store: Store) -> None:
    with store.session() as session:
        draft = make_draft(session)
        with pytest.raises(DraftStateError, match="`by` says who makes the change"):
            transition(session, draft, "approved", by="", at=LATER)

    assert _state_in_db(store, draft.id) == "pending"


def test_a_full_life_is_recorded_in_order(store: Store) -> None:
    with store.session() as session:
        draft_id = make_draft(session).id
    moves = [
        ("approved", "web"),
        ("posting", "publisher"),
        ("approved", "publisher"),  # 503 from X: try again later
        ("posting", "publisher"),
        ("failed", "publisher"),
        ("pending", "cli"),
        ("approved", "cli"),
        ("handed_off", "publisher"),
        ("posted", "worker"),
    ]
    for step, (target, by) in enumerate(moves):
        with store.session() as session:
            transition(session, get_draft(session, draft_id), target, by=by, at=NOW + timedelta(minutes=step))

    with store.session() as session:
        draft = get_draft(session, draft_id)
        history = [(event.to_state, event.by, event.at) for event in draft.events]
    assert history == [(target, by, NOW + timedelta(minutes=step)) for step, (target, by) in enumerate(moves)]
    assert draft.updated_at == NOW + timedelta(minutes=len(moves) - 1)


# --- claims -----------------------------------------------------------------------------------------


def test_claiming_moves_an_approved_draft_to_posting(store: Store) -> None:
    with store.session() as session:
        draft_id = make_draft(session, state=DraftState.APPROVED).id

    with store.session() as session:
        claimed = claim_for_posting(session, draft_id, at=LATER, by="publisher")

    assert claimed is not None
    assert (claimed.id, claimed.state, claimed.updated_at) == (draft_id, "posting", LATER)
    assert _state_in_db(store, draft_id) == "posting"
    assert _events(store, draft_id) == [("approved", "posting", "publisher", "claimed for posting")]


@pytest.mark.parametrize("state", [s for s in DraftState if s != DraftState.APPROVED])
def test_only_an_approved_draft_can_be_claimed(sqlite_store: Store, state: DraftState) -> None:
    with sqlite_store.session() as session:
        draft_id = make_draft(session, state=state).id
        assert claim_for_posting(session, draft_id, at=LATER, by="publisher") is None
        assert claim_for_posting(session, 999, at=LATER, by="publisher") is None

    assert _state_in_db(sqlite_store, draft_id) == state
    assert _events(sqlite_store, draft_id) == []


def test_workers_racing_for_drafts_each_get_a_draft_at_most_once(store: Store) -> None:
    with store.session() as session:
        draft_ids = [make_draft(session, state=DraftState.APPROVED, text=f"A{n}").id for n in range(5)]
    workers = 4
    start = threading.Barrier(workers)
    claims: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        try:
            start.wait(timeout=10)
            for draft_id in draft_ids:
                with store.session() as session:
                    if claim_for_posting(session, draft_id, at=LATER, by=f"worker-{worker}"):
                        with lock:
                            claims.append((draft_id, worker))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(draft_id for draft_id, _ in claims) == draft_ids  # each exactly once
    for draft_id in draft_ids:
        assert _state_in_db(store, draft_id) == "posting"
        assert len(_events(store, draft_id)) == 1


def test_a_second_claimer_waits_for_the_first_and_then_gets_nothing(store: Store) -> None:
    with store.session() as session:
        draft_id = make_draft(session, state=DraftState.APPROVED).id
    second: list[Draft | None] = []

    def claim_on_another_connection() -> None:
        with Store(store.url) as other, other.session() as session:
            second.append(claim_for_posting(session, draft_id, at=LATER, by="worker-2"))

    with store.session() as first:
        assert claim_for_posting(first, draft_id, at=LATER, by="worker-1") is not None
        rival = threading.Thread(target=claim_on_another_connection)
        rival.start()
        rival.join(timeout=0.3)
        assert rival.is_alive(), "the second claim must wait for the first transaction"
    rival.join(timeout=10)

    assert second == [None]
    assert _events(store, draft_id) == [("approved", "posting", "worker-1", "claimed for posting")]


# --- edits, expiry and the review queue ---------------------------------------------------------------


def test_editing_keeps_the_old_text_in_the_event(store: Store) -> None:
    with store.session() as session:
        draft = make_draft(session, text="A1: first try")
        edit_text(session, draft, "A1: better", by="web", at=LATER)

    with store.session() as session:
        edited = get_draft(session, draft.id)
        assert (edited.text, edited.state, edited.updated_at) == ("A1: better", "pending", LATER)
        event = edited.events[0]
        assert (event.from_state, event.to_state, event.text_before, event.why) == (
            "pending",
            "pending",
            "A1: first try",
            "edited",
        )


def test_a_draft_on_its_way_cannot_be_edited(store: Store) -> None:
    with store.session() as session:
        draft = make_draft(session, state=DraftState.POSTING, text="A1: as sent")
        with pytest.raises(DraftStateError, match="is posting, not pending or approved"):
            edit_text(session, draft, "A1: changed", by="web", at=LATER)

    with store.session() as session:
        assert get_draft(session, draft.id).text == "A1: as sent"


def test_expiry_takes_only_pending_and_approved_drafts_that_are_due(store: Store) -> None:
    with store.session() as session:
        due_pending = make_draft(session, text="a", expires_at=LATER).id
        due_approved = make_draft(session, text="b", state=DraftState.APPROVED, expires_at=NOW).id
        not_yet = make_draft(session, text="c", expires_at=LATER + timedelta(seconds=1)).id
        posting = make_draft(session, text="d", state=DraftState.POSTING, expires_at=NOW).id
        no_expiry = make_draft(session, text="e").id

    with store.session() as session:
        expired = expire_due(session, at=LATER)

    assert [draft.id for draft in expired] == [due_pending, due_approved]
    states = {draft_id: _state_in_db(store, draft_id) for draft_id in (not_yet, posting, no_expiry)}
    assert states == {not_yet: "pending", posting: "posting", no_expiry: "pending"}
    assert _events(store, due_approved) == [
        ("approved", "expired", "worker", "not acted on before it expired")
    ]


def test_the_review_queue_lists_pending_drafts_oldest_first(store: Store) -> None:
    with store.session() as session:
        run = make_run(session)
        newer = make_draft(session, run=run, text="newer", at=NOW + timedelta(minutes=2)).id
        older = make_draft(session, run=run, text="older", at=NOW).id
        other_chat = make_draft(
            session, chat_slug="otherchat", text="other", at=NOW + timedelta(minutes=1)
        ).id
        approved = make_draft(session, state=DraftState.APPROVED, text="done", at=NOW).id

    with store.session() as session:
        assert [d.id for d in pending_drafts(session)] == [older, other_chat, newer]
        assert [d.id for d in pending_drafts(session, chat_slug="xchat")] == [older, newer]
        assert [d.id for d in pending_drafts(session, include_all=True)] == [
            older,
            approved,
            other_chat,
            newer,
        ]
        assert pending_drafts(session, chat_slug="nochat") == []


def test_a_draft_from_an_earlier_session_can_be_moved_later(store: Store) -> None:
    with store.session() as session:
        draft = make_draft(session)
    with store.session() as session:
        transition(session, draft, "rejected", by="cli", why="off topic", at=LATER)

    assert _state_in_db(store, draft.id) == "rejected"
    assert _events(store, draft.id) == [("pending", "rejected", "cli", "off topic")]
