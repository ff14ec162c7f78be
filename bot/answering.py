"""The drafting step after each poll, for each live run: expire the drafts that went stale (`bot.freshness`),
draft "A<n> … #Hashtag" for each host question that lacks an answer, then triage the rest of the chat and
draft replies, shares, reposts, likes and follows within the caps (`bot.engaging`).

Idempotent: a question that already has its answer draft is skipped, so a poll that crashed after reading
but before drafting is made good by the next one. Every draft passes the guard first; when no answer does,
the question says why and is not tried again. `regenerate` gives a draft fresh text for the same target.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.config import Account, Chat, Config
from bot.context import MAX_EARLIER, RunView
from bot.drafting import TEXT_KINDS, AnswerRequest, Drafter, Persona
from bot.drafting import Draft as Proposed
from bot.drafting.guarded import GuardedDrafter
from bot.engaging import Engager, said_texts
from bot.errors import ConfigError, DraftStateError
from bot.freshness import expire_stale, expires_at, moved_on
from bot.guard import OutputRules, join_flags
from bot.material import Material, load_material
from bot.policy import own_posts, route_for
from bot.store.db import Store
from bot.store.drafts import edit_text, get_draft, transition
from bot.store.models import ChatPost, ChatRun, Draft, DraftKind, DraftState, OptOut, PostEvent, Route

log = structlog.get_logger("bot.answering")
REGENERABLE = (DraftState.PENDING, DraftState.APPROVED, DraftState.FAILED)


def persona(account: Account) -> Persona:
    return Persona(
        handle=account.handle,
        name=account.name,
        bio=account.bio,
        voice=account.voice,
        talking_points=tuple(account.talking_points),
        own_links=tuple(account.own_links),
    )


class Answerer:
    """Drafts what a live run still lacks. `material` defaults to the account's (its folder read once)."""

    def __init__(
        self,
        *,
        config: Config,
        store: Store,
        drafter: Drafter,
        clock: Clock,
        material: Material | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.drafter = GuardedDrafter(drafter)
        self._use(config, material if material is not None else load_material(config.account))

    def reload(self, config: Config) -> None:
        """Draft by a new config from now on: its account (voice, talking points, material folder re-read)
        and its chats' caps and hosts. A material folder that no longer loads keeps the last good one."""
        try:
            material = load_material(config.account)
        except ConfigError as error:
            log.warning("material.reload_failed", problems=[str(issue) for issue in error.issues])
            material = self.material
        self._use(config, material)

    def _use(self, config: Config, material: Material) -> None:
        self.config = config
        self.material = material
        self.persona = persona(config.account)
        # The engager drafts by the same config, material and persona (its kept views follow the new chats).
        self.engager = Engager(
            config=config,
            store=self.store,
            drafter=self.drafter,
            material=material,
            persona=self.persona,
            clock=self.clock,
        )

    def draft_missing(self, run: ChatRun) -> list[Draft]:
        """Expire the stale, answer every question without an answer, then engage; returns the new drafts."""
        chat = self.config.chat(run.chat_slug)
        with self.store.session() as session:
            stopped = set(session.scalars(select(OptOut.username)))
            expire_stale(session, run, self.config.drafting, now=self.clock.now(), opted_out=stopped)
        questions = self._unanswered(run)
        if questions:
            self.engager.current_view(run)  # up to date once, then each answer only checks
            questions = self._skip_moved_on(run, chat, questions)
        made = [draft for q in questions if (draft := self._answer(run, chat, q)) is not None]
        return made + self.engager.engage(run)

    def _skip_moved_on(self, run: ChatRun, chat: Chat, questions: list[ChatPost]) -> list[ChatPost]:
        """The questions still worth an answer. One the chat has moved on from (read late: a restart, a
        join mid-chat) would expire the moment it was drafted, so it is decided "none", saying why."""
        view = self.engager.current_view(run, within_poll=True)
        latest = max((q.question_number or 0 for q in view.questions), default=0)
        after = self.config.drafting.expire_after_questions
        passed = [q for q in questions if moved_on(q.question_number, latest, after)]
        if not passed:
            return questions
        stored = [view.by_id[q.tweet_id] for q in passed]
        for post in stored:
            post.triage = "none"
            post.triage_reason = (
                f"the host asked Q{post.question_number}, but Q{latest} was out when it was read: "
                "the chat had moved on"
            )
        with self.store.session() as session:
            self.engager.save_triage(session, run, stored)
        numbers = [q.question_number for q in passed]
        log.info("answer.skipped", chat=chat.slug, questions=numbers, latest=latest)
        return [q for q in questions if q not in passed]

    def _unanswered(self, run: ChatRun) -> list[ChatPost]:
        answered = select(Draft.target_tweet_id).where(Draft.run_id == run.id, Draft.kind == DraftKind.ANSWER)
        query = (
            select(ChatPost)
            .where(
                ChatPost.run_id == run.id,
                ChatPost.event == PostEvent.QUESTION,
                ChatPost.tweet_id.not_in(answered),
                (ChatPost.triage.is_(None)) | (ChatPost.triage != "none"),
            )
            .order_by(ChatPost.created_at)
        )
        with self.store.session() as session:
            return list(session.scalars(query))

    def _answer(self, run: ChatRun, chat: Chat, question: ChatPost) -> Draft | None:
        view = self.engager.current_view(run, within_poll=True)
        with self.store.session() as session:
            proposed, why = self.propose_answer(session, view, question)
            if proposed is None:
                stored = view.by_id[question.tweet_id]
                stored.triage, stored.triage_reason = "none", f"the host asked Q{question.question_number}; "
                stored.triage_reason += f"but no answer passed the check: {why}"
                self.engager.save_triage(session, run, [stored])
                log.warning("answer.none", chat=chat.slug, q=question.question_number, why=why)
                return None
        draft = self._answer_row(run, question, proposed)
        try:
            with self.store.session() as session:
                session.add(draft)
        except IntegrityError:  # another worker drafted it first
            return None
        log.info("draft.queued", chat=chat.slug, draft=draft.id, kind="answer", q=question.question_number)
        return draft

    def propose_answer(
        self,
        session: Session,
        view: RunView,
        question: ChatPost,
        *,
        hint: str | None = None,
        also_avoid: Sequence[str] = (),
    ) -> tuple[Proposed | None, str]:
        """An answer to `question` that passes the guard, or None and why."""
        assert question.question_number is not None
        in_chat = said_texts(session, view)
        said = [*in_chat, *self.material.earlier_posts, *also_avoid]
        text = question.text or ""
        request = AnswerRequest(
            persona=self.persona,
            hashtag=view.chat.hashtag,
            chat_title=view.chat.title,
            question_number=question.question_number,
            question_text=text,
            host=question.author_username or "",
            material=tuple(self.material.relevant(" ".join(filter(None, [text, hint])), avoid=said)),
            avoid=tuple(said),
            # The prompt shows the latest few (it would grow all chat long); the guard checks them all.
            earlier=(*in_chat[-MAX_EARLIER:], *also_avoid),
            hint=hint,
        )
        rules = OutputRules(
            kind="answer",
            hashtag=view.chat.hashtag,
            people=frozenset(filter(None, [question.author_username])),
            links=self.material.links,
            target=text,
            earlier=tuple(said),
            commitments=tuple(self.config.drafting.commitment_phrases),
            question_number=question.question_number,
        )
        outcome = self.drafter.answer(request, rules)
        return outcome.draft, outcome.why_none

    def _answer_row(self, run: ChatRun, question: ChatPost, proposed: Proposed) -> Draft:
        point = f"; grounded in: {proposed.talking_point}" if proposed.talking_point else ""
        now = self.clock.now()
        return Draft(
            run_id=run.id,
            chat_slug=run.chat_slug,
            kind=DraftKind.ANSWER,
            text=proposed.text,
            target_tweet_id=question.tweet_id,
            question_number=question.question_number,
            state=DraftState.PENDING,
            reason=f"the host asked Q{question.question_number}{point}",
            score=proposed.confidence,
            route=Route.API,
            is_promotional=proposed.is_self_promotional,
            drafter=proposed.drafter,
            llm_model=proposed.model,
            llm_input_tokens=proposed.input_tokens or None,
            llm_output_tokens=proposed.output_tokens or None,
            rationale=proposed.rationale,
            flags=join_flags(()),
            created_at=now,
            updated_at=now,
            expires_at=expires_at(run, self.config.drafting, now),
        )

    # --- regenerate --------------------------------------------------------------------------------------

    def regenerate(self, draft_id: int, *, hint: str | None = None, by: str = "cli") -> Draft:
        """Fresh text for a pending, approved or failed answer, reply or share, about the same target; the
        draft goes back to pending and its history keeps the old text. `DraftStateError` when impossible."""
        now = self.clock.now()
        with self.store.session() as session:
            draft = get_draft(session, draft_id)
            run, target = self._regenerable(session, draft)
            view = self.engager.view(session, run)
            stored = view.by_id[target.tweet_id]
            if draft.kind == DraftKind.ANSWER:
                proposed, why = self.propose_answer(session, view, stored, hint=hint, also_avoid=[draft.text])
            else:
                kind, avoid = draft.kind, [draft.text]
                proposed, why = self.engager.propose(
                    session, view, stored, hint=hint, kind=kind, also_avoid=avoid
                )
            if proposed is None or proposed.text == draft.text:
                raise DraftStateError(f"no fresh draft for #{draft_id}: {why}; nothing changed")
            if draft.state != DraftState.PENDING:
                transition(
                    session, draft, DraftState.PENDING, by=by, why="regenerated: back for review", at=now
                )
            edit_text(
                session,
                draft,
                proposed.text,
                by=by,
                at=now,
                why="regenerated" + (f": {hint}" if hint else ""),
            )
            _apply(draft, proposed)
            if draft.kind != DraftKind.ANSWER:
                choice = route_for(draft, stored, self.config, own_post_ids=own_posts(session))
                draft.route, draft.handoff_url = choice.route, choice.handoff_url
            return draft

    def _regenerable(self, session: Session, draft: Draft) -> tuple[ChatRun, ChatPost]:
        if draft.kind not in TEXT_KINDS:
            raise DraftStateError(f"draft {draft.id} is a {draft.kind}: it has no text to regenerate")
        if draft.state not in REGENERABLE:
            raise DraftStateError(
                f"draft {draft.id} is {draft.state}; "
                "only a pending, approved or failed draft can be regenerated"
            )
        run = session.get(ChatRun, draft.run_id) if draft.run_id is not None else None
        target = session.scalars(
            select(ChatPost).where(
                ChatPost.run_id == draft.run_id, ChatPost.tweet_id == draft.target_tweet_id
            )
        ).first()
        if run is None or target is None or not target.text:
            raise DraftStateError(
                f"draft {draft.id}: the post it answers is no longer stored; nothing changed"
            )
        return run, target


def _apply(draft: Draft, proposed: Proposed) -> None:
    draft.rationale = proposed.rationale
    draft.is_promotional = proposed.is_self_promotional
    draft.drafter = proposed.drafter
    draft.llm_model = proposed.model
    draft.llm_input_tokens = proposed.input_tokens or None
    draft.llm_output_tokens = proposed.output_tokens or None
