"""Reading chat posts: question and answer labels, and what kind of event each post is."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.events import (
    MAX_LABEL_NUMBER,
    ChatEvent,
    EventKind,
    classify,
    parse_answer_number,
    parse_question_number,
)

KEYCAP = "\ufe0f\u20e3"
FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Q1 What got you started?", 1),
        ("Q1: What got you started?", 1),
        ("Q1. What got you started?", 1),
        ("Q1) What got you started?", 1),
        ("Q1/ What got you started?", 1),
        ("Q1- What got you started?", 1),
        ("Q1 – What got you started?", 1),
        ("Q 1 What got you started?", 1),
        ("Q#1 What got you started?", 1),
        ("Q.1 What got you started?", 1),
        ("Q. 1: What got you started?", 1),
        ("Question 1 What got you started?", 1),
        ("QUESTION 1: What got you started?", 1),
        ("Question #3: What got you started?", 3),
        ("q1 what got you started?", 1),
        ("Q1", 1),
        ("Q1\nWhat got you started?", 1),
        (f"Q1{KEYCAP} What got you started?", 1),
        (f"Q1{KEYCAP}2{KEYCAP} What now?", 12),
        ("Q1\u20e3 keycap without the variation selector", 1),
        ("Q\U0001f51f the keycap ten", 10),
        ("Q１: fullwidth digit", 1),
        ("Ｑ１２：all fullwidth", 12),
        ("Q10: double digits", 10),
        ("Q30 the last allowed", 30),
        ("Q07: a leading zero", 7),
        ("   Q4 leading whitespace", 4),
        ("🔥 Q2: with an emoji first", 2),
        ("🔥🔥Q2 emoji glued to the label", 2),
        ("📣 — Q5: emoji and a dash", 5),
        ("@Guest Q2 What do you think?", 2),
        ("@Guest @other Q3: two mentions first", 3),
        (".@Guest Q3: the dot-mention habit", 3),
        ("#BlogChat Q4: the chat's hashtag first", 4),
        ("#Q4 the label as a hashtag", 4),
        ("Q4 earnings were great", 4),  # documented: a host post starting with Q<n> is a question
    ],
)
def test_question_labels_that_are_recognised(text: str, number: int | None) -> None:
    assert parse_question_number(text) == number


@pytest.mark.parametrize(
    "text",
    [
        "A1 I started in 2019",
        "QA is hard",
        "Q&A starts at noon",
        "Q&amp;A starts at noon",
        "Q&amp;A aside, Q1 is later",
        "Quest 1 is the best game",
        "Q1A is not a label",
        "Q100 is out of range",
        "Q0 is out of range",
        "Q31 is out of range",
        "Q1.5 billion in revenue",
        "Q1 2026 plans",
        "Q4-2025 results",
        "Q3/2024 review",
        "Q2 '26 roadmap",
        "Here's Q1: the label must come first",
        f"1{KEYCAP} What is your favourite tool?",
        "1. What is your favourite tool?",
        "Q #1 needs the hash to touch the letter",
        "Questions 1 to 5 are coming",
        "",
        "   ",
        "🔥🔥🔥",
        "@Guest thanks for joining!",
        "Welcome to #BlogChat everyone!",
    ],
)
def test_texts_that_are_not_questions(text: str) -> None:
    assert parse_question_number(text) is None


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("A1 I started in 2019", 1),
        ("A1: I started in 2019", 1),
        ("A 1 I started in 2019", 1),
        ("A1. I started in 2019", 1),
        ("A1) I started in 2019", 1),
        ("Answer 1: I started in 2019", 1),
        ("ANSWER 2 - loud", 2),
        ("a1 lowercase", 1),
        ("A1 @user agreed!", 1),
        ("@host A1 I started in 2019", 1),
        ("@host @guest A3: replies start with mentions", 3),
        ("A#2 with a hash", 2),
        (f"A3{KEYCAP} keycap", 3),
        ("Ａ４ fullwidth", 4),
        ("✅ A10: with an emoji", 10),
        ("#BlogChat A6 hashtag first", 6),
    ],
)
def test_answer_labels_that_are_recognised(text: str, number: int) -> None:
    assert parse_answer_number(text) == number


@pytest.mark.parametrize(
    "text",
    [
        "Q1 What got you started?",
        "A #1 fan of this chat",
        "As 1 of the hosts, welcome",
        "A1B is not a label",
        "A31 out of range",
        "A 1.5 times better",
        "Great answer @host",
        "Answers 1 to 3 are below",
        "I think A1 was the best answer",
    ],
)
def test_texts_that_are_not_answers(text: str) -> None:
    assert parse_answer_number(text) is None


# ---- properties ----

_DECORATIONS = st.sampled_from(
    ["", " ", "  \n", "🔥 ", "🔥🔥", "📣 — ", "@guest ", ".@guest @co_host ", "#Chat "]
)
_QUESTION_WORDS = st.sampled_from(["Q", "q", "Q ", "Q#", "Q.", "Q. ", "Question ", "QUESTION ", "question #"])
_ANSWER_WORDS = st.sampled_from(["A", "a", "A ", "A#", "A.", "Answer ", "ANSWER ", "answer #"])
_SEPARATORS = st.sampled_from(["", " ", ": ", ":", ". ", ")", ") ", "/", "-", " - ", "\n", "!", "?"])
_NUMBERS = st.integers(min_value=1, max_value=MAX_LABEL_NUMBER)


def _write_number(number: int, style: str) -> str:
    if style == "fullwidth":
        return str(number).translate(FULLWIDTH_DIGITS)
    if style == "keycap":
        return "".join(digit + KEYCAP for digit in str(number))
    return str(number)


def _label_text(decoration: str, word: str, number: str, separator: str, rest: str) -> str:
    # Keep the text from continuing the label: "Q1"+"A" is "Q1A", "Q1."+"5" a decimal, "Q1 "+"2026" a date.
    if separator in ("", " ", ".", "-", "/"):
        rest = " " + rest
    return f"{decoration}{word}{number}{separator}{rest}"


@given(
    decoration=_DECORATIONS,
    word=_QUESTION_WORDS,
    number=_NUMBERS,
    style=st.sampled_from(["ascii", "fullwidth", "keycap"]),
    separator=_SEPARATORS,
    rest=st.text(),
)
def test_a_generated_question_label_parses_back_to_its_number(
    decoration: str, word: str, number: int, style: str, separator: str, rest: str
) -> None:
    text = _label_text(decoration, word, _write_number(number, style), separator, rest)
    assert parse_question_number(text) == number
    assert parse_answer_number(text) is None


@given(
    decoration=_DECORATIONS,
    word=_ANSWER_WORDS,
    number=_NUMBERS,
    style=st.sampled_from(["ascii", "fullwidth", "keycap"]),
    separator=_SEPARATORS,
    rest=st.text(),
)
def test_a_generated_answer_label_parses_back_to_its_number(
    decoration: str, word: str, number: int, style: str, separator: str, rest: str
) -> None:
    text = _label_text(decoration, word, _write_number(number, style), separator, rest)
    assert parse_answer_number(text) == number
    assert parse_question_number(text) is None


@given(number=_NUMBERS, letter=st.characters(categories=["Lu", "Ll"]), rest=st.text())
def test_a_letter_glued_to_the_number_is_never_a_label(number: int, letter: str, rest: str) -> None:
    assert parse_question_number(f"Q{number}{letter}{rest}") is None
    assert parse_answer_number(f"A{number}{letter}{rest}") is None


@given(number=st.integers(min_value=MAX_LABEL_NUMBER + 1, max_value=10_000), rest=st.text())
def test_numbers_out_of_range_are_never_labels(number: int, rest: str) -> None:
    assert parse_question_number(f"Q{number} {rest}") is None
    assert parse_answer_number(f"A{number} {rest}") is None


@given(word=st.text(alphabet=st.characters(categories=["Lu", "Ll"]), min_size=1), rest=st.text())
def test_a_label_after_a_word_is_never_read(word: str, rest: str) -> None:
    assert parse_question_number(f"{word} Q1 {rest}") is None
    assert parse_answer_number(f"{word} A1 {rest}") is None


@given(text=st.text())
def test_random_text_never_raises_and_stays_in_range(text: str) -> None:
    for number in (parse_question_number(text), parse_answer_number(text)):
        assert number is None or 1 <= number <= MAX_LABEL_NUMBER


# ---- classify ----

HOSTS = ("BlogChatHost", "@CoHost")
ACCOUNT = "caddy_me"


def _classify(
    text: str,
    author: str = "someone",
    *,
    replied_to_id: str | None = None,
    quoted_id: str | None = None,
    mentions: tuple[str, ...] = (),
) -> ChatEvent:
    return classify(
        text=text,
        author_username=author,
        hosts=HOSTS,
        account_username=ACCOUNT,
        replied_to_id=replied_to_id,
        quoted_id=quoted_id,
        mentions=mentions,
    )


def test_a_host_question_is_a_question() -> None:
    event = _classify("Q3: What tools do you use? #BlogChat", "blogchathost")
    assert event == ChatEvent(
        kind=EventKind.QUESTION, question_number=3, answer_number=None, mentions_account=False, is_host=True
    )


def test_a_host_given_with_at_sign_and_other_case_still_counts() -> None:
    event = _classify("Q4 Last one!", "COHOST")
    assert event.kind is EventKind.QUESTION
    assert event.is_host


def test_a_question_label_from_a_participant_is_not_a_question() -> None:
    event = _classify("Q3: what do you all think?", "someone")
    assert event.kind is EventKind.OTHER
    assert event.question_number is None
    assert not event.is_host


def test_a_host_question_posted_as_a_reply_is_still_a_question() -> None:
    event = _classify("Q2 Next up!", "BlogChatHost", replied_to_id="100")
    assert event.kind is EventKind.QUESTION
    assert event.question_number == 2


def test_an_answer_replying_to_the_host_is_an_answer() -> None:
    event = _classify("@BlogChatHost A3 Mostly a notebook", replied_to_id="100", mentions=("BlogChatHost",))
    assert event.kind is EventKind.ANSWER
    assert event.answer_number == 3
    assert event.question_number is None


def test_a_host_answering_their_own_question_is_an_answer() -> None:
    event = _classify("A3 I use a notebook too", "BlogChatHost")
    assert event.kind is EventKind.ANSWER
    assert event.is_host


def test_a_reply_a_quote_a_mention_and_plain_chatter() -> None:
    assert _classify("So true!", replied_to_id="1").kind is EventKind.REPLY
    assert _classify("Look at this", quoted_id="2").kind is EventKind.QUOTE
    assert _classify("hi @caddy_me", mentions=("caddy_me",)).kind is EventKind.MENTION
    assert _classify("Welcome everyone!", "BlogChatHost").kind is EventKind.OTHER


def test_a_reply_that_quotes_is_a_reply() -> None:
    assert _classify("See this", replied_to_id="1", quoted_id="2").kind is EventKind.REPLY


def test_the_accounts_own_posts_are_own_whatever_they_say() -> None:
    event = _classify("A2 my own answer", "Caddy_Me", replied_to_id="1", mentions=("caddy_me",))
    assert event.kind is EventKind.OWN
    assert event.answer_number == 2


def test_mentions_account_is_reported_whatever_the_kind() -> None:
    event = _classify("@caddy_me A1 agreed", replied_to_id="1", mentions=("@CADDY_ME",))
    assert event.kind is EventKind.ANSWER
    assert event.mentions_account
    assert not _classify("A1 agreed", mentions=("someone_else",)).mentions_account


def test_a_mention_only_in_text_without_an_entity_does_not_count() -> None:
    # The mention entities are the source of truth: X lists every real mention there.
    assert not _classify("hi caddy_me").mentions_account


_HANDLES = st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True)


@given(
    text=st.text(),
    author=_HANDLES,
    account=_HANDLES,
    hosts=st.lists(_HANDLES, max_size=3),
    mentions=st.lists(_HANDLES, max_size=3),
    replied=st.none() | st.just("1"),
    quoted=st.none() | st.just("2"),
)
def test_classify_never_raises_and_keeps_its_promises(
    text: str,
    author: str,
    account: str,
    hosts: list[str],
    mentions: list[str],
    replied: str | None,
    quoted: str | None,
) -> None:
    event = classify(
        text=text,
        author_username=author,
        hosts=hosts,
        account_username=account,
        replied_to_id=replied,
        quoted_id=quoted,
        mentions=mentions,
    )
    assert event.mentions_account == (account.lower() in {m.lower() for m in mentions})
    assert event.is_host == (author.lower() in {h.lower() for h in hosts})
    if author.lower() == account.lower():
        assert event.kind is EventKind.OWN
    if event.kind is EventKind.QUESTION:
        assert event.is_host
        assert event.question_number is not None
    if not event.is_host:
        assert event.question_number is None


@given(author=_HANDLES, text=st.text())
def test_own_wins_over_every_other_kind(author: str, text: str) -> None:
    event = classify(
        text=f"Q1 {text}",
        author_username=author.upper(),
        hosts=[author],
        account_username=f"@{author.lower()}",
        replied_to_id="1",
        quoted_id="2",
        mentions=[author],
    )
    assert event.kind is EventKind.OWN
    assert event.question_number == 1
