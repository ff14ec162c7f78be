"""The X gateway: the only code that talks to X (through tweepy).

Each operation makes one logical request, retried with the injected clock while X answers with something
transient (rate limit, 5xx, no answer), and turns every refusal into one of `bot.errors`' X errors with a
message a person can act on. Every HTTP attempt is reported to `on_request` for usage accounting, and the
`x-rate-limit-*` headers of every response are kept in `rate_limits`.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Literal

import requests
import structlog
import tweepy
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from bot.clock import Clock
from bot.errors import (
    XActionNotAllowed,
    XBadRequest,
    XConnectionError,
    XCreditsDepleted,
    XDuplicateContent,
    XError,
    XNotFound,
    XPermanentError,
    XRateLimited,
    XReplyNotAllowed,
    XServerError,
    XTransientError,
    XUnauthorized,
    XUsageCapped,
)
from bot.x.transport import XBaseAdapter, mount_x_adapter
from bot.x.types import (
    Json,
    RateLimit,
    SearchPage,
    XPost,
    XRequestRecord,
    XUser,
    parse_post,
    parse_rate_limit,
    parse_user,
)

log = structlog.get_logger("bot.x")

TWEET_FIELDS = [
    "created_at",
    "author_id",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "entities",
    "public_metrics",
    "lang",
]
EXPANSIONS = ["author_id", "referenced_tweets.id"]
USER_FIELDS = ["username", "name", "description"]

# What each endpoint is called in messages ("X refused the <action>").
ACTIONS = {
    "search": "search",
    "create_post": "post",
    "repost": "repost",
    "me": "account lookup",
    "timeline": "timeline request",
    "lookup": "post lookup",
}
CREDENTIAL_VARIABLES = "X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET"
NO_ANSWER = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
BACKOFF_CAP = 30.0
# Loggers that write request headers or OAuth signing details at DEBUG.
CHATTY_LOGGERS = ("tweepy", "tweepy.client", "requests_oauthlib", "oauthlib")

Reads = Literal["posts", "user", "nothing"]


class XGateway:
    """Talks to X for chatcaddy with OAuth 1.0a user-context keys.

    `api_base` is X itself (`https://api.x.com`) or a stand-in such as the sandbox; `timeout` bounds each
    connect and read. Transient failures are retried up to `attempts` times while the total wait stays
    within `max_retry_wait` seconds; then the last one is raised (its `retry_after` says when to try again).
    """

    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        access_token: str,
        access_token_secret: str,
        api_base: str = "https://api.x.com",
        clock: Clock,
        on_request: Callable[[XRequestRecord], None] | None = None,
        max_retry_wait: float = 120.0,
        attempts: int = 5,
        timeout: float = 10.0,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        quiet_chatty_loggers()
        self._clock = clock
        self._on_request = on_request
        self._max_retry_wait = max_retry_wait
        self._attempts = attempts
        self._random = random.Random()
        self._lock = threading.Lock()
        self._rate_limits: dict[str, RateLimit] = {}
        # return_type=Response: tweepy still raises its errors, but we keep the headers and parse the JSON.
        self._client = tweepy.Client(
            consumer_key=api_key,
            consumer_secret=api_secret,
            access_token=access_token,
            access_token_secret=access_token_secret,
            return_type=requests.Response,
            wait_on_rate_limit=False,
        )
        adapter = XBaseAdapter(api_base, connect_timeout=timeout, read_timeout=timeout)
        mount_x_adapter(self._client.session, adapter)

    def __repr__(self) -> str:
        return f"XGateway(user_id={self.user_id!r})"

    def close(self) -> None:
        """Close the connections kept open to X (the session's pool); a later call opens new ones."""
        self._client.session.close()

    @property
    def user_id(self) -> str:
        """The account's id, read from the access token (`"<id>-…"`) without a request."""
        return str(self._client._get_authenticating_user_id(oauth_1=True))

    @property
    def rate_limits(self) -> dict[str, RateLimit]:
        """The latest rate-limit window seen per endpoint name (a copy)."""
        with self._lock:
            return dict(self._rate_limits)

    # --- Operations -------------------------------------------------------------------------------

    def search_page(
        self,
        query: str,
        *,
        since_id: str | None = None,
        next_token: str | None = None,
        max_results: int = 100,
        start_time: datetime | None = None,
    ) -> SearchPage:
        """One page of recent search; page on with `next_token` (and the same `since_id`/`start_time`).
        `start_time` bounds a first read that has no cursor yet (X would otherwise return a week)."""
        body = self._call(
            "search",
            "posts",
            lambda: self._client.search_recent_tweets(
                query,
                since_id=since_id,
                next_token=next_token,
                max_results=max_results,
                start_time=start_time,
                tweet_fields=TWEET_FIELDS,
                expansions=EXPANSIONS,
                user_fields=USER_FIELDS,
                user_auth=True,
            ),
        )
        users = users_of(body)
        meta: Json = body.get("meta") or {}
        return SearchPage(
            posts=[parse_post(raw, users) for raw in body.get("data") or []],
            users=users,
            newest_id=meta.get("newest_id"),
            oldest_id=meta.get("oldest_id"),
            next_token=meta.get("next_token"),
            result_count=int(meta.get("result_count", 0)),
            referenced={post.id: post for post in included_posts(body, users)},
        )

    def create_post(self, text: str, *, reply_to: str | None = None, quote_of: str | None = None) -> str:
        """Posts `text` (as a reply to `reply_to`, or quoting `quote_of`) and returns the new post's id."""
        body = self._call(
            "create_post",
            "nothing",
            lambda: self._client.create_tweet(
                text=text, in_reply_to_tweet_id=reply_to, quote_tweet_id=quote_of, user_auth=True
            ),
        )
        return str(body["data"]["id"])

    def repost(self, tweet_id: str) -> None:
        """Reposts (retweets) a post as the account."""
        self._call("repost", "nothing", lambda: self._client.retweet(tweet_id, user_auth=True))

    def me(self) -> XUser:
        """The account the keys belong to."""
        body = self._call("me", "user", lambda: self._client.get_me(user_fields=USER_FIELDS, user_auth=True))
        return parse_user(body["data"])

    def own_recent_posts(self, max_results: int = 20, since_id: str | None = None) -> list[XPost]:
        """The account's own latest posts, newest first, reposts left out."""
        body = self._call(
            "timeline",
            "posts",
            lambda: self._client.get_users_tweets(
                self.user_id,
                max_results=max_results,
                since_id=since_id,
                exclude=["retweets"],
                tweet_fields=TWEET_FIELDS,
                expansions=EXPANSIONS,
                user_fields=USER_FIELDS,
                user_auth=True,
            ),
        )
        users = users_of(body)
        return [parse_post(raw, users) for raw in body.get("data") or []]

    def lookup(self, tweet_id: str) -> XPost | None:
        """The post with this id, or None when it is gone (deleted, or X no longer shows it)."""
        try:
            body = self._call(
                "lookup",
                "posts",
                lambda: self._client.get_tweet(
                    tweet_id,
                    tweet_fields=TWEET_FIELDS,
                    expansions=EXPANSIONS,
                    user_fields=USER_FIELDS,
                    user_auth=True,
                ),
            )
        except XNotFound:
            return None
        # X answers 200 with only `errors` (resource-not-found) for a deleted post.
        data = body.get("data")
        return parse_post(data, users_of(body)) if isinstance(data, dict) else None

    # --- Requests, retries, accounting ------------------------------------------------------------

    def _call(self, endpoint: str, reads: Reads, send: Callable[[], requests.Response]) -> Json:
        """Sends with retries; returns the JSON body or raises an `XError`."""
        retrying = Retrying(
            retry=retry_if_exception_type(XTransientError),
            wait=self._wait,
            stop=self._stop,
            sleep=self._clock.sleep,
            before_sleep=lambda state: self._log_retry(endpoint, state),
            reraise=True,
        )
        try:
            return retrying(self._attempt, endpoint, reads, send)
        except XTransientError as error:
            # Permanent refusals are the caller's to report; this one says the retries ran out.
            log.warning("x.gave_up", endpoint=endpoint, error=type(error).__name__, status=error.status)
            raise

    def _attempt(self, endpoint: str, reads: Reads, send: Callable[[], requests.Response]) -> Json:
        """One HTTP request: recorded, then its body returned or its failure mapped to an `XError`."""
        try:
            response = send()
        except tweepy.HTTPException as refusal:
            self._record(endpoint, refusal.response, {}, "nothing")
            raise error_from_response(endpoint, refusal.response, self._clock.now()) from refusal
        except NO_ANSWER as failure:
            self._record(endpoint, None, {}, "nothing")
            raise XConnectionError(
                f"X did not answer the {ACTIONS[endpoint]} ({type(failure).__name__}); "
                "the connection failed or timed out"
            ) from None  # requests' own message adds nothing a person needs
        body = json_body(response)
        if body is None:
            self._record(endpoint, response, {}, "nothing")
            raise XServerError(
                f"X answered the {ACTIONS[endpoint]} with something that is not JSON "
                f"({response.status_code} {response.reason})",
                status=response.status_code,
            )
        self._record(endpoint, response, body, reads)
        return body

    def _record(self, endpoint: str, response: requests.Response | None, body: Json, reads: Reads) -> None:
        rate_limit = parse_rate_limit(endpoint, response.headers) if response is not None else None
        if rate_limit is not None:
            with self._lock:
                self._rate_limits[endpoint] = rate_limit
        if self._on_request is None:
            return
        posts_read, users_read = count_reads(body, reads)
        record = XRequestRecord(
            endpoint=endpoint,
            status=response.status_code if response is not None else None,
            at=self._clock.now(),
            posts_read=posts_read,
            users_read=users_read,
            rate_limit=rate_limit,
        )
        try:
            self._on_request(record)
        except Exception:
            # Accounting must never turn a post that went out into an apparent failure (and a duplicate).
            log.exception("x.on_request_failed", endpoint=endpoint)

    def _wait(self, state: RetryCallState) -> float:
        """X's own retry time when it gave one, else exponential backoff with jitter (1, 2, 4 … ≤ 30 s)."""
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, XTransientError) and error.retry_after is not None:
            return max(error.retry_after, 1.0)  # the reset header has whole seconds: never retry early
        backoff = min(BACKOFF_CAP, 2.0 ** (state.attempt_number - 1))
        return backoff + self._random.uniform(0, backoff / 2)

    def _stop(self, state: RetryCallState) -> bool:
        """Stop after `attempts`, or when the next wait would take the total past `max_retry_wait`."""
        if state.attempt_number >= self._attempts:
            return True
        return state.idle_for + state.upcoming_sleep > self._max_retry_wait

    def _log_retry(self, endpoint: str, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.info(
            "x.retry",
            endpoint=endpoint,
            attempt=state.attempt_number,
            wait=round(state.upcoming_sleep, 3),
            error=type(error).__name__,
            status=getattr(error, "status", None),
        )


# --- Reading responses ---------------------------------------------------------------------------


def json_body(response: requests.Response) -> Json | None:
    """The response's JSON object, or None when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def users_of(body: Json) -> dict[str, XUser]:
    """`includes.users` by id."""
    includes: Json = body.get("includes") or {}
    users = (parse_user(raw) for raw in includes.get("users") or [])
    return {user.id: user for user in users}


def included_posts(body: Json, users: dict[str, XUser]) -> list[XPost]:
    """`includes.tweets`: the posts the results reply to or quote."""
    includes: Json = body.get("includes") or {}
    return [parse_post(raw, users) for raw in includes.get("tweets") or []]


def count_reads(body: Json, reads: Reads) -> tuple[int, int]:
    """(posts, users) a response delivered, as X bills them: data plus includes."""
    includes: Json = body.get("includes") or {}
    posts = len(includes.get("tweets") or [])
    users = len(includes.get("users") or [])
    data = body.get("data")
    count = len(data) if isinstance(data, list) else int(isinstance(data, dict))
    if reads == "posts":
        posts += count
    elif reads == "user":
        users += count
    return posts, users


# --- Turning X's refusals into chatcaddy errors --------------------------------------------------


def error_from_response(endpoint: str, response: requests.Response, now: datetime) -> XError:
    """The `bot.errors` error for a failed response, judged by X's body (`type`, `title`, `detail`)."""
    status = response.status_code
    body = json_body(response) or {}
    action = ACTIONS[endpoint]
    detail = str(body.get("detail") or body.get("title") or response.reason or "").strip()
    if status == 429:
        return _too_many_requests(action, response, body, detail, now)
    if status >= 500:
        return XServerError(
            f"X failed to answer the {action} ({status} {response.reason}); it should work again later",
            status=status,
            retry_after=_retry_after_header(response),
        )
    if status == 400:
        return XBadRequest(f"X rejected the {action} as invalid (400): {_problems(body, detail)}", status=400)
    if status == 401:
        return XUnauthorized(
            "X says your API keys are not valid (401 Unauthorized): check "
            f"{CREDENTIAL_VARIABLES} in your environment",
            status=401,
        )
    if status == 402:
        return XCreditsDepleted(
            f"X refused the {action}: your X developer account has no credits left (402 CreditsDepleted); "
            "add credits in the X developer portal",
            status=402,
        )
    if status == 403:
        return _forbidden(action, body, detail)
    if status == 404:
        return XNotFound(f"X could not find what the {action} asked for (404): {detail}", status=404)
    return XPermanentError(f"X refused the {action} ({status} {response.reason}): {detail}", status=status)


def _too_many_requests(
    action: str, response: requests.Response, body: Json, detail: str, now: datetime
) -> XError:
    if _is_usage_cap(body):
        period = str(body.get("period") or "billing").lower()
        return XUsageCapped(
            f"X refused the {action}: the usage cap of your X API plan is reached (429: {detail}); "
            f"waiting minutes will not help, it lifts when the {period} period renews or the plan changes",
            status=429,
        )
    reset = parse_rate_limit("", response.headers)
    if reset is None:
        return XRateLimited(
            f"X rate-limited the {action} (429 Too Many Requests) without saying when to retry", status=429
        )
    return XRateLimited(
        f"X rate-limited the {action} (429 Too Many Requests); "
        f"the window resets at {reset.reset_at:%Y-%m-%d %H:%M:%S} UTC",
        status=429,
        retry_after=(reset.reset_at - now).total_seconds(),
    )


def _forbidden(action: str, body: Json, detail: str) -> XError:
    text = f"{body.get('title', '')} {detail} {body.get('type', '')}".lower()
    if "unsupported authentication" in text or "unsupported-authentication" in text:
        return XUnauthorized(
            f"X refused the {action}: these credentials cannot be used for it (403 {detail}); it needs "
            f"OAuth 1.0a user-context keys: check {CREDENTIAL_VARIABLES} in your environment",
            status=403,
        )
    if "duplicate content" in text:
        return XDuplicateContent(
            f"X refused the {action}: it duplicates one of your recent posts", status=403
        )
    if "you can only reply to or quote" in text:
        return XReplyNotAllowed(
            f"X refused the {action}: with self-serve API access you may only reply to or quote posts that "
            "mention you or that you wrote; reply through X's own composer instead",
            status=403,
        )
    if "deleted or not visible" in text:
        return XNotFound(
            f"X refused the {action}: the post it answers is deleted or hidden (403)", status=403
        )
    # Includes "client-forbidden": an action (like, follow, quote) that this access level does not have.
    return XActionNotAllowed(
        f"X does not allow the {action} on your API access level (403: {detail}); do it on x.com instead",
        status=403,
    )


def _is_usage_cap(body: Json) -> bool:
    kind = str(body.get("type", "")).lower()
    return kind.endswith("/usage-capped") or str(body.get("title", "")) == "UsageCapExceeded"


def _problems(body: Json, detail: str) -> str:
    """Each parameter's complaint ("max_results: … not between 10 and 100"), else X's overall detail."""
    messages = []
    for problem in body.get("errors") or []:
        if not isinstance(problem, dict):
            continue
        names = ", ".join(problem.get("parameters") or {})
        message = str(problem.get("message") or problem.get("detail") or "").strip()
        if message:
            messages.append(f"{names}: {message}" if names else message)
    return "; ".join(messages) or detail or "no reason given"


def _retry_after_header(response: requests.Response) -> float | None:
    try:
        return max(float(response.headers["retry-after"]), 0.0)
    except (KeyError, ValueError):
        return None


def quiet_chatty_loggers() -> None:
    """Keep tweepy and the OAuth libraries at INFO or above: at DEBUG they log auth headers."""
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:  # NOTSET (0) included: it would inherit a DEBUG root
            logger.setLevel(logging.INFO)
