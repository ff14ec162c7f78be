"""Auth, rate limits, the billing meter and injected faults: the ways X says no."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from bot.clock import FakeClock
from bot.sandbox.server import SandboxServer
from tests.fixtures.sandbox import MakeSandbox, XApi

TOO_MANY = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}


def reset_at(response: requests.Response) -> int:
    return int(response.headers["x-rate-limit-reset"])


# -- auth ------------------------------------------------------------------------------------------


def test_missing_or_unknown_credentials_are_401(sandbox: SandboxServer) -> None:
    anonymous = requests.get(sandbox.url + "/2/tweets/search/recent", params={"query": "#a"}, timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }
    assert XApi(sandbox, token="2002-stolen").create("hi").status_code == 401
    assert XApi(sandbox, token="1000").create("hi").status_code == 401
    assert XApi(sandbox, bearer="None").search("#a").status_code == 401
    assert XApi(sandbox, token="1000-whatever-secret").create("hi #JobHuntChat").status_code == 201


def test_bearer_token_reads_but_cannot_act(sandbox: SandboxServer) -> None:
    app = XApi(sandbox, bearer="AAAA-app-token")
    assert app.search("#JobHuntChat").status_code == 200
    refused = app.create("hi")
    assert refused.status_code == 403
    assert refused.json() == {
        "title": "Unsupported Authentication",
        "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported "
        "authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
        "type": "https://api.twitter.com/2/problems/unsupported-authentication",
        "status": 403,
    }
    assert app.get("/2/users/me").status_code == 403
    assert sandbox.posted() == []


def test_unknown_paths_are_404_json(sandbox: SandboxServer, x: XApi) -> None:
    for response in (
        x.get("/2/spaces/search"),
        x.get("/1.1/statuses/home_timeline.json"),
        x.get("/__sandbox/x"),
    ):
        assert response.status_code == 404
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json()


# -- rate limits -----------------------------------------------------------------------------------


def test_every_answer_carries_rate_limit_headers(
    sandbox: SandboxServer, x: XApi, fake_clock: FakeClock
) -> None:
    first = x.search("#JobHuntChat")
    assert first.headers["x-rate-limit-limit"] == "300"
    assert first.headers["x-rate-limit-remaining"] == "299"
    assert reset_at(first) == int((fake_clock.now() + timedelta(minutes=15)).timestamp())
    assert x.search("#JobHuntChat").headers["x-rate-limit-remaining"] == "298"
    bad = x.search("#JobHuntChat", max_results=1)
    assert bad.status_code == 400
    assert bad.headers["x-rate-limit-remaining"] == "297"
    assert x.create("hi #JobHuntChat").headers["x-rate-limit-limit"] == "100"


def test_exhausted_window_is_429_until_it_resets(make_sandbox: MakeSandbox, fake_clock: FakeClock) -> None:
    x = XApi(make_sandbox(limits={"search": 2}))
    window_end = int((fake_clock.now() + timedelta(minutes=15)).timestamp())
    assert [x.search("#JobHuntChat").status_code for _ in range(2)] == [200, 200]
    fake_clock.advance(14 * 60)
    limited = x.search("#JobHuntChat")
    assert limited.status_code == 429
    assert limited.json() == TOO_MANY
    assert limited.headers["x-rate-limit-remaining"] == "0"
    assert reset_at(limited) == window_end
    assert x.create("other endpoints have their own window #JobHuntChat").status_code == 201
    fake_clock.advance(60)
    again = x.search("#JobHuntChat")
    assert again.status_code == 200
    assert again.headers["x-rate-limit-remaining"] == "1"


def test_limits_can_be_lowered_through_the_faults_endpoint(sandbox: SandboxServer, x: XApi) -> None:
    answer = requests.post(sandbox.url + "/__sandbox/faults", json={"limits": {"create_post": 1}}, timeout=5)
    assert answer.json()["limits"]["create_post"] == 1
    assert x.create("one #JobHuntChat").status_code == 201
    assert x.create("two #JobHuntChat").status_code == 429


# -- billing ---------------------------------------------------------------------------------------


def test_usage_counts_requests_and_bills_reads_once_per_utc_day(
    sandbox: SandboxServer, x: XApi, fake_clock: FakeClock
) -> None:
    assert x.search("#nothing_here").json() == {"meta": {"result_count": 0}}
    fake_clock.advance(5 * 60)
    expand = {"expansions": "author_id"}
    assert x.search("#JobHuntChat", **expand).json()["meta"]["result_count"] == 6
    x.search("#JobHuntChat", **expand)  # the same posts and users again: not billed twice
    usage = sandbox.usage()
    assert usage["requests"] == {"search": 3}
    assert usage["requests_total"] == 3
    assert usage["tweets_returned"] == 12
    assert usage["billed"]["post_reads"] == 6
    assert usage["billed"]["user_reads"] == 5  # host, sam, priya, ada, marcus
    assert usage["usd"] == pytest.approx(6 * 0.005 + 5 * 0.010)
    fake_clock.advance(timedelta(hours=22))  # past midnight UTC: a new day, billed again
    x.search("#JobHuntChat", **expand)  # the newest 10 posts
    assert sandbox.usage()["billed"]["post_reads"] == 6 + 10
    assert requests.get(sandbox.url + "/__sandbox/usage", timeout=5).json() == sandbox.usage()


def test_created_posts_are_billed_by_kind(sandbox: SandboxServer, x: XApi, fake_clock: FakeClock) -> None:
    fake_clock.advance(5 * 60)
    x.create("A1 plain #JobHuntChat")
    x.create("A1 with a link https://example.com/guide #JobHuntChat")
    x.create("thanks! #JobHuntChat", reply={"in_reply_to_tweet_id": sandbox.post_id("welcome_ada")})
    billed = sandbox.usage()["billed"]
    assert (billed["posts_created"], billed["posts_created_with_url"], billed["summoned_replies"]) == (
        1,
        1,
        1,
    )
    assert sandbox.usage()["usd"] == pytest.approx(0.015 + 0.20 + 0.010)


# -- faults ----------------------------------------------------------------------------------------


def test_rate_limit_fault(sandbox: SandboxServer, x: XApi, fake_clock: FakeClock) -> None:
    sandbox.set_faults(rate_limit=2, reset_in=90)
    first = x.search("#JobHuntChat")
    assert first.status_code == 429
    assert first.json() == TOO_MANY
    assert reset_at(first) == int(fake_clock.now().timestamp()) + 90
    assert first.headers["x-rate-limit-remaining"] == "0"
    assert x.create("hi #JobHuntChat").status_code == 429
    assert x.search("#JobHuntChat").status_code == 200


def test_server_error_fault_scoped_to_an_endpoint(sandbox: SandboxServer, x: XApi) -> None:
    requests.post(
        sandbox.url + "/__sandbox/faults",
        json={"server_error": 1, "status": 503, "endpoint": "create_post"},
        timeout=5,
    )
    assert x.search("#JobHuntChat").status_code == 200
    failed = x.create("hi #JobHuntChat")
    assert failed.status_code == 503
    assert failed.json()["title"] == "Service Unavailable"
    assert x.create("hi #JobHuntChat").status_code == 201


def test_switch_faults_stay_until_cleared(sandbox: SandboxServer, x: XApi) -> None:
    sandbox.set_faults(credits_depleted=True)
    for _ in range(2):
        depleted = x.search("#JobHuntChat")
        assert depleted.status_code == 402
        assert depleted.json()["title"] == "CreditsDepleted"
        assert depleted.json()["type"] == "https://api.twitter.com/2/problems/credits"
    sandbox.set_faults(credits_depleted=False, usage_capped=True)
    capped = x.search("#JobHuntChat")
    assert capped.status_code == 429
    assert capped.json()["title"] == "UsageCapExceeded"
    sandbox.set_faults(unauthorized=True)
    assert x.search("#JobHuntChat").status_code == 401  # unauthorized wins over usage_capped
    state = requests.get(sandbox.url + "/__sandbox/faults", timeout=5).json()
    assert set(state["faults"]) == {"usage_capped", "unauthorized"}
    sandbox.set_faults(clear=True)
    assert x.search("#JobHuntChat").status_code == 200
    assert sandbox.faults()["faults"] == {}


def test_drop_fault_closes_the_connection(sandbox: SandboxServer, x: XApi) -> None:
    sandbox.set_faults(drop=1)
    with pytest.raises(requests.ConnectionError):
        x.search("#JobHuntChat")
    assert x.search("#JobHuntChat").status_code == 200
    assert [r["status"] for r in sandbox.requests()] == [None, 200]


def test_latency_fault_delays_answers(sandbox: SandboxServer, x: XApi) -> None:
    sandbox.set_faults(latency_ms=300, endpoint="search")
    with pytest.raises(requests.Timeout):
        requests.get(
            sandbox.url + "/2/tweets/search/recent",
            params={"query": "#a"},
            headers={"Authorization": x.auth},
            timeout=0.1,
        )
    assert x.get("/2/users/me").status_code == 200  # other endpoints answer at once


def test_bad_knobs_are_400(sandbox: SandboxServer) -> None:
    for knobs in ({"rate_limt": 1}, {"server_error": 1, "status": 404}, {"drop": "x"}, {"endpoint": "nope"}):
        answer = requests.post(sandbox.url + "/__sandbox/faults", json=knobs, timeout=5)
        assert answer.status_code == 400
        assert answer.json()["error"]
    assert sandbox.faults()["faults"] == {}
