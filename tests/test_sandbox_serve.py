"""`bot.sandbox.serve`, the command behind `chatcaddy sandbox serve`, run as a real process."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import requests

from tests.fixtures.sandbox import TRANSCRIPTS

SERVE = """
import sys
from datetime import UTC, datetime, timedelta
from bot.sandbox import DEMO_TRANSCRIPT, serve
path = sys.argv[1] if len(sys.argv) > 1 else str(DEMO_TRANSCRIPT)
sys.exit(serve(path, speed=1.0, port=0, tier="self-serve", start=datetime.now(UTC) - timedelta(hours=2)))
"""


def test_serve_plays_the_demo_until_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        second = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert url, first
        assert "access token 1000-sandbox" in second
        auth = {"Authorization": "Bearer demo"}
        seen = []
        params: dict[str, str | int] = {"query": "#JobHuntChat", "max_results": 100}
        while True:
            body = requests.get(
                url.group(0) + "/2/tweets/search/recent", params=params, headers=auth, timeout=5
            ).json()
            seen += body["data"]
            if "next_token" not in body["meta"]:
                break
            params["next_token"] = body["meta"]["next_token"]
        assert len(seen) >= 120
        assert any(t["text"].startswith("Question 5") for t in seen)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "Sandbox stopped." in out


def test_serve_reports_a_bad_transcript_without_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SERVE, str(TRANSCRIPTS / "bad_refs.yaml")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "bad_refs.yaml:7:18: posts[0].by: unknown user 'nobody_here'" in result.stderr
    assert "Traceback" not in result.stderr
