"""The LLM drafter: a language model behind any OpenAI-compatible API writes the answer.

One request normally suffices: structured output (`chat.completions.parse` with a pydantic model) gives the
text and its metadata. Our rules are then applied to the text (A-number, hashtag once). A draft still over the
limit is sent back once with the reason; a second miss is cut to fit. Failures are retried a bounded number
of times on the injected clock, then reported as `LLMError` (the caller decides whether to fall back to the
offline drafter). The API key never appears in a log line or an error message.
"""

from __future__ import annotations

import email.utils
import math
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import openai
import pydantic
import structlog
import tenacity
from openai.types.chat import ChatCompletionMessageParam, ParsedChatCompletion

from bot.drafting import AnswerRequest, Draft, mentions_own_link
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

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 3
# A server asking us to wait longer than this is not worth waiting for mid-chat: the question moves on.
MAX_RETRY_AFTER = 60.0
_RETRYABLE = (
    openai.APITimeoutError,
    openai.APIConnectionError,
    openai.RateLimitError,
    openai.InternalServerError,
)


class AnswerOut(pydantic.BaseModel):
    """What the model must return (sent to it as a strict JSON schema)."""

    text: str
    talking_point: str | None
    rationale: str
    is_self_promotional: bool
    confidence: float


@dataclass
class _Conversation:
    """The messages so far and the usage summed over every completion received."""

    messages: list[ChatCompletionMessageParam]
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    model: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Reply:
    answer: AnswerOut
    raw: str


