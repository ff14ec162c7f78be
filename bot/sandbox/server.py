"""The sandbox X server: a real HTTP server on 127.0.0.1 that plays a transcript and answers like X API v2.

Point a `tweepy.Client` at it (through a transport adapter) and it meets X's shapes, errors, rate-limit
headers, tier rules and costs, while a test drives time with a `FakeClock`. `/__sandbox/*` paths let a test
or a person look inside: what was posted, what it cost, which requests came, and which faults to inject.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.clock import Clock
from bot.sandbox import reads, writes
from bot.sandbox.auth import authenticate
from bot.sandbox.billing import Meter
from bot.sandbox.calls import TIERS, Call, Context
from bot.sandbox.faults import Fault, Faults, FaultSettingError
from bot.sandbox.front import DROP, HttpFront, Outcome
from bot.sandbox.limits import DEFAULT_LIMITS, Quota, RateLimits
from bot.sandbox.problems import (
    Problem,
    credits_depleted,
    invalid_body,
    no_route,
    server_error,
    too_many_requests,
    unauthorized,
    unsupported_authentication,
    usage_capped,
)
from bot.sandbox.render import x_time
from bot.sandbox.state import Post, World
from bot.sandbox.transcript import Transcript, User

Handler = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    endpoint: str
    user_only: bool  # True: OAuth 1.0a user context only; a bearer token gets 403
    handler: Handler


def _route(method: str, path: str, endpoint: str, user_only: bool, handler: Handler) -> _Route:
    return _Route(method, re.compile(path), endpoint, user_only, handler)


_ROUTES = (
    _route("GET", r"/2/tweets/search/recent", "search", False, reads.search),
    _route("GET", r"/2/tweets", "lookup", False, reads.lookup_many),
    _route("GET", r"/2/tweets/([^/]+)", "lookup", False, reads.lookup),
    _route("POST", r"/2/tweets", "create_post", True, writes.create_post),
    _route("GET", r"/2/users/me", "me", True, reads.me),
    _route("GET", r"/2/users/([^/]+)/tweets", "timeline", False, reads.timeline),
    _route("POST", r"/2/users/([^/]+)/retweets", "repost", True, writes.repost),
    _route("POST", r"/2/users/([^/]+)/likes", "like", True, writes.like),
    _route("POST", r"/2/users/([^/]+)/following", "follow", True, writes.follow),
)


class SandboxServer:
    """Plays `transcript` from `start` at `speed`, serving X API v2 on 127.0.0.1:`port` (0 = a free port)."""

    def __init__(
        self,
        transcript: Transcript,
        *,
        clock: Clock,
        start: datetime,
        speed: float = 1.0,
        tier: str = "self-serve",
        port: int = 0,
        limits: dict[str, int] | None = None,
    ) -> None:
        if tier not in TIERS:
            raise ValueError(f"tier must be one of {TIERS}, got {tier!r}")
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        if start.tzinfo is None:
            raise ValueError("start must be a timezone-aware datetime")
        unknown = set(limits or {}) - set(DEFAULT_LIMITS)
        if unknown:
            raise ValueError(
                f"unknown endpoint(s) in limits: {sorted(unknown)}; known: {sorted(DEFAULT_LIMITS)}"
            )
        self.transcript = transcript
        self.clock = clock
        self.tier = tier
        self.speed = speed
        self.start_time = start
        self._port = port
        self._lock = threading.RLock()
        self._context = Context(World(transcript, start, speed), Meter(), tier)
        self._limits = RateLimits(limits)
        self._faults = Faults()
        self._log: list[dict[str, Any]] = []
        self._front: HttpFront | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Bind 127.0.0.1 and serve in a daemon thread."""
        self._front = HttpFront(self._port, self._answer)
        self._front.start()

    def stop(self) -> None:
        """Stop serving and close every connection."""
        if self._front is not None:
            self._front.stop()
            self._front = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._front is None:
            raise RuntimeError("the sandbox is not started")
        return f"http://127.0.0.1:{self._front.port}"

    @property
    def account(self) -> User:
        return self.transcript.account

    @property
    def access_token(self) -> str:
        """An OAuth 1.0a access token of the account (any token secret and consumer key/secret do)."""
        return f"{self.account.id}-sandbox"

    # -- inspection and control (the same as the /__sandbox endpoints) ---------------------------------------

    def posted(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._context.posted]

    def usage(self) -> dict[str, Any]:
        with self._lock:
            return self._context.meter.usage()

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._log]

    def faults(self) -> dict[str, Any]:
        with self._lock:
            return {"faults": self._faults.as_json(), "limits": dict(self._limits.limits)}

    def set_faults(self, **knobs: Any) -> dict[str, Any]:
        """Switch faults on or off (see `bot.sandbox.faults`); raises ValueError for a bad knob."""
        with self._lock:
            limits = _checked_limits(knobs.pop("limits", {}))
            self._faults.configure(knobs)  # checks every knob before changing anything
            if knobs.get("clear"):
                self._limits.reset()
            self._limits.override(limits)
        return self.faults()

    def add_post(
        self,
        by: str,
        text: str,
        *,
        reply_to: str | None = None,
        quote: str | None = None,
        key: str | None = None,
    ) -> str:
        """`by` posts `text` now, visible at once; `reply_to`/`quote` take a key or an id. Returns its id."""
        with self._lock:
            world = self._context.world
            author = world.user(by)
            if author is None:
                raise KeyError(f"unknown user {by!r}")
            post = world.create(
                author,
                text,
                self.clock.now(),
                key=key,
                reply_to=self._post(reply_to) if reply_to else None,
                quote_of=self._post(quote) if quote else None,
            )
            return post.id_str

    def delete_post(self, key_or_id: str) -> None:
        """The post is deleted on X from now on: gone from search, timelines and lookup."""
        with self._lock:
            self._context.world.delete(self._post(key_or_id), self.clock.now())

    def post_id(self, key: str) -> str:
        """The id the post with this transcript (or `add_post`) key got."""
        with self._lock:
            return self._context.world.by_key(key).id_str

    def visible_at(self, key_or_id: str) -> datetime:
        """When the post became (or becomes) visible to search: `start + at / speed` for a transcript post."""
        with self._lock:
            return self._post(key_or_id).created_at

    def _post(self, key_or_id: str) -> Post:
        world = self._context.world
        try:
            return world.by_key(key_or_id)
        except KeyError:
            if key_or_id.isdigit() and int(key_or_id) in world.posts:
                return world.posts[int(key_or_id)]
            raise KeyError(f"no post with key or id {key_or_id!r}") from None

    # -- serving --------------------------------------------------------------------------------------------

    def _answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Outcome:
        """Answer one HTTP request (called from the HTTP front's threads)."""
        parts = urlsplit(target)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if parts.path.startswith("/__sandbox/"):
            return self._control(method, parts.path, body)
        route, args = _match(method, parts.path)
        if route is None:
            with self._lock:
                self._record(method, parts.path, None, 404)
            return Outcome(404, no_route(parts.path).body)
        with self._lock:
            self._context.meter.request(route.endpoint)
            delay = self._faults.latency(route.endpoint)
        if delay and self._front is not None:
            self._front.pause(delay)
        with self._lock:
            outcome = self._api(route, args, params, headers, body)
            self._record(method, parts.path, route.endpoint, None if outcome is DROP else outcome.status)
            return outcome

    def _api(
        self,
        route: _Route,
        args: tuple[str, ...],
        params: dict[str, str],
        headers: dict[str, str],
        raw: bytes,
    ) -> Outcome:
        now = self.clock.now()
        fault = self._faults.take(route.endpoint)
        if fault is not None and fault.kind == "drop":
            return DROP
        quota: Quota | None = None
        try:
            if fault is not None and fault.kind == "rate_limit":
                reset = now + timedelta(seconds=fault.reset_in)
                quota = Quota(self._limits.limits[route.endpoint], 0, reset)
                raise too_many_requests()
            if fault is not None:
                raise self._fault_problem(fault)
            auth = authenticate(headers.get("authorization"), self.account.id)
            if route.user_only and auth.app_only:
                raise unsupported_authentication()
            allowed, quota = self._limits.take(route.endpoint, now)
            if not allowed:
                raise too_many_requests()
            call = Call(params, _json(raw), auth.user_id, now)
            result = route.handler(self._context, call, *args)
            status = 201 if route.endpoint == "create_post" else 200
        except Problem as problem:
            status, result = problem.status, problem.body
        quota = quota or self._limits.peek(route.endpoint, now)
        return Outcome(status, result, quota.headers())

    def _fault_problem(self, fault: Fault) -> Problem:
        """The answer a switched-on fault stands for."""
        problems: dict[str, Callable[[], Problem]] = {
            "unauthorized": unauthorized,
            "credits_depleted": lambda: credits_depleted(self.account.id),
            "usage_capped": usage_capped,
            "server_error": lambda: server_error(fault.status),
        }
        return problems[fault.kind]()

    def _record(self, method: str, path: str, endpoint: str | None, status: int | None) -> None:
        self._log.append(
            {
                "method": method,
                "path": path,
                "endpoint": endpoint,
                "status": status,
                "at": x_time(self.clock.now()),
            }
        )

    def _control(self, method: str, path: str, body: bytes) -> Outcome:
        views: dict[tuple[str, str], Callable[[], Any]] = {
            ("GET", "/__sandbox/posts"): self.posted,
            ("GET", "/__sandbox/usage"): self.usage,
            ("GET", "/__sandbox/requests"): self.requests,
            ("GET", "/__sandbox/faults"): self.faults,
            ("GET", "/__sandbox/info"): self._info,
        }
        if (method, path) in views:
            return Outcome(200, views[(method, path)]())
        if (method, path) == ("POST", "/__sandbox/faults"):
            try:
                knobs = json.loads(body or b"{}")
                if not isinstance(knobs, dict):
                    raise FaultSettingError("the body must be a JSON object of knobs")
                return Outcome(200, self.set_faults(**knobs))
            except (ValueError, FaultSettingError) as error:
                return Outcome(400, {"error": str(error)})
        return Outcome(404, {"error": f"no sandbox endpoint {method} {path}"})

    def _info(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "tier": self.tier,
            "speed": self.speed,
            "start": x_time(self.start_time),
            "hashtag": self.transcript.hashtag,
            "access_token": self.access_token,
            "account": {"id": self.account.id, "username": self.account.username, "name": self.account.name},
        }


def _match(method: str, path: str) -> tuple[_Route | None, tuple[str, ...]]:
    for route in _ROUTES:
        found = route.pattern.fullmatch(path)
        if found and route.method == method:
            return route, found.groups()
    return None, ()


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise invalid_body("The request body is not valid JSON.") from None


def _checked_limits(limits: Any) -> dict[str, int]:
    if not isinstance(limits, dict) or not all(
        name in DEFAULT_LIMITS and isinstance(n, int) and not isinstance(n, bool) and n >= 0
        for name, n in limits.items()
    ):
        raise FaultSettingError(f"limits must map endpoints {sorted(DEFAULT_LIMITS)} to whole numbers")
    return dict(limits)
