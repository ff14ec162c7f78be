"""Posting through the sandbox: what self-serve access allows and refuses, and what the sandbox records."""

from __future__ import annotations

import requests

from bot.clock import FakeClock
from bot.sandbox.server import SandboxServer
from tests.fixtures.sandbox import MakeSandbox, XApi

FORBIDDEN_REPLY = {
    "detail": "You can only reply to or quote posts where you are mentioned or are the author.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}


def test_create_post_is_201_and_joins_the_stream(
    sandbox: SandboxServer, x: XApi, fake_clock: FakeClock
) -> None:
    fake_clock.advance(5 * 60)
    newest = x.search("#JobHuntChat").json()["meta"]["newest_id"]
    response = x.create("A1 I keep a list of company career handles and check it every Monday #JobHuntChat")
    assert response.status_code == 201
    data = response.json()["data"]
    assert set(data) == {"id", "text", "edit_history_tweet_ids"}
    assert int(data["id"]) > int(newest)
    assert x.search("#JobHuntChat", since_id=newest).json()["data"][0]["id"] == data["id"]
    assert x.get("/2/users/1000/tweets").json()["data"][0]["id"] == data["id"]
    assert sandbox.posted() == [
        {
            "id": data["id"],
            "text": "A1 I keep a list of company career handles and check it every Monday #JobHuntChat",
            "kind": "post",
            "reply_to": None,
            "quote_of": None,
            "target": None,
            "at": "2026-11-24T02:05:00.000Z",
        }
    ]


def test_duplicate_of_own_post_is_403(sandbox: SandboxServer, x: XApi) -> None:
    assert x.create("Hello #JobHuntChat").status_code == 201
    again = x.create("Hello #JobHuntChat")
    assert again.status_code == 403
    assert again.json() == {
        "detail": "You are not allowed to create a Tweet with duplicate content.",
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
    }
    assert len(sandbox.posted()) == 1


def test_weighted_length_over_280_is_400(x: XApi) -> None:
    assert x.create("a" * 280).status_code == 201
    assert x.create("界" * 140).status_code == 201  # CJK counts double: exactly 280
    too_long = x.create("界" * 141)
    assert too_long.status_code == 400
    assert too_long.json()["errors"][0]["message"].startswith("Your Tweet text is too long.")
    assert (
        x.create("https://example.com/" + "x" * 300 + " " + "b" * 200).status_code == 201
    )  # a URL counts 23


def test_self_serve_refuses_reply_to_a_post_that_does_not_mention_the_account(
    sandbox: SandboxServer, x: XApi, fake_clock: FakeClock
) -> None:
    fake_clock.advance(6 * 60)
    refused = x.create("A1 Same here #JobHuntChat", reply={"in_reply_to_tweet_id": sandbox.post_id("a1_sam")})
    assert refused.status_code == 403
    assert refused.json() == FORBIDDEN_REPLY
    assert sandbox.posted() == []


def test_self_serve_allows_replies_to_mentions_and_to_own_posts(
    sandbox: SandboxServer, x: XApi, fake_clock: FakeClock
) -> None:
    fake_clock.advance(16 * 60)
    mention = x.create(
        "Thanks Marcus! #JobHuntChat", reply={"in_reply_to_tweet_id": sandbox.post_id("welcome_ada")}
    )
    assert mention.status_code == 201
    own = x.create(
        "PS: I'm in Lisbon #JobHuntChat", reply={"in_reply_to_tweet_id": sandbox.post_id("ada_hi")}
    )
    assert own.status_code == 201
    asked = x.create(
        "Exactly right #JobHuntChat", reply={"in_reply_to_tweet_id": sandbox.post_id("a2_priya")}
    )
    assert asked.status_code == 201
    posted = sandbox.posted()
    assert [p["kind"] for p in posted] == ["reply", "reply", "reply"]
    assert posted[0]["reply_to"] == sandbox.post_id("welcome_ada")
    assert (
        x.get(f"/2/tweets/{mention.json()['data']['id']}", **{"tweet.fields": "in_reply_to_user_id"}).json()[
            "data"
        ]["in_reply_to_user_id"]
        == "2004"
    )


def test_reply_to_a_deleted_post_is_refused(sandbox: SandboxServer, x: XApi, fake_clock: FakeClock) -> None:
    fake_clock.advance(5 * 60)
    sandbox.delete_post("welcome_ada")
    gone = x.create("Thanks! #JobHuntChat", reply={"in_reply_to_tweet_id": sandbox.post_id("welcome_ada")})
    assert gone.status_code == 403
    assert gone.json()["detail"] == "You attempted to reply to a Tweet that is deleted or not visible to you."


def test_quote_like_follow_are_refused_on_self_serve_and_repost_works(
    sandbox: SandboxServer, x: XApi, fake_clock: FakeClock
) -> None:
    fake_clock.advance(7 * 60)
    a1 = sandbox.post_id("a1_sam")
    quote = x.create("So true #JobHuntChat", quote_tweet_id=a1)
    like = x.post("/2/users/1000/likes", {"tweet_id": a1})
    follow = x.post("/2/users/1000/following", {"target_user_id": "2002"})
    for refused in (quote, like, follow):
        assert refused.status_code == 403
        assert refused.json()["type"] == "https://api.twitter.com/2/problems/client-forbidden"
        assert "not available on your current API access level" in refused.json()["detail"]
    repost = x.post("/2/users/1000/retweets", {"tweet_id": a1})
    assert repost.status_code == 200
    assert repost.json() == {"data": {"retweeted": True}}
    assert [(p["kind"], p["target"]) for p in sandbox.posted()] == [("repost", a1)]
    metrics = x.get(f"/2/tweets/{a1}", **{"tweet.fields": "public_metrics"}).json()["data"]["public_metrics"]
    assert metrics["retweet_count"] == 1
    assert metrics["quote_count"] == 1  # Marcus's quote comes from the transcript
    refused_calls = [r for r in sandbox.requests() if r["status"] == 403]
    assert [r["endpoint"] for r in refused_calls] == ["create_post", "like", "follow"]
    assert requests.get(sandbox.url + "/__sandbox/posts", timeout=5).json() == sandbox.posted()
    assert requests.get(sandbox.url + "/__sandbox/requests", timeout=5).json() == sandbox.requests()


def test_acting_for_another_user_is_403(x: XApi) -> None:
    response = x.post("/2/users/2002/retweets", {"tweet_id": "1"})
    assert response.status_code == 403
    assert "on behalf of user [2002]" in response.json()["detail"]


def test_unrestricted_tier_allows_everything(make_sandbox: MakeSandbox, fake_clock: FakeClock) -> None:
    server = make_sandbox(tier="unrestricted")
    x = XApi(server)
    fake_clock.advance(7 * 60)
    a1 = server.post_id("a1_sam")
    assert x.create("Agreed #JobHuntChat", reply={"in_reply_to_tweet_id": a1}).status_code == 201
    assert x.create("Worth a read #JobHuntChat", quote_tweet_id=a1).status_code == 201
    assert x.post("/2/users/1000/likes", {"tweet_id": a1}).json() == {"data": {"liked": True}}
    assert x.post("/2/users/1000/following", {"target_user_id": "2002"}).json() == {
        "data": {"following": True, "pending_follow": False}
    }
    assert [p["kind"] for p in server.posted()] == ["reply", "quote", "like", "follow"]
    metrics = x.get(f"/2/tweets/{a1}", **{"tweet.fields": "public_metrics"}).json()["data"]["public_metrics"]
    assert (metrics["reply_count"], metrics["quote_count"], metrics["like_count"]) == (1, 2, 1)


def test_bad_bodies_are_400(x: XApi) -> None:
    assert x.post("/2/tweets", {"txt": "hi"}).status_code == 400
    assert x.post("/2/tweets", {"text": ""}).status_code == 400
    assert x.post("/2/users/1000/retweets", {}).status_code == 400


def test_users_me(x: XApi) -> None:
    me = x.get("/2/users/me")
    assert me.status_code == 200
    assert me.json() == {"data": {"id": "1000", "name": "Ada Example", "username": "ada_builds"}}
