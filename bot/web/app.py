"""The approval dashboard: a FastAPI app with Jinja2 pages, htmx (vendored, no CDN) and a JSON API.

    app = create_app(store=store, config=config, clock=clock, settings=settings)

Every route but the login, the static files and /healthz needs a session; every state change needs the
session's CSRF token. Responses carry a strict Content-Security-Policy (no inline script or style, no
framing); pages and API answers are never cached.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import __version__
from bot.clock import Clock
from bot.config import Config
from bot.settings import Settings
from bot.store.db import Store
from bot.web import api, routes_chats, routes_login, routes_queue
from bot.web.auth import Auth
from bot.web.counter_rules import counter_rules_js
from bot.web.deps import NotLoggedIn, Regenerator, WebContext, is_htmx, is_https

HERE = Path(__file__).resolve().parent
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def create_app(
    *,
    store: Store,
    config: Config,
    clock: Clock,
    settings: Settings,
    auth: Auth | None = None,
    poll_seconds: float = 2.0,
    regenerate: Regenerator | None = None,
) -> FastAPI:
    """The dashboard over `store`; `auth` defaults to DASHBOARD_PASSWORD (or a one-time token without one)."""
    app = FastAPI(
        title="chatcaddy dashboard",
        version=__version__,
        description="Approve, edit or reject the drafts chatcaddy queues during a chat.",
        docs_url=None,  # Swagger UI needs a CDN and inline script; the schema is at /api/openapi.json
        redoc_url=None,
        openapi_url=None,
    )
    app.state.web = WebContext(
        store=store,
        config=config,
        clock=clock,
        settings=settings,
        auth=auth or Auth(password=settings.dashboard_password.get_secret_value(), clock=clock),
        templates=_templates(),
        poll_seconds=poll_seconds,
        regenerate=regenerate,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _add_public_routes(app)
    for module in (routes_login, routes_queue, routes_chats, api):
        app.include_router(module.router)
    api.add_openapi_route(app)
    _add_error_handlers(app)
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=5)  # 9 costs 80 ms on a big queue
    app.add_middleware(SecurityHeaders)
    return app


def _add_public_routes(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/counter-rules.js", include_in_schema=False)
    def counter_rules() -> Response:
        headers = {"Cache-Control": "public, max-age=86400"}
        return Response(counter_rules_js(), media_type="text/javascript", headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotLoggedIn)
    def not_logged_in(request: Request, _exc: NotLoggedIn) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "log in first"}, status_code=401)
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if request.url.path.startswith("/api/") or is_htmx(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    def invalid_request(_request: Request, exc: RequestValidationError) -> Response:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"detail": "; ".join(problems)}, status_code=422)


class SecurityHeaders:
    """Adds the security headers to every response (HSTS behind HTTPS) and forbids caching of pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = is_https(Request(scope))
        static = str(scope.get("path", "")).startswith(("/static/", "/counter-rules.js"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                extra = dict(SECURITY_HEADERS)
                if https:
                    extra["Strict-Transport-Security"] = "max-age=31536000"
                if not static:
                    extra["Cache-Control"] = "no-store"
                present = {name.lower() for name, _ in headers}
                headers += [
                    (name.lower().encode(), value.encode())
                    for name, value in extra.items()
                    if name.lower().encode() not in present
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    env = templates.env
    env.filters["iso"] = _iso
    env.filters["clock"] = _clock_time
    env.filters["in_zone"] = _in_zone
    env.filters["relative"] = _relative
    env.filters["usd"] = lambda value: f"${value:,.3f}"
    env.globals["static_version"] = __version__
    return templates


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else ""


def _clock_time(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%H:%M UTC") if moment else ""


def _in_zone(moment: datetime, zone: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%a %d %b %H:%M} {local.tzname() or zone}"


def _relative(moment: datetime | None, now: Any) -> str:
    """'in 4 min', '2 min ago': rough, for labels the page's script keeps up to date."""
    if moment is None:
        return ""
    seconds = int((moment - now).total_seconds())
    size = abs(seconds)
    amount = f"{size} s" if size < 60 else f"{size // 60} min" if size < 5400 else f"{round(size / 3600)} h"
    return f"in {amount}" if seconds >= 0 else f"{amount} ago"
