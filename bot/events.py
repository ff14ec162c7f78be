"""Turning a post read from a chat's hashtag into a chat event.

Pure functions: no I/O, no clock. The X gateway hands posts over as plain fields, so this module needs
nothing from `bot.x`.

Label grammar (question and answer labels share it; matching is case-insensitive)::

    post      := decoration* label number end ...
    decoration:= whitespace | punctuation | symbol (emoji, 🔥, 📣) | "@handle" | "#hashtag"
    label     := "Q" ["#" | "." ] [space]  | "Question" [space] ["#"] [space]     (answers: "A" / "Answer")
    number    := 1 or 2 digits, value 1..30; a digit is ASCII, fullwidth (１) or a keycap (1️⃣), or 🔟 alone
    end       := end of text | a character that is not a letter, digit or "_" (":", ".", ")", "/", "-", " " …)

Before matching, HTML entities are unescaped (X sends "&amp;") and the text is NFKC-normalised, so fullwidth
"Ｑ１" reads as "Q1". The label must come first: "Here's Q1" is not a question, "1️⃣ What…" is not either.

Rejected on purpose: "Q&A", "QA is hard", "Quest 1", "Q1A", "Q100", "Q0", "Q31", "Q1.5" (a decimal), and
a quarter followed by a year ("Q1 2026", "Q4-2025", "Q3/2024", "Q2 '26"), which is a date, not a label.
Accepted on purpose: "Q4 earnings were great" from a host *is* question 4; a host post that starts with a
Q<n> label is a question. Likewise "A 1-on-1 helps" reads as answer 1: the spaced form "A 1" is asked for
and the ambiguity is rare. "A #1 fan" is not an answer: "#" must touch the letter ("A#1").
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

MAX_LABEL_NUMBER = 30

_HSPACE = r"[ \t\u00a0]"
_DIGIT = r"[0-9]\ufe0f?\u20e3?"  # a keycap is the digit, an optional VS16, then U+20E3
_NUMBER = rf"(?P<number>\U0001f51f|{_DIGIT}(?:{_DIGIT})?)"
# The number must end the label: not a further digit or letter, not a decimal part ("Q1.5").
_END = r"(?![\w])(?![.,][0-9])"
# "Q1 2026", "Q4-2025", "Q3/2024", "Q2 '26": a quarter and a year.
_QUARTER_YEAR = re.compile(
    r"q[1-4](?:[ \t\u00a0\-/]?(?:19|20)[0-9]{2}|[ \t\u00a0]?['’][0-9]{2})(?![0-9])", re.I
)

_QUESTION_LABEL = re.compile(
    rf"(?:q(?:[#.]{_HSPACE}?|{_HSPACE})?|question{_HSPACE}*#?{_HSPACE}*){_NUMBER}{_END}", re.I
)
_ANSWER_LABEL = re.compile(
    rf"(?:a(?:[#.]{_HSPACE}?|{_HSPACE})?|answer{_HSPACE}*#?{_HSPACE}*){_NUMBER}{_END}", re.I
)

_HANDLE = re.compile(r"@\w+")
_HASHTAG = re.compile(r"#\w+")


class EventKind(StrEnum):
    """What a post read from a chat is, from the account's point of view."""

    QUESTION = "question"
    ANSWER = "answer"
    REPLY = "reply"
    QUOTE = "quote"
    MENTION = "mention"
    OWN = "own"
    OTHER = "other"


@dataclass(frozen=True)
class ChatEvent:
    """One post, classified.

    `question_number` is set only for a host's post that carries a question label (whatever `kind` won);
    `answer_number` whenever the post carries an answer label.
    """

    kind: EventKind
    question_number: int | None
    answer_number: int | None
    mentions_account: bool
    is_host: bool


def parse_question_number(text: str) -> int | None:
    """The question number of a label like "Q1:" or "🔥 Question 2" at the start of `text`, else None.

    Does not check who wrote it: only a host's label makes a question (see `classify`).
    """
    return _parse_label(text, _QUESTION_LABEL, reject=_QUARTER_YEAR)


