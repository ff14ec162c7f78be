"""A sandbox X server that plays a chat transcript, for tests and demos (`chatcaddy sandbox serve`)."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from types import FrameType

from bot.clock import SystemClock
from bot.errors import ConfigError

DEMO_TRANSCRIPT = Path(__file__).parent / "transcripts" / "demo.yaml"


def serve(
    transcript_path: str,
    *,
    speed: float = 1.0,
    port: int = 0,
    tier: str = "self-serve",
    start: datetime | None = None,
) -> int:
    """Serve the transcript until Ctrl-C or SIGTERM, printing the URL and the access token; the exit code."""
    from bot.sandbox.server import SandboxServer
    from bot.sandbox.transcript import load_transcript

    try:
        transcript = load_transcript(transcript_path)
    except ConfigError as error:
        print(f"The transcript has problems:\n{error}", file=sys.stderr)
        return 2
    clock = SystemClock()
    server = SandboxServer(
        transcript,
        clock=clock,
        start=start or clock.now(),
        speed=speed,
        tier=tier,
        port=port,
    )
    try:
        server.start()
    except OSError as error:
        print(f"Cannot listen on 127.0.0.1:{port}: {error.strerror}", file=sys.stderr)
        return 1
    stopped = threading.Event()
    _stop_on_signals(stopped)
    account = server.account
    print(
        f"Sandbox X server at {server.url}  ({tier}, {len(transcript.posts)} posts of {transcript.hashtag}, "
        f"speed x{speed:g})"
    )
    print(
        f"Account @{account.username} (id {account.id}): access token {server.access_token} "
        "(any consumer key/secret and token secret)"
    )
    print("Look inside at /__sandbox/posts, /__sandbox/usage, /__sandbox/requests. Ctrl-C stops.", flush=True)
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("Sandbox stopped.")
    return 0


def _stop_on_signals(stopped: threading.Event) -> None:
    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopped.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
