"""Matching words without a model: which of the account's material a post is about, and whether two texts
say the same thing.

A text becomes a set of terms: the stems of its meaningful words, plus a `~concept` tag for each idea of a
small job-chat thesaurus it touches ("X", "handles" and "feed" are all `~social`; "pivot", "changer" and
"moving" are all `~pivot`). Shared terms are weighed: an idea 1.5 (its words are not counted again), another
word 1, a word every chat uses ("career", "job", "keep") 0.25; a match needs `MIN_MATCH`, so one generic
word never makes a match.

Near-duplicates are measured on word trigrams of the text without its labels, hashtags, mentions and links.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from bot.text import hashtag_spans, url_spans

MIN_MATCH = 1.0
CONCEPT_WEIGHT = 1.5
GENERIC_WEIGHT = 0.25

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_LABEL = re.compile(r"^\s*[QA]\s?\d+\s*[:.)\-–—]?\s*", re.IGNORECASE)
_MENTION = re.compile(r"[@＠]\w+")
_HYPHEN = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")
_STOPWORD_LIST = """
    a about after again against all also am an and any are as at be because been before being between both but
    by can could did do does doing don't down during each even few for from further had has have having he her
    here
    hers him his how i i'd i'll i'm i've if in into is it it's its just me more most my no nor not of off on
    once only or other our ours out over own same she should so some such than that that's the their theirs
    them then there these they this those through to too under until up very was we were what what's when
    where which while who whom why will with would you you'd you'll you're you've your yours yourself
"""
STOPWORDS = frozenset(_STOPWORD_LIST.split())
# Words nearly every job chat uses: they count, but never make a match on their own.
_GENERIC_WORDS = """
    career job search hunt hunting work role people thing way time week day use keep make get every one good
    great best tip advice share really think know need want new first look start question answer chat
"""
# The thesaurus: each idea and words that express it (stemmed at import, so any form matches).
_CONCEPTS = {
    "social": "x twitter tweet handle account feed timeline hashtag linkedin list",
    "showing": "portfolio writeup case study demo proof github readme showcase show walkthrough blog",
    "pivot": "pivot changer switch transition background former",
    "organizing": "organize organised organized track tracker spreadsheet sheet trello pipeline calendar "
    "checklist routine followup",
    "referral": "referral refer referrer intro introduction",
    "networking": "network networking conversation talk coffee connect connection relationship alumni",
    "rejection": "rejection reject setback energy motivation resilience burnout ghost",
    "interviewing": "interview interviewer",
    "resume": "resume cv",
    "learning": "learn course certification cert skill practise practice",
    "applying": "apply application",
    "platform": "platform kubernetes infrastructure sre devops cloud backend",
    "hiring": "recruiter recruit hiring hire talent",
}


def stem(word: str) -> str:
    """A deliberately small stemmer: enough to match interview/interviews/interviewing, not a linguist.
    A stem that would be a stopword keeps the word ("evening" stays, it is not "even")."""
    word = word.lower().removesuffix("'s")
    stemmed = _drop_final_e(_drop_suffix(word))
    return word if stemmed in STOPWORDS else stemmed


def _drop_suffix(word: str) -> str:
    for suffix, replacement, min_length in (
        ("ies", "y", 5),
        ("ied", "y", 5),
        ("ing", "", 6),
        ("ed", "", 5),
        ("ly", "", 5),
    ):
        if word.endswith(suffix) and len(word) >= min_length:
            word = word[: -len(suffix)] + replacement
            if suffix in ("ing", "ed") and len(word) > 2 and word[-1] == word[-2] and word[-1] not in "ls":
                word = word[:-1]  # running → runn → run; keep "follow", "call", "pass"
            return word
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def _drop_final_e(word: str) -> str:
    """note/noted, handle/handling: the silent e is what differs."""
    return word[:-1] if word.endswith("e") and len(word) >= 4 else word


GENERIC = frozenset(stem(w) for w in _GENERIC_WORDS.split())
CONCEPT_OF: dict[str, str] = {stem(w): name for name, words in _CONCEPTS.items() for w in words.split()}


def _fold(text: str) -> str:
    """Accents off ("résumé" → "resume"), curly apostrophes straight."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=8192)
def plain_words(text: str) -> tuple[str, ...]:
    """The text's words, lower-case and accent-free, without its Q/A label, hashtags, mentions and links.
    Cached: the same posts and pieces of material are compared again at every poll."""
    text = _LABEL.sub("", text)
    for span in sorted([*url_spans(text), *(s for s, _ in hashtag_spans(text))], key=lambda s: -s.start):
        text = text[: span.start] + " " + text[span.end :]
    text = _HYPHEN.sub("", _MENTION.sub(" ", text))  # "write-up" is one word: "writeup"
    return tuple(w.lower() for w in _WORD.findall(_fold(text)))


def content_stems(text: str) -> set[str]:
    """The stems of the words that carry meaning: no stopwords, URLs, hashtags, mentions or Q-label."""
    return {stem(w) for w in plain_words(text) if w not in STOPWORDS and not w.isdigit()}


@lru_cache(maxsize=8192)
def terms(text: str) -> frozenset[str]:
    """Content stems plus the `~concept` tags they touch."""
    stems = content_stems(text)
    return frozenset(stems | {f"~{CONCEPT_OF[s]}" for s in stems if s in CONCEPT_OF})


def weight(term: str) -> float:
    if term.startswith("~"):
        return CONCEPT_WEIGHT
    return GENERIC_WEIGHT if term in GENERIC else 1.0


def overlap(wanted: frozenset[str], offered: frozenset[str]) -> tuple[float, frozenset[str]]:
    """How strongly two term sets match, and the shared terms: each shared idea counts once (its words are
    not counted again), each other shared word by its weight."""
    shared = wanted & offered
    ideas = {t for t in shared if t.startswith("~")}
    words = {t for t in shared - ideas if f"~{CONCEPT_OF.get(t)}" not in ideas}
    return sum(weight(t) for t in ideas | words), shared


def shown_terms(shared: Iterable[str]) -> str:
    """Shared terms for a person: words first, then the ideas ("handle, social idea")."""
    words = sorted(t for t in shared if not t.startswith("~"))
    ideas = sorted(f"{t[1:]} idea" for t in shared if t.startswith("~"))
    return ", ".join(words + ideas)


# --- sameness ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def _shingles(text: str, n: int = 3) -> frozenset[tuple[str, ...]]:
    """The text's word trigrams (the whole text when shorter)."""
    words = plain_words(text)
    if len(words) < n:
        return frozenset({words}) if words else frozenset()
    return frozenset(words[i : i + n] for i in range(len(words) - n + 1))


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' word trigrams, 0 to 1."""
    left, right = _shingles(a), _shingles(b)
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def containment(part: str, whole: str) -> float:
    """The share of `part`'s word trigrams that also occur in `whole`, 0 to 1."""
    left, right = _shingles(part), _shingles(whole)
    return len(left & right) / len(left) if left else 0.0


def near_duplicate(a: str, b: str) -> bool:
    """Whether two texts say the same thing in the same words (what X refuses as a duplicate, and more)."""
    shorter, longer = sorted((a, b), key=lambda t: len(plain_words(t)))
    return similarity(a, b) >= 0.5 or containment(shorter, longer) >= 0.8


def longest_shared_run(a: str, b: str) -> int:
    """The length in words of the longest run of words the two texts share, in order."""
    left, right = plain_words(a), plain_words(b)
    best = 0
    previous = [0] * (len(right) + 1)
    for word in left:
        current = [0] * (len(right) + 1)
        for j, other in enumerate(right, start=1):
            if word == other:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best
