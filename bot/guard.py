"""The guard: posts from X are untrusted, drafts are checked.

Input side: `input_flags` names what is hostile or odd about a post (instruction injection, fake system or
assistant turns, links, mention bombs, bidi overrides, zero-width characters, homoglyph hashtags, overlong
garbage, emoji floods) so the reviewer sees it; `quotable` turns a post into text that is safe to quote to a
model. Severe flags keep a post from being drafted at all.

Output side: `check_output` lists every reason a draft may not be queued: a link that is not the account's,
a mention of someone outside the conversation, text copied from the post it answers, a promise from the
configured list, a near-duplicate of an earlier post, the hashtag not exactly once, too long, a wrong
A-number.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from twitter_text import extract_emojis_with_indices

from bot.drafting import bare_link
from bot.drafting.matching import content_stems, longest_shared_run, near_duplicate, similarity
from bot.text import (
    answer_number,
    clean,
    count_hashtag,
    hashtag_spans,
    normalize_hashtag,
    url_spans,
    weighted_length,
)

INJECTION = "instruction_injection"
FAKE_TURN = "fake_turn"
LINK = "link"
MENTION_BOMB = "mention_bomb"
BIDI = "bidi_override"
ZERO_WIDTH = "zero_width"
HOMOGLYPH = "homoglyph_hashtag"
OVERLONG = "overlong"
GARBAGE = "garbage"
EMOJI_FLOOD = "emoji_flood"
# A post with one of these is shown to the reviewer but never drafted for.
SEVERE = frozenset({INJECTION, FAKE_TURN, MENTION_BOMB, BIDI, HOMOGLYPH, OVERLONG, GARBAGE, EMOJI_FLOOD})

MAX_MENTIONS = 3
MAX_EMOJI = 9
MAX_POST_CHARS = 600
QUOTE_CHARS = 500
MAX_COPIED_WORDS = 8
MIN_RESTATED = 4  # a draft sharing this many words with its target and adding at most one restates it

_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u2060-\u2064\ufeff\u180e\u00ad]")
_ZWJ_IN_WORD = re.compile(r"(?<=\w)\u200d|\u200d(?=\w)")
_MENTION = re.compile(r"(?<![\w@＠])[@＠](\w{1,20})")
_RAW_LINK = re.compile(r"\b(?:[a-z][a-z0-9+.-]*://|www\.)\S+", re.IGNORECASE)
_REPEATS = re.compile(r"(.)\1{14,}", re.DOTALL)
_FILLER = r"(?:(?:all|any|the|your|my|these|those|previous|prior|above|earlier|system|of)\s+)*"
_INJECTIONS = [
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        rf"\b(ignore|disregard|forget|override|bypass)\s+{_FILLER}(instruction|rule|prompt|guideline)s?\b",
        r"\b(ignore|disregard|forget)\s+(all\s+|everything\s+)?(above|previous|prior|earlier)\b",
        r"\byour (new|real|true|actual) (task|instructions?|role|goal|orders)\b",
        r"\b(new|updated|secret|hidden) (system )?(instructions|prompt)\b",
        r"\byou are now (an? )?(unrestricted|unfiltered|jailbroken|free|dan|in developer mode|my)\b",
        r"\byou are no longer (an? )?(assistant|bot|ai|bound|restricted)\b",
        r"\bfrom now on,? you (will|must|are|shall) (only )?(respond|reply|answer|obey|say|post)\b",
        r"\b(pretend|roleplay|role-play) (to be|you are|as)\b",
        r"\b(system|developer) (prompt|message|mode)\b",
        r"\b(jailbreak|do anything now|dan mode)\b",
        r"\b(reveal|print|leak|show me|output|repeat)\s+(your|the)\s+(system\s+)?(prompt|instructions)\b",
        r"\b(reply|respond|say|repeat|type|output)\b[^.!?\n]{0,25}(verbatim|word for word|exactly this"
        r"|exactly the following|exactly:)",
        r"\b(reply|respond|post|tweet|include|add|share)\b[^.!?\n]{0,25}\b(this|the following|my) "
        r"(link|url|text|message)\b",
        r"\b(attention|note to|dear|hey|hello) (ai|bot|assistant|llm|chatgpt|gpt|language model)s?\b",
        r"\bif you(?:'re| are) an? (ai|bot|assistant|llm|language model)\b",
        r"<<<|>>>|\bend_host_post\b",
    )
]
_FAKE_TURN = re.compile(
    r"(?:^|\n|[.!?]\s+)\s*(system|assistant|developer|user)\s*:"
    r"|<\|\s*(im_start|im_end|system|assistant|user|endoftext|eot_id)\s*\|>"
    r"|\[/?inst\]|</?s>|#{2,}\s*(system|assistant|instruction)"
    r"|\{\s*[\"']role[\"']\s*:",
    re.IGNORECASE,
)
# Letters that look like Latin ones: enough to unmask '#JobНuntChat' (Cyrillic Н) and '#J0bHuntChat'.
_LOOKALIKES = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
        "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "һ": "h", "ԁ": "d", "ɡ": "g", "ӏ": "l", "α": "a",
        "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
        "ı": "i", "0": "o", "1": "l",
    }
)  # fmt: skip


def input_flags(text: str, hashtag: str) -> tuple[str, ...]:
    """What is hostile or odd about a post from X, as flag names (empty for an ordinary post)."""
    flags: list[str] = []
    plain = _ZWJ_IN_WORD.sub("", _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text)))
    checks = (
        (INJECTION, any(p.search(plain) for p in _INJECTIONS)),
        (FAKE_TURN, bool(_FAKE_TURN.search(plain))),
        (LINK, bool(links_in(text))),
        (MENTION_BOMB, len({m.casefold() for m in _MENTION.findall(text)}) > MAX_MENTIONS),
        (BIDI, bool(_BIDI.search(text))),
        (ZERO_WIDTH, bool(_ZERO_WIDTH.search(text) or _ZWJ_IN_WORD.search(text))),
        (HOMOGLYPH, _has_lookalike_tag(text, hashtag)),
        (OVERLONG, len(text) > MAX_POST_CHARS),
        (GARBAGE, bool(_REPEATS.search(text)) or _mostly_symbols(text)),
        (EMOJI_FLOOD, _emoji_flood(text)),
    )
    flags = [name for name, found in checks if found]
    return tuple(flags)


def _emoji_flood(text: str) -> bool:
    # Every emoji holds a character beyond ASCII: with no more of those than the limit there are no more
    # emoji either, and the costly twitter-text scan (a quarter of a millisecond a post) is not needed.
    beyond_ascii = len(text) - len(text.encode("ascii", "ignore"))
    return beyond_ascii > MAX_EMOJI and len(extract_emojis_with_indices(text)) > MAX_EMOJI


def is_severe(flags: Iterable[str]) -> bool:
    return any(flag in SEVERE for flag in flags)


def _skeleton(tag: str) -> str:
    return unicodedata.normalize("NFKC", tag).casefold().translate(_LOOKALIKES)


def _has_lookalike_tag(text: str, hashtag: str) -> bool:
    """A hashtag that looks like the chat's but is spelled with other characters."""
    wanted, wanted_skeleton = _wanted_tag(hashtag)
    for _span, tag in hashtag_spans(unicodedata.normalize("NFC", _ZERO_WIDTH.sub("", text))):
        if tag.casefold() != wanted and _skeleton(tag) == wanted_skeleton:
            return True
    return False


