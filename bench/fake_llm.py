"""An OpenAI-compatible `/v1/chat/completions` on 127.0.0.1 that answers every request after a fixed
latency, with a valid structured answer and a token count, for the benchmarks.

The answer follows the JSON schema the request names (`AnswerOut` for an answer, anything else is taken
for a reply or share). Input tokens are estimated as OpenAI's rule of thumb has it, a token per 4 characters
of every message and of the response schema (which the API counts as input too), plus 4 per message.
"""

from __future__ import annotations

import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# A model says something new each time: answers are put together from parts of co-prime counts, so two in
# one chat rarely share a run of three words (the guard refuses a near-repeat, as it would a model's).
_OPENERS = (
    "Honestly,",
    "For me,",
    "What works for me:",
    "Short answer:",
    "Lately",
    "My rule:",
    "I've learned that",
    "Simple:",
    "Here's mine:",
    "Underrated tip:",
    "From experience,",
    "Small thing, but",
    "These days",
)
_WHATS = (
    "a weekly list of target companies",
    "one page of notes after every interview",
    "a spreadsheet with follow-up dates",
    "asking for referrals only after real conversations",
    "learning Kubernetes in public",
    "short project write-ups",
    "a Monday check of career pages",
    "practising answers out loud",
    "a friend who reviews my CV",
    "blocking mornings for outreach",
    "mirroring the job post's words",
    "tracking every reply I get",
    "a clear story about my move to platform work",
    "thank-you notes within a day",
    "one coffee chat a week",
    "saying no to roles that don't fit",
    "writing down what I learned from each rejection",
)
_HOWS = (
    "keeps me honest",
    "saves me hours",
    "turns silence into signal",
    "makes the next step obvious",
    "gets better replies than cold messages",
    "helps people help me",
    "stops things slipping",
    "keeps the search calm",
    "shows what I can do",
    "makes interviews feel like conversations",
    "builds trust early",
    "compounds over weeks",
    "gives me something to point at",
    "cuts the guesswork",
    "keeps my energy up",
    "opens doors I didn't expect",
    "makes follow-ups easy",
    "keeps me focused",
    "brings in warm leads",
)
_ENDINGS = (
    "worth a try",
    "ten minutes a day",
    "no magic, just habit",
    "start small",
    "it adds up",
    "try it this week",
    "consistency wins",
    "that's the whole trick",
    "low effort, high return",
    "it really works",
    "keep it simple",
)


def saying(n: int) -> str:
    """The n-th thing the fake model says."""
    parts = (_OPENERS, _WHATS, _HOWS, _ENDINGS)
    opener, what, how, ending = (items[n % len(items)] for items in parts)
    return f"{opener} {what} {how}; {ending}."


def estimate_tokens(request: dict[str, Any]) -> int:
    """Input tokens of a chat completion request: ~4 characters a token, plus 4 per message."""
    messages = request.get("messages") or []
    text = sum(len(str(m.get("content") or "")) for m in messages)
    schema = len(json.dumps(request.get("response_format") or {}))
    return math.ceil((text + schema) / 4) + 4 * len(messages)


class FakeLLM:
    """Serve completions after `latency` seconds (real time) on a free port; count calls and tokens."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.calls = 0
        self.input_tokens: list[int] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        """The completion for `request`, after the latency."""
        tokens = estimate_tokens(request)
        with self._lock:
            self.calls += 1
            self.input_tokens.append(tokens)
            n = self.calls
        time.sleep(self.latency)  # the model thinking: real time, inside a benchmark only
        schema = (request.get("response_format") or {}).get("json_schema") or {}
        content: dict[str, Any] = {
            "text": saying(n),
            "rationale": "It draws on one of the talking points.",
            "is_self_promotional": False,
            "confidence": 0.7,
        }
        if schema.get("name") == "AnswerOut":
            content["talking_point"] = None
        else:
            content |= {"kind": "reply", "material": None}
        return {
            "id": f"chatcmpl-bench-{n}",
            "object": "chat.completion",
            "created": 1_790_000_000,
            "model": str(request.get("model") or "bench-model"),
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "logprobs": None,
                    "message": {"role": "assistant", "content": json.dumps(content), "refusal": None},
                }
            ],
            "usage": {"prompt_tokens": tokens, "completion_tokens": 40, "total_tokens": tokens + 40},
        }


def _handler(llm: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            payload = json.dumps(llm.complete(request)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    return Handler
