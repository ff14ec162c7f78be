"""Telling the person when drafts wait unseen: one message through apprise (Slack, Discord, Telegram, e-mail…
any of its URLs in CHATCADDY_NOTIFY) once drafts have waited CHATCADDY_NOTIFY_AFTER seconds without being on
a visible dashboard page; never more than one message per chat per few minutes, and each draft told once."""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import apprise
import structlog
from apscheduler.schedulers.background import BackgroundScheduler

from bot.clock import Clock
from bot.errors import ConfigError, ConfigIssue
from bot.settings import Settings
from bot.store.db import Store
from bot.store.drafts import pending_drafts
from bot.store.models import Draft
from bot.web.deps import SeenDrafts

log = structlog.get_logger("bot.web.notify")

COOLDOWN = timedelta(minutes=5)  # at most one message per chat this often
CHECK_EVERY = 15  # seconds between checks
PREVIEW = 80  # characters of each draft shown in the message


class Notifier:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        seen: SeenDrafts,
        urls: Sequence[str],
        after: timedelta,
        dashboard_url: str = "",
        cooldown: timedelta = COOLDOWN,
    ) -> None:
        self.store = store
        self.clock = clock
        self.seen = seen
        self.after = after
        self.dashboard_url = dashboard_url
        self.cooldown = cooldown
        self.apprise = _apprise(urls)
        self._last_sent: dict[str, datetime] = {}
        self._told: set[int] = set()
        self._lock = threading.Lock()
        self._scheduler: BackgroundScheduler | None = None

    def check(self) -> list[str]:
        """Send what is due now; returns the chats a message went out for."""
        with self._lock:
            now = self.clock.now()
            with self.store.session() as session:
                waiting = [d for d in pending_drafts(session) if self._is_due(d, now)]
            by_chat: dict[str, list[Draft]] = defaultdict(list)
            for draft in waiting:
                by_chat[draft.chat_slug].append(draft)
            sent = []
            for chat, drafts in by_chat.items():
                last = self._last_sent.get(chat)
                if last is not None and now - last < self.cooldown:
                    continue
                if self._send(chat, drafts):
                    self._last_sent[chat] = now
                    self._told.update(d.id for d in drafts)
                    sent.append(chat)
            return sent

    def _is_due(self, draft: Draft, now: datetime) -> bool:
        return (
            now - draft.created_at >= self.after
            and draft.id not in self._told
            and not self.seen.was_seen(draft.id)
        )

    def _send(self, chat: str, drafts: list[Draft]) -> bool:
        count = len(drafts)
        title = f"chatcaddy: {count} draft{'s' if count > 1 else ''} waiting in {chat}"
        lines = [f"• {_preview(d.text)}" for d in drafts[:5]]
        if count > 5:
            lines.append(f"… and {count - 5} more")
        if self.dashboard_url:
            lines.append(f"Decide: {self.dashboard_url}")
        ok = bool(self.apprise.notify(title=title, body="\n".join(lines)))
        log.info("notify.sent" if ok else "notify.failed", chat=chat, drafts=count)
        return ok

    def start(self) -> None:
        """Check every few seconds in a background thread."""
        self._scheduler = BackgroundScheduler(daemon=True)
        self._scheduler.add_job(self._safe_check, "interval", seconds=CHECK_EVERY, id="notify")
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    def _safe_check(self) -> None:
        try:
            self.check()
        except Exception:  # a failing check must not stop the next one
            log.exception("notify.check_failed")


def notify_urls(raw: str) -> list[str]:
    """CHATCADDY_NOTIFY split into URLs (spaces, commas or new lines between them)."""
    return [part for part in re.split(r"[\s,]+", raw) if part]


def _apprise(urls: Sequence[str]) -> apprise.Apprise:
    sender = apprise.Apprise()
    for position, url in enumerate(urls, start=1):
        if not sender.add(url):
            scheme = url.split("://", 1)[0] if "://" in url else "(no scheme)"
            message = (
                f"CHATCADDY_NOTIFY: URL number {position} ({scheme}://…) is not one apprise knows; "
                "see https://github.com/caronc/apprise/wiki for the services and their URLs"
            )
            raise ConfigError([ConfigIssue("environment", 0, 0, message)])
    return sender


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW else flat[: PREVIEW - 1] + "…"


def notifier_from_settings(
    settings: Settings, *, store: Store, clock: Clock, seen: SeenDrafts, dashboard_url: str
) -> Notifier | None:
    """The notifier CHATCADDY_NOTIFY asks for, or None when it is empty."""
    urls = notify_urls(settings.chatcaddy_notify.get_secret_value())
    if not urls:
        return None
    return Notifier(
        store=store,
        clock=clock,
        seen=seen,
        urls=urls,
        after=settings.notify_after,
        dashboard_url=settings.dashboard_url or dashboard_url,
    )
