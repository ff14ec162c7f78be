"""The rules of an answer's text: X's length, the hashtag once, the A-number, shortening."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import extract_urls

from bot.text import (
    answer_number,
    check_answer,
    clean,
    count_hashtag,
    ensure_answer_number,
    ensure_hashtag_once,
    finalize_answer,
    is_valid_length,
    normalize_hashtag,
    shorten_to_fit,
    weighted_length,
)

TAG = "JobHuntChat"
URL = "https://example.com/a/really/long/path/to/a/page?with=query&and=more"


# --- length, as X counts it -------------------------------------------------------------------------------


def test_plain_text_up_to_280_is_valid() -> None:
    assert weighted_length("a" * 280) == 280
    assert is_valid_length("a" * 280)
    assert not is_valid_length("a" * 281)


def test_empty_text_is_not_valid() -> None:
    assert not is_valid_length("")


def test_url_counts_23_whatever_its_length() -> None:
    assert weighted_length(URL) == 23
    assert weighted_length("see " + URL) == 27


def test_emoji_and_cjk_count_double() -> None:
    assert weighted_length("😀") == 2
    assert weighted_length("👨‍👩‍👧") == 2  # one ZWJ sequence, one emoji
    assert weighted_length("日本語") == 6
    assert not is_valid_length("日" * 141)


def test_length_is_counted_after_nfc() -> None:
    decomposed = "e\u0301" * 280  # 560 code points, 280 characters once composed
    assert weighted_length(decomposed) == 280
    assert is_valid_length(decomposed)


def test_clean_removes_characters_x_rejects_and_composes() -> None:
    assert clean("e\ufeff\u0301 ok\ufffe") == "é ok"


# --- the hashtag ------------------------------------------------------------------------------------------


def test_hashtag_is_appended_when_missing() -> None:
    assert ensure_hashtag_once("A3 I send a note.  ", TAG) == "A3 I send a note. #JobHuntChat"


def test_hashtag_accepts_the_tag_with_or_without_hash_sign() -> None:
    assert ensure_hashtag_once("A3 hi", "#JobHuntChat") == ensure_hashtag_once("A3 hi", "JobHuntChat")


def test_hashtag_present_in_other_case_is_kept_once_and_respelled() -> None:
    assert ensure_hashtag_once("A3 hi #jobhuntchat", TAG) == "A3 hi #JobHuntChat"


def test_duplicate_hashtags_are_removed_without_leaving_gaps() -> None:
    text = "A3 At #JobHuntChat I learned a lot #jobhuntchat. Thanks #JOBHUNTCHAT"
    assert ensure_hashtag_once(text, TAG) == "A3 At #JobHuntChat I learned a lot. Thanks"


def test_a_longer_tag_is_not_the_chat_hashtag() -> None:
    text = "A3 I follow #JobHuntChatter too"
    assert count_hashtag(text, TAG) == 0
    assert ensure_hashtag_once(text, TAG) == "A3 I follow #JobHuntChatter too #JobHuntChat"


@pytest.mark.parametrize(
    "text",
    [
        "see https://example.com/page#JobHuntChat",  # a URL fragment
        "word#JobHuntChat",  # glued to a word
        "&#JobHuntChat",  # an HTML entity
        "#JobHuntChat#more",  # runs into another hash sign
    ],
)
def test_things_that_look_like_the_hashtag_but_are_not(text: str) -> None:
    assert count_hashtag(text, TAG) == 0


def test_fullwidth_hash_sign_counts() -> None:
    assert count_hashtag("A3 hi ＃JobHuntChat", TAG) == 1


def test_not_a_hashtag_is_rejected() -> None:
    with pytest.raises(ValueError, match="not a hashtag"):
        normalize_hashtag("#2024")
    with pytest.raises(ValueError, match="not a hashtag"):
        normalize_hashtag("job hunt")


# --- the answer number ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A2: I send notes", "A3: I send notes"),
        ("a3 - I send notes", "A3 - I send notes"),
        ("A12 I send notes", "A3 I send notes"),
        ("A3 I send notes", "A3 I send notes"),
        ("I send notes", "A3 I send notes"),
        ("  Also, notes", "A3 Also, notes"),
        ("A2#JobHuntChat notes", "A3 #JobHuntChat notes"),
        ("", "A3"),
    ],
)
def test_answer_number_is_set(text: str, expected: str) -> None:
    assert ensure_answer_number(text, 3) == expected


def test_answer_number_must_be_positive() -> None:
    with pytest.raises(ValueError, match="1 or more"):
        ensure_answer_number("hi", 0)


def test_answer_number_reads_the_label() -> None:
    assert answer_number("A10: yes") == 10
    assert answer_number("Also yes") is None


# --- shortening -------------------------------------------------------------------------------------------


LONG = "A3 " + " ".join(f"word{i}" for i in range(80)) + " #JobHuntChat"


def test_text_that_fits_is_left_alone() -> None:
    assert shorten_to_fit("A3 short answer #JobHuntChat", TAG) == "A3 short answer #JobHuntChat"


def test_long_text_is_cut_at_a_word_with_an_ellipsis_before_the_hashtag() -> None:
    short = shorten_to_fit(LONG, TAG)
    assert short.endswith("… #JobHuntChat")
    assert weighted_length(short) <= 280
    kept = short.removesuffix("… #JobHuntChat")
    assert LONG.startswith(kept + " ")  # a whole-word prefix
    assert weighted_length(short) > 260  # and not needlessly short


def test_trailing_punctuation_is_dropped_before_the_ellipsis() -> None:
    text = "A3 " + "word, " * 60
    assert shorten_to_fit(text, TAG).endswith("word… #JobHuntChat")


def test_a_url_at_the_cut_is_kept_whole_or_dropped() -> None:
    for filler in range(200, 270, 6):
        text = "A3 " + "x" * filler + " " + URL + " and some more words after it"
        short = shorten_to_fit(text, TAG)
        assert weighted_length(short) <= 280
        assert all(url == URL for url in extract_urls(short))


def test_a_mention_is_never_split() -> None:
    text = "A3 " + "ab " * 89 + "@somebody_long rest of it"
    short = shorten_to_fit(text, TAG)
    assert "@somebody_long" in short or "@" not in short


def test_a_hashtag_in_a_script_without_spaces_is_never_split() -> None:
    other = "#日本語の長いハッシュタグ"
    text = "A3 " + "a " * 120 + other + " end"
    short = shorten_to_fit(text, TAG)
    assert weighted_length(short) <= 280
    assert other in short or "#日" not in short


def test_hashtag_inside_the_kept_text_is_not_repeated() -> None:
    text = "A3 At #JobHuntChat " + "I learned a lot. " * 20
    short = shorten_to_fit(text, TAG)
    assert short.startswith("A3 At #JobHuntChat I learned")
    assert short.endswith("…")
    assert count_hashtag(short, TAG) == 1


def test_cjk_without_spaces_is_cut_between_characters() -> None:
    text = "A3 " + "日本語の文章です" * 30
    short = shorten_to_fit(text, TAG)
    assert short.startswith("A3 日本語の文章です")
    assert short.endswith("… #JobHuntChat")
    assert 270 <= weighted_length(short) <= 280


def test_emoji_sequences_are_not_split() -> None:
    family = "👨‍👩‍👧"
    short = shorten_to_fit("A3 " + family * 200, TAG)
    kept = short.removeprefix("A3 ").removesuffix("… #JobHuntChat")
    assert kept == family * (len(kept) // len(family))
    assert weighted_length(short) > 260


def test_one_endless_word_is_cut_inside_it_rather_than_dropped() -> None:
    short = shorten_to_fit("A3 " + "x" * 400, TAG)
    assert short.startswith("A3 xxxx")
    assert weighted_length(short) == 280


# --- the check a person reads -----------------------------------------------------------------------------


def test_a_good_answer_has_no_problems() -> None:
    assert check_answer("A3 I send a note. #JobHuntChat", n=3, hashtag=TAG) == []


def test_every_problem_is_named() -> None:
    text = "A2 " + "a" * 270 + " #JobHuntChat #jobhuntchat"
    assert check_answer(text, n=3, hashtag="#JobHuntChat") == [
        "299/280 characters",
        "hashtag #JobHuntChat appears 2 times",
        "starts with A2, the question is Q3",
    ]


def test_missing_parts_are_named() -> None:
    assert check_answer("I send a note.", n=3, hashtag=TAG) == [
        "hashtag #JobHuntChat missing",
        "does not start with A3",
    ]


def test_empty_and_invalid_characters_are_named() -> None:
    assert check_answer("  ", n=1, hashtag=TAG) == ["the answer is empty"]
    problems = check_answer("A1 hi\ufeff #JobHuntChat", n=1, hashtag=TAG)
    assert problems == ["contains a character X does not accept (U+FEFF, U+FFFE or U+FFFF)"]


# --- properties -------------------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [
        "#JobHuntChat",
        "#jobhuntchat",
        "＃JOBHUNTCHAT",
        "#JobHuntChatter",
        "#日本語チャット",
        "A2:",
        "A3",
        "a7 -",
        URL,
        "example.org/x",
        "https://x.com/p#JobHuntChat",
        "@host_name",
        "😀",
        "👨‍👩‍👧",
        "#️⃣",
        "日本語の文章です",
        "한국어",
        "e\u0301",
        "\ufeff",
        "&#JobHuntChat",
        "…",
        "—",
        "\n",
        "word,",
    ]
)
PIECE = st.one_of(st.text(max_size=30), FRAGMENTS)
# Hypothesis favours small examples; the long ones (over 280, so shortening runs) are asked for explicitly.
PIECES = st.one_of(st.lists(PIECE, max_size=10), st.lists(PIECE, min_size=30, max_size=80))
TEXTS = st.one_of(PIECES.map(" ".join), PIECES.map("".join), st.text(max_size=500))
HASHTAGS = st.sampled_from(["JobHuntChat", "#JobHuntChat", "日本語チャット", "chat2024", "Ünïcode_Chat"])
NUMBERS = st.integers(min_value=1, max_value=15)


@settings(max_examples=80, deadline=None)
@given(text=TEXTS, hashtag=HASHTAGS, n=NUMBERS)
def test_every_text_becomes_a_valid_answer(text: str, hashtag: str, n: int) -> None:
    answer = shorten_to_fit(ensure_hashtag_once(ensure_answer_number(text, n), hashtag), hashtag)
    assert is_valid_length(answer)
    assert count_hashtag(answer, hashtag) == 1
    assert answer_number(answer) == n
    assert check_answer(answer, n=n, hashtag=hashtag) == []


@settings(max_examples=30, deadline=None)
@given(text=TEXTS, hashtag=HASHTAGS, n=NUMBERS)
def test_finalizing_twice_changes_nothing(text: str, hashtag: str, n: int) -> None:
    once = finalize_answer(text, n=n, hashtag=hashtag)
    assert once == shorten_to_fit(ensure_hashtag_once(ensure_answer_number(text, n), hashtag), hashtag)
    assert finalize_answer(once, n=n, hashtag=hashtag) == once


@settings(max_examples=30, deadline=None)
@given(text=TEXTS, hashtag=HASHTAGS, n=NUMBERS)
def test_shortening_keeps_a_prefix_and_whole_urls(text: str, hashtag: str, n: int) -> None:
    full = ensure_hashtag_once(ensure_answer_number(text, n), hashtag)
    short = shorten_to_fit(full, hashtag)
    if short == full:
        return
    tag = normalize_hashtag(hashtag)
    kept = short.removesuffix(f" #{tag}").removesuffix("…")
    assert full.startswith(kept)
    assert set(extract_urls(short)) <= set(extract_urls(full))
