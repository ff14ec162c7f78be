"""Posts and users as X's JSON: only the fields asked for, plus `includes` for the expansions asked for.

A tweet object always has `id`, `text` and `edit_history_tweet_ids` (tweepy warns without the latter); a
user object always has `id`, `name` and `username`. A field X documents but the sandbox does not model is
accepted and left out, as X leaves out fields a post does not have.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.sandbox.problems import invalid_request, missing_resource
from bot.sandbox.state import Post, World
from bot.sandbox.transcript import User

TWEET_FIELDS = frozenset(
    {
        "article",
        "attachments",
        "author_id",
        "card_uri",
        "community_id",
        "context_annotations",
        "conversation_id",
        "created_at",
        "display_text_range",
        "edit_controls",
        "edit_history_tweet_ids",
        "entities",
        "geo",
        "id",
        "in_reply_to_user_id",
        "lang",
        "media_metadata",
        "non_public_metrics",
        "note_tweet",
        "organic_metrics",
        "possibly_sensitive",
        "promoted_metrics",
        "public_metrics",
        "referenced_tweets",
        "reply_settings",
        "scopes",
        "source",
        "text",
        "withheld",
    }
)
USER_FIELDS = frozenset(
    {
        "affiliation",
        "connection_status",
        "created_at",
        "description",
        "entities",
        "id",
        "location",
        "most_recent_tweet_id",
        "name",
        "pinned_tweet_id",
        "profile_banner_url",
        "profile_image_url",
        "protected",
        "public_metrics",
        "receives_your_dm",
        "subscription_type",
        "url",
        "username",
        "verified",
        "verified_type",
        "withheld",
    }
)
EXPANSIONS = frozenset(
    {
        "article.cover_media",
        "article.media_entities",
        "attachments.media_keys",
        "attachments.media_source_tweet",
        "attachments.poll_ids",
        "author_id",
        "edit_history_tweet_ids",
        "entities.mentions.username",
        "geo.place_id",
        "in_reply_to_user_id",
        "entities.note.mentions.username",
        "referenced_tweets.id",
        "referenced_tweets.id.attachments.media_keys",
        "referenced_tweets.id.author_id",
        "pinned_tweet_id",
    }
)
_OTHER_FIELD_PARAMS = ("media.fields", "place.fields", "poll.fields")


def x_time(when: datetime) -> str:
    """X's timestamp format: `2026-11-23T21:05:00.000Z`."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _listed(params: Mapping[str, str], name: str, allowed: frozenset[str]) -> frozenset[str]:
    raw = params.get(name)
    if raw is None:
        return frozenset()
    values = [v for v in raw.split(",")]
    for value in values:
        if value not in allowed:
            raise invalid_request(
                name,
                value,
                f"The `{name}` query parameter value [{value}] is not one of [{','.join(sorted(allowed))}]",
            )
    return frozenset(values)


@dataclass(frozen=True)
class View:
    """Which fields and expansions a request asked for."""

    tweet_fields: frozenset[str] = frozenset()
    user_fields: frozenset[str] = frozenset()
    expansions: frozenset[str] = frozenset()

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> View:
        """Read `tweet.fields`, `user.fields` and `expansions`; 400 for a value X does not know."""
        return cls(
            _listed(params, "tweet.fields", TWEET_FIELDS),
            _listed(params, "user.fields", USER_FIELDS),
            _listed(params, "expansions", EXPANSIONS),
        )


VIEW_PARAMS = frozenset({"tweet.fields", "user.fields", "expansions", *_OTHER_FIELD_PARAMS})


