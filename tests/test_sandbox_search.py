"""Recent search over HTTP: visibility over time, X's response shapes, pagination and since_id."""

from __future__ import annotations

from bot.clock import FakeClock
from bot.sandbox.server import SandboxServer
from tests.fixtures.sandbox import MakeSandbox, XApi

FIELDS = {
    "tweet.fields": "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,entities,"
    "public_metrics,lang",
    "expansions": "author_id,referenced_tweets.id",
    "user.fields": "username,name,description,public_metrics",
}


def texts(response_json: dict) -> list[str]:
    return [t["text"] for t in response_json.get("data", [])]


def test_posts_appear_as_the_clock_reaches_them(
    sandbox: SandboxServer, x: XApi, fake_clock: FakeClock
) -> None:
    assert texts(x.search("#JobHuntChat").json()) == [
        "Welcome to #JobHuntChat! Say hi and tell us where you're from"
    ]
    fake_clock.advance(3 * 60 + 59)
    assert len(x.search("#JobHuntChat").json()["data"]) == 4
    fake_clock.advance(1)
    assert x.search("#JobHuntChat").json()["data"][0]["text"] == "@ada_builds welcome! #JobHuntChat"


def test_empty_search_has_only_meta(make_sandbox: MakeSandbox, fake_clock: FakeClock) -> None:
    server = make_sandbox(start=fake_clock.now().replace(hour=3))  # the chat starts in an hour
    response = XApi(server).search("#JobHuntChat")
    assert response.status_code == 200
    assert response.json() == {"meta": {"result_count": 0}}


def test_shapes_fields_and_expansions(sandbox: SandboxServer, x: XApi, fake_clock: FakeClock) -> None:
    fake_clock.advance(8 * 60)
    body = x.search("#JobHuntChat from:coach_priya is:reply", **FIELDS).json()
    [answer, intro] = body["data"]
    q1, welcome = sandbox.post_id("q1"), sandbox.post_id("welcome")
    assert answer == {
        "id": sandbox.post_id("a1_priya"),
        "text": "A1 Make a private list of recruiters: https://t.co/hu3Y1c2zwz #JobHuntChat",
        "edit_history_tweet_ids": [sandbox.post_id("a1_priya")],
        "author_id": "2003",
        "conversation_id": q1,
        "created_at": "2026-11-24T02:06:00.000Z",
        "in_reply_to_user_id": "2001",
        "lang": "en",
        "referenced_tweets": [{"type": "replied_to", "id": q1}],
        "entities": {
            "hashtags": [{"start": 62, "end": 74, "tag": "JobHuntChat"}],
            "urls": [
                {
                    "start": 38,
                    "end": 61,
                    "url": "https://t.co/hu3Y1c2zwz",
                    "expanded_url": "https://example.com/lists-guide",
                    "display_url": "example.com/lists-guide",
                }
            ],
        },
        "public_metrics": {
            "retweet_count": 1,
            "reply_count": 0,
            "like_count": 0,
            "quote_count": 0,
            "bookmark_count": 0,
            "impression_count": 0,
        },
    }
    assert intro["referenced_tweets"] == [{"type": "replied_to", "id": welcome}]
    assert [u["username"] for u in body["includes"]["users"]] == ["coach_priya"]
    assert body["includes"]["users"][0]["public_metrics"]["followers_count"] > 0
    assert {t["id"] for t in body["includes"]["tweets"]} == {q1, welcome}
    assert body["meta"] == {"newest_id": answer["id"], "oldest_id": intro["id"], "result_count": 2}


def test_only_requested_fields_are_returned(sandbox: SandboxServer, x: XApi) -> None:
    [welcome] = x.search("#JobHuntChat", **{"tweet.fields": "author_id"}).json()["data"]
    assert set(welcome) == {"id", "text", "edit_history_tweet_ids", "author_id"}
    assert "includes" not in x.search("#JobHuntChat").json()


def test_mentions_carry_the_known_user_id(sandbox: SandboxServer, x: XApi, fake_clock: FakeClock) -> None:
    fake_clock.advance(20 * 60)
    assert x.search("@ada_builds -is:reply").json() == {
        "meta": {"result_count": 0}
    }  # both mentions are replies
    [a2, welcome] = x.search("@ada_builds", **{"tweet.fields": "entities"}).json()["data"]
    assert a2["entities"]["mentions"] == [{"start": 59, "end": 70, "username": "ada_builds", "id": "1000"}]
    assert welcome["text"].startswith("@ada_builds")


def test_reposts_and_deleted_posts_are_not_found(
    sandbox: SandboxServer, x: XApi, fake_clock: FakeClock
) -> None:
    fake_clock.advance(9 * 60)
    found = texts(x.search("#JobHuntChat").json())
    assert "oops wrong window #JobHuntChat" in found
    assert not any(t.startswith("RT @") for t in found)
    assert x.search("#JobHuntChat is:retweet").json() == {"meta": {"result_count": 0}}
    fake_clock.advance(60)
    assert "oops wrong window #JobHuntChat" not in texts(x.search("#JobHuntChat").json())


def test_pagination_with_next_token_newest_first(
    sandbox: SandboxServer, x: XApi, fake_clock: FakeClock
) -> None:
    fake_clock.advance(60 * 60)
    first = x.search("#JobHuntChat", max_results=10).json()
    assert first["meta"]["result_count"] == 10
    second = x.search("#JobHuntChat", max_results=10, next_token=first["meta"]["next_token"]).json()
    assert "next_token" not in second["meta"]
    ids = [int(t["id"]) for t in first["data"] + second["data"]]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == len(set(ids)) == 12  # 15 posts less a repost, a deleted post and #JobHuntChat2
    assert second["meta"]["newest_id"] == second["data"][0]["id"]


