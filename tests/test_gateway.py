"""The X gateway over real HTTP: a real tweepy.Client talking to local servers.

The first part uses pytest-httpserver to send X's exact response shapes (x-api.md); the second part runs
against the sandbox X server.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
import structlog
from pytest_httpserver import HTTPServer

from bot.clock import FakeClock
from bot.errors import (
    XActionNotAllowed,
    XBadRequest,
    XConnectionError,
    XCreditsDepleted,
    XDuplicateContent,
    XError,
    XNotFound,
    XRateLimited,
    XReplyNotAllowed,
    XServerError,
    XUnauthorized,
    XUsageCapped,
)
from bot.sandbox.server import SandboxServer
from bot.x import RateLimit, XGateway, XRequestRecord, XUser
from bot.x.transport import XBaseAdapter, mount_x_adapter

START = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
API_SECRET = "consumer-SECRET-9f8e7d"
ACCESS_SECRET = "access-SECRET-1a2b3c"
SECRETS = (API_SECRET, ACCESS_SECRET)
ACCOUNT_ID = "4242"

# --- X's bodies, as x-api.md quotes them ---------------------------------------------------------------

TOO_MANY = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
USAGE_CAPPED = {
    "title": "UsageCapExceeded",
    "detail": "Usage cap exceeded: Monthly product cap",
    "type": "https://api.twitter.com/2/problems/usage-capped",
    "period": "Monthly",
    "scope": "Product",
}
DUPLICATE = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
REPLY_RULE = {
    "detail": "You can only reply to or quote posts where you are mentioned or are the author.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
NOT_PERMITTED = {
    "detail": "You are not permitted to perform this action.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
UNSUPPORTED_AUTH = {
    "title": "Unsupported Authentication",
    "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.",
    "type": "https://api.twitter.com/2/problems/unsupported-authentication",
    "status": 403,
}
CLIENT_FORBIDDEN = {
    "title": "Client Forbidden",
    "detail": "quote posts are not available on your current API access level (self-serve).",
    "reason": "client-not-enrolled",
    "type": "https://api.twitter.com/2/problems/client-forbidden",
    "status": 403,
}
REPLY_TARGET_GONE = {
    "detail": "You attempted to reply to a Tweet that is deleted or not visible to you.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
CREDITS = {
    "title": "CreditsDepleted",
    "detail": "Your enrolled account does not have any credits to fulfill this request.",
    "type": "https://api.twitter.com/2/problems/credits",
}
BAD_MAX_RESULTS = {
    "errors": [
        {
            "parameters": {"max_results": ["5"]},
            "message": "The `max_results` query parameter value [5] is not between 10 and 100",
        }
    ],
    "title": "Invalid Request",
    "detail": "One or more parameters to your request was invalid.",
    "type": "https://api.twitter.com/2/problems/invalid-request",
}
SERVER_ERROR = {"title": "Service Unavailable", "detail": "Service Unavailable", "type": "about:blank"}
NOT_FOUND_200 = {
    "errors": [
        {
            "value": "999",
            "detail": "Could not find tweet with id: [999].",
            "title": "Not Found Error",
            "resource_type": "tweet",
            "parameter": "id",
            "type": "https://api.twitter.com/2/problems/resource-not-found",
        }
    ]
}

SEARCH_PAGE = {
    "data": [
        {
            "id": "1002",
            "text": "A1 Coffee first, always #brewchat @host_anna https://t.co/x",
            "author_id": "7",
            "created_at": "2026-11-23T21:04:00.000Z",
            "conversation_id": "1001",
            "in_reply_to_user_id": "8",
            "referenced_tweets": [{"type": "replied_to", "id": "1001"}],
            "entities": {
                "hashtags": [{"start": 24, "end": 34, "tag": "brewchat"}],
                "mentions": [{"start": 35, "end": 45, "username": "host_anna", "id": "8"}],
                "urls": [
                    {
                        "start": 46,
                        "end": 69,
                        "url": "https://t.co/x",
                        "expanded_url": "https://brew.example/a",
                    }
                ],
            },
            "public_metrics": {"retweet_count": 1, "reply_count": 0, "like_count": 3, "quote_count": 0},
            "lang": "en",
            "edit_history_tweet_ids": ["1002"],
        },
        {
            "id": "1001",
            "text": "Q1 How do you start? #brewchat",
            "author_id": "8",
            "edit_history_tweet_ids": ["1001"],
        },
    ],
    "includes": {
        "users": [
            {"id": "7", "username": "bea", "name": "Bea", "description": "coffee"},
            {"id": "8", "username": "host_anna", "name": "Anna"},
        ],
        "tweets": [{"id": "900", "text": "an older post", "author_id": "8"}],
    },
    "meta": {"newest_id": "1002", "oldest_id": "1001", "result_count": 2, "next_token": "page2"},
}


# --- Helpers -------------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def records() -> list[XRequestRecord]:
    return []


@pytest.fixture
def make_gateway(
    httpserver: HTTPServer, clock: FakeClock, records: list[XRequestRecord]
) -> Callable[..., XGateway]:
    def build(base: str | None = None, **options: object) -> XGateway:
        settings: dict[str, object] = {
            "api_key": "consumer-key",
            "api_secret": API_SECRET,
            "access_token": f"{ACCOUNT_ID}-token",
            "access_token_secret": ACCESS_SECRET,
            "api_base": base or httpserver.url_for("/").rstrip("/"),
            "clock": clock,
            "on_request": records.append,
            "timeout": 2.0,
        }
        settings.update(options)
        return XGateway(**settings)  # type: ignore[arg-type]

    return build


def reset_headers(
    clock: FakeClock, *, in_seconds: int, limit: int = 300, remaining: int = 0
) -> dict[str, str]:
    reset = int((clock.now() + timedelta(seconds=in_seconds)).timestamp())
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(reset),
    }


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


# --- Reading: search, timeline, lookup, me -------------------------------------------------------------


def test_search_sends_the_documented_fields_and_reads_posts_users_and_meta(
    httpserver: HTTPServer, make_gateway: Callable[..., XGateway]
) -> None:
    httpserver.expect_request("/2/tweets/search/recent", method="GET").respond_with_json(SEARCH_PAGE)
    page = make_gateway().search_page("#brewchat -is:retweet", since_id="999", max_results=50)

    sent = httpserver.log[0][0]
    assert sent.args["query"] == "#brewchat -is:retweet"
    assert sent.args["since_id"] == "999"
    assert sent.args["max_results"] == "50"
    assert set(sent.args["tweet.fields"].split(",")) >= {
        "created_at",
        "referenced_tweets",
        "entities",
        "lang",
    }
    assert sent.args["expansions"] == "author_id,referenced_tweets.id"
    assert sent.headers["Authorization"].startswith("OAuth ")  # user context, not an app bearer token

    answer, question = page.posts
    assert answer.id == "1002"
    assert answer.created_at == datetime(2026, 11, 23, 21, 4, tzinfo=UTC)
    assert answer.replied_to_id == "1001" and answer.quoted_id is None
    assert answer.hashtags == ("brewchat",)
    assert answer.mentions == ("host_anna",)
    assert answer.urls == ("https://brew.example/a",)
    assert answer.metrics == {"retweet_count": 1, "reply_count": 0, "like_count": 3, "quote_count": 0}
    assert answer.author == XUser("7", "bea", "Bea", "coffee")
    assert answer.url == "https://x.com/bea/status/1002"
    assert question.author is not None and question.author.username == "host_anna"
    assert question.created_at is None and question.hashtags == ()
    assert page.users["8"].name == "Anna"
    assert (page.newest_id, page.oldest_id, page.next_token, page.result_count) == (
        "1002",
        "1001",
        "page2",
        2,
    )
    assert page.referenced["900"].text == "an older post"


def test_empty_search_is_an_empty_page(httpserver: HTTPServer, make_gateway: Callable[..., XGateway]) -> None:
    httpserver.expect_request("/2/tweets/search/recent").respond_with_json({"meta": {"result_count": 0}})
    page = make_gateway().search_page("#quiet", next_token="abc")
    assert httpserver.log[0][0].args["next_token"] == "abc"
    assert page.posts == [] and page.users == {}
    assert (page.newest_id, page.next_token, page.result_count) == (None, None, 0)


def test_own_recent_posts_reads_the_accounts_timeline_without_reposts(
    httpserver: HTTPServer, make_gateway: Callable[..., XGateway]
) -> None:
    httpserver.expect_request(f"/2/users/{ACCOUNT_ID}/tweets").respond_with_json(
        {"data": [{"id": "5", "text": "mine", "author_id": ACCOUNT_ID}], "meta": {"result_count": 1}}
    )
    posts = make_gateway().own_recent_posts(max_results=10, since_id="4")
    assert [post.text for post in posts] == ["mine"]
    args = httpserver.log[0][0].args
    assert (args["exclude"], args["max_results"], args["since_id"]) == ("retweets", "10", "4")


def test_lookup_returns_the_post_or_none_when_it_was_deleted(
    httpserver: HTTPServer, make_gateway: Callable[..., XGateway]
) -> None:
    httpserver.expect_request("/2/tweets/1001").respond_with_json({"data": SEARCH_PAGE["data"][1]})  # type: ignore[index]
    httpserver.expect_request("/2/tweets/999").respond_with_json(NOT_FOUND_200)
    httpserver.expect_request("/2/tweets/404").respond_with_json({"title": "Not Found Error"}, status=404)
    gateway = make_gateway()
    found = gateway.lookup("1001")
    assert found is not None and found.text.startswith("Q1")
    assert gateway.lookup("999") is None
    assert gateway.lookup("404") is None


def test_me_and_user_id(httpserver: HTTPServer, make_gateway: Callable[..., XGateway]) -> None:
    httpserver.expect_request("/2/users/me").respond_with_json(
        {"data": {"id": ACCOUNT_ID, "username": "caddy", "name": "Chat Caddy"}}
    )
    gateway = make_gateway()
    assert gateway.user_id == ACCOUNT_ID
    assert len(httpserver.log) == 0  # the id comes from the access token, not from a request
    assert gateway.me() == XUser(ACCOUNT_ID, "caddy", "Chat Caddy", "")


# --- Writing: posts and reposts ------------------------------------------------------------------------


def test_create_post_sends_reply_and_quote_and_returns_the_new_id(
    httpserver: HTTPServer, make_gateway: Callable[..., XGateway]
) -> None:
    httpserver.expect_request("/2/tweets", method="POST").respond_with_json(
        {"data": {"id": "2001", "text": "A1 hi"}}, status=201
    )
    gateway = make_gateway()
    assert gateway.create_post("A1 hi") == "2001"
    assert gateway.create_post("A1 hi again", reply_to="1001") == "2001"
    assert gateway.create_post("look", quote_of="1002") == "2001"
    bodies = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert bodies == [
        {"text": "A1 hi"},
        {"text": "A1 hi again", "reply": {"in_reply_to_tweet_id": "1001"}},
        {"text": "look", "quote_tweet_id": "1002"},
    ]


def test_repost_posts_to_the_accounts_retweets(
    httpserver: HTTPServer, make_gateway: Callable[..., XGateway]
) -> None:
    httpserver.expect_request(f"/2/users/{ACCOUNT_ID}/retweets", method="POST").respond_with_json(
        {"data": {"retweeted": True}}
    )
    make_gateway().repost("1002")
    assert json.loads(httpserver.log[0][0].get_data()) == {"tweet_id": "1002"}


# --- Refusals become chatcaddy errors with readable messages -------------------------------------------

REFUSALS = [
    (400, BAD_MAX_RESULTS, XBadRequest, "max_results: The `max_results` query parameter value [5]"),
    (
        401,
        UNAUTHORIZED,
        XUnauthorized,
        "X says your API keys are not valid (401 Unauthorized): check X_API_KEY",
    ),
    (402, CREDITS, XCreditsDepleted, "no credits left"),
    (403, DUPLICATE, XDuplicateContent, "X refused the post: it duplicates one of your recent posts"),
    (403, REPLY_RULE, XReplyNotAllowed, "only reply to or quote posts that mention you"),
    (403, NOT_PERMITTED, XActionNotAllowed, "You are not permitted to perform this action."),
    (403, CLIENT_FORBIDDEN, XActionNotAllowed, "not available on your current API access level"),
    (403, REPLY_TARGET_GONE, XNotFound, "the post it answers is deleted or hidden"),
    (403, UNSUPPORTED_AUTH, XUnauthorized, "OAuth 1.0a user-context keys"),
    (404, {"title": "Not Found Error", "detail": "gone"}, XNotFound, "could not find"),
    (429, USAGE_CAPPED, XUsageCapped, "usage cap of your X API plan is reached"),
    (503, SERVER_ERROR, XServerError, "X failed to answer the post (503"),
]


@pytest.mark.parametrize(("status", "body", "error", "message"), REFUSALS)
def test_each_refusal_maps_to_its_error_with_a_readable_message(
    httpserver: HTTPServer,
    make_gateway: Callable[..., XGateway],
    status: int,
    body: dict[str, object],
    error: type[XError],
    message: str,
) -> None:
    httpserver.expect_request("/2/tweets", method="POST").respond_with_json(body, status=status)
    with pytest.raises(error) as raised:
        make_gateway(attempts=1).create_post("A1 hello #brewchat")
    assert message in str(raised.value)
    assert raised.value.status == status
    assert_no_secret("".join(traceback.format_exception(raised.value)))


def test_a_non_json_error_page_still_maps_by_status(
    httpserver: HTTPServer, make_gateway: Callable[..., XGateway]
) -> None:
    httpserver.expect_request("/2/tweets").respond_with_data("<html>bad gateway</html>", status=502)
    with pytest.raises(XServerError, match="502"):
        make_gateway(attempts=1).create_post("hi")


# --- Retries, with the injected clock ------------------------------------------------------------------


def test_a_rate_limit_waits_for_the_reset_then_succeeds(
    httpserver: HTTPServer, make_gateway: Callable[..., XGateway], clock: FakeClock
) -> None:
    httpserver.expect_ordered_request("/2/tweets").respond_with_json(
        TOO_MANY, status=429, headers=reset_headers(clock, in_seconds=60)
    )
    httpserver.expect_ordered_request("/2/tweets").respond_with_json(
        {"data": {"id": "7", "text": "hi"}}, status=201
    )
    with structlog.testing.capture_logs() as logs:
        assert make_gateway().create_post("hi") == "7"
    assert clock.slept == [60.0]
    retries = [entry for entry in logs if entry["event"] == "x.retry"]
    assert retries == [
        {"event": "x.retry", "log_level": "info", "endpoint": "create_post", "attempt": 1, "wait": 60.0,
         "error": "XRateLimited", "status": 429}
    ]  # fmt: skip


def test_a_server_error_is_retried_with_a_short_backoff(
    httpserver: HTTPServer, make_gateway: Callable[..., XGateway], clock: FakeClock
) -> None:
    httpserver.expect_ordered_request("/2/tweets/search/recent").respond_with_json(SERVER_ERROR, status=503)
    httpserver.expect_ordered_request("/2/tweets/search/recent").respond_with_json(SERVER_ERROR, status=500)
    httpserver.expect_ordered_request("/2/tweets/search/recent").respond_with_json(
        {"meta": {"result_count": 0}}
    )
    assert make_gateway().search_page("#x").result_count == 0
    assert len(clock.slept) == 2
    assert 1.0 <= clock.slept[0] <= 1.5 and 2.0 <= clock.slept[1] <= 3.0


def test_a_rate_limit_past_the_retry_budget_is_raised_at_once_with_its_reset(
    httpserver: HTTPServer, make_gateway: Callable[..., XGateway], clock: FakeClock
) -> None:
    httpserver.expect_request("/2/tweets/search/recent").respond_with_json(
        TOO_MANY, status=429, headers=reset_headers(clock, in_seconds=900)
    )
    with pytest.raises(XRateLimited) as raised:
        make_gateway(max_retry_wait=120).search_page("#x")
    assert raised.value.retry_after == 900.0
    assert "21:15:00 UTC" in str(raised.value)
    assert clock.slept == [] and len(httpserver.log) == 1


def test_retries_stop_before_the_total_wait_passes_the_budget(
    httpserver: HTTPServer, make_gateway: Callable[..., XGateway], clock: FakeClock
) -> None:
    httpserver.expect_request("/2/tweets").respond_with_json(SERVER_ERROR, status=503)
    with pytest.raises(XServerError):
        make_gateway(attempts=20, max_retry_wait=10).create_post("hi")
    assert 0 < sum(clock.slept) <= 10
    assert len(httpserver.log) == len(clock.slept) + 1


def test_retries_stop_after_the_attempts(
    httpserver: HTTPServer, make_gateway: Callable[..., XGateway], clock: FakeClock
) -> None:
    httpserver.expect_request("/2/tweets").respond_with_json(SERVER_ERROR, status=503)
    with pytest.raises(XServerError):
        make_gateway(attempts=3).create_post("hi")
    assert len(httpserver.log) == 3 and len(clock.slept) == 2


@pytest.mark.parametrize(("status", "body"), [(401, UNAUTHORIZED), (402, CREDITS), (429, USAGE_CAPPED)])
def test_permanent_refusals_are_not_retried(
    httpserver: HTTPServer,
    make_gateway: Callable[..., XGateway],
    clock: FakeClock,
    status: int,
    body: dict[str, object],
) -> None:
    httpserver.expect_request("/2/tweets").respond_with_json(body, status=status)
    with pytest.raises(XError):
        make_gateway().create_post("hi")
    assert len(httpserver.log) == 1 and clock.slept == []


@pytest.fixture
def dropping_server() -> Iterator[str]:
    """A server that accepts each connection and closes it without a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # so the loop notices `stop` quickly
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    listener.close()


