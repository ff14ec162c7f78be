"""The language model's faults through the worker: the host's question still gets its answer, drafted offline
and marked so, the poll comes back promptly with a bounded number of calls to the model, the next question
after the model recovers gets a model's draft again, and the API key never reaches the logs.

The real worker reads the sandbox X server over HTTP; its drafter is the real openai client pointed at a
local OpenAI-compatible fake that misbehaves as each case says. Time is the fake clock's (a wait the model
asks for is taken on it), except in the timeout case, where the fake really is slower than the client's
timeout (0.1 s), so that case stays well under 2 s.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import structlog
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Request, Response

from bot.clock import FakeClock
from bot.config import Config
from bot.drafting import AnswerRequest, Persona
from bot.drafting.completions import MAX_ATTEMPTS
from bot.drafting.llm import LLMDrafter
from bot.errors import LLMError
from bot.log import configure_logging
from bot.policy import UsageRecorder
from bot.runner import sandbox_gateway
from bot.sandbox.server import SandboxServer
from bot.sandbox.transcript import load_transcript
from bot.store.db import Store
from bot.store.models import Draft, DraftKind
from bot.worker import Worker
from tests.fixtures.chat import CHAT_START, ROOT

API_KEY = "sk-test-fault-9f8e7d6c5b4a3210"
COMPLETIONS = "/v1/chat/completions"
TIMEOUT = 0.1  # seconds: the client's timeout in these tests
SLOW = 0.3  # seconds: how long the fake takes when it is "timing out"
GOOD_ANSWER = "A2 I keep in touch with two former colleagues a month, with no ask attached. #JobHuntChat"


def _error(status: int, message: str, code: str | None = None, **headers: str) -> Response:
    body = {"error": {"message": message, "type": "error", "param": None, "code": code}}
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


def _completion(*, content: str | None = None, refusal: str | None = None) -> Response:
    body = {
        "id": "chatcmpl-fault",
        "object": "chat.completion",
        "created": 1_790_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "logprobs": None,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
            }
        ],
        "usage": {"prompt_tokens": 400, "completion_tokens": 50, "total_tokens": 450},
    }
    return Response(json.dumps(body), content_type="application/json")


def _good(schema: str) -> Response:
    if schema == "AnswerOut":
        out: dict[str, Any] = {"text": GOOD_ANSWER, "talking_point": None}
    else:
        out = {"text": "That is a useful habit, thanks for sharing it #JobHuntChat", "kind": "reply"}
        out["material"] = None
    out |= {"rationale": "fits the question", "is_self_promotional": False, "confidence": 0.7}
    return _completion(content=json.dumps(out))


def _slow(_schema: str) -> Response:
    time.sleep(SLOW)  # the client gave up at TIMEOUT
    return _good("AnswerOut")


@dataclass(frozen=True)
class Fault:
    respond: Callable[[str], Response]
    words: str  # what the worker's log says about it
    pauses: bool  # the model is down or refuses us: skipped for a while, not asked for every draft
    waits: tuple[float, ...] = ()  # the waits between attempts, on the fake clock

    @property
    def calls(self) -> int:
        """Calls to the model while it is down, before it is skipped: every attempt, or the one refused."""
        return MAX_ATTEMPTS if self.waits else 1


FAULTS = {
    "timeout": Fault(_slow, f"no answer within {TIMEOUT:g} s", pauses=True, waits=(1.0, 2.0)),
    "429 retry-after": Fault(
        lambda _: _error(
            429, "Rate limit reached for requests", "rate_limit_exceeded", **{"retry-after": "7"}
        ),
        "HTTP 429",
        pauses=True,
        waits=(7.0, 7.0),
    ),
    "500 burst": Fault(
        lambda _: _error(500, "The server had an error while processing your request"),
        "HTTP 500",
        pauses=True,
        waits=(1.0, 2.0),
    ),
    "unparseable JSON": Fault(
        lambda _: _completion(content='{"text": "A1 half a'),
        "did not return the JSON asked for",
        pauses=False,
    ),
    "refusal": Fault(
        lambda _: _completion(refusal="I'm sorry, I can't help with that."), "refused to answer", pauses=False
    ),
    "404 model_not_found": Fault(
        lambda _: _error(
            404,
            "The model `gpt-4o-mini` does not exist or you do not have access to it.",
            "model_not_found",
        ),
        "model 'gpt-4o-mini' or the base URL was not found (HTTP 404)",
        pauses=True,
    ),
    "401 bad key": Fault(
        lambda _: _error(401, f"Incorrect API key provided: {API_KEY}.", "invalid_api_key"),
        "the API key was refused (HTTP 401)",
        pauses=True,
    ),
}


@dataclass
class FakeLLM:
    """The OpenAI-compatible fake: answers well, or as `fault` says; notes each call's schema."""

    fault: Fault | None = None
    calls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Request) -> Response:
        schema = json.loads(request.get_data())["response_format"]["json_schema"]["name"]
        with self.lock:
            self.calls.append(schema)
            fault = self.fault
        return fault.respond(schema) if fault is not None else _good(schema)


