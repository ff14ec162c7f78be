"""What X derives from a post's text: t.co links, hashtag/mention/url entities, searchable words.

X replaces every URL in a post with a 23-character `https://t.co/…` link and reports the original in
`entities.urls[].expanded_url`; the sandbox does the same so a client meets the text it would meet on X.
Entity indices count code points, like X's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from twitter_text import extract_urls_with_indices

_HASHTAG = re.compile(r"(?:^|(?<=[^&\w]))[#＃](\w*[^\W\d_]\w*)")
_MENTION = re.compile(r"(?:^|(?<=[^\w@!#$%&*]))[@＠](\w{1,15})(?![@\w])")
_WORD = re.compile(r"\w+(?:'\w+)*")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Hashtag:
    start: int
    end: int
    tag: str


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    username: str
    id: str | None


@dataclass(frozen=True)
class Link:
    start: int
    end: int
    url: str
    expanded_url: str
    display_url: str


@dataclass(frozen=True)
class Entities:
    hashtags: tuple[Hashtag, ...] = ()
    mentions: tuple[Mention, ...] = ()
    urls: tuple[Link, ...] = ()

    def as_json(self) -> dict[str, list[dict[str, object]]]:
        """X's `entities` object; kinds with nothing in them are left out, as X does."""
        out: dict[str, list[dict[str, object]]] = {}
        if self.hashtags:
            out["hashtags"] = [{"start": h.start, "end": h.end, "tag": h.tag} for h in self.hashtags]
        if self.mentions:
            out["mentions"] = [_mention_json(m) for m in self.mentions]
        if self.urls:
            out["urls"] = [
                {
                    "start": u.start,
                    "end": u.end,
                    "url": u.url,
                    "expanded_url": u.expanded_url,
                    "display_url": u.display_url,
                }
                for u in self.urls
            ]
        return out


def _mention_json(mention: Mention) -> dict[str, object]:
    out: dict[str, object] = {"start": mention.start, "end": mention.end, "username": mention.username}
    if mention.id is not None:
        out["id"] = mention.id
    return out


def tco_link(url: str) -> str:
    """The deterministic 23-character t.co link the sandbox gives `url`."""
    number = int.from_bytes(hashlib.sha256(url.encode()).digest()[:8], "big")
    code = ""
    for _ in range(10):
        number, digit = divmod(number, 62)
        code += _BASE62[digit]
    return "https://t.co/" + code


def display_url(url: str) -> str:
    """`https://www.example.com/a/very/long/path` → `example.com/a/very/long/pa…`, as X shows links."""
    shown = re.sub(r"^https?://(www\.)?", "", url)
    return shown if len(shown) <= 26 else shown[:25] + "…"


def analyse(text: str, user_id_of: Callable[[str], str | None]) -> tuple[str, Entities]:
    """The text as X shows it (URLs as t.co links) and its entities; `user_id_of` resolves mentions."""
    shown, links = _shorten_urls(text)
    hashtags = tuple(Hashtag(m.start(), m.end(), m.group(1)) for m in _HASHTAG.finditer(shown))
    mentions = tuple(
        Mention(m.start(), m.end(), m.group(1), user_id_of(m.group(1))) for m in _MENTION.finditer(shown)
    )
    return shown, Entities(hashtags, mentions, links)


def _shorten_urls(text: str) -> tuple[str, tuple[Link, ...]]:
    pieces: list[str] = []
    links: list[Link] = []
    cursor = 0
    shift = 0
    for found in extract_urls_with_indices(text):
        start, end = found["indices"]
        original = found["url"]
        expanded = original if re.match(r"https?://", original) else "http://" + original
        short = tco_link(expanded)
        pieces.append(text[cursor:start])
        pieces.append(short)
        links.append(Link(start + shift, start + shift + len(short), short, expanded, display_url(original)))
        shift += len(short) - (end - start)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces), tuple(links)


def words(text: str) -> tuple[str, ...]:
    """The lower-cased word tokens search matches keywords and phrases against."""
    return tuple(_WORD.findall(text.lower()))
