"""Serving the dashboard: `chatcaddy web` in the foreground, or beside the worker in `chatcaddy run`.

The server refuses to listen beyond this computer (any address but loopback) without DASHBOARD_PASSWORD.
Without a password it prints a one-time login link; each use prints the next one.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

import structlog
import uvicorn
from fastapi import FastAPI

from bot.clock import Clock
from bot.config import Config
from bot.errors import ConfigError, ConfigIssue
from bot.settings import Settings
from bot.store.db import Store
from bot.web.app import create_app
from bot.web.auth import Auth
from bot.web.deps import Regenerator, WebContext
from bot.web.notify import Notifier, notifier_from_settings

log = structlog.get_logger("bot.web")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this computer only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_safe_address(host: str, password: str) -> None:
    """A ConfigError unless the address is loopback or a password protects the dashboard."""
    if not password and not is_loopback(host):
        message = (
            f"DASHBOARD_PASSWORD is not set: the dashboard will not listen on {host}, where other computers "
            "could reach it. Set DASHBOARD_PASSWORD, or listen on 127.0.0.1"
        )
        raise ConfigError([ConfigIssue("environment", 0, 0, message)])


class WebServer:
    """uvicorn serving `app` on a socket bound at construction (so port 0 picks a free port and a busy
    port fails at once, with a clear message)."""

    def __init__(self, app: FastAPI, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.app = app
        self.host = host
        self._socket = _bind(host, port)
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(app, log_config=None, access_log=False, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        """Serve in this thread until SIGINT/SIGTERM."""
        self._server.run(sockets=[self._socket])

    def start(self) -> None:
        """Serve in a daemon thread; connections wait in the socket's queue until it accepts them."""
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="web", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without it a kept-alive request waits ~40 ms on delayed ACKs.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        message = (
            f"the dashboard cannot listen on {host}:{port}: {exc.strerror}; pass --port to choose another"
        )
        raise ConfigError([ConfigIssue("command line", 0, 0, message)]) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@dataclass
class Dashboard:
    """A dashboard ready to serve: its server, its notifier and the first login link."""

    server: WebServer
    notifier: Notifier | None
    login_url: str
    uses_password: bool

    def start(self) -> None:
        self.server.start()
        if self.notifier is not None:
            self.notifier.start()

    def stop(self) -> None:
        if self.notifier is not None:
            self.notifier.stop()
        self.server.stop()


def build_dashboard(
    *,
    store: Store,
    config: Config,
    clock: Clock,
    settings: Settings,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    regenerate: Regenerator | None = None,
    say: Callable[[str], None] = print,
) -> Dashboard:
    """Check the address, make the app, bind the port and set up notifications; nothing runs yet."""
    password = settings.dashboard_password.get_secret_value()
    require_safe_address(host, password)
    holder: list[WebServer] = []

    def new_token(token: str) -> None:
        say(f"dashboard: that login link is used up; the next one is {holder[0].url}/login?token={token}")

    auth = Auth(password=password, clock=clock, on_new_token=new_token)
    app = create_app(
        store=store, config=config, clock=clock, settings=settings, auth=auth, regenerate=regenerate
    )
    server = WebServer(app, host, port)
    holder.append(server)
    web: WebContext = app.state.web
    notifier = notifier_from_settings(
        settings, store=store, clock=clock, seen=web.seen, dashboard_url=server.url
    )
    login_url = f"{server.url}/login?token={auth.token}" if auth.token else f"{server.url}/login"
    return Dashboard(server, notifier, login_url, uses_password=bool(password))


def dashboard_banner(dashboard: Dashboard) -> str:
    """The line `chatcaddy run` and `chatcaddy web` print: where to open the dashboard."""
    how = (
        "log in with DASHBOARD_PASSWORD" if dashboard.uses_password else "this link logs one browser in, once"
    )
    return f"Dashboard: {dashboard.login_url}   ({how})"