class LLMDrafter:
    """Drafts with a language model. Build once, reuse for every question; `close()` when done."""

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
        self._clock = clock
        self._timeout = timeout
        self._secret = api_key
        self._prompts = PromptBook(prompts_dir)
        # SDK retries off: ours (below) run on the injected clock and must not multiply with the SDK's.
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> LLMDrafter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def answer(self, req: AnswerRequest) -> Draft:
        """Draft an answer; raises LLMError when the model refuses, answers nonsense or cannot be reached."""
        talk = _Conversation(
            messages=[
                {"role": "system", "content": self._prompts.system(req, limit=self.limit)},
                {"role": "user", "content": self._prompts.question(req, limit=self.limit)},
            ]
        )
        reply = self._ask(talk)
        text = self._apply_rules(reply.answer.text, req, talk)
        if weighted_length(text) > self.limit:
            length = weighted_length(text)
            retry_prompt = self._prompts.too_long(req, draft_length=length, limit=self.limit)
            talk.messages += [
                {"role": "assistant", "content": reply.raw},
                {"role": "user", "content": retry_prompt},
            ]
            talk.notes[:] = [f"first draft was {length}/{self.limit} characters, asked for a shorter one"]
            reply = self._ask(talk)
            text = self._apply_rules(reply.answer.text, req, talk)
        if weighted_length(text) > self.limit:
            text = shorten_to_fit(text, req.hashtag, self.limit)
            talk.notes.append("shortened to fit")
        return self._draft(text, reply.answer, req, talk)

    def _apply_rules(self, text: str, req: AnswerRequest, talk: _Conversation) -> str:
        if not text.strip():
            raise LLMError("the language model returned an empty answer")
        if answer_number(text) != req.question_number:
            talk.notes.append(f"A-number set to A{req.question_number}")
        if count_hashtag(text, req.hashtag) != 1:
            talk.notes.append("hashtag fixed")
        return ensure_hashtag_once(ensure_answer_number(text, req.question_number), req.hashtag)

    def _draft(self, text: str, out: AnswerOut, req: AnswerRequest, talk: _Conversation) -> Draft:
        rationale = out.rationale.strip()
        if talk.notes:
            rationale = f"{rationale} (chatcaddy: {'; '.join(talk.notes)})".strip()
        confidence = 0.0 if math.isnan(out.confidence) else min(1.0, max(0.0, out.confidence))
        return Draft(
            text=text,
            talking_point=_known_talking_point(out.talking_point, req.persona.talking_points),
            rationale=rationale,
            is_self_promotional=out.is_self_promotional or mentions_own_link(text, req.persona.own_links),
            confidence=confidence,
            drafter="llm",
            model=talk.model or self.model,
            input_tokens=talk.input_tokens,
            output_tokens=talk.output_tokens,
            llm_calls=talk.calls,
        )

    def _ask(self, talk: _Conversation) -> _Reply:
        """One completion (with bounded retries), its usage added to the conversation."""
        completion = self._complete(talk.messages)
        talk.calls += 1
        talk.model = completion.model or talk.model
        if completion.usage is not None:
            talk.input_tokens += completion.usage.prompt_tokens
            talk.output_tokens += completion.usage.completion_tokens
        if not completion.choices:
            raise LLMError("the language model returned no answer")
        message = completion.choices[0].message
        if message.refusal:
            raise LLMError(f"the language model refused to answer: {self._redact(message.refusal)}")
        if message.parsed is None:
            raise LLMError("the language model returned no answer")
        return _Reply(answer=message.parsed, raw=message.content or "")

    def _complete(self, messages: list[ChatCompletionMessageParam]) -> ParsedChatCompletion[AnswerOut]:
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(MAX_ATTEMPTS),
            retry=tenacity.retry_if_exception(self._is_retryable),
            wait=self._wait,
            sleep=self._clock.sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return retrying(
                self._client.chat.completions.parse,
                model=self.model,
                messages=messages,
                response_format=AnswerOut,
            )
        except openai.LengthFinishReasonError:
            raise LLMError("the language model's answer was cut off before it was complete") from None
        except openai.ContentFilterFinishReasonError:
            raise LLMError("the language model's content filter stopped the answer") from None
        except pydantic.ValidationError as exc:
            raise LLMError(
                f"the language model did not return the JSON asked for ({_first_error(exc)})"
            ) from None
        except openai.OpenAIError as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            raise LLMError(
                f"the language model failed after {attempts} attempt(s): {self._describe(exc)}"
            ) from None

    def _is_retryable(self, exc: BaseException) -> bool:
        if not isinstance(exc, _RETRYABLE):
            return False
        if isinstance(exc, openai.RateLimitError):
            if exc.code == "insufficient_quota":  # out of credit: waiting will not help
                return False
            after = _retry_after(exc.response.headers, self._clock)
            return after is None or after <= MAX_RETRY_AFTER
        return True

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """The server's `retry-after` when it gave one, else 1 s, then 2 s."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, openai.APIStatusError):
            after = _retry_after(exc.response.headers, self._clock)
            if after is not None:
                return after
        return float(2 ** (state.attempt_number - 1))

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        reason = self._describe(exc) if isinstance(exc, openai.OpenAIError) else repr(exc)
        log.warning("llm_retry", attempt=state.attempt_number, wait_seconds=wait, reason=reason)

    def _describe(self, exc: openai.OpenAIError) -> str:
        """What went wrong, for a person: no key, no request headers."""
        if isinstance(exc, openai.APITimeoutError):
            text = f"no answer within {self._timeout:g} s"
        elif isinstance(exc, openai.APIConnectionError):
            text = f"could not connect to {self._client.base_url.host}"
        elif isinstance(exc, openai.AuthenticationError):
            text = f"the API key was refused (HTTP 401): {exc.message}"
        elif isinstance(exc, openai.NotFoundError):
            text = f"model {self.model!r} or the base URL was not found (HTTP 404): {exc.message}"
        elif isinstance(exc, openai.APIStatusError):
            text = f"HTTP {exc.status_code}: {exc.message}"
        else:
            text = str(exc)
        return self._redact(text)

    def _redact(self, text: str) -> str:
        return text.replace(self._secret, "[redacted]") if self._secret else text


def _retry_after(headers: object, clock: Clock) -> float | None:
    """Seconds to wait per `retry-after-ms` / `retry-after` (seconds or an HTTP date), or None."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                continue
            if when.tzinfo is None:  # "-0000" parses naive; HTTP dates are UTC
                when = when.replace(tzinfo=UTC)
            seconds = (when - clock.now()).total_seconds()
        if math.isfinite(seconds):
            return max(0.0, seconds)
    return None


def _first_error(exc: pydantic.ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "reply"
    return f"{where}: {error['msg']}"


def _known_talking_point(value: str | None, talking_points: tuple[str, ...]) -> str | None:
    """The persona's talking point the model named (compared ignoring case and spacing), else None."""
    if not value:
        return None
    wanted = " ".join(value.split()).casefold()
    return next((p for p in talking_points if " ".join(p.split()).casefold() == wanted), None)
