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

_SAYINGS = (
    "I keep a list of company career handles and check it every Monday",
    "a one-page write-up after each side project has opened more doors than my CV",
    "I ask for a referral only after a real conversation, never cold",
    "every application goes in a spreadsheet with the date of the next follow-up",
    "learning Kubernetes in public keeps me honest and gets me useful replies",
)
_DETAILS = (
    "it takes ten minutes",
    "small and steady wins",
    "it keeps me calm",
    "people remember it",
    "it compounds",
    "try it this week",
)


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
        saying = f"{_SAYINGS[n % len(_SAYINGS)]}; {_DETAILS[(n // len(_SAYINGS)) % len(_DETAILS)]}"
        content: dict[str, Any] = {
            "text": saying[0].upper() + saying[1:] + ".",
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
