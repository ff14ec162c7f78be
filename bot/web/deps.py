"""What every dashboard route needs: the shared context, the session check, the CSRF check, rendering."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from bot.clock import Clock
from bot.config import Config
from bot.settings import Settings
from bot.store.db import Store
from bot.store.models import Draft
from bot.web.auth import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, Auth, Session, csrf_matches
from bot.web.policy import VerdictCache
from bot.web.views import x_trouble

# Fresh text for a draft (its id, a person's optional hint): `bot.answering.Answerer.regenerate`.
Regenerator = Callable[[int, str | None], Draft]
# Ids are 32-bit in both databases: a larger number is no draft, not a database error.
DraftId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the draft's id")]


class SeenDrafts:
    """Which pending drafts a person has had on screen (a visible dashboard page), for the notifier."""

    def __init__(self) -> None:
        self._seen: dict[int, datetime] = {}
        self._lock = threading.Lock()

    def mark(self, ids: Iterable[int], now: datetime) -> None:
        with self._lock:
            for draft_id in ids:
                self._seen.setdefault(draft_id, now)

    def was_seen(self, draft_id: int) -> bool:
        with self._lock:
            return draft_id in self._seen


@dataclass
class WebContext:
    """Everything the routes share; one per app, at `app.state.web`."""

    store: Store
    config: Config
    clock: Clock
    settings: Settings
    auth: Auth
    templates: Jinja2Templates
    poll_seconds: float = 2.0
    regenerate: Regenerator | None = None
    seen: SeenDrafts = field(default_factory=SeenDrafts)
    verdicts: VerdictCache = field(default_factory=VerdictCache)


class NotLoggedIn(Exception):
    """No valid session: pages redirect to the login, the API and htmx answer 401."""


def context(request: Request) -> WebContext:
    web: WebContext = request.app.state.web
    return web


def current_session(request: Request) -> Session | None:
    return context(request).auth.session(request.cookies.get(SESSION_COOKIE))


def require_session(request: Request) -> Session:
    session = current_session(request)
    if session is None:
        raise NotLoggedIn()
    request.state.session = session
    return session


async def require_csrf(request: Request, session: Annotated[Session, Depends(require_session)]) -> Session:
    """A state change must carry the session's CSRF token: the X-CSRF-Token header (htmx, the API) or the
    csrf_token form field (plain forms)."""
    presented = request.headers.get(CSRF_HEADER)
    if presented is None and _is_form(request):
        presented = str((await request.form()).get(CSRF_FIELD) or "") or None
    if not csrf_matches(session, presented):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")
    return session


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def is_https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS, directly or through the platform's router."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def render(
    request: Request,
    template: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> Response:
    """A template with what every page needs: the CSRF token, the clock's now, the poll interval."""
    web = context(request)
    session: Session | None = getattr(request.state, "session", None)
    values.setdefault("now", web.clock.now())
    values.setdefault("can_regenerate", web.regenerate is not None)
    # Without an LLM every draft is the offline drafter's; with one, an offline draft means the LLM failed.
    values.setdefault("llm_drafts", bool(web.settings.openai_api_key.get_secret_value()))
    if session is not None and not template.startswith("_"):  # a whole page (fragments have no banner)
        with web.store.session() as db:
            values.setdefault("trouble", x_trouble(db, values["now"]))
    return web.templates.TemplateResponse(
        request,
        template,
        {"csrf": session.csrf if session else "", "poll_ms": int(web.poll_seconds * 1000), **values},
        status_code=status_code,
        headers=headers,
    )
