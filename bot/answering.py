"""Answer drafts: for each host question read in a live run, one draft "A<n> … #Hashtag" in the account's
voice, queued for a person. Idempotent: a question that already has its answer draft is skipped, so a poll
that crashed after reading but before drafting is made good by the next one."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.config import Account, Chat, Config
from bot.drafting import AnswerRequest, Drafter, Persona
from bot.drafting import Draft as ProposedDraft
from bot.drafting.offline import OfflineDrafter
from bot.errors import LLMError
from bot.store.db import Store
from bot.store.models import ChatPost, ChatRun, Draft, DraftKind, DraftState, PostEvent, Route

log = structlog.get_logger("bot.answering")


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
    """Drafts the answers a live run still lacks. Falls back to the offline drafter when the LLM fails."""

    def __init__(self, *, config: Config, store: Store, drafter: Drafter, clock: Clock) -> None:
        self.config = config
        self.store = store
        self.drafter = drafter
        self.fallback = OfflineDrafter()
        self.clock = clock

    def draft_missing(self, run: ChatRun) -> list[Draft]:
        """Draft an answer for every question of `run` that has none yet; returns the new drafts."""
        chat = self.config.chat(run.chat_slug)
        made = []
        for question in self._unanswered(run):
            draft = self._draft_one(run, chat, question)
            if draft is not None:
                made.append(draft)
        return made

    def _unanswered(self, run: ChatRun) -> list[ChatPost]:
        answered = select(Draft.target_tweet_id).where(Draft.run_id == run.id, Draft.kind == DraftKind.ANSWER)
        query = (
            select(ChatPost)
            .where(
                ChatPost.run_id == run.id,
                ChatPost.event == PostEvent.QUESTION,
                ChatPost.tweet_id.not_in(answered),
            )
            .order_by(ChatPost.created_at)
        )
        with self.store.session() as session:
            return list(session.scalars(query))

    def _draft_one(self, run: ChatRun, chat: Chat, question: ChatPost) -> Draft | None:
        assert question.question_number is not None
        request = AnswerRequest(
            persona=persona(self.config.account),
            hashtag=chat.hashtag,
            chat_title=chat.title,
            question_number=question.question_number,
            question_text=question.text or "",
            host=question.author_username or "",
        )
        proposed = self._propose(request)
        now = self.clock.now()
        draft = _answer_draft(run, question, proposed, now)
        try:
            with self.store.session() as session:
                session.add(draft)
        except IntegrityError:  # another worker drafted it first
            return None
        log.info("draft.queued", chat=chat.slug, draft=draft.id, kind="answer", q=question.question_number)
        return draft

    def _propose(self, request: AnswerRequest) -> ProposedDraft:
        try:
            return self.drafter.answer(request)
        except LLMError as exc:
            log.warning("llm.fallback", reason=str(exc), q=request.question_number)
            return self.fallback.answer(request)


def _answer_draft(run: ChatRun, question: ChatPost, proposed: ProposedDraft, now: datetime) -> Draft:
    point = f"; grounded in: {proposed.talking_point}" if proposed.talking_point else ""
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
        created_at=now,
        updated_at=now,
        expires_at=max(run.window_end, now + timedelta(minutes=1)),
    )
