"""The real tweepy.Client works against the sandbox unchanged (its api.twitter.com requests redirected)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import tweepy
from requests.adapters import HTTPAdapter

from bot.clock import FakeClock
from bot.sandbox.server import SandboxServer


class _ToSandbox(HTTPAdapter):
    """Sends tweepy's https://api.twitter.com requests to the sandbox (a stand-in for bot.x's adapter)."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        request.url = (request.url or "").replace("https://api.twitter.com", self.base_url, 1)
        return super().send(request, *args, **kwargs)


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[tweepy.Client]:
    client = tweepy.Client(
        bearer_token="app-token",
        consumer_key="ck",
        consumer_secret="cs",
        access_token=sandbox.access_token,
        access_token_secret="ats",
    )
    client.session.mount("https://api.twitter.com", _ToSandbox(sandbox.url))
    yield client
    client.session.close()


def test_search_with_expansions(client: tweepy.Client, sandbox: SandboxServer, fake_clock: FakeClock) -> None:
    fake_clock.advance(9 * 60)
    response = client.search_recent_tweets(
        "#JobHuntChat -is:retweet",
        max_results=10,
        tweet_fields=["created_at", "author_id", "referenced_tweets", "entities"],
        expansions=["author_id", "referenced_tweets.id"],
        user_fields=["username", "description"],
    )
    quote = response.data[1]
    assert isinstance(quote, tweepy.Tweet)
    assert quote.text == "Great tip, stealing this #JobHuntChat"
    assert quote.referenced_tweets[0].type == "quoted"
    assert quote.created_at.isoformat() == "2026-11-24T02:07:00+00:00"
    users = {u.id: u for u in response.includes["users"]}
    assert users[2004].username == "marcus_newgrad"
    assert response.meta["result_count"] == 10
    second = client.search_recent_tweets("#JobHuntChat", next_token=response.meta["next_token"])
    assert second.meta["result_count"] == 1
    assert client.search_recent_tweets("#nothing", since_id=response.meta["newest_id"]).data is None


def test_post_reply_repost_and_refusals(
    client: tweepy.Client, sandbox: SandboxServer, fake_clock: FakeClock
) -> None:
    fake_clock.advance(7 * 60)
    created = client.create_tweet(
        text="A1 I check company career handles every Monday #JobHuntChat", user_auth=True
    )
    assert created.data["text"].startswith("A1 I check")
    reply = client.create_tweet(
        text="Thanks Marcus! #JobHuntChat", in_reply_to_tweet_id=sandbox.post_id("welcome_ada")
    )
    assert reply.data["id"]
    assert client.retweet(sandbox.post_id("a1_sam")).data == {"retweeted": True}
    with pytest.raises(tweepy.Forbidden) as refused:
        client.create_tweet(text="Nice #JobHuntChat", in_reply_to_tweet_id=sandbox.post_id("a1_sam"))
    assert refused.value.api_messages == [
        "You can only reply to or quote posts where you are mentioned or are the author."
    ]
    with pytest.raises(tweepy.Forbidden):
        client.like(sandbox.post_id("a1_sam"))
    with pytest.raises(tweepy.Forbidden, match="duplicate content"):
        client.create_tweet(text="Thanks Marcus! #JobHuntChat")
    assert [p["kind"] for p in sandbox.posted()] == ["post", "reply", "repost"]


def test_me_timeline_and_lookup(client: tweepy.Client, sandbox: SandboxServer, fake_clock: FakeClock) -> None:
    fake_clock.advance(10 * 60)
    assert client.get_me().data.username == "ada_builds"
    timeline = client.get_users_tweets(2002, exclude=["retweets"], max_results=5)
    assert [t.id for t in timeline.data] == [int(sandbox.post_id("a1_sam")), int(sandbox.post_id("sam_hi"))]
    assert client.get_tweet(sandbox.post_id("q1")).data.text.startswith("Q1 ")
    gone = client.get_tweet(sandbox.post_id("oops"))
    assert gone.data is None
    assert gone.errors[0]["title"] == "Not Found Error"


def test_errors_map_to_tweepy_exceptions(
    client: tweepy.Client, sandbox: SandboxServer, fake_clock: FakeClock
) -> None:
    sandbox.set_faults(rate_limit=1, reset_in=120)
    with pytest.raises(tweepy.TooManyRequests) as limited:
        client.search_recent_tweets("#JobHuntChat")
    assert limited.value.reset_time == int(fake_clock.now().timestamp()) + 120
    with pytest.raises(tweepy.BadRequest, match="is not between 10 and 100"):
        client.search_recent_tweets("#JobHuntChat", max_results=5)
    sandbox.set_faults(server_error=1)
    with pytest.raises(tweepy.TwitterServerError):
        client.search_recent_tweets("#JobHuntChat")
    sandbox.set_faults(credits_depleted=True)
    with pytest.raises(tweepy.HTTPException) as depleted:
        client.create_tweet(text="hi")
    assert depleted.value.response.status_code == 402
    sandbox.set_faults(clear=True)
    app_only = tweepy.Client(bearer_token="app-token")
    app_only.session.mount("https://api.twitter.com", _ToSandbox(sandbox.url))
    with pytest.raises(tweepy.Forbidden, match=r"OAuth 2\.0 Application-Only is forbidden"):
        app_only.create_tweet(text="hi", user_auth=False)
    app_only.session.close()
