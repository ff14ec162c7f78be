"""Every error chatcaddy raises on purpose, in one place.

Each carries a message a person can act on; none carries a secret.

    ChatcaddyError
    ├── ConfigError               schedules.yaml or the environment is wrong (all problems at once)
    ├── StoreError                the database cannot be used
    │   └── DraftStateError       unknown draft id, or a state that forbids the change
    ├── XError                    the X API refused or failed
    │   ├── XTransientError       worth retrying later: `retry_after` seconds, when known
    │   │   ├── XRateLimited      429 with its `x-rate-limit-reset`
    │   │   ├── XServerError      5xx
    │   │   └── XConnectionError  timeout, refused or dropped connection
    │   └── XPermanentError       retrying will not help
    │       ├── XBadRequest       400 (a bad query, a bad parameter)
    │       ├── XUnauthorized     401 (keys wrong or revoked) and 403 "Unsupported Authentication"
    │       ├── XNotFound         404 (a deleted post)
    │       ├── XDuplicateContent 403 duplicate content
    │       ├── XReplyNotAllowed  403: the target neither mentions nor quotes the account (self-serve rule)
    │       ├── XActionNotAllowed 403: likes, follows, quotes are not allowed on this access level
    │       ├── XCreditsDepleted  402
    │       └── XUsageCapped      429 usage cap (monthly product cap): waiting minutes will not help
    └── LLMError                  the language model failed after bounded retries
"""

from __future__ import annotations

from dataclasses import dataclass


class ChatcaddyError(Exception):
    """Base of every error chatcaddy raises on purpose."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file, pointing at the line and column where it is."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        if self.line <= 0:  # not from a file with lines (the environment, say)
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class ConfigError(ChatcaddyError):
    """The configuration is wrong; `issues` lists every problem, each with its file, line and column."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues))


class StoreError(ChatcaddyError):
    """The database cannot be used as asked."""


class DraftStateError(StoreError):
    """A draft does not exist, or is not in a state that allows the change asked for."""


class XError(ChatcaddyError):
    """The X API refused or failed. `status` is the HTTP status, when there was a response."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class XTransientError(XError):
    """Worth trying again; `retry_after` is the number of seconds X asked us to wait, when it said."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class XRateLimited(XTransientError):
    """429 Too Many Requests; `retry_after` comes from `x-rate-limit-reset`."""


class XServerError(XTransientError):
    """X answered with a 5xx."""


class XConnectionError(XTransientError):
    """No answer: a timeout, a refused or a dropped connection."""


class XPermanentError(XError):
    """Retrying the same request will not help."""


class XBadRequest(XPermanentError):
    """400: a parameter or the query is invalid."""


class XUnauthorized(XPermanentError):
    """The credentials are wrong, revoked, or of the wrong kind for this endpoint."""


class XNotFound(XPermanentError):
    """404: the post or user does not exist (any more)."""


class XDuplicateContent(XPermanentError):
    """403: X refuses a post whose text duplicates one of the account's recent posts."""


class XReplyNotAllowed(XPermanentError):
    """403: on self-serve access a reply must target a post that mentions or quotes the account."""


class XActionNotAllowed(XPermanentError):
    """403: this action (like, follow, quote) is not available on this API access level."""


class XCreditsDepleted(XPermanentError):
    """402: the developer account has no credits left."""


class XUsageCapped(XPermanentError):
    """429 usage cap: the monthly product cap is reached."""


class LLMError(ChatcaddyError):
    """The language model could not produce a usable draft after bounded retries."""
