"""Shared by the policy tests: a small config, and rows for the ledger and the chat posts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.config import Config, parse_config
from bot.store.models import Action, ChatPost, ChatRun, Route

CONFIG = """\
account:
  handle: "@ada_builds"
  name: Ada Example
  bio: Backend engineer.
  voice: warm
  own_links: [https://ada.example.dev]
policy:
  engage_before_promote: {engage}
  max_promo_share: {share}
  own_handles: ["@AdaKitHQ"]
  promo_keywords: [AdaKit]
  blocklist: ["@spam_bot"]
  posts_per_hour: {per_hour}
  x_access: {access}
chats:
  - slug: xchat
    hashtag: "#xchat"
    title: X Chat
    when: {{day: monday, time: "21:00", timezone: America/New_York}}
    duration: 1h
    hosts: ["@host"]
    policy: {chat_policy}
"""


def policy_config(
    *,
    engage: int = 2,
    share: float = 1.0,
    per_hour: int = 100,
    access: str = "self-serve",
    chat_policy: str = "{}",
) -> Config:
    """The test account (@ada_builds, own site ada.example.dev) in one chat, `xchat` (with its own `policy:`
    mapping `chat_policy`, in YAML)."""
    text = CONFIG.format(
        engage=engage, share=share, per_hour=per_hour, access=access, chat_policy=chat_policy
    )
    return parse_config(text, "policy.yaml")


def add_action(
    session: Session,
    kind: str,
    at: datetime,
    *,
    promotional: bool = False,
    chat: str = "xchat",
    target: str | None = None,
    run: ChatRun | None = None,
) -> Action:
    """A ledger row, as if the account had done it at `at`."""
    action = Action(
        kind=kind,
        chat_slug=chat,
        run_id=run.id if run else None,
        target_tweet_id=target,
        is_promotional=promotional,
        at=at,
        via=Route.API,
    )
    session.add(action)
    session.flush()
    return action


def add_post(
    session: Session,
    run: ChatRun,
    tweet_id: str,
    *,
    author: str = "bob",
    text: str = "A1 more questions than answers #xchat",
    at: datetime,
    mentions_account: bool = False,
    is_own: bool = False,
    reply_to: str | None = None,
    quote_of: str | None = None,
) -> ChatPost:
    """A post read from the chat."""
    post = ChatPost(
        run_id=run.id,
        tweet_id=tweet_id,
        author_id=f"id-{author}",
        author_username=author,
        text=text,
        created_at=at,
        read_at=at,
        mentions_account=mentions_account,
        is_own=is_own,
        reply_to_tweet_id=reply_to,
        quote_of_tweet_id=quote_of,
    )
    session.add(post)
    session.flush()
    return post