@pytest.fixture(scope="module")
def llm_server() -> Iterator[HTTPServer]:
    """One server for the module (stopping one takes half a second); threaded, so a slow answer blocks no
    other."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_llm(llm_server: HTTPServer) -> Iterator[tuple[HTTPServer, FakeLLM]]:
    fake = FakeLLM()
    llm_server.expect_request(COMPLETIONS, method="POST").respond_with_handler(fake)
    yield llm_server, fake
    llm_server.clear()


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """The worker's log lines as a deployed worker writes them (JSON), but with no secret configured to
    mask: the key must stay out of them by itself."""
    stream = io.StringIO()
    configure_logging(stream=stream, json=True)
    yield stream
    structlog.contextvars.clear_contextvars()


@pytest.fixture
def chat(clock: FakeClock) -> Iterator[SandboxServer]:
    transcript = load_transcript(ROOT / "tests" / "transcripts" / "basic.yaml")
    with SandboxServer(transcript, clock=clock, start=CHAT_START) as server:
        yield server


@pytest.fixture
def worker(
    config: Config,
    sqlite_store: Store,
    chat: SandboxServer,
    clock: FakeClock,
    fake_llm: tuple[HTTPServer, FakeLLM],
    logs: io.StringIO,
) -> Iterator[Worker]:
    server, _ = fake_llm
    gateway = sandbox_gateway(chat, clock, on_request=UsageRecorder(sqlite_store))
    with LLMDrafter(
        api_key=API_KEY, base_url=server.url_for("/v1"), model="gpt-4o-mini", clock=clock, timeout=TIMEOUT
    ) as drafter:
        made = Worker(config=config, store=sqlite_store, gateway=gateway, drafter=drafter, clock=clock)
        made.start()
        yield made
        made.close()


def _answers(store: Store) -> dict[int | None, Draft]:
    with store.session() as session:
        return {
            d.question_number: d for d in session.scalars(select(Draft).where(Draft.kind == DraftKind.ANSWER))
        }


def _events(logs: io.StringIO, name: str) -> list[dict[str, Any]]:
    return [e for e in map(json.loads, logs.getvalue().splitlines()) if e["event"] == name]


def _tick(worker: Worker, fake: FakeLLM, clock: FakeClock) -> tuple[float, list[str], list[float]]:
    """One poll: how long it took (real seconds), the model calls it made and the waits it took."""
    calls, slept = len(fake.calls), len(clock.slept)
    began = time.monotonic()
    worker.tick()
    return time.monotonic() - began, fake.calls[calls:], clock.slept[slept:]


@pytest.mark.parametrize("name", list(FAULTS))
def test_a_failing_model_still_answers_the_host_offline_and_recovers(
    name: str,
    worker: Worker,
    sqlite_store: Store,
    clock: FakeClock,
    fake_llm: tuple[HTTPServer, FakeLLM],
    logs: io.StringIO,
) -> None:
    fault = FAULTS[name]
    _, fake = fake_llm
    fake.fault = fault
    began = time.monotonic()

    clock.advance(timedelta(minutes=6))  # Q1 was asked at 5 min
    took, calls, waits = _tick(worker, fake, clock)
    q1 = _answers(sqlite_store)[1]
    assert (q1.drafter, q1.llm_model, q1.state) == ("offline", None, "pending")
    assert q1.text.startswith("A1 ") and q1.text.endswith("#JobHuntChat")
    fallbacks = _events(logs, "llm.fallback")
    assert fallbacks and all(fault.words in e["reason"] for e in fallbacks), fallbacks
    assert took < 1.5
    assert waits == list(fault.waits)
    if fault.pauses:  # the first draft's calls, then the poll's other drafts skip the model
        assert calls[0] == "AnswerOut" and len(calls) == fault.calls
        assert len(fallbacks) > 1 and len(_events(logs, "llm_paused")) == 1
    else:  # one call per draft, no retry: the next draft may fare better
        assert len(calls) == len(fallbacks)

    if fault.pauses:  # still failing half a minute later: not asked at all
        clock.advance(timedelta(seconds=30))
        took, calls, _ = _tick(worker, fake, clock)
        assert calls == [] and took < 1.0

    fake.fault = None  # the model is back; Q2 comes at 15 min, after any pause has run out
    clock.set(CHAT_START + timedelta(minutes=17))
    _tick(worker, fake, clock)
    answers = _answers(sqlite_store)
    assert (answers[2].drafter, answers[2].text) == ("llm", GOOD_ANSWER)
    assert answers[2].llm_model == "gpt-4o-mini-2024-07-18"
    assert answers[1].drafter == "offline"  # what was drafted offline stays so, for the reviewer to see

    assert API_KEY not in logs.getvalue()
    if name == "timeout":  # the one case that really waits: the client's timeouts
        assert time.monotonic() - began < 2.0


# --- the pause, at the drafter ----------------------------------------------------------------------------

REQUEST = AnswerRequest(
    persona=Persona("ada_builds", "Ada", "Backend engineer.", "plain", talking_points=("I keep a list",)),
    hashtag="#JobHuntChat",
    chat_title="Job Hunt Chat",
    question_number=2,
    question_text="Q2 What's your best networking tip? #JobHuntChat",
    host="JobHuntChat",
)


@pytest.fixture
def drafter(fake_llm: tuple[HTTPServer, FakeLLM], clock: FakeClock) -> Iterator[LLMDrafter]:
    server, _ = fake_llm
    url = server.url_for("/v1")
    with LLMDrafter(api_key=API_KEY, base_url=url, model="gpt-4o-mini", clock=clock, timeout=TIMEOUT) as d:
        yield d


def test_a_long_retry_after_skips_the_model_as_long_as_it_says(
    drafter: LLMDrafter, fake_llm: tuple[HTTPServer, FakeLLM], clock: FakeClock
) -> None:
    _, fake = fake_llm
    fake.fault = Fault(lambda _: _error(429, "Slow down", **{"retry-after": "300"}), "HTTP 429", pauses=True)
    with pytest.raises(LLMError, match="HTTP 429"):
        drafter.answer(REQUEST)
    clock.advance(299)
    with pytest.raises(LLMError, match=r"HTTP 429.*not asked again until 02:05:00 UTC"):
        drafter.answer(REQUEST)
    assert len(fake.calls) == 1 and clock.slept == []  # not worth waiting for mid-chat, and not asked again

    fake.fault = None
    clock.advance(1)
    assert drafter.answer(REQUEST).text == GOOD_ANSWER


def test_a_bad_request_for_one_draft_does_not_skip_the_model_for_the_next(
    drafter: LLMDrafter, fake_llm: tuple[HTTPServer, FakeLLM]
) -> None:
    _, fake = fake_llm
    too_long = "This model's maximum context length is 128000 tokens."
    fake.fault = Fault(lambda _: _error(400, too_long, "context_length_exceeded"), "HTTP 400", pauses=False)
    with pytest.raises(LLMError, match="HTTP 400"):
        drafter.answer(REQUEST)
    fake.fault = None
    assert drafter.answer(REQUEST).text == GOOD_ANSWER
    assert len(fake.calls) == 2
