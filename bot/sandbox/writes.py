"""Write endpoints: create a post, repost, like, follow, with the rules of the account's access tier.

On `self-serve` (the 2026 changelog): a reply is accepted only to a post that mentions or quotes the
account, replies to it, or is its own; quote posts, likes and follows are refused. `unrestricted` allows all.
Every action that succeeds is appended to `context.posted` (`GET /__sandbox/posts`).
"""

from __future__ import annotations

from typing import Any

from twitter_text import parse_tweet

from bot.sandbox.calls import Call, Context
from bot.sandbox.problems import (
    duplicate,
    forbidden,
    invalid_body,
    not_available,
    not_found,
    reply_not_allowed,
    reply_target_gone,
    text_too_long,
)
from bot.sandbox.render import x_time
from bot.sandbox.state import Post

_CREATE_FIELDS = {
    "text",
    "reply",
    "quote_tweet_id",
    "media",
    "poll",
    "geo",
    "reply_settings",
    "for_super_followers_only",
    "direct_message_deep_link",
    "community_id",
    "nullcast",
    "card_uri",
    "made_with_ai",
    "paid_partnership",
}


def create_post(context: Context, call: Call) -> dict[str, Any]:
    """`POST /2/tweets` → 201 `{"data": {"id", "text", "edit_history_tweet_ids"}}`."""
    body = _body(call, required={})
    unknown = sorted(set(body) - _CREATE_FIELDS)
    if unknown:
        raise invalid_body(
            f"$.{unknown[0]}: is not defined in the schema and the schema does not allow "
            "additional properties"
        )
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise invalid_body("The `text` field is required (and must not be empty) when no media is attached.")
    if parse_tweet(text).weightedLength > 280:
        raise text_too_long(text)
    reply_to = _reply_target(context, call, body.get("reply"))
    quote_of = _quote_target(context, call, body.get("quote_tweet_id"))
    world = context.world
    if any(p.author is world.account and p.raw_text == text for p in world.visible(call.now)):
        raise duplicate()
    post = world.create(world.account, text, call.now, reply_to=reply_to, quote_of=quote_of)
    summoned = reply_to is not None and reply_to.mentions(world.account)
    context.meter.created(has_url=bool(post.entities.urls), summoned=summoned)
    kind = "quote" if quote_of else "reply" if reply_to else "post"
    _log(context, call, kind, post_id=post.id_str, text=text, reply_to=reply_to, quote_of=quote_of)
    return {"data": {"id": post.id_str, "text": post.text, "edit_history_tweet_ids": [post.id_str]}}


def repost(context: Context, call: Call, user_id: str) -> dict[str, Any]:
    """`POST /2/users/:id/retweets` `{"tweet_id"}` → `{"data": {"retweeted": true}}` (both tiers)."""
    _acting_as(context, call, user_id)
    target = _target_post(context, call, _body(call, required={"tweet_id": str})["tweet_id"])
    world = context.world
    already = any(p.repost_of is target and p.author is world.account for p in world.visible(call.now))
    if not already:
        post = world.create(world.account, "", call.now, repost_of=target)
        _log(context, call, "repost", post_id=post.id_str, text=post.text, target=target.id_str)
    return {"data": {"retweeted": True}}


def like(context: Context, call: Call, user_id: str) -> dict[str, Any]:
    """`POST /2/users/:id/likes` `{"tweet_id"}`: refused on self-serve."""
    _acting_as(context, call, user_id)
    if context.self_serve:
        raise not_available("Liking posts through the API")
    target = _target_post(context, call, _body(call, required={"tweet_id": str})["tweet_id"])
    if context.world.account.id not in target.likers:
        target.likers.add(context.world.account.id)
        _log(context, call, "like", target=target.id_str)
    return {"data": {"liked": True}}


def follow(context: Context, call: Call, user_id: str) -> dict[str, Any]:
    """`POST /2/users/:id/following` `{"target_user_id"}`: refused on self-serve."""
    _acting_as(context, call, user_id)
    if context.self_serve:
        raise not_available("Following users through the API")
    target_id = _body(call, required={"target_user_id": str})["target_user_id"]
    if context.world.user_by_id(target_id) is None:
        raise not_found("user", target_id)
    _log(context, call, "follow", target=target_id)
    return {"data": {"following": True, "pending_follow": False}}


# -- helpers ----------------------------------------------------------------------------------------------


def _body(call: Call, *, required: dict[str, type]) -> dict[str, Any]:
    if not isinstance(call.body, dict):
        raise invalid_body("The request body must be a JSON object.")
    for name, kind in required.items():
        if not isinstance(call.body.get(name), kind) or not call.body[name]:
            raise invalid_body(f"$.{name}: is missing but it is required")
    return call.body


def _acting_as(context: Context, call: Call, user_id: str) -> None:
    """The `:id` in the path must be the authenticated user, as on X."""
    if user_id != call.user_id:
        raise forbidden(f"You are not permitted to perform this action on behalf of user [{user_id}].")


def _target_post(context: Context, call: Call, post_id: str) -> Post:
    post = context.world.find(post_id, call.now)
    if post is None:
        raise not_found("tweet", post_id)
    return post


def _reply_target(context: Context, call: Call, reply: Any) -> Post | None:
    if reply is None:
        return None
    target_id = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
    if not isinstance(target_id, str) or not target_id.isdigit():
        raise invalid_body("$.reply.in_reply_to_tweet_id: is missing but it is required")
    target = context.world.find(target_id, call.now)
    if target is None:
        raise reply_target_gone()
    if context.self_serve and not context.world.reply_allowed(target):
        raise reply_not_allowed()
    return target


def _quote_target(context: Context, call: Call, quote_id: Any) -> Post | None:
    if quote_id is None:
        return None
    if context.self_serve:
        raise not_available("Quote posts through the API")
    if not isinstance(quote_id, str) or not quote_id.isdigit():
        raise invalid_body("$.quote_tweet_id: must be a post id")
    return _target_post(context, call, quote_id)


def _log(
    context: Context,
    call: Call,
    kind: str,
    *,
    post_id: str | None = None,
    text: str = "",
    reply_to: Post | None = None,
    quote_of: Post | None = None,
    target: str | None = None,
) -> None:
    context.posted.append(
        {
            "id": post_id,
            "text": text,
            "kind": kind,
            "reply_to": reply_to.id_str if reply_to else None,
            "quote_of": quote_of.id_str if quote_of else None,
            "target": target,
            "at": x_time(call.now),
        }
    )