def test_since_id_is_exclusive_and_polling_sees_only_new_posts(
    sandbox: SandboxServer, x: XApi, fake_clock: FakeClock
) -> None:
    fake_clock.advance(5 * 60)
    first = x.search("#JobHuntChat").json()
    newest = first["meta"]["newest_id"]
    assert newest == sandbox.post_id("q1")
    assert x.search("#JobHuntChat", since_id=newest).json() == {"meta": {"result_count": 0}}
    fake_clock.advance(60)
    later = x.search("#JobHuntChat", since_id=newest).json()
    assert texts(later)[-1].startswith("A1 I follow the career handles")
    assert all(int(t["id"]) > int(newest) for t in later["data"])


def test_since_id_with_pages(sandbox: SandboxServer, x: XApi, fake_clock: FakeClock) -> None:
    since = sandbox.post_id("welcome")
    fake_clock.advance(60 * 60)
    pages, token = [], None
    while True:
        params = {"since_id": since, "max_results": 10, **({"next_token": token} if token else {})}
        body = x.search("#JobHuntChat", **params).json()
        pages.append(body)
        token = body["meta"].get("next_token")
        if token is None:
            break
    assert [p["meta"]["result_count"] for p in pages] == [10, 1]
    assert since not in {t["id"] for p in pages for t in p["data"]}


def test_max_results_and_query_errors_are_x_400s(sandbox: SandboxServer, x: XApi) -> None:
    response = x.search("#JobHuntChat", max_results=5)
    assert response.status_code == 400
    assert response.json() == {
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
    standalone = x.search("is:reply lang:en")
    assert standalone.status_code == 400
    assert "cannot be used as a standalone operator" in standalone.json()["errors"][0]["message"]
    assert x.search("(#JobHuntChat").status_code == 400
    too_long = x.search("#JobHuntChat " + "a" * 500)
    assert too_long.status_code == 400
    assert "maximum is 512" in too_long.json()["errors"][0]["message"]
    assert x.search("#JobHuntChat", tweet_fields="created_at").status_code == 400  # misspelt parameter
    assert x.search("#JobHuntChat", **{"tweet.fields": "colour"}).status_code == 400


def test_speed_plays_the_transcript_faster(make_sandbox: MakeSandbox, fake_clock: FakeClock) -> None:
    server = make_sandbox(speed=60.0)  # a minute of chat per second
    fake_clock.advance(5)
    assert XApi(server).search("#JobHuntChat").json()["meta"]["newest_id"] == server.post_id("q1")


def test_timeline_and_lookup(sandbox: SandboxServer, x: XApi, fake_clock: FakeClock) -> None:
    fake_clock.advance(10 * 60)
    sam = x.get("/2/users/2002/tweets", max_results=5).json()
    assert [t["id"] for t in sam["data"]] == [sandbox.post_id(k) for k in ("rt_priya", "a1_sam", "sam_hi")]
    no_reposts = x.get("/2/users/2002/tweets", exclude="retweets").json()
    assert sandbox.post_id("rt_priya") not in {t["id"] for t in no_reposts["data"]}
    assert x.get("/2/users/2002/tweets", max_results=4).status_code == 400

    found = x.get(f"/2/tweets/{sandbox.post_id('q1')}", **{"tweet.fields": "author_id"}).json()
    assert found == {
        "data": {
            "id": sandbox.post_id("q1"),
            "text": "Q1 How do you use X in your job search? #JobHuntChat",
            "edit_history_tweet_ids": [sandbox.post_id("q1")],
            "author_id": "2001",
        }
    }


def test_deleted_post_lookup_is_the_200_errors_shape(
    sandbox: SandboxServer, x: XApi, fake_clock: FakeClock
) -> None:
    fake_clock.advance(10 * 60)
    gone = sandbox.post_id("oops")
    response = x.get(f"/2/tweets/{gone}")
    assert response.status_code == 200
    assert response.json() == {
        "errors": [
            {
                "value": gone,
                "detail": f"Could not find tweet with id: [{gone}].",
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "id",
                "resource_id": gone,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        ]
    }
    both = x.get("/2/tweets", ids=f"{sandbox.post_id('q1')},{gone}").json()
    assert [t["id"] for t in both["data"]] == [sandbox.post_id("q1")]
    assert [e["resource_id"] for e in both["errors"]] == [gone]


def test_delete_post_removes_it_from_search_and_lookup(
    sandbox: SandboxServer, x: XApi, fake_clock: FakeClock
) -> None:
    fake_clock.advance(6 * 60)
    sandbox.delete_post("a1_sam")
    assert "A1 I follow the career handles of companies I like #JobHuntChat" not in texts(
        x.search("#JobHuntChat").json()
    )
    assert "errors" in x.get(f"/2/tweets/{sandbox.post_id('a1_sam')}").json()


def test_injected_post_is_visible_now_with_a_larger_id(
    sandbox: SandboxServer, x: XApi, fake_clock: FakeClock
) -> None:
    fake_clock.advance(5 * 60)
    newest = x.search("#JobHuntChat").json()["meta"]["newest_id"]
    injected = sandbox.add_post(
        "lena_pivots", "@ada_builds what do you track? #JobHuntChat", reply_to="q1", key="ask"
    )
    assert int(injected) > int(newest)
    assert sandbox.post_id("ask") == injected
    assert texts(x.search("#JobHuntChat", since_id=newest).json()) == [
        "@ada_builds what do you track? #JobHuntChat"
    ]