@functools.lru_cache(maxsize=64)
def _wanted_tag(hashtag: str) -> tuple[str, str]:
    """The chat's tag as compared, and its skeleton: the same for every post of the chat."""
    wanted = normalize_hashtag(hashtag).casefold()
    return wanted, _skeleton(wanted)


def _mostly_symbols(text: str) -> bool:
    """Long text in which fewer than half of the visible characters are letters."""
    visible = [ch for ch in text if not ch.isspace()]
    if len(visible) < 120:
        return False
    letters = sum(1 for ch in visible if ch.isalpha())
    return letters < len(visible) / 2


def quotable(text: str, limit: int = QUOTE_CHARS) -> str:
    """A post as it may be quoted to a model: invisible controls removed, whitespace collapsed, and cut to
    `limit` characters at a word (with "…")."""
    text = _ZWJ_IN_WORD.sub("", _ZERO_WIDTH.sub("", _BIDI.sub("", clean(text))))
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip() + "…"


def join_flags(flags: Iterable[str]) -> str | None:
    """Flags as stored in a text column (comma-separated), or None for none."""
    names = sorted(set(flags))
    return ",".join(names) if names else None


def split_flags(stored: str | None) -> tuple[str, ...]:
    return tuple(name for name in (stored or "").split(",") if name)


