"""The error bodies X sends, word for word where we know them (see shared/x-api.md).

Handlers raise `Problem(status, body)`; the server turns it into the HTTP answer.
"""

from __future__ import annotations

from typing import Any

Body = dict[str, Any]
_INVALID = "https://api.twitter.com/2/problems/invalid-request"
_NOT_FOUND = "https://api.twitter.com/2/problems/resource-not-found"


class Problem(Exception):
    """An answer other than success: `status` and X's JSON `body`."""

    def __init__(self, status: int, body: Body) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def invalid_request(parameter: str, value: str, message: str) -> Problem:
    """400 "Invalid Request", naming the parameter, as X answers a bad query or parameter."""
    return Problem(
        400,
        {
            "errors": [{"parameters": {parameter: [value]}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": _INVALID,
        },
    )


def invalid_body(message: str) -> Problem:
    """400 for a JSON body that is not what the endpoint takes."""
    return Problem(
        400,
        {
            "errors": [{"message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": _INVALID,
        },
    )


def text_too_long(text: str) -> Problem:
    return invalid_request(
        "text",
        text,
        "Your Tweet text is too long. For more information on how Twitter determines text length see "
        "https://github.com/twitter/twitter-text.",
    )


def forbidden(detail: str) -> Problem:
    """403 in X's plain shape (duplicate content, reply rule, …)."""
    return Problem(403, {"detail": detail, "type": "about:blank", "title": "Forbidden", "status": 403})


def duplicate() -> Problem:
    return forbidden("You are not allowed to create a Tweet with duplicate content.")


def reply_not_allowed() -> Problem:
    return forbidden("You can only reply to or quote posts where you are mentioned or are the author.")


def reply_target_gone() -> Problem:
    return forbidden("You attempted to reply to a Tweet that is deleted or not visible to you.")


def not_available(action: str) -> Problem:
    """403 client-forbidden: the action (like, follow, quote) is not part of this access level."""
    return Problem(
        403,
        {
            "title": "Client Forbidden",
            "detail": f"{action} is not available on your current API access level (self-serve).",
            "reason": "client-not-enrolled",
            "required_enrollment": "Appropriate Level of API Access",
            "type": "https://api.twitter.com/2/problems/client-forbidden",
            "status": 403,
        },
    )


def unsupported_authentication() -> Problem:
    return Problem(
        403,
        {
            "title": "Unsupported Authentication",
            "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
            "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
            "type": "https://api.twitter.com/2/problems/unsupported-authentication",
            "status": 403,
        },
    )


def unauthorized() -> Problem:
    return Problem(
        401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
    )


def too_many_requests() -> Problem:
    return Problem(
        429,
        {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
    )


def usage_capped() -> Problem:
    return Problem(
        429,
        {
            "title": "UsageCapExceeded",
            "detail": "Usage cap exceeded: Monthly product cap",
            "type": "https://api.twitter.com/2/problems/usage-capped",
            "period": "Monthly",
            "scope": "Product",
        },
    )


def credits_depleted(account_id: str) -> Problem:
    return Problem(
        402,
        {
            "account_id": int(account_id),
            "title": "CreditsDepleted",
            "detail": f"Your enrolled account [{account_id}] does not have any credits to fulfill this "
            "request.",
            "type": "https://api.twitter.com/2/problems/credits",
        },
    )


def server_error(status: int) -> Problem:
    titles = {
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
    title = titles.get(status, "Server Error")
    return Problem(status, {"title": title, "detail": title, "type": "about:blank", "status": status})


def not_found(resource: str, value: str) -> Problem:
    """404 for an action on a post or user that does not exist (any more)."""
    return Problem(
        404,
        {
            "title": "Not Found Error",
            "detail": f"Could not find {resource} with id: [{value}].",
            "type": _NOT_FOUND,
            "status": 404,
        },
    )


def missing_resource(resource: str, parameter: str, value: str) -> Body:
    """One entry of `errors` for a lookup of something missing; X answers such lookups with 200."""
    return {
        "value": value,
        "detail": f"Could not find {resource} with id: [{value}].",
        "title": "Not Found Error",
        "resource_type": resource,
        "parameter": parameter,
        "resource_id": value,
        "type": _NOT_FOUND,
    }


def no_route(path: str) -> Problem:
    return Problem(
        404,
        {
            "title": "Not Found Error",
            "detail": f"No such endpoint: {path}",
            "type": "about:blank",
            "status": 404,
        },
    )
