"""What is promotional, and what a post's text carries (hashtags, mentions, links).

A text is promotional when it links one of the account's own links or domains, mentions the account or one
of its products' handles, or contains a configured keyword; the drafter's own `is_self_promotional` flag
counts too. The strictest verdict wins: any one signal makes the text promotional. A person may reclassify
a draft (`Draft.promo_override`, logged as a draft event), and that decision stands over the automatic one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from bot.config import Config
from bot.errors import DraftStateError
from bot.store.drafts import EDITABLE_STATES, get_draft
from bot.store.models import Draft, DraftEvent
from bot.text import clean, hashtag_spans, url_spans

# As X links a mention: not after a letter, digit or some signs (so "ada@example.com" is no mention).
_MENTION = re.compile(r"(?<![A-Za-z0-9_!#$%&*@＠])[@＠]([A-Za-z0-9_]{1,15})(?![A-Za-z0-9_@＠])")


@dataclass(frozen=True)
class Entities:
    """What a text carries that X's spam systems watch."""

    hashtags: tuple[str, ...]  # without "#", as written
    mentions: tuple[str, ...]  # lower-case, without "@"
    links: tuple[str, ...]  # as written (with or without a scheme)


def entities(text: str) -> Entities:
    """The hashtags, mentions and links in `text`, as X finds them (a mention inside a link is none)."""
    text = clean(text)
    urls = url_spans(text)
    mentions = tuple(
        match[1].lower()
        for match in _MENTION.finditer(text)
        if not any(u.start <= match.start() < u.end for u in urls)
    )
    return Entities(
        hashtags=tuple(tag for _span, tag in hashtag_spans(text)),
        mentions=mentions,
        links=tuple(text[u.start : u.end] for u in urls),
    )


def is_promotional(text: str, config: Config, drafter_flag: bool = False) -> tuple[bool, str]:
    """Whether `text` promotes the account, and why in words ("" when it does not)."""
    reasons = promotion_reasons(text, config)
    if drafter_flag:
        reasons.append("the drafter marked it self-promotional")
    return bool(reasons), "; ".join(reasons)


def draft_promotion(draft: Draft, config: Config) -> tuple[bool, str]:
    """A draft's verdict: a person's reclassification when there is one, else the automatic verdict."""
    if draft.promo_override is not None:
        said = "promotional" if draft.promo_override else "not promotional"
        return draft.promo_override, f"you reclassified it as {said}"
    return is_promotional(draft.text, config, draft.is_promotional)


def promotion_reasons(text: str, config: Config) -> list[str]:
    """Every promotional signal in `text`, one phrase each."""
    found = entities(text)
    reasons = [f"links your own {host}" for host in _own_hosts_linked(found.links, config)]
    own_handles = {config.account.handle_lower, *(h.lower() for h in config.policy.own_handles)}
    reasons += [f"mentions your own @{name}" for name in dict.fromkeys(found.mentions) if name in own_handles]
    reasons += [f"says {word!r}" for word in config.policy.promo_keywords if _has_words(text, word)]
    return reasons


def own_domains(config: Config) -> set[str]:
    """The account's domains: those of its own links plus the configured ones, without 'www.'."""
    hosts = {_host(link) for link in config.account.own_links}
    return {host for host in hosts if host} | set(config.policy.own_domains)


def _own_hosts_linked(links: tuple[str, ...], config: Config) -> list[str]:
    domains = own_domains(config)
    prefixes = [_bare(link) for link in config.account.own_links]
    linked = []
    for link in links:
        host = _host(link)
        if any(host == d or host.endswith("." + d) for d in domains) or any(
            p and _bare(link).startswith(p) for p in prefixes
        ):
            linked.append(host)
    return list(dict.fromkeys(linked))


def _host(link: str) -> str:
    """'https://www.Ada.example.dev/x' → 'ada.example.dev'; a link without a scheme works too."""
    with_scheme = link if "://" in link else f"https://{link}"
    try:
        host = urlsplit(with_scheme).hostname or ""
    except ValueError:
        return ""
    return host.lower().removeprefix("www.")


def _bare(link: str) -> str:
    bare = link.strip().casefold().split("://", 1)[-1].removeprefix("www.")
    return bare.rstrip("/")


def _has_words(text: str, phrase: str) -> bool:
    """`phrase` in `text` as whole words, any case."""
    words = r"\s+".join(re.escape(word) for word in phrase.split())
    return bool(words) and re.search(rf"(?<!\w){words}(?!\w)", text, re.IGNORECASE) is not None


def reclassify(
    session: Session, draft_id: int, promotional: bool, config: Config, *, by: str, at: datetime
) -> Draft:
    """A person says the draft is (not) promotional: their word stands over the automatic verdict, and the
    change is logged in the draft's history with what it was before. Only while it is pending or approved."""
    draft = get_draft(session, draft_id)
    if draft.state not in EDITABLE_STATES:
        raise DraftStateError(
            f"draft {draft_id} is {draft.state}: it can no longer be reclassified; nothing changed"
        )
    was, why = draft_promotion(draft, config)
    draft.promo_override, draft.is_promotional, draft.updated_at = promotional, promotional, at
    before = f"was {_label(was)}" + (f": {why}" if why else "")
    event = DraftEvent(
        draft_id=draft.id,
        from_state=draft.state,
        to_state=draft.state,
        at=at,
        by=by,
        why=f"reclassified as {_label(promotional)} ({before})",
    )
    session.add(event)
    session.flush()
    return draft


def _label(promotional: bool) -> str:
    return "promotional" if promotional else "not promotional"
