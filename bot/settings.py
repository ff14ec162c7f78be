"""Secrets and deployment settings, read from the environment (and a `.env` file when there is one).

`SETTINGS` is the one table of every setting: its environment variable, default and meaning. The README's
settings table is checked against it by a test, so the docs cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError, ConfigIssue


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    meaning: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("X_API_KEY", "", "X app consumer key (OAuth 1.0a).", secret=True),
    Setting("X_API_SECRET", "", "X app consumer secret.", secret=True),
    Setting("X_ACCESS_TOKEN", "", "The account's access token (`<user id>-…`).", secret=True),
    Setting("X_ACCESS_TOKEN_SECRET", "", "The account's access token secret.", secret=True),
    Setting(
        "X_API_BASE", "https://api.x.com", "Where X API requests go; the sandbox sets its own local URL."
    ),
    Setting(
        "OPENAI_API_KEY", "", "Key for the LLM; without it the offline drafter writes drafts.", secret=True
    ),
    Setting("OPENAI_BASE_URL", "", "Any OpenAI-compatible server (empty: OpenAI's own)."),
    Setting("CHATCADDY_MODEL", "gpt-4o-mini", "The model that drafts."),
    Setting(
        "DATABASE_URL", "sqlite:///chatcaddy.db", "Where drafts and runs live; `postgresql://…` for Postgres."
    ),
    Setting("CHATCADDY_CONFIG", "./schedules.yaml", "The chats, the account and the policy."),
    Setting("DASHBOARD_PASSWORD", "", "Password for the web dashboard.", secret=True),
    Setting(
        "DASHBOARD_URL", "", "The dashboard's public address, for links in notifications (e.g. `https://…`)."
    ),
    Setting(
        "CHATCADDY_NOTIFY",
        "",
        "Apprise URLs (Slack, Discord, Telegram, `mailto://`…) told when drafts wait unseen.",
        secret=True,
    ),
    Setting("CHATCADDY_NOTIFY_AFTER", "60", "Seconds a draft waits unseen before a notification."),
    Setting("CHATCADDY_LOG_LEVEL", "INFO", "Log level: DEBUG, INFO, WARNING, ERROR."),
    Setting("CHATCADDY_MIN_GAP", "20", "Seconds at least between two posts the worker makes."),
)


class Settings(BaseSettings):
    """The environment, typed. Field names are the lower-cased variable names."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    x_api_key: SecretStr = SecretStr("")
    x_api_secret: SecretStr = SecretStr("")
    x_access_token: SecretStr = SecretStr("")
    x_access_token_secret: SecretStr = SecretStr("")
    x_api_base: str = "https://api.x.com"
    openai_api_key: SecretStr = SecretStr("")
    openai_base_url: str = ""
    chatcaddy_model: str = "gpt-4o-mini"
    database_url: str = "sqlite:///chatcaddy.db"
    chatcaddy_config: Path = Path("./schedules.yaml")
    dashboard_password: SecretStr = SecretStr("")
    dashboard_url: str = ""
    chatcaddy_notify: SecretStr = SecretStr("")
    chatcaddy_notify_after: str = "60"
    chatcaddy_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    chatcaddy_min_gap: int = Field(default=20, ge=0, le=3600)

    @field_validator("chatcaddy_log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("x_api_base", "openai_base_url", "dashboard_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("chatcaddy_notify_after")
    @classmethod
    def _seconds(cls, value: str) -> str:
        if not value.strip().isdigit():
            raise ValueError(f"{value!r} is not a whole number of seconds")
        return value.strip()

    @property
    def notify_after(self) -> timedelta:
        """CHATCADDY_NOTIFY_AFTER as a duration."""
        return timedelta(seconds=int(self.chatcaddy_notify_after))

    def secret_values(self) -> list[str]:
        """Every configured secret, for the log redactor: the X and OpenAI keys, the dashboard password and
        the password inside DATABASE_URL."""
        values = [getattr(self, s.env.lower()).get_secret_value() for s in SETTINGS if s.secret]
        values.append(_url_password(self.database_url))
        return [v for v in values if len(v) >= 4]


def _url_password(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).password or ""
    except ArgumentError:
        return ""


def load_settings() -> Settings:
    """Read the environment; a bad value is a ConfigError naming the variable, never a traceback."""
    try:
        return Settings()
    except ValidationError as exc:
        issues = [
            ConfigIssue(
                "environment", 0, 0, f"{_variable(err['loc'])}: {err['msg']}; see README.md's settings"
            )
            for err in exc.errors()
        ]
        raise ConfigError(issues) from None


def _variable(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc).upper()
