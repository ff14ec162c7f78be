"""Read endpoints: recent search, a user's timeline, post lookup and `users/me`."""

from __future__ import annotations

from typing import Any

from bot.sandbox.calls import Call, Context, bill, in_range, lowest_id, paged
from bot.sandbox.problems import invalid_request, missing_resource
from bot.sandbox.query import MAX_QUERY_LENGTH, QueryError, parse_query

_PAGING = ("since_id", "until_id", "start_time", "end_time", "max_results")
SEARCH_PARAMS = ("query", "next_token", "pagination_token", "sort_order", *_PAGING)
TIMELINE_PARAMS = ("pagination_token", "exclude", *_PAGING)


def search(context: Context, call: Call) -> dict[str, Any]:
    """`GET /2/tweets/search/recent`: visible posts matching the query, newest first, no reposts."""
    call.check_params(SEARCH_PARAMS)
    query = call.params.get("query", "")
    if not query:
        raise invalid_request("query", query, "The `query` query parameter can not be empty")
    max_length = MAX_QUERY_LENGTH if context.self_serve else 4096
    try:
        tree = parse_query(query, max_length=max_length)
    except QueryError as error:
        raise invalid_request("query", query, str(error)) from None
    max_results = call.whole("max_results", 10, 10, 100)
    token = "next_token" if "next_token" in call.params else "pagination_token"
    # The range first (cheap, and most polls ask only for what is new), then the query.
    in_view = in_range(context.world.visible(call.now, above=lowest_id(call)), call, cursor_param=token)
    candidates = [
        p
        for p in in_view
        if p.repost_of is None
        and tree.matches(p.search_doc())  # no reposts in keyword search since 2026-05-04
    ]
    return paged(context, call, candidates, max_results)


def timeline(context: Context, call: Call, user_id: str) -> dict[str, Any]:
    """`GET /2/users/:id/tweets`: the user's visible posts newest first (`exclude=retweets,replies`)."""
    call.check_params(TIMELINE_PARAMS)
    user = context.world.user_by_id(user_id)
    if user is None:
        return {"errors": [missing_resource("user", "id", user_id)]}
    max_results = call.whole("max_results", 10, 5, 100)
    exclude = set(filter(None, call.params.get("exclude", "").split(",")))
    if exclude - {"retweets", "replies"}:
        raise invalid_request(
            "exclude",
            call.params["exclude"],
            f"The `exclude` query parameter value [{','.join(sorted(exclude))}] is not one of "
            "[replies,retweets]",
        )
    posts = [
        p
        for p in context.world.visible(call.now)
        if p.author is user
        and not ("retweets" in exclude and p.repost_of is not None)
        and not ("replies" in exclude and p.reply_to is not None)
    ]
    return paged(context, call, in_range(posts, call, cursor_param="pagination_token"), max_results)


def lookup(context: Context, call: Call, post_id: str) -> dict[str, Any]:
    """`GET /2/tweets/:id`: the post, or (status 200, as X answers) an `errors` entry when it is gone."""
    call.check_params(())
    if not post_id.isdigit():
        raise invalid_request("id", post_id, f"The `id` query parameter value [{post_id}] is not valid")
    post = context.world.find(post_id, call.now)
    if post is None:
        return {"errors": [missing_resource("tweet", "id", post_id)]}
    renderer = call.renderer(context)
    body = renderer.answer([post])
    body["data"] = body["data"][0]
    bill(context, call, renderer, returned=1)
    return body


def lookup_many(context: Context, call: Call) -> dict[str, Any]:
    """`GET /2/tweets?ids=…`: the posts still there, plus an `errors` entry for each one gone."""
    call.check_params(("ids",))
    ids = [i for i in call.params.get("ids", "").split(",") if i]
    if not 1 <= len(ids) <= 100 or not all(i.isdigit() for i in ids):
        raise invalid_request(
            "ids", call.params.get("ids", ""), "`ids` must be 1 to 100 comma-separated post ids"
        )
    found = [p for i in ids if (p := context.world.find(i, call.now)) is not None]
    renderer = call.renderer(context)
    body = renderer.answer(found)
    missing = [missing_resource("tweet", "ids", i) for i in ids if context.world.find(i, call.now) is None]
    if missing:
        body["errors"] = [*body.get("errors", []), *missing]
    bill(context, call, renderer, returned=len(found))
    return body


def me(context: Context, call: Call) -> dict[str, Any]:
    """`GET /2/users/me`: the authenticated account."""
    call.check_params(())
    renderer = call.renderer(context)
    body = renderer.me(context.world.account)
    bill(context, call, renderer, returned=0)
    return body
