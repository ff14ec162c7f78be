"""Which way a draft reaches X: through the API, or handed to the person as a Web Intent link.

On self-serve access (shared/x-api.md): posts and reposts go through the API; a reply only when its target
mentions the account, quotes or replies to one of its posts, or is its own (else X answers 403); a share with
comment (a quote), a like and a follow are handed off. `x_access: unrestricted` sends replies and shares
through the API too. Likes and follows are always handed off: the gateway has no call for them (and X
wants likes to be a person's own click anyway).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import intents
from bot.config import Config
from bot.store.models import Action, ChatPost, Draft, DraftKind, Route

K = DraftKind


@dataclass(frozen=True)
class RouteChoice:
    """`route` (api or handoff), the intent link for a hand-off, and why, in words."""

    route: Route
    handoff_url: str | None
    why: str


def route_for(
    draft: Draft, target: ChatPost | None, config: Config, *, own_post_ids: Collection[str] = ()
) -> RouteChoice:
    """The route for `draft`, whose target (when it has one) is `target`; `own_post_ids` are the account's
    posts (see `own_posts`), to tell a reply to one of them."""
    unrestricted = config.policy.x_access == "unrestricted"
    if draft.kind in (K.ANSWER, K.POST, K.REPOST):
        return RouteChoice(Route.API, None, "the API may post and repost")
    if draft.kind == K.REPLY:
        if unrestricted or _reply_allowed(target, own_post_ids):
            return RouteChoice(Route.API, None, "the post it answers mentions or quotes you")
        why = "self-serve API access may only reply to posts that mention or quote you"
        return _handoff(draft, target, why)
    if draft.kind == K.SHARE and unrestricted:
        return RouteChoice(Route.API, None, "unrestricted API access may quote")
    return _handoff(draft, target, f"a {draft.kind} is yours to do on X (the API does not allow it here)")


def own_posts(session: Session) -> set[str]:
    """Ids of the account's posts: those in the ledger and those read from the chats."""
    ledger = select(Action.x_post_id).where(Action.x_post_id.is_not(None))
    read = select(ChatPost.tweet_id).where(ChatPost.is_own.is_(True))
    return {str(i) for i in session.scalars(ledger)} | set(session.scalars(read))


def target_post(session: Session, draft: Draft) -> ChatPost | None:
    """The post a draft answers, as read from its chat (newest copy), when there is one."""
    if draft.target_tweet_id is None:
        return None
    query = select(ChatPost).where(ChatPost.tweet_id == draft.target_tweet_id).order_by(ChatPost.id.desc())
    return session.scalars(query.limit(1)).first()


def intent_link(draft: Draft, target: ChatPost | None) -> str:
    """The X Web Intent that does what the draft proposes, its text filled in."""
    tweet = draft.target_tweet_id or ""
    if draft.kind == K.LIKE and tweet:
        return intents.like_intent(tweet)
    if draft.kind == K.REPOST and tweet:
        return intents.repost_intent(tweet)
    if draft.kind == K.FOLLOW and target is not None and target.author_username:
        return intents.follow_intent(target.author_username)
    if draft.kind == K.SHARE and tweet:
        return intents.share_intent(draft.text, post_url(tweet, target))
    if draft.kind == K.REPLY and tweet:
        return intents.reply_intent(draft.text, tweet)
    return intents.post_intent(draft.text)


def post_url(tweet_id: str, post: ChatPost | None = None) -> str:
    """A post's address on X (`i` stands in for an unknown author)."""
    author = post.author_username if post is not None and post.author_username else "i"
    return f"https://x.com/{author}/status/{tweet_id}"


def _reply_allowed(target: ChatPost | None, own_post_ids: Collection[str]) -> bool:
    """X's self-serve rule, on what we read of the target."""
    if target is None:
        return False
    return (
        target.is_own
        or target.mentions_account
        or target.quote_of_tweet_id in own_post_ids
        or target.reply_to_tweet_id in own_post_ids
    )


def _handoff(draft: Draft, target: ChatPost | None, why: str) -> RouteChoice:
    return RouteChoice(Route.HANDOFF, intent_link(draft, target), why)
