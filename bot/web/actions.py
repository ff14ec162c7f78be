"""The person's decisions, shared by the pages and the JSON API; each goes through `bot.review`, exactly as
`chatcaddy approve` and `chatcaddy reject` do, so the CLI and the dashboard behave the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from bot import review
from bot.errors import DraftStateError
from bot.store.models import Draft
from bot.web.deps import WebContext

BY = "web"
T = TypeVar("T")


class Refused(Exception):
    """A decision that could not be made: `status` is the HTTP status that says why."""

    def __init__(self, status: int, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.problems = problems


def approve(web: WebContext, draft_id: int, text: str | None = None) -> Draft:
    """Approve a pending draft, with `text` replacing its text when given (checked first: 422 with the
    problems, such as "301/280 characters"). The policy checks it as for `chatcaddy approve` (409 when it
    holds the draft, saying what is missing). A hand-off draft comes back handed off, its intent link set."""
    if text is not None:
        problems = tuple(_guarded(lambda: review.edit_problems(web.store, draft_id, text)))
        if problems:
            raise Refused(422, f"can't approve this text: {'; '.join(problems)}", problems)
    return _guarded(
        lambda: review.approve(web.store, [draft_id], clock=web.clock, by=BY, text=text, config=web.config)
    )[0]


def reject(web: WebContext, draft_id: int, reason: str = "") -> Draft:
    return _guarded(lambda: review.reject(web.store, [draft_id], clock=web.clock, by=BY, reason=reason))[0]


def regenerate(web: WebContext, draft_id: int, hint: str | None = None) -> Draft:
    """Fresh text for the draft (about the same post, back to pending), steered by `hint` when given."""
    make_again = web.regenerate
    if make_again is None:
        raise Refused(501, "regenerating drafts is not available in this version")
    return _guarded(lambda: make_again(draft_id, hint or None))


def settle(web: WebContext) -> None:
    """Hand-offs the person has since posted become posted; those never seen expire as not seen."""
    review.settle_handoffs(web.store, clock=web.clock, by=BY)


def _guarded(call: Callable[[], T | None]) -> T:
    try:
        result = call()
    except DraftStateError as exc:
        message = str(exc)
        raise Refused(404 if message.startswith("no draft") else 409, message) from None
    if result is None:
        raise Refused(409, "nothing changed")
    return result
