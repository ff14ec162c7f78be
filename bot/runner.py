"""Assembling the worker from the settings: the real X API, or the embedded sandbox with the demo chat.

`chatcaddy run` reads the chats from the config and joins them on their schedule. `chatcaddy run --sandbox`
starts the sandbox X server in-process on a free port, playing the bundled demo chat fast (about 3 minutes
for the hour), and opens that chat's window now, so a person sees the whole loop at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import structlog

from bot.answering import Answerer
from bot.clock import Clock, SystemClock
from bot.config import Chat, Config, load_config
from bot.drafting import Drafter, make_drafter
from bot.errors import ConfigError, ConfigIssue
from bot.heap import settle_heap
from bot.log import configure_logging
from bot.policy import UsageRecorder
from bot.sandbox.server import SandboxServer
from bot.sandbox.transcript import Transcript, load_transcript
from bot.schedule import Window
from bot.settings import Settings
from bot.store.db import Store, open_store
from bot.web.deps import Regenerator
from bot.web.server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    Dashboard,
    build_dashboard,
    dashboard_banner,
    require_safe_address,
)
from bot.worker import Worker, run_forever
from bot.x.gateway import XGateway
from bot.x.types import XRequestRecord

log = structlog.get_logger("bot.runner")

OnRequest = Callable[[XRequestRecord], None]
DEMO_TRANSCRIPT = Path(__file__).parent / "sandbox" / "transcripts" / "demo.yaml"
DEMO_SPEED = 20.0  # the demo's hour in three minutes
DEMO_POLL = 2  # seconds: at 20x, a question is asked every ~20 s


def gateway_from_settings(settings: Settings, clock: Clock, on_request: OnRequest | None = None) -> XGateway:
    missing = [
        name
        for name in ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")
        if not getattr(settings, name.lower()).get_secret_value()
    ]
    if missing:
        message = f"{', '.join(missing)} not set; set them, or try `chatcaddy run --sandbox`"
        raise ConfigError([ConfigIssue("environment", 0, 0, message)])
    return XGateway(
        api_key=settings.x_api_key.get_secret_value(),
        api_secret=settings.x_api_secret.get_secret_value(),
        access_token=settings.x_access_token.get_secret_value(),
        access_token_secret=settings.x_access_token_secret.get_secret_value(),
        api_base=settings.x_api_base,
        clock=clock,
        on_request=on_request,
    )


def sandbox_gateway(server: SandboxServer, clock: Clock, on_request: OnRequest | None = None) -> XGateway:
    """A gateway to the sandbox; `on_request` (a `UsageRecorder`) prices each request into `x_usage`."""
    return XGateway(
        api_key="sandbox-key",
        api_secret="sandbox-secret",  # noqa: S106 - the sandbox takes any secret
        access_token=server.access_token,
        access_token_secret="sandbox-token-secret",  # noqa: S106
        api_base=server.url,
        clock=clock,
        on_request=on_request,
    )


def drafter_from_settings(settings: Settings, clock: Clock) -> Drafter:
    return make_drafter(
        api_key=settings.openai_api_key.get_secret_value() or None,
        base_url=settings.openai_base_url or None,
        model=settings.chatcaddy_model,
        clock=clock,
    )


def transcript_chat(config: Config, transcript: Transcript, **changes: object) -> Chat:
    """The config's chat with this transcript's hashtag (else the first chat, given that hashtag)."""
    tag = transcript.hashtag.lower()
    chat = next((c for c in config.chats if c.hashtag.lower() == tag), config.chats[0])
    return chat.model_copy(update={"hashtag": transcript.hashtag, **changes})


def transcript_length(transcript: Transcript) -> timedelta:
    return max((post.at for post in transcript.posts), default=timedelta(0))


def run(
    settings: Settings,
    *,
    sandbox: bool,
    web: bool = True,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
) -> int:
    """`chatcaddy run`: the worker, and (unless `web` is False) the dashboard beside it in a thread."""
    if web:
        require_safe_address(host, settings.dashboard_password.get_secret_value())
    configure_logging(secrets=settings.secret_values(), level=settings.chatcaddy_log_level)
    clock = SystemClock()
    config = load_config(settings.chatcaddy_config)
    store = open_store(settings.database_url, auto_upgrade=True)
    drafter = drafter_from_settings(settings, clock)
    if not sandbox:
        store.require_up_to_date()
        worker = Worker(
            config=config,
            store=store,
            gateway=gateway_from_settings(settings, clock, on_request=UsageRecorder(store)),
            drafter=drafter,
            clock=clock,
            min_gap=settings.chatcaddy_min_gap,
        )
        web_at = WebAddress(settings, host, port) if web else None
        dashboard = _start_dashboard(web_at, store, config, clock, worker.answerer)
        try:
            return run_forever(
                worker,
                clock,
                on_ready=lambda: _print_dashboard(dashboard),
                config_path=settings.chatcaddy_config,
            )
        finally:
            _stop_dashboard(dashboard)
    return _run_demo(config, store, drafter, clock, WebAddress(settings, host, port) if web else None)


def _run_demo(
    config: Config, store: Store, drafter: Drafter, clock: SystemClock, web_at: WebAddress | None
) -> int:
    transcript = load_transcript(DEMO_TRANSCRIPT)
    now = clock.now()
    server = SandboxServer(transcript, clock=clock, start=now, speed=DEMO_SPEED)
    server.start()
    length = transcript_length(transcript) / DEMO_SPEED + timedelta(seconds=30)
    chat = transcript_chat(config, transcript, poll=DEMO_POLL, duration=length)
    demo_config = config.model_copy(update={"chats": [chat]})
    worker = Worker(
        config=demo_config,
        store=store,
        gateway=sandbox_gateway(server, clock, on_request=UsageRecorder(store)),
        drafter=drafter,
        clock=clock,
        min_gap=3,
    )
    worker.join_window(chat, Window(chat.slug, now, now + length))
    dashboard = _start_dashboard(web_at, store, demo_config, clock, worker.answerer)
    try:
        return run_forever(
            worker, clock, on_ready=lambda: _print_demo_help(server, chat, store, length, dashboard)
        )
    finally:
        _stop_dashboard(dashboard)
        server.stop()


def _print_demo_help(
    server: SandboxServer, chat: Chat, store: Store, length: timedelta, dashboard: Dashboard | None = None
) -> None:
    minutes = length.total_seconds() / 60
    _print_dashboard(dashboard)
    print(
        f"""
