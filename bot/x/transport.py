"""A `requests` adapter that points tweepy at another X API host and gives every request a timeout.

tweepy 4.x hard-codes `https://api.twitter.com` and passes no timeout. Mounted on `tweepy.Client.session` for
both of X's hosts, this adapter sends the requests to the configured base (the sandbox in tests) and applies
connect/read timeouts.

About OAuth 1.0a: requests-oauthlib signs `request.url` when the request is prepared, before any adapter sees
it, so the signature covers the host tweepy chose (api.twitter.com). X verifies signatures against the host
that receives the request, so rewriting api.twitter.com to api.x.com would break them. Hence a base on one
of X's own hosts is not rewritten at all: real requests stay on api.twitter.com, which X serves. Only a base
elsewhere (the sandbox, which does not verify signatures) gets the rewrite.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from requests import PreparedRequest, Response, Session
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies

X_HOSTS = ("https://api.twitter.com", "https://api.x.com")

Timeout = float | tuple[float, float] | tuple[float, None] | None


def is_x_host(base: str) -> bool:
    """True when `base` is one of X's own API hosts (requests to it are left where tweepy sent them)."""
    return base.rstrip("/").lower() in X_HOSTS


class XBaseAdapter(HTTPAdapter):
    """Rewrites X API URLs to `base` (unless `base` is X itself) and applies a default timeout."""

    def __init__(self, base: str, *, connect_timeout: float = 5.0, read_timeout: float = 10.0) -> None:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"X API base must be an http(s) URL such as https://api.x.com, not {base!r}")
        super().__init__(max_retries=0)  # retries are the gateway's job, with an injected clock
        self.base = base.rstrip("/")
        self.rewrites = not is_x_host(self.base)
        self.timeout = (connect_timeout, read_timeout)

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Timeout = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        if self.rewrites and request.url:
            request.url = self.rewrite(request.url)
            # requests chose the proxies for the original host; choose again for the new one.
            proxies = get_environ_proxies(request.url)
        return super().send(
            request,
            stream=stream,
            timeout=self.timeout if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )

    def rewrite(self, url: str) -> str:
        """`https://api.twitter.com/2/tweets?x=1` → `<base>/2/tweets?x=1`."""
        parts = urlsplit(url)
        query = f"?{parts.query}" if parts.query else ""
        return f"{self.base}{parts.path}{query}"


def mount_x_adapter(session: Session, adapter: XBaseAdapter) -> None:
    """Route every request for X's hosts through `adapter`."""
    for host in X_HOSTS:
        session.mount(host, adapter)