# --- the output check -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputRules:
    """What a draft may contain: `people` (handles, any case, no "@") it may mention, `links` it may carry,
    the `target` text it must not copy, `earlier` texts it must not repeat, `commitments` it must not make."""

    kind: str
    hashtag: str
    people: frozenset[str] = frozenset()
    links: tuple[str, ...] = ()
    target: str = ""
    earlier: tuple[str, ...] = ()
    commitments: tuple[str, ...] = ()
    question_number: int | None = None
    limit: int = 280


def check_output(text: str, rules: OutputRules) -> list[str]:
    """Every reason `text` may not be queued as a draft; empty when it may."""
    if not text.strip():
        return ["the draft is empty"]
    problems = _form_problems(text, rules)
    problems += _foreign_links(text, rules.links)
    problems += _foreign_mentions(text, rules.people)
    problems += _copy_problems(text, rules.target)
    problems += _promises(text, rules.commitments)
    problems += [
        f"nearly repeats an earlier post: {_short(e)!r}" for e in rules.earlier if near_duplicate(text, e)
    ]
    if any(p.search(text) for p in _INJECTIONS) or _FAKE_TURN.search(text):
        problems.append("contains instruction-like text")
    return problems


def _form_problems(text: str, rules: OutputRules) -> list[str]:
    problems = []
    if _BIDI.search(text) or _ZERO_WIDTH.search(text) or _ZWJ_IN_WORD.search(text):
        problems.append("contains invisible control characters")
    length = weighted_length(clean(text))
    if length > rules.limit:
        problems.append(f"{length}/{rules.limit} characters")
    tag = normalize_hashtag(rules.hashtag)
    count = count_hashtag(text, tag)
    if count != 1:
        problems.append(f"hashtag #{tag} missing" if count == 0 else f"hashtag #{tag} appears {count} times")
    others = sorted({f"#{t}" for _, t in hashtag_spans(clean(text)) if t.casefold() != tag.casefold()})
    if others:
        problems.append(f"adds other hashtags: {', '.join(others)}")
    if rules.question_number is not None and answer_number(text) != rules.question_number:
        problems.append(f"does not start with A{rules.question_number}")
    return problems


def links_in(text: str) -> list[str]:
    """Every link in a text: what X would link (twitter-text), and anything with a scheme or "www." even
    on a domain X does not know (an attacker's link need not be one X would render)."""
    cleaned = clean(text)
    found = [cleaned[span.start : span.end] for span in url_spans(cleaned)]
    found += [m.rstrip(".,;:!?)'\"") for m in _RAW_LINK.findall(cleaned)]
    return list(dict.fromkeys(found))


def _foreign_links(text: str, allowed: tuple[str, ...]) -> list[str]:
    own = {bare_link(link) for link in allowed}
    foreign = [url for url in links_in(text) if bare_link(url) not in own]
    return [f"links to {url}, which is not in your material" for url in foreign]


def _foreign_mentions(text: str, people: frozenset[str]) -> list[str]:
    allowed = {p.casefold().lstrip("@") for p in people}
    named = dict.fromkeys(m for m in _MENTION.findall(clean(text)) if m.casefold() not in allowed)
    return [f"mentions @{name}, who is not in the conversation" for name in named]


def _copy_problems(text: str, target: str) -> list[str]:
    if not target.strip():
        return []
    run = longest_shared_run(text, target)
    if run > MAX_COPIED_WORDS:
        return [f"copies {run} words in a row from the post it answers"]
    said, answered = content_stems(text), content_stems(target)
    adds_nothing = len(said & answered) >= MIN_RESTATED and len(said - answered) <= 1
    if similarity(text, target) >= 0.5 or adds_nothing:
        return ["restates the post it answers"]
    return []


def _promises(text: str, phrases: tuple[str, ...]) -> list[str]:
    folded = " ".join(clean(text).replace("’", "'").casefold().split())
    found = []
    for phrase in phrases:
        wanted = " ".join(phrase.replace("’", "'").casefold().split())
        if re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", folded):
            found.append(f"makes a promise: {phrase!r}")
    return found


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