def parse_answer_number(text: str) -> int | None:
    """The answer number of a label like "A1 …" or "@host A2:" at the start of `text`, else None."""
    return _parse_label(text, _ANSWER_LABEL, reject=None)


def classify(
    *,
    text: str,
    author_username: str,
    hosts: Iterable[str],
    account_username: str,
    replied_to_id: str | None,
    quoted_id: str | None,
    mentions: Iterable[str],
) -> ChatEvent:
    """Classify one post. The first rule that holds gives the kind:

    1. OWN      the author is the account itself;
    2. QUESTION a host wrote it and it starts with a question label;
    3. ANSWER   it starts with an answer label (a host answering counts too);
    4. REPLY    it replies to a post;
    5. QUOTE    it quotes a post;
    6. MENTION  it mentions the account;
    7. OTHER    anything else (welcomes, chatter, the host's thanks).

    `mentions_account` is reported whatever the kind. Handles compare case-insensitively; a leading "@" is
    ignored.
    """
    account = _handle_key(account_username)
    author = _handle_key(author_username)
    is_host = author in {_handle_key(host) for host in hosts}
    mentions_account = account in {_handle_key(mention) for mention in mentions}
    question_number = parse_question_number(text) if is_host else None
    answer_number = parse_answer_number(text)
    return ChatEvent(
        kind=_kind(
            own=author == account,
            question=question_number is not None,
            answer=answer_number is not None,
            reply=replied_to_id is not None,
            quote=quoted_id is not None,
            mention=mentions_account,
        ),
        question_number=question_number,
        answer_number=answer_number,
        mentions_account=mentions_account,
        is_host=is_host,
    )


def _kind(*, own: bool, question: bool, answer: bool, reply: bool, quote: bool, mention: bool) -> EventKind:
    """The first kind, in `classify`'s order, whose condition holds."""
    rules = (
        (own, EventKind.OWN),
        (question, EventKind.QUESTION),
        (answer, EventKind.ANSWER),
        (reply, EventKind.REPLY),
        (quote, EventKind.QUOTE),
        (mention, EventKind.MENTION),
    )
    return next((kind for holds, kind in rules if holds), EventKind.OTHER)


def _handle_key(handle: str) -> str:
    """A handle in the form used for comparison: no "@", no surrounding space, case-folded."""
    return handle.strip().removeprefix("@").casefold()


def _parse_label(text: str, label: re.Pattern[str], reject: re.Pattern[str] | None) -> int | None:
    """Skip the leading decoration, then read `label` there; None if it is not there or out of range."""
    normalised = unicodedata.normalize("NFKC", html.unescape(text))
    position = 0
    while position < len(normalised):
        found = _label_at(normalised, position, label, reject)
        if found is not None:
            return found
        if normalised[position] == "#":
            # "#Q1" is a label written as a hashtag; "#ChatTag Q1" is decoration followed by a label.
            found = _label_at(normalised, position + 1, label, reject)
            if found is not None:
                return found
        skipped = _skip_decoration(normalised, position)
        if skipped == position:
            return None
        position = skipped
    return None


def _label_at(text: str, position: int, label: re.Pattern[str], reject: re.Pattern[str] | None) -> int | None:
    """The label's number if `label` matches exactly at `position`, else None."""
    if reject is not None and reject.match(text, position):
        return None
    match = label.match(text, position)
    if match is None:
        return None
    number = _number_value(match.group("number"))
    return number if 1 <= number <= MAX_LABEL_NUMBER else None


def _number_value(number: str) -> int:
    """The value of a matched number: keycap marks dropped, 🔟 is ten."""
    if number == "\U0001f51f":
        return 10
    return int("".join(char for char in number if char.isascii()))


def _skip_decoration(text: str, position: int) -> int:
    """The position after one piece of leading decoration, or `position` itself if a word starts there."""
    for token in (_HANDLE, _HASHTAG):
        match = token.match(text, position)
        if match is not None:
            return match.end()
    category = unicodedata.category(text[position])
    if category[0] in "LN":
        return position
    return position + 1
