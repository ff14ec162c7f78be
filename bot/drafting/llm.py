"""The LLM drafter: a language model behind any OpenAI-compatible API writes answers, replies and shares.

One request normally suffices: structured output (`bot.drafting.completions`) gives the text and its
metadata. Our rules are then applied to the text (the A-number, the hashtag once). A draft still over the
limit is sent back once with the reason; a second miss is cut to fit. Failures are `LLMError` (the caller
decides whether to fall back to the offline drafter). Whatever the model writes is checked again by
`bot.guard` before it is queued: the model is never trusted to have followed the rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import pydantic
from openai.types.chat import ChatCompletionMessageParam

from bot.drafting import TEXT_KINDS, AnswerRequest, Draft, DraftContext, mentions_own_link
from bot.drafting.completions import Completions, Reply
from bot.drafting.offline import SHARE_LIMIT, OfflineDrafter
from bot.drafting.prompts import PromptBook
from bot.errors import LLMError
from bot.text import (
    MAX_WEIGHTED_LENGTH,
    answer_number,
    count_hashtag,
    ensure_answer_number,
    ensure_hashtag_once,
    shorten_to_fit,
    weighted_length,
)

if TYPE_CHECKING:
    from bot.clock import Clock

T = TypeVar("T", bound=pydantic.BaseModel)


class AnswerOut(pydantic.BaseModel):
    """What the model must return for an answer (sent to it as a strict JSON schema)."""

    text: str
    talking_point: str | None
    rationale: str
    is_self_promotional: bool
    confidence: float


class ComposeOut(pydantic.BaseModel):
    """What the model must return for a reply or a share."""

    text: str
    kind: Literal["reply", "share"]
    rationale: str
    is_self_promotional: bool
    confidence: float
    material: str | None


@dataclass
class _Conversation:
    """The messages so far and the usage summed over every completion received."""

    messages: list[ChatCompletionMessageParam]
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    model: str | None = None
    notes: list[str] = field(default_factory=list)


class LLMDrafter:
    """Drafts with a language model. Build once, reuse for every draft; `close()` when done."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None,
        model: str,
        clock: Clock,
        timeout: float = 20.0,
        prompts_dir: Path | None = None,
        limit: int = MAX_WEIGHTED_LENGTH,
    ) -> None:
        self.model = model
        self.limit = limit
        self._prompts = PromptBook(prompts_dir)
        self._api = Completions(api_key=api_key, base_url=base_url, model=model, clock=clock, timeout=timeout)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._api.close()

    def __enter__(self) -> LLMDrafter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- answers ------------------------------------------------------------------------------------------

    def answer(self, req: AnswerRequest) -> Draft:
        """Draft an answer; raises LLMError when the model refuses, answers nonsense or cannot be reached."""
        talk = _Conversation(
            messages=[
                {"role": "system", "content": self._prompts.system(req, limit=self.limit)},
                {"role": "user", "content": self._prompts.question(req, limit=self.limit)},
            ]
        )
        reply = self._ask(talk, AnswerOut)
        text = self._answer_rules(reply.parsed.text, req, talk)
        if weighted_length(text) > self.limit:
            length = weighted_length(text)
            self._ask_shorter(talk, reply, self._prompts.too_long(req, draft_length=length, limit=self.limit))
            talk.notes[:] = [f"first draft was {length}/{self.limit} characters, asked for a shorter one"]
            reply = self._ask(talk, AnswerOut)
            text = self._answer_rules(reply.parsed.text, req, talk)
        if weighted_length(text) > self.limit:
            text = shorten_to_fit(text, req.hashtag, self.limit)
            talk.notes.append("shortened to fit")
        out = reply.parsed
        return self._draft(
            text,
            talking_point=_known(out.talking_point, req.persona.talking_points),
            out_rationale=out.rationale,
            promotional=out.is_self_promotional or mentions_own_link(text, req.persona.own_links),
            confidence=out.confidence,
            talk=talk,
            kind="answer",
        )

    def _answer_rules(self, text: str, req: AnswerRequest, talk: _Conversation) -> str:
        if not text.strip():
            raise LLMError("the language model returned an empty answer")
        if answer_number(text) != req.question_number:
            talk.notes.append(f"A-number set to A{req.question_number}")
        if count_hashtag(text, req.hashtag) != 1:
            talk.notes.append("hashtag fixed")
        return ensure_hashtag_once(ensure_answer_number(text, req.question_number), req.hashtag)

    # --- replies and shares ------------------------------------------------------------------------------

    def compose(self, ctx: DraftContext) -> Draft:
        """Draft a reply or a share; a repost, like or follow needs no model (and no text)."""
        if ctx.kind not in TEXT_KINDS:
            return OfflineDrafter().compose(ctx)
        limit = SHARE_LIMIT if ctx.kind == "share" else self.limit
        talk = _Conversation(
            messages=[
                {"role": "system", "content": self._prompts.engage_system(ctx, limit=limit)},
                {"role": "user", "content": self._prompts.compose(ctx, limit=limit)},
            ]
        )
        reply = self._ask(talk, ComposeOut)
        text = self._compose_rules(reply.parsed, ctx, talk)
        if weighted_length(text) > limit:
            length = weighted_length(text)
            self._ask_shorter(
                talk, reply, self._prompts.compose_too_long(ctx, draft_length=length, limit=limit)
            )
            talk.notes[:] = [f"first draft was {length}/{limit} characters, asked for a shorter one"]
            reply = self._ask(talk, ComposeOut)
            text = self._compose_rules(reply.parsed, ctx, talk)
        if weighted_length(text) > limit:
            text = shorten_to_fit(text, ctx.hashtag, limit)
            talk.notes.append("shortened to fit")
        out = reply.parsed
        return self._draft(
            text,
            talking_point=_known(out.material, tuple(item.text for item in ctx.material)),
            out_rationale=out.rationale,
            promotional=out.is_self_promotional or mentions_own_link(text, ctx.links),
            confidence=out.confidence,
            talk=talk,
            kind=ctx.kind,
        )

    def _compose_rules(self, out: ComposeOut, ctx: DraftContext, talk: _Conversation) -> str:
        if not out.text.strip():
            raise LLMError(f"the language model returned an empty {ctx.kind}")
        if out.kind != ctx.kind:
            talk.notes.append(f"asked for a {ctx.kind}, the model said {out.kind}")
        if count_hashtag(out.text, ctx.hashtag) != 1:
            talk.notes.append("hashtag fixed")
        return ensure_hashtag_once(out.text, ctx.hashtag)

    # --- shared ------------------------------------------------------------------------------------------

    def _ask(self, talk: _Conversation, schema: type[T]) -> Reply[T]:
        reply = self._api.parse(talk.messages, schema)
        talk.calls += 1
        talk.model = reply.model or talk.model
        talk.input_tokens += reply.input_tokens
        talk.output_tokens += reply.output_tokens
        return reply

    @staticmethod
    def _ask_shorter(talk: _Conversation, reply: Reply[Any], prompt: str) -> None:
        talk.messages += [{"role": "assistant", "content": reply.raw}, {"role": "user", "content": prompt}]

    def _draft(
        self,
        text: str,
        *,
        talking_point: str | None,
        out_rationale: str,
        promotional: bool,
        confidence: float,
        talk: _Conversation,
        kind: str,
    ) -> Draft:
        rationale = self._api.redact(out_rationale.strip())
        if talk.notes:
            rationale = f"{rationale} (chatcaddy: {'; '.join(talk.notes)})".strip()
        return Draft(
            text=text,
            talking_point=talking_point,
            rationale=rationale,
            is_self_promotional=promotional,
            confidence=0.0 if math.isnan(confidence) else min(1.0, max(0.0, confidence)),
            drafter="llm",
            model=talk.model or self.model,
            input_tokens=talk.input_tokens,
            output_tokens=talk.output_tokens,
            llm_calls=talk.calls,
            kind=kind,
        )


def _known(value: str | None, choices: tuple[str, ...]) -> str | None:
    """The choice the model named (compared ignoring case and spacing), else None."""
    if not value:
        return None
    wanted = " ".join(value.split()).casefold()
    return next((c for c in choices if " ".join(c.split()).casefold() == wanted), None)