chatcaddy is following the demo {chat.hashtag} chat on a local X sandbox ({server.url}),
played {DEMO_SPEED:g}x fast: the hour takes about {minutes:.0f} minutes. Database: {store.display_url}

In another terminal (same folder):
  .venv/bin/chatcaddy queue            drafts waiting for you
  .venv/bin/chatcaddy show ID          one draft and the post it answers
  .venv/bin/chatcaddy approve ID       post it (exactly once) to the sandbox
  .venv/bin/chatcaddy reject ID        drop it
What reached the sandbox: {server.url}/__sandbox/posts      Stop: Ctrl-C
""",
        flush=True,
    )


@dataclass(frozen=True)
class WebAddress:
    """Where `chatcaddy run` serves the dashboard."""

    settings: Settings
    host: str
    port: int


def _start_dashboard(
    web_at: WebAddress | None, store: Store, config: Config, clock: Clock, answerer: Answerer
) -> Dashboard | None:
    if web_at is None:
        return None
    dashboard = build_dashboard(
        store=store,
        config=config,
        clock=clock,
        settings=web_at.settings,
        host=web_at.host,
        port=web_at.port,
        regenerate=web_regenerator(answerer),
    )
    dashboard.start()
    return dashboard


def web_regenerator(answerer: Answerer) -> Regenerator:
    """The dashboard's Regenerate button: the answerer's own `regenerate`, recorded as the web's."""
    return lambda draft_id, hint: answerer.regenerate(draft_id, hint=hint, by="web")


def _print_dashboard(dashboard: Dashboard | None) -> None:
    if dashboard is not None:
        print(f"\n{dashboard_banner(dashboard)}\n", flush=True)


def _stop_dashboard(dashboard: Dashboard | None) -> None:
    if dashboard is not None:
        dashboard.stop()


def serve_web(settings: Settings, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> int:
    """`chatcaddy web`: the dashboard alone, in the foreground (the Procfile's `web` process)."""
    require_safe_address(host, settings.dashboard_password.get_secret_value())
    configure_logging(secrets=settings.secret_values(), level=settings.chatcaddy_log_level)
    clock = SystemClock()
    config = load_config(settings.chatcaddy_config)
    store = open_store(settings.database_url, auto_upgrade=True)
    answerer = Answerer(
        config=config, store=store, drafter=drafter_from_settings(settings, clock), clock=clock
    )
    dashboard = build_dashboard(
        store=store,
        config=config,
        clock=clock,
        settings=settings,
        host=host,
        port=port,
        regenerate=web_regenerator(answerer),
    )
    _print_dashboard(dashboard)
    if dashboard.notifier is not None:
        dashboard.notifier.start()
    settle_heap()  # as `run_forever` does for `chatcaddy run`: once, when start-up is done
    try:
        dashboard.server.serve_forever()
    finally:
        if dashboard.notifier is not None:
            dashboard.notifier.stop()
    return 0
