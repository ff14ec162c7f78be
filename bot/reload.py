"""Config changes without a restart: the worker checks `schedules.yaml` every minute (and at once on
SIGHUP). A valid edit takes effect; an invalid one is reported with its lines and the last good config
keeps running."""

from __future__ import annotations

import hashlib
from pathlib import Path

import structlog

from bot.config import Config, load_config
from bot.errors import ConfigError

log = structlog.get_logger("bot.reload")


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class ConfigWatcher:
    """Notices when the config file's content changes; hands back the new config when it is valid."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._seen = _digest(self.path)
        self.problems: list[str] = []  # what is wrong with the file on disk now (empty: nothing)

    def changed(self) -> Config | None:
        """The new config when the file changed since the last look and is valid; None otherwise."""
        seen = _digest(self.path)
        if seen == self._seen:
            return None
        self._seen = seen
        try:
            config = load_config(self.path)
        except ConfigError as exc:
            self.problems = [str(issue) for issue in exc.issues]
            log.error(
                "config.invalid", file=str(self.path), problems=self.problems, kept="the last good config"
            )
            return None
        self.problems = []
        log.info("config.reloaded", file=str(self.path), chats=[chat.slug for chat in config.chats])
        return config
