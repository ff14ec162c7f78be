"""The verdict on one draft: may it be approved, or posted, now? If not, is it held (waiting can fix it) and
what is missing, in words a person can act on.

    needs 2 more engagements (2 of 4 since your last promotion, Tue 21:14)

The rules, each judged on the ledger plus the drafts in flight (see `ledger`):
- engage before promote: a promotional draft needs `engage_before_promote` credits earned in its chat since
  the chat's last promotion (held);
- promotional share: with it, at most `max_promo_share` of the account's posts of the last 7 days (held);
- posts per hour and per day (only when it is about to go out: held until a slot frees, `retry_at`);
- hashtags, mentions and links per post, and no hashtag but the chat's own unless a person wrote it (refused);
- the person it engages: blocklist, opt-outs, replies per person per chat session (refused).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Config, Policy, UnknownChatError
from bot.config.models import ChatPolicy
from bot.policy import ledger, people
from bot.policy.promotion import draft_promotion, entities
from bot.store.models import ChatRun, DraftEvent, DraftKind
from bot.store.models import Draft as DraftRow

K = DraftKind
Stage = Literal["approval", "posting"]
SHARE_WINDOW = timedelta(days=7)
TEXT_KINDS = frozenset({K.ANSWER, K.POST, K.REPLY, K.SHARE})
ENGAGING_KINDS = frozenset({K.REPLY, K.SHARE, K.REPOST, K.LIKE, K.FOLLOW})
# Rules that waiting fixes by itself: the draft stays approved until the slot comes.
TIME_RULES = frozenset({"posts_per_hour", "posts_per_day"})


@dataclass(frozen=True)
class ChatRules:
    """The policy one chat follows: its own keys where it has them, the global ones elsewhere."""

    slug: str
    hashtag: str | None
    zone: ZoneInfo
    engage_before_promote: int
    credits: Mapping[str, int]
    max_promo_share: float
    usd_per_chat: float
    policy: Policy

    def credit(self, kind: str) -> int:
        return self.credits.get(kind, 0)


def rules_for(config: Config, chat_slug: str) -> ChatRules:
    """The effective rules of a chat (a chat no longer in the config follows the global policy)."""
    policy = config.policy
    try:
        chat = config.chat(chat_slug)
    except UnknownChatError:
        chat = None
    own = chat.policy if chat is not None and chat.policy is not None else ChatPolicy()
    credits = policy.credits.model_dump()
    if own.credits is not None:
        credits.update({kind: getattr(own.credits, kind) for kind in own.credits.model_fields_set})
    engage, share, usd = own.engage_before_promote, own.max_promo_share, own.usd_per_chat
    return ChatRules(
        slug=chat_slug,
        hashtag=chat.hashtag if chat is not None else None,
        zone=chat.when.zone if chat is not None else ZoneInfo("UTC"),
        engage_before_promote=policy.engage_before_promote if engage is None else engage,
        credits=credits,
        max_promo_share=policy.max_promo_share if share is None else share,
        usd_per_chat=policy.usd_per_chat if usd is None else usd,
        policy=policy,
    )


@dataclass(frozen=True)
class Finding:
    rule: str  # engage_before_promote, max_promo_share, posts_per_hour, max_links, blocklist, …
    message: str
    held: bool  # True: waiting (for engagement, for time) can lift it; False: the draft must change
    missing: int = 0
    retry_at: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    """May the draft go ahead? `held`: not yet, but it may later by itself; `missing`: engagements still
    needed; `retry_at`: when a posts-per-hour/day slot frees; `rules`: the names of the rules that stop it."""

    allowed: bool
    held: bool
    reason: str
    missing: int = 0
    retry_at: datetime | None = None
    promotional: bool = False
    promotion_why: str = ""
    rules: tuple[str, ...] = field(default=())

    @property
    def only_waits_for_time(self) -> bool:
        """Stopped only by posts per hour/day: it stays approved and goes out when a slot frees."""
        return bool(self.rules) and set(self.rules) <= TIME_RULES


def verdict(
    session: Session, draft: DraftRow, config: Config, now: datetime, stage: Stage = "approval"
) -> Verdict:
    """The policy's verdict on `draft` now. At "approval" the drafts already approved count as in flight;
    at "posting" (the atomic re-check) only those claimed or handed off do, and the hourly and daily limits
    apply too. Run it under `gate.lock` when acting on it."""
    rules = rules_for(config, draft.chat_slug)
    states = ledger.IN_FLIGHT_AT_APPROVAL if stage == "approval" else ledger.IN_FLIGHT_AT_POSTING
    flying = ledger.in_flight(session, config, states, besides=draft.id)
    promotional, why = draft_promotion(draft, config)
    findings = [
        *_text_findings(session, draft, rules),
        *_people_findings(session, draft, rules, flying, now),
    ]
    if promotional:
        findings += _promotion_findings(session, draft, rules, flying, now)
    if stage == "posting" and draft.kind in ledger.POST_KINDS:
        findings += _rate_findings(session, rules.policy, flying, now)
    return _combine(findings, promotional, why)


def _combine(findings: list[Finding], promotional: bool, why: str) -> Verdict:
    if not findings:
        return Verdict(True, False, "", promotional=promotional, promotion_why=why)
    retry = [f.retry_at for f in findings if f.retry_at is not None]
    return Verdict(
        allowed=False,
        held=all(f.held for f in findings),
        reason="; ".join(f.message for f in findings),
        missing=max((f.missing for f in findings), default=0),
        retry_at=max(retry) if retry else None,
        promotional=promotional,
        promotion_why=why,
        rules=tuple(f.rule for f in findings),
    )


def _text_findings(session: Session, draft: DraftRow, rules: ChatRules) -> list[Finding]:
    if draft.kind not in TEXT_KINDS:
        return []
    found, policy = entities(draft.text), rules.policy
    findings = [
        Finding(name, f"{count} {what} (at most {limit}): remove some", held=False)
        for name, what, count, limit in (
            ("max_hashtags", "hashtags", len(found.hashtags), policy.max_hashtags),
            ("max_mentions", "mentions", len(found.mentions), policy.max_mentions),
            ("max_links", "links", len(found.links), policy.max_links),
        )
        if count > limit
    ]
    own_tag = (_run_hashtag(session, draft) or rules.hashtag or "").lstrip("#").casefold()
    foreign = [tag for tag in found.hashtags if tag.casefold() != own_tag]
    if foreign and not _edited_by_a_person(session, draft):
        tags = ", ".join(f"#{tag}" for tag in dict.fromkeys(foreign))
        message = f"adds {tags}: only the chat's own hashtag is added for you; edit the text to keep it"
        findings.append(Finding("own_hashtag_only", message, held=False))
    return findings


def _people_findings(
    session: Session, draft: DraftRow, rules: ChatRules, flying: list[ledger.Entry], now: datetime
) -> list[Finding]:
    if draft.kind not in ENGAGING_KINDS:
        return []
    author = ledger.author_of(session, draft.target_tweet_id)
    if author is None:
        return []
    if author in {handle.lower() for handle in rules.policy.blocklist}:
        return [Finding("blocklist", f"@{author} is on your blocklist", held=False)]
    opt_out = people.opted_out(session, author)
    if opt_out is not None:
        return [Finding("opt_out", f"@{author} opted out ({opt_out.word!r})", held=False)]
    if draft.kind not in ledger.REPLY_KINDS:
        return []
    same_session = [
        e
        for e in flying
        if e.kind in ledger.REPLY_KINDS and e.run_id == draft.run_id and e.chat_slug == rules.slug
    ]
    count = ledger.replies_to(session, author, draft.run_id, rules.slug)
    count += ledger.targets_by(session, same_session, author)
    limit = rules.policy.replies_per_person
    if count >= limit:
        message = f"already {count} replies to @{author} this session (at most {limit})"
        return [Finding("replies_per_person", message, held=False)]
    return []


def _promotion_findings(
    session: Session, draft: DraftRow, rules: ChatRules, flying: list[ledger.Entry], now: datetime
) -> list[Finding]:
    return [f for f in (_ratio(session, rules, flying), _share(session, draft, rules, flying, now)) if f]


def _ratio(session: Session, rules: ChatRules, flying: list[ledger.Entry]) -> Finding | None:
    """Engage before promote: enough credits in this chat since its last promotion."""
    needed = rules.engage_before_promote
    if any(e.promotional and e.chat_slug == rules.slug for e in flying):
        message = f"another promotion of yours is on its way; then {needed} engagements are needed"
        return Finding("engage_before_promote", message, held=True, missing=needed) if needed else None
    last = ledger.last_promotion(session, rules.slug)
    earned = sum(rules.credit(kind) * n for kind, n in ledger.kinds_since(session, rules.slug, last).items())
    if earned >= needed:
        return None
    since = f"since your last promotion, {last.at.astimezone(rules.zone):%a %H:%M}" if last else "so far"
    more = needed - earned
    message = f"needs {more} more engagement{'s' * (more != 1)} ({earned} of {needed} {since})"
    return Finding("engage_before_promote", message, held=True, missing=more)


def _share(
    session: Session, draft: DraftRow, rules: ChatRules, flying: list[ledger.Entry], now: datetime
) -> Finding | None:
    """With this promotion, at most `max_promo_share` of the account's posts of the last 7 days."""
    if draft.kind not in ledger.POST_KINDS:
        return None
    share, window = rules.max_promo_share, now - SHARE_WINDOW
    # A promotion in flight counts (as a post too); a plain post in flight does not yet: it may still fail.
    flying_promos = sum(1 for e in flying if e.kind in ledger.POST_KINDS and e.promotional)
    promos = ledger.posts_since(session, window, promotional=True) + flying_promos + 1
    posts = ledger.posts_since(session, window) + flying_promos + 1
    if promos <= share * posts + 1e-9:
        return None
    if share == 0:
        return Finding("max_promo_share", "max_promo_share is 0: no promotional posts at all", held=False)
    more = math.ceil(promos / share - posts - 1e-9)
    message = (
        f"it would make {promos} of {posts} posts in 7 days promotional ({promos / posts:.0%}, at most "
        f"{share:.0%}): needs {more} more post{'s' * (more != 1)} that promote nothing"
    )
    return Finding("max_promo_share", message, held=True, missing=more)


