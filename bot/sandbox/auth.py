"""Who a request comes from, read from its `Authorization` header the way X reads it.

OAuth 1.0a: the access token is `<user id>-<anything>`, and it must belong to the sandbox's account. The
signature is NOT verified: the sandbox only ever runs on 127.0.0.1 for tests and demos, and a client that
signs wrongly would fail on X anyway. `Bearer <token>` is app-only auth: fine for reads, 403 for actions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from bot.sandbox.problems import unauthorized

_OAUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Auth:
    """`user_id` is set for OAuth 1.0a user context, None for an app-only bearer token."""

    user_id: str | None

    @property
    def app_only(self) -> bool:
        return self.user_id is None


def authenticate(header: str | None, account_id: str) -> Auth:
    """The caller's identity; raises the 401 Problem for a missing, malformed or unknown credential."""
    if not header:
        raise unauthorized()
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        token = rest.strip()
        # tweepy sends "Bearer None" when it was given no bearer token
        if not token or token == "None":  # noqa: S105
            raise unauthorized()
        return Auth(None)
    if scheme == "OAuth":
        params = {name: unquote(value) for name, value in _OAUTH_PARAM.findall(rest)}
        token = params.get("oauth_token", "")
        user_id, dash, secret_part = token.partition("-")
        if params.get("oauth_consumer_key") and dash and secret_part and user_id == account_id:
            return Auth(user_id)
    raise unauthorized()