def test_a_dropped_connection_is_retried_then_reported(
    dropping_server: str,
    make_gateway: Callable[..., XGateway],
    clock: FakeClock,
    records: list[XRequestRecord],
) -> None:
    with pytest.raises(XConnectionError, match="X did not answer the search"):
        make_gateway(dropping_server, attempts=3).search_page("#x")
    assert len(clock.slept) == 2
    assert [record.status for record in records] == [None, None, None]


def test_a_silent_server_times_out_instead_of_hanging(make_gateway: Callable[..., XGateway]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (backlog) but never answers
        base = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(XConnectionError, match="ReadTimeout"):
            make_gateway(base, attempts=1, timeout=0.2).me()


# --- Accounting: rate limits and request records -------------------------------------------------------


def test_rate_limits_and_request_records_come_from_every_response(
    httpserver: HTTPServer,
    make_gateway: Callable[..., XGateway],
    clock: FakeClock,
    records: list[XRequestRecord],
) -> None:
    httpserver.expect_request("/2/tweets/search/recent").respond_with_json(
        SEARCH_PAGE, headers=reset_headers(clock, in_seconds=600, limit=300, remaining=299)
    )
    httpserver.expect_request("/2/tweets").respond_with_json(
        DUPLICATE, status=403, headers=reset_headers(clock, in_seconds=700, limit=100, remaining=41)
    )
    gateway = make_gateway()
    gateway.search_page("#brewchat")
    with pytest.raises(XDuplicateContent):
        gateway.create_post("same again")

    assert gateway.rate_limits == {
        "search": RateLimit("search", 300, 299, START + timedelta(seconds=600)),
        "create_post": RateLimit("create_post", 100, 41, START + timedelta(seconds=700)),
    }
    search, post = records
    assert (search.endpoint, search.status, search.at) == ("search", 200, START)
    assert (search.posts_read, search.users_read) == (3, 2)  # 2 results + 1 included post; 2 users
    assert search.rate_limit == gateway.rate_limits["search"]
    assert (post.endpoint, post.status, post.posts_read, post.users_read) == ("create_post", 403, 0, 0)


def test_a_failing_usage_callback_does_not_fail_a_post(
    httpserver: HTTPServer, make_gateway: Callable[..., XGateway]
) -> None:
    def broken(record: XRequestRecord) -> None:
        raise RuntimeError("usage store is down")

    httpserver.expect_request("/2/tweets").respond_with_json({"data": {"id": "9", "text": "x"}}, status=201)
    with structlog.testing.capture_logs() as logs:
        assert make_gateway(on_request=broken).create_post("x") == "9"
    assert [entry["event"] for entry in logs] == ["x.on_request_failed"]


# --- Transport -----------------------------------------------------------------------------------------


def test_the_adapter_sends_both_x_hosts_to_the_base(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/2/ping").respond_with_json({"ok": True})
    session = requests.Session()
    mount_x_adapter(session, XBaseAdapter(httpserver.url_for("/")))
    assert session.get("https://api.twitter.com/2/ping?a=1").json() == {"ok": True}
    assert session.get("https://api.x.com/2/ping").json() == {"ok": True}
    assert [request.query_string for request, _ in httpserver.log] == [b"a=1", b""]


def test_the_adapter_leaves_real_x_requests_where_tweepy_signed_them() -> None:
    assert not XBaseAdapter("https://api.x.com").rewrites
    assert not XBaseAdapter("https://api.twitter.com/").rewrites
    with pytest.raises(ValueError, match="http"):
        XBaseAdapter("api.x.com")


# --- Secrets -------------------------------------------------------------------------------------------


def test_no_secret_reaches_logs_or_errors(
    httpserver: HTTPServer,
    make_gateway: Callable[..., XGateway],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    httpserver.expect_ordered_request("/2/tweets").respond_with_json(SERVER_ERROR, status=503)
    httpserver.expect_ordered_request("/2/tweets").respond_with_json(UNAUTHORIZED, status=401)
    with structlog.testing.capture_logs() as logs, pytest.raises(XUnauthorized) as raised:
        make_gateway().create_post("hi")
    assert logging.getLogger("tweepy").getEffectiveLevel() >= logging.INFO
    assert "Authorization" not in caplog.text
    assert_no_secret(caplog.text)
    assert_no_secret(repr(logs))
    assert_no_secret("".join(traceback.format_exception(raised.value)))
    assert_no_secret(repr(make_gateway()))


# === Against the sandbox X server ======================================================================

CHAT = "#JobHuntChat"


def sandbox_gateway(
    server: SandboxServer, clock: FakeClock, records: list[XRequestRecord] | None = None, **options: object
) -> XGateway:
    settings: dict[str, object] = {
        "api_key": "consumer-key",
        "api_secret": API_SECRET,
        "access_token": server.access_token,
        "access_token_secret": ACCESS_SECRET,
        "api_base": server.url,
        "clock": clock,
        "on_request": records.append if records is not None else None,
        "timeout": 2.0,
    }
    settings.update(options)
    return XGateway(**settings)  # type: ignore[arg-type]


@pytest.fixture
def chat(sandbox: SandboxServer, fake_clock: FakeClock) -> SandboxServer:
    """The basic transcript 20 minutes in: intros, Q1 and its answers, Q2 and one answer are all out."""
    fake_clock.advance(timedelta(minutes=20))
    return sandbox


def test_sandbox_search_pages_with_next_token_then_polls_with_since_id(
    chat: SandboxServer, fake_clock: FakeClock
) -> None:
    gateway = sandbox_gateway(chat, fake_clock)
    pages = [gateway.search_page(CHAT, max_results=10)]
    while pages[-1].next_token:
        pages.append(gateway.search_page(CHAT, max_results=10, next_token=pages[-1].next_token))
    posts = [post for page in pages for post in page.posts]

    assert len(pages) == 2 and pages[0].result_count == 10
    assert len({post.id for post in posts}) == len(posts)
    texts = {post.text for post in posts}
    assert "Q1 How do you use X in your job search? #JobHuntChat" in texts
    assert not any(text.startswith("oops") for text in texts)  # deleted at 10m
    assert all(CHAT.lower() in post.text.lower() for post in posts)
    answer = next(post for post in posts if post.text.startswith("A1 I follow"))
    assert answer.author is not None and answer.author.username == "sam_recruits"
    assert answer.replied_to_id == chat.post_id("q1")
    assert answer.replied_to_id in pages[0].referenced or answer.replied_to_id in {p.id for p in posts}

    newest = pages[0].newest_id
    assert newest == max(posts, key=lambda post: int(post.id)).id
    fresh = chat.add_post("coach_priya", "A2 Follow up within a day #JobHuntChat")
    polled = gateway.search_page(CHAT, since_id=newest)
    assert [post.id for post in polled.posts] == [fresh]
    assert gateway.search_page(CHAT, since_id=polled.newest_id).posts == []


def test_sandbox_empty_search_and_bad_query(chat: SandboxServer, fake_clock: FakeClock) -> None:
    gateway = sandbox_gateway(chat, fake_clock)
    page = gateway.search_page("#NoSuchChat")
    assert (page.posts, page.result_count, page.newest_id, page.next_token) == ([], 0, None, None)
    with pytest.raises(XBadRequest, match="max_results"):
        gateway.search_page(CHAT, max_results=5)


def test_sandbox_post_then_duplicate_is_refused(chat: SandboxServer, fake_clock: FakeClock) -> None:
    gateway = sandbox_gateway(chat, fake_clock)
    post_id = gateway.create_post("A1 Lists of recruiters, and reading their posts #JobHuntChat")
    assert [entry["text"] for entry in chat.posted()][-1].startswith("A1 Lists of recruiters")
    assert gateway.lookup(post_id) is not None
    with pytest.raises(XDuplicateContent, match="duplicates one of your recent posts"):
        gateway.create_post("A1 Lists of recruiters, and reading their posts #JobHuntChat")
    assert gateway.own_recent_posts()[0].id == post_id


def test_sandbox_reply_rule_of_self_serve_access(chat: SandboxServer, fake_clock: FakeClock) -> None:
    gateway = sandbox_gateway(chat, fake_clock)
    with pytest.raises(XReplyNotAllowed, match="only reply to or quote posts that mention you"):
        gateway.create_post("A1 Great question! #JobHuntChat", reply_to=chat.post_id("q1"))
    mentioning = chat.post_id("a2_priya")  # "… right @ada_builds?"
    reply_id = gateway.create_post("A2 Exactly, a real conversation first #JobHuntChat", reply_to=mentioning)
    reply = gateway.lookup(reply_id)
    assert reply is not None and reply.replied_to_id == mentioning


def test_sandbox_repost_and_me(chat: SandboxServer, fake_clock: FakeClock) -> None:
    gateway = sandbox_gateway(chat, fake_clock)
    gateway.repost(chat.post_id("a1_priya"))
    assert gateway.me() == XUser(chat.account.id, "ada_builds", "Ada Example")
    assert gateway.user_id == chat.account.id


def test_sandbox_deleted_post_looks_up_as_none(chat: SandboxServer, fake_clock: FakeClock) -> None:
    gateway = sandbox_gateway(chat, fake_clock)
    target = chat.post_id("a1_sam")
    assert gateway.lookup(target) is not None
    chat.delete_post("a1_sam")
    assert gateway.lookup(target) is None


def test_sandbox_rate_limit_waits_exactly_until_the_reset(chat: SandboxServer, fake_clock: FakeClock) -> None:
    chat.set_faults(rate_limit=1, reset_in=90, endpoint="search")
    page = sandbox_gateway(chat, fake_clock).search_page(CHAT)
    assert page.result_count > 0
    assert fake_clock.slept == [90.0]
    assert [entry["status"] for entry in chat.requests()] == [429, 200]


def test_sandbox_server_errors_and_drops_are_retried(chat: SandboxServer, fake_clock: FakeClock) -> None:
    gateway = sandbox_gateway(chat, fake_clock)
    chat.set_faults(server_error=2, status=502)
    assert gateway.me().username == "ada_builds"
    chat.set_faults(drop=1)
    assert gateway.me().username == "ada_builds"
    assert [entry["status"] for entry in chat.requests()] == [502, 502, 200, None, 200]
    assert len(fake_clock.slept) == 3 and all(0 < wait < 5 for wait in fake_clock.slept)


def test_sandbox_permanent_refusals_are_reported_once(chat: SandboxServer, fake_clock: FakeClock) -> None:
    gateway = sandbox_gateway(chat, fake_clock)
    for fault, error in [
        ("unauthorized", XUnauthorized),
        ("credits_depleted", XCreditsDepleted),
        ("usage_capped", XUsageCapped),
    ]:
        chat.set_faults(clear=True, **{fault: True})
        with structlog.testing.capture_logs() as logs, pytest.raises(error):
            gateway.create_post("A1 hi #JobHuntChat")
        assert logs == []  # no retry, no give-up: the caller reports it
    assert [entry["status"] for entry in chat.requests()] == [401, 402, 429]  # one request each
    assert fake_clock.slept == [] and chat.posted() == []


def test_sandbox_total_wait_stays_within_max_retry_wait(chat: SandboxServer, fake_clock: FakeClock) -> None:
    chat.set_faults(rate_limit=10, reset_in=50)
    with pytest.raises(XRateLimited) as raised:
        sandbox_gateway(chat, fake_clock, max_retry_wait=120, attempts=10).search_page(CHAT)
    assert fake_clock.slept == [50.0, 50.0]  # a third wait would reach 150 s
    assert len(chat.requests()) == 3
    assert raised.value.retry_after == 50.0


def test_sandbox_real_rate_limit_window_is_read_and_reported(
    make_sandbox: Callable[..., SandboxServer], fake_clock: FakeClock
) -> None:
    server = make_sandbox(limits={"search": 2})
    records: list[XRequestRecord] = []
    gateway = sandbox_gateway(server, fake_clock, records)
    gateway.search_page(CHAT)
    assert gateway.rate_limits["search"].limit == 2
    assert gateway.rate_limits["search"].remaining == 1
    gateway.search_page(CHAT)
    with pytest.raises(XRateLimited) as raised:
        gateway.search_page(CHAT)  # the window resets in 15 minutes: longer than the retry budget
    reset_at = gateway.rate_limits["search"].reset_at
    assert gateway.rate_limits["search"].remaining == 0
    assert raised.value.retry_after == (reset_at - fake_clock.now()).total_seconds() > 120
    assert [(record.endpoint, record.status) for record in records] == [("search", 200)] * 2 + [
        ("search", 429)
    ]
    assert all(record.rate_limit is not None for record in records)


def test_sandbox_request_records_count_reads(chat: SandboxServer, fake_clock: FakeClock) -> None:
    records: list[XRequestRecord] = []
    gateway = sandbox_gateway(chat, fake_clock, records)
    page = gateway.search_page(CHAT, max_results=10)
    gateway.create_post("A2 Say thanks after every chat #JobHuntChat")
    search, post = records
    assert search.posts_read == len(page.posts) + len(page.referenced)
    assert search.users_read == len(page.users)
    assert (search.at, search.status) == (fake_clock.now(), 200)
    assert (post.endpoint, post.status, post.posts_read, post.users_read) == ("create_post", 201, 0, 0)


def test_sandbox_slow_answer_times_out(chat: SandboxServer, fake_clock: FakeClock) -> None:
    chat.set_faults(latency_ms=1000, endpoint="me")
    with pytest.raises(XConnectionError, match="ReadTimeout"):
        sandbox_gateway(chat, fake_clock, timeout=0.2, attempts=1).me()


def test_sandbox_adapter_sends_both_x_hosts_to_the_base(chat: SandboxServer) -> None:
    session = requests.Session()
    mount_x_adapter(session, XBaseAdapter(chat.url))
    auth = {"Authorization": f'OAuth oauth_consumer_key="ck", oauth_token="{chat.access_token}"'}
    assert session.get("https://api.twitter.com/2/users/me", headers=auth).json()["data"]["id"] == "1000"
    assert session.get("https://api.x.com/2/users/me", headers=auth).status_code == 200
    assert [entry["path"] for entry in chat.requests()] == ["/2/users/me", "/2/users/me"]


def test_sandbox_no_secret_in_errors_or_logs(
    chat: SandboxServer, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gateway = sandbox_gateway(chat, fake_clock, attempts=2)
    errors: list[XError] = []
    steps: list[tuple[dict[str, object], Callable[[], object]]] = [
        ({"server_error": 5}, gateway.me),
        ({"drop": 5}, gateway.me),
        ({"clear": True, "unauthorized": True}, gateway.me),
        ({"clear": True}, lambda: gateway.create_post("x", reply_to=chat.post_id("q1"))),
    ]
    with structlog.testing.capture_logs() as logs:
        for faults, call in steps:
            chat.set_faults(**faults)
            with pytest.raises(XError) as raised:
                call()
            errors.append(raised.value)
    assert [type(error) for error in errors] == [
        XServerError,
        XConnectionError,
        XUnauthorized,
        XReplyNotAllowed,
    ]
    assert_no_secret(caplog.text + repr(logs))
    for error in errors:
        assert_no_secret("".join(traceback.format_exception(error)))
