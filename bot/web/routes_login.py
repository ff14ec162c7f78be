"""Logging in and out. The login form carries its own CSRF token (a cookie and a hidden field that must
match), so another site cannot log a browser in behind the person's back."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from bot.web.auth import LOGIN_COOKIE, SESSION_COOKIE, SESSION_LIFETIME, LoginRefused, Session
from bot.web.deps import context, current_session, is_https, render, require_csrf

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page(request: Request, token: str | None = None) -> Response:
    if current_session(request) is not None:
        return RedirectResponse("/", status_code=303)
    if token is not None and not context(request).auth.uses_password:
        return _log_in(request, token)  # the link printed at start
    return _form(request)


@router.post("/login")
def login(request: Request, secret: str = Form(default=""), login_csrf: str = Form(default="")) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), login_csrf.encode()):
        return _form(request, error="the login form expired: try again", status=403)
    return _log_in(request, secret)


@router.post("/logout")
def logout(request: Request, session: Annotated[Session, Depends(require_csrf)]) -> Response:
    context(request).auth.logout(session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _log_in(request: Request, secret: str) -> Response:
    client = request.client.host if request.client else "unknown"
    try:
        cookie = context(request).auth.login(secret, client)
    except LoginRefused as refused:
        if refused.retry_after:
            headers = {"Retry-After": str(refused.retry_after)}
            return _form(request, error=str(refused), status=429, headers=headers)
        return _form(request, error=str(refused), status=401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


def _form(
    request: Request, *, error: str = "", status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    login_csrf = secrets.token_urlsafe(16)
    response = render(
        request,
        "login.html",
        status_code=status,
        headers=headers,
        error=error,
        login_csrf=login_csrf,
        uses_password=context(request).auth.uses_password,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        login_csrf,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=is_https(request),
    )
    return response
