"""Logs are for people and log collectors, never for secrets."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from bot.log import MASK, configure_logging, get_logger

SECRET = "tok-3f9a-very-secret"


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(secrets=[SECRET, "short-but-ok"], stream=stream, json=True, level="DEBUG")
    yield stream
    structlog.contextvars.clear_contextvars()
    configure_logging(stream=io.StringIO(), json=True)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_bound_context(logs: io.StringIO) -> None:
    structlog.contextvars.bind_contextvars(chat="jobhuntchat", run=7)
    get_logger("bot.worker").info("poll.done", posts=3)
    (line,) = _lines(logs)
    assert line["event"] == "poll.done"
    assert (line["chat"], line["run"], line["posts"], line["level"]) == ("jobhuntchat", 7, 3, "info")


def test_secret_is_masked_in_fields_nested_values_and_messages(logs: io.StringIO) -> None:
    get_logger("bot.x").warning(f"header Bearer {SECRET}", headers={"Authorization": f"OAuth {SECRET}"})
    text = logs.getvalue()
    assert SECRET not in text
    assert text.count(MASK) == 2


def test_secret_is_masked_inside_a_traceback_without_locals(logs: io.StringIO) -> None:
    def fail(token: str) -> None:
        raise RuntimeError(f"X said no to {token}")

    try:
        fail(SECRET)
    except RuntimeError:
        get_logger("bot.x").exception("post.failed")
    (line,) = _lines(logs)
    assert "RuntimeError: X said no to [redacted]" in str(line["exception"])
    assert SECRET not in logs.getvalue()
    assert "token =" not in logs.getvalue()  # no local variables rendered


def test_library_loggers_share_the_renderer_and_never_log_debug(logs: io.StringIO) -> None:
    logging.getLogger("tweepy.client").debug(f"Headers: {{'Authorization': 'Bearer {SECRET}'}}")
    logging.getLogger("apscheduler.scheduler").info("Added job")  # every job run: noise
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    logging.getLogger("openai").info(f"key {SECRET}")
    lines = _lines(logs)
    assert [line["logger"] for line in lines] == ["apscheduler.scheduler", "openai"]
    assert lines[1]["event"] == f"key {MASK}"


def test_console_format_on_a_terminal_is_plain_text() -> None:
    stream = io.StringIO()
    configure_logging(secrets=[SECRET], stream=stream, json=False)
    get_logger("bot").info("chat.joined", chat="jobhuntchat", token=SECRET)
    text = stream.getvalue()
    assert "chat.joined" in text and "chat=jobhuntchat" in text and SECRET not in text
    assert not text.lstrip().startswith("{")
