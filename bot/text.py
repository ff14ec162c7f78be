"""The rules of an answer's text, shared by the drafters, the CLI and the web dashboard.

An answer in a Twitter chat starts with its number ("A3 …"), carries the chat's hashtag exactly once and fits
in 280 weighted characters as X counts them (twitter-text v3: NFC-normalised; a URL counts 23; CJK and emoji
count 2). Every function here works on NFC-normalised text with the characters X rejects removed, so what is
checked is exactly what would be posted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from twitter_text import extract_emojis_with_indices, extract_urls_with_indices, parse_tweet

MAX_WEIGHTED_LENGTH = 280
ELLIPSIS = "…"

# twitter-text rejects these code points outright.
_INVALID_CHARS = re.compile("[\ufffe\ufeff\uffff]")
_HASH_SIGNS = "#＃"
_HASH_SIGN = re.compile(f"[{_HASH_SIGNS}]")
# A hashtag may not follow these (twitter-text: "&#tag" is an HTML entity, "a#tag" is not a tag).
_NOT_BEFORE_HASHTAG = "&" + _HASH_SIGNS
_ZERO_WIDTH_JOINERS = "\u200c\u200d"
# "A3", "a3:", "A12 —": the answer label at the very start; the digits must not run into a word.
_ANSWER_LABEL = re.compile(r"[Aa](\d+)(?!\w)")
# What may sit right after the label; anything else gets a space inserted.
_LABEL_SEPARATORS = ":.-–—)|,;/…"
_MENTION = re.compile(r"(?<![A-Za-z0-9_!#$%&*@＠])[@＠][A-Za-z0-9_]{1,20}")
# Code points twitter-text v3 counts as 1; all others count 2.
_NARROW_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
# A cut at a word boundary may lose at most this much more than a cut anywhere would.
_LONGEST_WORD = 30
# Trailing characters that read badly before an ellipsis ("we did,…").
_TRAILING_PUNCTUATION = ",;:-–—(/&"


@dataclass(frozen=True)
class Span:
    """A half-open range of character indices [start, end) in a text."""

    start: int
    end: int


def clean(text: str) -> str:
    """NFC-normalise, drop the characters X refuses, make line breaks "\\n". Everything else starts here."""
    # Remove first: a removed character could sit between a letter and its combining mark.
    text = unicodedata.normalize("NFC", _INVALID_CHARS.sub("", text))
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as X counts line breaks


def weighted_length(text: str) -> int:
    """The length X counts (twitter-text v3 weighting; twitter-text normalises to NFC itself)."""
    return int(parse_tweet(text).weightedLength)


def is_valid_length(text: str, limit: int = MAX_WEIGHTED_LENGTH) -> bool:
    """True when the text is neither empty nor longer than `limit` weighted characters."""
    return 0 < weighted_length(text) <= limit


def normalize_hashtag(hashtag: str) -> str:
    """`"#JobHuntChat"` or `"JobHuntChat"` → `"JobHuntChat"`; raise ValueError when it cannot be a hashtag."""
    tag = unicodedata.normalize("NFC", hashtag.strip()).lstrip(_HASH_SIGNS)
    if not tag or not all(_is_tag_char(ch) for ch in tag) or not any(_is_tag_letter(ch) for ch in tag):
        raise ValueError(f"{hashtag!r} is not a hashtag (letters, digits and _ only, at least one letter)")
    return tag


def _is_tag_letter(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LM"


def _is_tag_char(ch: str) -> bool:
    return ch == "_" or ch in _ZERO_WIDTH_JOINERS or _is_tag_letter(ch) or unicodedata.category(ch) == "Nd"


def url_spans(text: str) -> list[Span]:
    """Where the URLs are, as twitter-text finds them (with or without a scheme)."""
    return [Span(*u["indices"]) for u in extract_urls_with_indices(text)]


def hashtag_spans(text: str) -> list[tuple[Span, str]]:
    """Every hashtag entity with its tag (without '#'), as X would link it; tags inside URLs do not count."""
    found: list[tuple[Span, str]] = []
    starts = [match.start() for match in _HASH_SIGN.finditer(text)]
    if not starts:  # no hash sign, no tag: twitter-text's URL scan is not needed
        return found
    urls = url_spans(text)
    for start in starts:
        if any(u.start <= start < u.end for u in urls):
            continue
        if start > 0 and (_is_tag_char(text[start - 1]) or text[start - 1] in _NOT_BEFORE_HASHTAG):
            continue
        if text[start + 1 : start + 2] in ("\ufe0f", "\u20e3"):  # "#️⃣" is the keycap emoji, not a tag
            continue
        end = start + 1
        while end < len(text) and _is_tag_char(text[end]):
            end += 1
        tag = text[start + 1 : end]
        following = text[end : end + 3]
        if not any(_is_tag_letter(c) for c in tag) or following.startswith((*_HASH_SIGNS, "://")):
            continue
        found.append((Span(start, end), tag))
    return found


def _matching_hashtags(text: str, tag: str) -> list[Span]:
    wanted = tag.casefold()
    return [span for span, found in hashtag_spans(text) if found.casefold() == wanted]


def count_hashtag(text: str, hashtag: str) -> int:
    """How many times the chat hashtag appears as a hashtag (case-insensitive; #TagLonger does not count)."""
    return len(_matching_hashtags(clean(text), normalize_hashtag(hashtag)))


def ensure_hashtag_once(text: str, hashtag: str) -> str:
    """The text with the chat hashtag exactly once: later duplicates removed, ` #Tag` appended when missing.

    The kept occurrence is spelled as configured (`#jobhuntchat` → `#JobHuntChat`), which also keeps
    CamelCase tags readable by screen readers.
    """
    tag = normalize_hashtag(hashtag)
    text = clean(text)
    spans = _matching_hashtags(text, tag)
    while len(spans) > 1:  # remove from the end; removing could in theory create a new match, so recount
        text = _remove_span(text, spans[-1])
        spans = _matching_hashtags(text, tag)
    if not spans:
        body = text.rstrip()
        return f"{body} #{tag}" if body else f"#{tag}"
    first = spans[0]
    return f"{text[: first.start]}#{tag}{text[first.end :]}"


def _remove_span(text: str, span: Span) -> str:
    """Cut `span` out, taking one neighbouring space with it so no double space or ' .' is left behind."""
    before, after = text[: span.start], text[span.end :]
    if before.endswith((" ", "\t")) and (not after or after[0].isspace() or after[0] in ".,!?;:)"):
        before = before[:-1]
    elif not before and after.startswith((" ", "\t")):
        after = after[1:]
    return before + after


def answer_number(text: str) -> int | None:
    """The number of the 'A<n>' label the text starts with, or None when it has none."""
    match = _ANSWER_LABEL.match(clean(text).lstrip())
    return int(match.group(1)) if match else None


def ensure_answer_number(text: str, n: int) -> str:
    """The text starting with `A<n>`: a wrong number is replaced (keeping "A2:"-style separators), a missing
    label is added as "A<n> "."""
    if n < 1:
        raise ValueError(f"question number must be 1 or more, not {n}")
    text = clean(text).lstrip()
    match = _ANSWER_LABEL.match(text)
    if not match:
        return f"A{n} {text}" if text else f"A{n}"
    rest = text[match.end() :]
    if rest and not rest[0].isspace() and rest[0] not in _LABEL_SEPARATORS:
        rest = " " + rest  # "A2#Tag" → "A3 #Tag": otherwise the digit would swallow the hashtag
    return f"A{n}{rest}"


def shorten_to_fit(text: str, hashtag: str, limit: int = MAX_WEIGHTED_LENGTH) -> str:
    """The text, cut so that it fits in `limit` with the hashtag once, ending "… #Tag".

    Cuts fall at a word boundary: whitespace, a dash, an emoji, or between characters of scripts written
    without spaces (CJK). Never inside a URL, a hashtag, a mention or an emoji. When the last word boundary
    that fits would lose much more than a cut anywhere (one endless "word"), the text is cut inside it.
    """
    tag = normalize_hashtag(hashtag)
    text = ensure_hashtag_once(text, tag)
    if weighted_length(text) <= limit:
        return text
    layout = _Layout(text, tag)
    at_word = layout.longest_fit(limit, words_only=True)
    anywhere = layout.longest_fit(limit, words_only=False)
    if anywhere is None:
        raise ValueError(f"the hashtag #{tag} leaves no room for an answer within {limit} characters")
    if at_word is None or anywhere[1] - at_word[1] > _LONGEST_WORD:
        return anywhere[0]
    return at_word[0]


def _is_wide(ch: str) -> bool:
    """Letters X counts double: CJK and the other scripts commonly written without spaces between words."""
    return _char_weight(ch) == 2 and unicodedata.category(ch)[0] == "L"


def _char_weight(ch: str) -> int:
    return 1 if any(low <= ord(ch) <= high for low, high in _NARROW_RANGES) else 2


def _is_word_edge(ch: str) -> bool:
    """A character a word may end or begin beside: a space, a dash, a symbol (emoji) or a wide letter."""
    return ch.isspace() or unicodedata.category(ch) in ("Pd", "Sm", "Sc", "Sk", "So") or _is_wide(ch)


class _Layout:
    """One pass over a text: where it may be cut, and the weighted length of every prefix.

    Prefix weights are exact for cuts outside entities, so the search needs no re-parsing; the chosen
    candidate is still checked with twitter-text before it is returned.
    """

    def __init__(self, text: str, tag: str) -> None:
        self.text, self.tag = text, tag
        urls = url_spans(text)
        emojis = [Span(*e["indices"]) for e in extract_emojis_with_indices(text)]
        hashtags = [span for span, _ in hashtag_spans(text)]
        mentions = [Span(m.start(), m.end()) for m in _MENTION.finditer(text)]
        self.protected = urls + emojis + hashtags + mentions
        own = _matching_hashtags(text, tag)
        self.tag_end = own[0].end if own else len(text) + 1
        self.prefix_weight = self._prefix_weights(urls, emojis)
        self.ellipsis_weight = weighted_length(ELLIPSIS)
        self.suffix_weight = weighted_length(f" #{tag}")

    def _prefix_weights(self, urls: list[Span], emojis: list[Span]) -> list[int]:
        weights = [_char_weight(ch) for ch in self.text]
        for span, weight in [(u, 23) for u in urls] + [(e, 2) for e in emojis]:
            weights[span.start : span.end] = [weight] + [0] * (span.end - span.start - 1)
        sums = [0]
        for weight in weights:
            sums.append(sums[-1] + weight)
        return sums

    def cuts(self, *, words_only: bool) -> list[int]:
        """Indices where the text may be split, longest first."""
        text = self.text
        blocked = [False] * (len(text) + 1)
        for span in self.protected:
            blocked[span.start + 1 : span.end] = [True] * (span.end - span.start - 1)
        found = []
        for i in range(len(text) - 1, 0, -1):
            if blocked[i] or unicodedata.category(text[i])[0] == "M" or text[i] in _ZERO_WIDTH_JOINERS:
                continue
            if not words_only or _is_word_edge(text[i]) or _is_word_edge(text[i - 1]):
                found.append(i)
        return found

    def longest_fit(self, limit: int, *, words_only: bool) -> tuple[str, int] | None:
        """The longest shortened text that fits and its weighted length; None when no cut leaves anything."""
        for cut in self.cuts(words_only=words_only):
            end = self._tidy_end(cut)
            if not self.text[:end].strip():
                continue
            suffix = 0 if self.tag_end <= end else self.suffix_weight
            if self.prefix_weight[end] + self.ellipsis_weight + suffix > limit:
                continue
            candidate = ensure_hashtag_once(self.text[:end] + ELLIPSIS, self.tag)
            length = weighted_length(candidate)
            if length <= limit:
                return candidate, length
        return None

    def _tidy_end(self, cut: int) -> int:
        """Move the end back over spaces and punctuation that read badly before "…" ("we did,…"), but not
        into an entity (a URL ending in "-" keeps it)."""
        end = cut
        while end > 0 and (self.text[end - 1].isspace() or self.text[end - 1] in _TRAILING_PUNCTUATION):
            if any(span.start < end <= span.end for span in self.protected):
                break
            end -= 1
        return end


def finalize_answer(text: str, *, n: int, hashtag: str, limit: int = MAX_WEIGHTED_LENGTH) -> str:
    """Apply every rule: the A-number, the hashtag once, the length. The result passes `check_answer`."""
    return shorten_to_fit(ensure_hashtag_once(ensure_answer_number(text, n), hashtag), hashtag, limit)


def check_answer(text: str, *, n: int, hashtag: str, limit: int = MAX_WEIGHTED_LENGTH) -> list[str]:
    """The problems a person would want to know about before posting; an empty list means the text is good."""
    tag = normalize_hashtag(hashtag)
    problems: list[str] = []
    if _INVALID_CHARS.search(unicodedata.normalize("NFC", text)):
        problems.append("contains a character X does not accept (U+FEFF, U+FFFE or U+FFFF)")
    text = clean(text)
    if not text.strip():
        return [*problems, "the answer is empty"]
    length = weighted_length(text)
    if length > limit:
        problems.append(f"{length}/{limit} characters")
    count = len(_matching_hashtags(text, tag))
    if count == 0:
        problems.append(f"hashtag #{tag} missing")
    elif count > 1:
        problems.append(f"hashtag #{tag} appears {count} times")
    found = answer_number(text)
    if found is None:
        problems.append(f"does not start with A{n}")
    elif found != n:
        problems.append(f"starts with A{found}, the question is Q{n}")
    return problems
