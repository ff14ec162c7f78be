"""Structured completions from any OpenAI-compatible API, with bounded retries on the injected clock.

`Completions.parse(messages, schema)` sends one chat completion asking for JSON of `schema` (a pydantic
model, sent as a strict JSON schema) and returns the parsed reply with its usage. Timeouts, refused
connections, 429 and 5xx are retried up to `MAX_ATTEMPTS` times (waiting as the server says, within
`MAX_RETRY_AFTER`); everything else, and the last failure, is an `LLMError` that says what went wrong for a
person and never contains the API key.

A model that is down (retries used up) or refuses us outright (key, model, quota) is not asked again for a
while (`PAUSE`, `PAUSE_REFUSED`, or longer when its `retry-after` says so): the drafts of that while fail at
once with the same reason, so one poll's many drafts do not each wait through their own retries.
"""

from __future__ import annotations

import email.utils
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Generic, TypeVar

import openai
import pydantic
import structlog
import tenacity
from openai.types.chat import ChatCompletionMessageParam, ParsedChatCompletion

from bot.errors import LLMError

if TYPE_CHECKING:
    from bot.clock import Clock

log = structlog.get_logger("bot.drafting.llm")

MAX_ATTEMPTS = 3
# A server asking us to wait longer than this is not worth waiting for mid-chat: the question moves on.
MAX_RETRY_AFTER = 60.0
# After the model was down (retries used up), drafts skip it this long; after it refused us (key, model,
# quota: a person must act), this long.
PAUSE = timedelta(seconds=60)
PAUSE_REFUSED = timedelta(minutes=10)
_REFUSED = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)
_RETRYABLE = (
    openai.APITimeoutError,
    openai.APIConnectionError,
    openai.RateLimitError,
    openai.InternalServerError,
)
T = TypeVar("T", bound=pydantic.BaseModel)


@dataclass(frozen=True)
class Reply(Generic[T]):
    """One parsed completion: the object, the raw JSON (to send back in a follow-up) and the usage."""

    parsed: T
    raw: str
    model: str | None
    input_tokens: int
    output_tokens: int


class Completions:
    """The OpenAI client, used for structured completions only. `close()` when done."""

    def __init__(
        self, *, api_key: str, base_url: str | None, model: str, clock: Clock, timeout: float
    ) -> None:
        self.model = model
        self._clock = clock
        self._timeout = timeout
        self._secret = api_key
        self._paused_until: datetime | None = None
        self._paused_for = ""
        # SDK retries off: ours (below) run on the injected clock and must not multiply with the SDK's.
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def parse(self, messages: list[ChatCompletionMessageParam], schema: type[T]) -> Reply[T]:
        """One completion (with bounded retries) parsed as `schema`; `LLMError` on refusal or nonsense."""
        completion = self._complete(messages, schema)
        usage = completion.usage
        if not completion.choices:
            raise LLMError("the language model returned no answer")
        message = completion.choices[0].message
        if message.refusal:
            raise LLMError(f"the language model refused to answer: {self.redact(message.refusal)}")
        if message.parsed is None:
            raise LLMError("the language model returned no answer")
        return Reply(
            parsed=message.parsed,
            raw=message.content or "",
            model=completion.model or None,
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
        )

    def _complete(
        self, messages: list[ChatCompletionMessageParam], schema: type[T]
    ) -> ParsedChatCompletion[T]:
        paused_until = self._paused_until
        if paused_until is not None and self._clock.now() < paused_until:
            raise LLMError(f"{self._paused_for} (not asked again until {paused_until:%H:%M:%S} UTC)")
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
                response_format=schema,
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
            reason = f"the language model failed after {attempts} attempt(s): {self._describe(exc)}"
            self._pause(exc, reason)
            raise LLMError(reason) from None

    def _pause(self, exc: openai.OpenAIError, reason: str) -> None:
        """Skip the model for a while when it is down or refuses us; a bad request is about one draft only."""
        if isinstance(exc, _REFUSED) or _out_of_quota(exc):
            pause = PAUSE_REFUSED
        elif isinstance(exc, _RETRYABLE):
            after = (
                _retry_after(exc.response.headers, self._clock)
                if isinstance(exc, openai.APIStatusError)
                else None
            )
            pause = max(PAUSE, timedelta(seconds=after or 0.0))
        else:
            return
        self._paused_until = self._clock.now() + pause
        self._paused_for = reason
        log.warning("llm_paused", seconds=pause.total_seconds(), reason=reason)

    def _is_retryable(self, exc: BaseException) -> bool:
        if not isinstance(exc, _RETRYABLE):
            return False
        if isinstance(exc, openai.RateLimitError):
            if _out_of_quota(exc):  # out of credit: waiting will not help
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
        return self.redact(text)

    def redact(self, text: str) -> str:
        return text.replace(self._secret, "[redacted]") if self._secret else text


def _out_of_quota(exc: openai.OpenAIError) -> bool:
    return isinstance(exc, openai.RateLimitError) and exc.code == "insufficient_quota"


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