def _rate_findings(
    session: Session, policy: Policy, flying: list[ledger.Entry], now: datetime
) -> list[Finding]:
    """Posts per hour and per day, rolling; `retry_at` is when the oldest post counted ages out."""
    findings = []
    in_flight = sum(1 for e in flying if e.kind in ledger.POST_KINDS)
    for name, span, limit in (
        ("posts_per_hour", timedelta(hours=1), policy.posts_per_hour),
        ("posts_per_day", timedelta(days=1), policy.posts_per_day),
    ):
        times = ledger.post_times_since(session, now - span)
        if len(times) + in_flight < limit:
            continue
        over = len(times) + in_flight - limit  # this many must age out, then one more, to free a slot
        retry = times[over] + span if over < len(times) else now + span
        counted = len(times) + in_flight
        message = f"{counted} posts in the last {_span(span)} (at most {limit}); next slot {retry:%H:%M} UTC"
        findings.append(Finding(name, message, held=True, retry_at=retry))
    return findings


def _span(span: timedelta) -> str:
    return "hour" if span == timedelta(hours=1) else "24 hours"


def _run_hashtag(session: Session, draft: DraftRow) -> str | None:
    if draft.run_id is None:
        return None
    run = session.get(ChatRun, draft.run_id)  # from the session's identity map when already loaded
    return run.hashtag if run is not None else None


def _edited_by_a_person(session: Session, draft: DraftRow) -> bool:
    """Whether someone rewrote the text (drafters write it at creation; only people edit it)."""
    if draft.id is None:
        return False
    query = select(DraftEvent.id).where(DraftEvent.draft_id == draft.id, DraftEvent.text_before.is_not(None))
    return session.scalars(query.limit(1)).first() is not None