@dataclass
class Renderer:
    """Renders posts and users for one answer, remembering what it returned (for the billing meter)."""

    world: World
    now: datetime
    view: View
    tweets_read: list[str] = field(default_factory=list)
    users_read: list[str] = field(default_factory=list)

    def tweet(self, post: Post) -> dict[str, Any]:
        """One tweet object with the requested fields."""
        wanted = self.view.tweet_fields
        out: dict[str, Any] = {"id": post.id_str, "text": post.text, "edit_history_tweet_ids": [post.id_str]}
        optional: dict[str, Any] = {
            "created_at": lambda: x_time(post.created_at),
            "author_id": lambda: post.author.id,
            "conversation_id": lambda: post.conversation_root().id_str,
            "lang": lambda: post.lang,
            "possibly_sensitive": lambda: False,
            "reply_settings": lambda: "everyone",
            "public_metrics": lambda: self.world.public_metrics(post, self.now),
            "edit_controls": lambda: {
                "edits_remaining": 5,
                "is_edit_eligible": False,
                "editable_until": x_time(post.created_at),
            },
            "display_text_range": lambda: [0, len(post.text)],
        }
        for name in sorted(wanted & optional.keys()):
            out[name] = optional[name]()
        if "in_reply_to_user_id" in wanted and post.reply_to is not None:
            out["in_reply_to_user_id"] = post.reply_to.author.id
        if "referenced_tweets" in wanted and _references(post):
            out["referenced_tweets"] = [{"type": kind, "id": ref.id_str} for kind, ref in _references(post)]
        if "entities" in wanted and post.entities.as_json():
            out["entities"] = post.entities.as_json()
        return out

    def user(self, user: User) -> dict[str, Any]:
        """One user object with the requested fields."""
        wanted = self.view.user_fields
        out: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.username}
        followers = user.followers if user.followers is not None else 40 + int(user.id) % 2000
        optional: dict[str, Any] = {
            "description": user.description,
            "location": user.location,
            "protected": False,
            "verified": False,
            "verified_type": "none",
            "created_at": "2015-06-01T12:00:00.000Z",
            "profile_image_url": f"https://pbs.twimg.com/profile_images/{user.id}/avatar_normal.jpg",
            "url": "",
            "public_metrics": None,  # counted only when asked for (below)
        }
        for name in sorted(wanted & optional.keys()):
            out[name] = optional[name]
        if "public_metrics" in wanted:
            out["public_metrics"] = {
                "followers_count": followers,
                "following_count": 100 + int(user.id) % 700,
                "tweet_count": 1000 + self.world.tweet_count(user, self.now),
                "listed_count": followers // 50,
                "like_count": 500 + int(user.id) % 5000,
            }
        return out

    def answer(self, posts: Iterable[Post]) -> dict[str, Any]:
        """`data` (a list), `includes` and `errors` for these posts; the caller adds `meta`."""
        posts = list(posts)
        data = [self.tweet(p) for p in posts]
        self.tweets_read.extend(p.id_str for p in posts)
        out: dict[str, Any] = {"data": data} if data else {}
        includes, errors = self._includes(posts)
        if includes:
            out["includes"] = includes
        if errors:
            out["errors"] = errors
        return out

    def me(self, user: User) -> dict[str, Any]:
        self.users_read.append(user.id)
        return {"data": self.user(user)}

    def _includes(self, posts: list[Post]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        exp = self.view.expansions
        users: dict[str, User] = {}
        tweets: dict[str, Post] = {}
        errors: list[dict[str, Any]] = []
        for post in posts:
            if "author_id" in exp:
                users.setdefault(post.author.id, post.author)
            if "in_reply_to_user_id" in exp and post.reply_to is not None:
                users.setdefault(post.reply_to.author.id, post.reply_to.author)
            if "entities.mentions.username" in exp:
                for mention in post.entities.mentions:
                    if (known := self.world.user(mention.username)) is not None:
                        users.setdefault(known.id, known)
            for _kind, ref in _references(post) if "referenced_tweets.id" in exp else ():
                if ref.visible(self.now):
                    tweets.setdefault(ref.id_str, ref)
                else:
                    errors.append(missing_resource("tweet", "referenced_tweets.id", ref.id_str))
        if "referenced_tweets.id.author_id" in exp:
            for ref in [r for p in posts for _k, r in _references(p) if r.visible(self.now)]:
                users.setdefault(ref.author.id, ref.author)
        includes: dict[str, Any] = {}
        if users:
            includes["users"] = [self.user(u) for u in users.values()]
            self.users_read.extend(users)
        if tweets:
            includes["tweets"] = [self.tweet(t) for t in tweets.values()]
            self.tweets_read.extend(tweets)
        return includes, errors


def _references(post: Post) -> list[tuple[str, Post]]:
    refs: list[tuple[str, Post]] = []
    if post.repost_of is not None:
        refs.append(("retweeted", post.repost_of))
    if post.quote_of is not None:
        refs.append(("quoted", post.quote_of))
    if post.reply_to is not None:
        refs.append(("replied_to", post.reply_to))
    return refs
