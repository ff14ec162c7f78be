"""The offline drafter: a deterministic answer from the persona's own words, with no network.

It picks the talking point that shares the most words with the question (after dropping stopwords and
reducing words to a simple stem; ties go to the earlier point) and says it in first person behind a short
opening that varies with the question number. With no overlap it falls back to the bio. It never adds a fact,
a link or a mention the persona does not already contain.
"""

from __future__ import annotations

import re

from bot.drafting import AnswerRequest, Draft, mentions_own_link
from bot.text import finalize_answer, hashtag_spans, url_spans

# Openings that read well before any talking point ("I keep…", "Keep…", "Networking beats…").
OPENINGS = ("", "My take: ", "What works for me: ", "Short answer: ", "From my side: ")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_QUESTION_LABEL = re.compile(r"^\s*Q\s?\d+\s*[:.)\-–—]?\s*", re.IGNORECASE)
_MENTION = re.compile(r"[@＠]\w+")
_SENTENCE_END = ".!?…)\"'”"
_STOPWORD_LIST = """
    a about after again against all also am an and any are as at be because been before being between both but
    by can could did do does doing don't down during each few for from further had has have having he her here
    hers him his how i i'd i'll i'm i've if in into is it it's its just me more most my no nor not of off on
    once only or other our ours out over own same she should so some such than that that's the their theirs
    them then there these they this those through to too under until up very was we were what what's when
    where which while who whom why will with would you you'd you'll you're you've your yours yourself
"""
STOPWORDS = frozenset(_STOPWORD_LIST.split())


def stem(word: str) -> str:
    """A deliberately small stemmer: enough to match interview/interviews/interviewing, not a linguist."""
    return _drop_final_e(_drop_suffix(word.lower().removesuffix("'s")))


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


def content_stems(text: str) -> set[str]:
    """The stems of the words that carry meaning: no stopwords, URLs, hashtags, mentions or Q-label."""
    text = _QUESTION_LABEL.sub("", text)
    for span in sorted([*url_spans(text), *(s for s, _ in hashtag_spans(text))], key=lambda s: -s.start):
        text = text[: span.start] + " " + text[span.end :]
    text = _MENTION.sub(" ", text)
    words = (w.lower().replace("’", "'") for w in _WORD.findall(text.replace("’", "'")))
    return {stem(w) for w in words if w not in STOPWORDS and not w.isdigit()}


def best_talking_point(question: str, talking_points: tuple[str, ...]) -> tuple[int, set[str]] | None:
    """The index of the talking point sharing the most stems with the question, and those stems; None when
    none shares any. Ties go to the earlier point."""
    wanted = content_stems(question)
    best: tuple[int, set[str]] | None = None
    for index, point in enumerate(talking_points):
        shared = wanted & content_stems(point)
        if shared and (best is None or len(shared) > len(best[1])):
            best = (index, shared)
    return best


def _sentence(text: str, opening: str) -> str:
    """`opening` + text, ending in a full stop; after an opening the first letter is lowered unless the first
    word is 'I' or looks like a name ("LinkedIn")."""
    text = " ".join(text.split())
    first_word = text.split(" ", 1)[0]
    is_plain_word = first_word[1:] == first_word[1:].lower() and first_word.rstrip(",.:;!?") not in ("I",)
    if opening and is_plain_word and not first_word.startswith(("I'", "I’")):
        text = text[:1].lower() + text[1:]
    ends_in_url = any(span.end == len(text) for span in url_spans(text))
    if text and text[-1] not in _SENTENCE_END and not ends_in_url:
        text += "."
    return opening + text


class OfflineDrafter:
    """Deterministic drafts from the persona's talking points (or bio); no network, no tokens."""

    def answer(self, req: AnswerRequest) -> Draft:
        persona = req.persona
        opening = OPENINGS[(req.question_number - 1) % len(OPENINGS)]
        match = best_talking_point(req.question_text, persona.talking_points)
        if match is None:
            point = None
            body = _sentence(f"Great question. Where I'm coming from: {persona.bio}", "")
            rationale = "No talking point shares a word with the question; answered from the bio."
            confidence = 0.2
        else:
            index, shared = match
            point = persona.talking_points[index]
            body = _sentence(point, opening)
            rationale = f"Talking point {index + 1} shares {', '.join(sorted(shared))} with the question."
            confidence = min(0.9, 0.4 + 0.15 * len(shared))
        text = finalize_answer(body, n=req.question_number, hashtag=req.hashtag)
        return Draft(
            text=text,
            talking_point=point,
            rationale=rationale,
            is_self_promotional=mentions_own_link(text, persona.own_links),
            confidence=confidence,
            drafter="offline",
            model=None,
            input_tokens=0,
            output_tokens=0,
            llm_calls=0,
        )
