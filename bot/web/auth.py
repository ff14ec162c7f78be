"""Who may use the dashboard: a login (the password, or a one-time token on loopback), a signed session
cookie, a CSRF token for every state change, and a limit on failed logins.

The session cookie holds a random session id and the time it was issued, signed with HMAC-SHA256 under a key
that lives only in this process: a restart logs everyone out, and nothing about the password can be guessed
from a cookie. The CSRF token is derived from the session id, so it needs no storage.

Without `DASHBOARD_PASSWORD` (loopback only: `serve` refuses any other address), a token is generated at
start and printed; it logs one browser in and is then spent, and a fresh one is printed for the next.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock

SESSION_COOKIE = "chatcaddy_session"
LOGIN_COOKIE = "chatcaddy_login"  # the login form's own CSRF token (double submit)
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class Session:
    """A logged-in browser."""

    sid: str
    issued_at: datetime
    csrf: str


class LoginRefused(Exception):
    """A login that failed: the secret was wrong, or too many attempts failed lately (`retry_after` > 0)."""

    def __init__(self, message: str, retry_after: int = 0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LoginLimiter:
    """At most `per_client` failed logins from one address, and `overall` from everywhere, per `window`.

    The overall cap matters behind a platform's router, where every client may share one address, and
    against guesses spread over many addresses. Successful logins do not count.
    """

    def __init__(
        self, *, per_client: int = 5, overall: int = 30, window: timedelta = timedelta(minutes=5)
    ) -> None:
        self.per_client = per_client
        self.overall = overall
        self.window = window
        self._by_client: dict[str, deque[datetime]] = {}
        self._all: deque[datetime] = deque()
        self._lock = threading.Lock()

    def retry_after(self, client: str, now: datetime) -> int:
        """Seconds until `client` may try again; 0 when it may now."""
        with self._lock:
            self._forget_before(now - self.window)
            mine = self._by_client.get(client, deque())
            return max(self._wait(mine, self.per_client, now), self._wait(self._all, self.overall, now))

    def failed(self, client: str, now: datetime) -> None:
        with self._lock:
            self._by_client.setdefault(client, deque()).append(now)
            self._all.append(now)

    def _wait(self, failures: deque[datetime], limit: int, now: datetime) -> int:
        if len(failures) < limit:
            return 0
        oldest_counted = failures[len(failures) - limit]
        return max(1, int((oldest_counted + self.window - now).total_seconds()) + 1)

    def _forget_before(self, cutoff: datetime) -> None:
        for failures in [*self._by_client.values(), self._all]:
            while failures and failures[0] <= cutoff:
                failures.popleft()
        self._by_client = {client: f for client, f in self._by_client.items() if f}


class Auth:
    """Logins and sessions for one dashboard process."""

    def __init__(
        self,
        *,
        password: str,
        clock: Clock,
        on_new_token: Callable[[str], None] | None = None,
        limiter: LoginLimiter | None = None,
    ) -> None:
        self.password = password
        self.clock = clock
        self.limiter = limiter or LoginLimiter()
        self._key = secrets.token_bytes(32)
        self._on_new_token = on_new_token
        self._token: str | None = None if password else _new_token()
        self._revoked: set[str] = set()
        self._lock = threading.Lock()

    @property
    def uses_password(self) -> bool:
        return bool(self.password)

    @property
    def token(self) -> str | None:
        """The one-time login token (only without a password)."""
        return self._token

    def login(self, secret: str, client: str) -> str:
        """Check the password (or token) from `client`; the value of a new session cookie when right."""
        now = self.clock.now()
        wait = self.limiter.retry_after(client, now)
        if wait:
            raise LoginRefused(f"too many failed logins; try again in {wait} s", retry_after=wait)
        if not self._accept(secret):
            self.limiter.failed(client, now)
            raise LoginRefused("wrong password" if self.uses_password else "wrong or already used token")
        return self._sign({"sid": secrets.token_urlsafe(16), "iat": now.timestamp()})

    def _accept(self, secret: str) -> bool:
        if self.uses_password:
            return hmac.compare_digest(secret.encode(), self.password.encode())
        with self._lock:
            if self._token is None or not hmac.compare_digest(secret.encode(), self._token.encode()):
                return False
            self._token = _new_token()  # spent: the next browser needs the next token
            fresh = self._token
        if self._on_new_token is not None:
            self._on_new_token(fresh)
        return True

    def session(self, cookie: str | None) -> Session | None:
        """The session a cookie proves, or None (missing, forged, expired or logged out)."""
        claims = self._verify(cookie) if cookie else None
        if claims is None:
            return None
        sid, issued = str(claims.get("sid", "")), claims.get("iat")
        if not sid or not isinstance(issued, int | float) or sid in self._revoked:
            return None
        issued_at = datetime.fromtimestamp(issued, tz=self.clock.now().tzinfo)
        age = self.clock.now() - issued_at
        if age > SESSION_LIFETIME or age < -timedelta(minutes=5):
            return None
        return Session(sid=sid, issued_at=issued_at, csrf=self.csrf_token(sid))

    def logout(self, session: Session) -> None:
        self._revoked.add(session.sid)

    def csrf_token(self, sid: str) -> str:
        return hmac.new(self._key, f"csrf:{sid}".encode(), hashlib.sha256).hexdigest()[:40]

    def _sign(self, claims: dict[str, object]) -> str:
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def _verify(self, cookie: str) -> dict[str, object] | None:
        payload, _, mac = cookie.partition(".")
        if not payload or not hmac.compare_digest(mac.encode(), self._mac(payload).encode()):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return None
        return claims if isinstance(claims, dict) else None

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())


def csrf_matches(session: Session, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(session.csrf.encode(), str(presented).encode())


def _new_token() -> str:
    return secrets.token_urlsafe(18)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
