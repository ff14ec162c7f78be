"""Logging, configured once: structlog for our code, the same renderer for the stdlib loggers of
apscheduler, openai and tweepy.

JSON lines when stderr is not a terminal (a hosted worker), readable console lines otherwise. A redaction
step masks every configured secret wherever it appears, tracebacks included, and tracebacks never carry
local variables (they could hold a token).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

MASK = "[redacted]"
# Loggers of libraries we call; tweepy prints request headers (with the bearer token) at DEBUG.
LIBRARY_LOGGERS = ("apscheduler", "openai", "tweepy", "httpx", "httpx2", "urllib3", "requests_oauthlib")


class Redactor:
    """A structlog processor that replaces every secret value found in any string of the event."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, _logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
        if not self.secrets:
            return event
        return {key: self._scrub(value) for key, value in event.items()}

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self.secrets:
                if secret in value:
                    value = value.replace(secret, MASK)
            return value
        if isinstance(value, MutableMapping):
            return {k: self._scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrub(v) for v in value]
        if isinstance(value, BaseException):
            return self._scrub(repr(value))
        return value


def _shared_processors(redactor: Redactor) -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        # Render the traceback to text (no locals) before redaction, so the redactor sees it.
        structlog.processors.format_exc_info,
        redactor,
    ]


def configure_logging(
    *,
    secrets: Iterable[str] = (),
    level: str = "INFO",
    stream: TextIO | None = None,
    json: bool | None = None,
) -> None:
    """Configure structlog and the stdlib root logger. Safe to call again (tests, reloads)."""
    stream = stream or sys.stderr
    as_json = json if json is not None else not stream.isatty()
    redactor = Redactor(secrets)
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    )
    shared = _shared_processors(redactor)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in LIBRARY_LOGGERS:
        # Never below INFO: their DEBUG output includes auth headers.
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLevelName(level.upper())))
    # The scheduler logs every run of every job at INFO; our jobs log what matters themselves.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
