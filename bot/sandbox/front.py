"""The HTTP front of the sandbox: stdlib `ThreadingHTTPServer` on 127.0.0.1, JSON in and out.

It knows nothing of X: it hands each request to an `answer` function and writes back the `Outcome`, or
closes the connection without a word for `DROP` (a dropped connection, as a flaky network would).
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """An HTTP answer: status, JSON body and extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


DROP = Outcome(0, None)  # close the connection without answering

Answer = Callable[[str, str, dict[str, str], bytes], Outcome]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, answer: Answer) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.answer = answer
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout, a test moving on) is normal here; anything else is reported."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as requests' sessions expect
    timeout = 30  # an idle keep-alive connection is closed after this many seconds
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm meets the client's
    # delayed ACK and every response waits ~40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            outcome = self.server.answer(self.command, self.path, headers, body)
        except Exception as error:  # a sandbox bug must show as a 500, not kill the connection silently
            outcome = Outcome(500, {"title": "Sandbox Error", "detail": repr(error), "status": 500})
        if outcome is DROP:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = json.dumps(outcome.body).encode()
        self.send_response(outcome.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in outcome.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the sandbox keeps its own request log (`/__sandbox/requests`)."""


class HttpFront:
    """Serves `answer` on 127.0.0.1:`port` (0 = a free port) in a daemon thread."""

    def __init__(self, port: int, answer: Answer) -> None:
        self._server = _Server(port, answer)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="sandbox-x", daemon=True
        )
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def pause(self, seconds: float) -> None:
        """Wait (injected latency) in real time, cut short when the server stops."""
        self._stopping.wait(seconds)

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._server.connections_lock:
            connections = list(self._server.open_connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)
