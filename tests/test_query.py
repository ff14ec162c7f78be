"""Search queries for chats, packing them under X's 512-character limit, and routing posts back."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.query import (
    MAX_QUERY_LENGTH,
    ChatMatch,
    chat_query,
    combined_queries,
    normalise_hashtag,
    normalise_username,
    route_post,
)

# ---- chat_query ----


def test_read_all_reads_the_whole_hashtag_without_reposts() -> None:
    assert chat_query("#BlogChat", read="all", hosts=["host1"], account="me") == "#BlogChat -is:retweet"


def test_read_hosts_reads_only_the_hosts() -> None:
    query = chat_query("#BlogChat", read="hosts", hosts=["host1", "@Host2"], account="me")
    assert query == "#BlogChat (from:host1 OR from:Host2) -is:retweet"


def test_a_single_host_needs_no_parentheses() -> None:
    assert (
        chat_query("BlogChat", read="hosts", hosts=["host1"], account="me")
        == "#BlogChat from:host1 -is:retweet"
    )


def test_read_hosts_and_mentions_adds_the_account() -> None:
    query = chat_query("#BlogChat", read="hosts+mentions", hosts=["host1"], account="@caddy_me")
    assert query == "#BlogChat (from:host1 OR @caddy_me) -is:retweet"


def test_duplicate_hosts_are_listed_once() -> None:
    query = chat_query("#BlogChat", read="hosts", hosts=["host1", "HOST1", "@host1"], account="me")
    assert query == "#BlogChat from:host1 -is:retweet"


@pytest.mark.parametrize("read", ["hosts", "hosts+mentions"])
def test_a_hosts_mode_without_hosts_is_refused(read: str) -> None:
    with pytest.raises(ValueError, match=r"#BlogChat: read mode '.*' needs at least one host"):
        chat_query("#BlogChat", read=read, hosts=[], account="me")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: chat_query("#Blog Chat", read="all", hosts=[], account="me"),
            "'#Blog Chat' is not a hashtag",
        ),
        (lambda: chat_query("#2024", read="all", hosts=[], account="me"), "'#2024' is not a hashtag"),
        (lambda: chat_query("", read="all", hosts=[], account="me"), "'' is not a hashtag"),
        (
            lambda: chat_query("#A", read="everything", hosts=[], account="me"),  # type: ignore[arg-type]
            "unknown read mode 'everything'",
        ),
        (
            lambda: chat_query("#A", read="hosts", hosts=["bad handle"], account="me"),
            "'bad handle' is not an X",
        ),
        (lambda: chat_query("#A", read="hosts", hosts=["a" * 16], account="me"), "is not an X username"),
        (lambda: chat_query("#A", read="hosts+mentions", hosts=["h"], account="me!"), "'me!' is not an X"),
    ],
)
def test_malformed_input_is_refused_with_the_value_named(call: Callable[[], str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_normalisers_strip_the_sigils() -> None:
    assert normalise_hashtag(" #BlogChat ") == "BlogChat"
    assert normalise_hashtag("日本語チャット") == "日本語チャット"
    assert normalise_username("@Caddy_Me") == "Caddy_Me"


# ---- combined_queries ----


def test_chats_live_together_share_one_query_with_reposts_excluded_once() -> None:
    parts = [
        ("blog", chat_query("#BlogChat", read="all", hosts=[], account="me")),
        ("seo", chat_query("#SEOChat", read="hosts", hosts=["a", "b"], account="me")),
        ("tea", chat_query("#TeaChat", read="hosts+mentions", hosts=["c"], account="me")),
    ]
    assert combined_queries(parts) == [
        (
            "(#BlogChat OR (#SEOChat (from:a OR from:b)) OR (#TeaChat (from:c OR @me))) -is:retweet",
            ["blog", "seo", "tea"],
        )
    ]


def test_a_lone_chat_keeps_its_query_unchanged() -> None:
    assert combined_queries([("blog", "#BlogChat -is:retweet")]) == [("#BlogChat -is:retweet", ["blog"])]


def test_no_chats_need_no_query() -> None:
    assert combined_queries([]) == []


def test_parts_without_the_repost_filter_are_combined_as_they_are() -> None:
    parts = [("a", "#A -is:retweet"), ("b", "#B lang:en")]
    assert combined_queries(parts) == [("(#A -is:retweet) OR (#B lang:en)", ["a", "b"])]


def _tag_of_length(index: int, length: int) -> str:
    """A distinct hashtag of exactly `length` characters including "#"."""
    stem = f"Chat{index}"
    return "#" + stem + "x" * (length - 1 - len(stem))


def test_packing_fills_queries_up_to_512_and_no_further() -> None:
    # Each part "#<99 chars> -is:retweet" contributes 100 + len(" OR ") to a combined query,
    # so "(t1 OR … OR tn) -is:retweet" is 2 + 100n + 4(n-1) + 12 = 104n + 10 characters: n = 4 fits (426),
    # n = 5 does not (530).
    parts = [(f"chat{i}", f"{_tag_of_length(i, 100)} -is:retweet") for i in range(11)]
    queries = combined_queries(parts)
    assert [slugs for _, slugs in queries] == [
        ["chat0", "chat1", "chat2", "chat3"],
        ["chat4", "chat5", "chat6", "chat7"],
        ["chat8", "chat9", "chat10"],
    ]
    assert [len(query) for query, _ in queries] == [426, 426, 322]


def test_a_query_exactly_at_the_limit_is_kept_and_one_over_is_split() -> None:
    # Two parts combine into "(#a OR #b) -is:retweet": 2 + len(a) + 4 + len(b) + 12 characters.
    first = _tag_of_length(1, 200)
    exact = _tag_of_length(2, MAX_QUERY_LENGTH - 18 - 200)
    assert combined_queries([("one", f"{first} -is:retweet"), ("two", f"{exact} -is:retweet")]) == [
        (f"({first} OR {exact}) -is:retweet", ["one", "two"])
    ]
    assert (
        len(combined_queries([("one", f"{first} -is:retweet"), ("two", f"{exact} -is:retweet")])[0][0]) == 512
    )
    over = _tag_of_length(2, MAX_QUERY_LENGTH - 18 - 200 + 1)
    assert combined_queries([("one", f"{first} -is:retweet"), ("two", f"{over} -is:retweet")]) == [
        (f"{first} -is:retweet", ["one"]),
        (f"{over} -is:retweet", ["two"]),
    ]


def test_a_chat_too_long_on_its_own_is_refused_by_name() -> None:
    hosts = [f"host_{i:010d}" for i in range(40)]
    long_query = chat_query("#BlogChat", read="hosts", hosts=hosts, account="me")
    assert len(long_query) > MAX_QUERY_LENGTH
    with pytest.raises(
        ValueError, match=r"chat 'blogchat': its search query is \d+ characters, over X's 512"
    ):
        combined_queries([("short", "#A -is:retweet"), ("blogchat", long_query)])


def test_an_empty_part_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="chat 'blank': its search query is empty"):
        combined_queries([("blank", "  ")])


def test_a_smaller_limit_is_honoured() -> None:
    parts = [("a", "#A -is:retweet"), ("b", "#B -is:retweet"), ("c", "#C -is:retweet")]
    assert combined_queries(parts, limit=24) == [
        ("(#A OR #B) -is:retweet", ["a", "b"]),
        ("#C -is:retweet", ["c"]),
    ]


_TAGS = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,140}", fullmatch=True)
_HOSTS = st.lists(st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True), min_size=1, max_size=5)


@st.composite
def _chat_parts(draw: st.DrawFn) -> tuple[str, str]:
    tag = draw(_TAGS)
    read = draw(st.sampled_from(["all", "hosts", "hosts+mentions"]))
    return tag, chat_query(tag, read=read, hosts=draw(_HOSTS), account="caddy_me")  # type: ignore[arg-type]


@given(
    parts=st.lists(_chat_parts(), max_size=25), limit=st.integers(min_value=160, max_value=MAX_QUERY_LENGTH)
)
def test_packing_covers_every_chat_once_in_order_within_the_limit(
    parts: list[tuple[str, str]], limit: int
) -> None:
    slugged = [(f"chat{i}", query) for i, (_, query) in enumerate(parts)]
    if any(len(query) > limit for _, query in slugged):
        with pytest.raises(ValueError, match="over X's"):
            combined_queries(slugged, limit)
        return
    result = combined_queries(slugged, limit)
    assert [slug for _, slugs in result for slug in slugs] == [slug for slug, _ in slugged]
    assert all(len(query) <= limit for query, _ in result)
    assert all(query.count("(") == query.count(")") for query, _ in result)
    assert all(query.count("-is:retweet") == 1 for query, _ in result)
    # Greedy: no query could have taken the first chat of the next one.
    for (_, slugs), (_, next_slugs) in itertools.pairwise(result):
        merged = [part for part in slugged if part[0] in {*slugs, next_slugs[0]}]
        assert len(combined_queries(merged, limit=10_000)[0][0]) > limit
    assert combined_queries(slugged, limit) == result


# ---- route_post ----

ACCOUNT = "caddy_me"
CHATS = [
    ChatMatch(slug="blog", hashtag="#BlogChat", read="all"),
    ChatMatch(slug="seo", hashtag="seochat", read="hosts", hosts=("SEOHost", "@cohost")),
    ChatMatch(slug="tea", hashtag="#TeaChat", read="hosts+mentions", hosts=("teahost",)),
]


def _route(hashtags: list[str], author: str = "someone", mentions: tuple[str, ...] = ()) -> list[str]:
    return route_post(hashtags, author, mentions, CHATS, account=ACCOUNT)


def test_a_post_goes_to_the_chat_of_its_hashtag_whatever_the_case() -> None:
    assert _route(["blogchat"]) == ["blog"]
    assert _route(["#BLOGCHAT"]) == ["blog"]


def test_a_post_with_two_chats_hashtags_goes_to_both_in_chat_order() -> None:
    assert _route(["TeaChat", "BlogChat"], author="teahost") == ["blog", "tea"]


def test_a_post_without_any_chats_hashtag_goes_nowhere() -> None:
    assert _route(["OtherChat"], author="SEOHost") == []
    assert _route([], author="SEOHost") == []


def test_hosts_mode_takes_only_host_posts() -> None:
    assert _route(["SEOChat"], author="seohost") == ["seo"]
    assert _route(["SEOChat"], author="@CoHost") == ["seo"]
    assert _route(["SEOChat"], author="someone") == []
    assert _route(["SEOChat"], author="someone", mentions=(ACCOUNT,)) == []


def test_hosts_and_mentions_mode_takes_host_posts_and_posts_mentioning_the_account() -> None:
    assert _route(["TeaChat"], author="TeaHost") == ["tea"]
    assert _route(["TeaChat"], author="someone", mentions=("@Caddy_Me",)) == ["tea"]
    assert _route(["TeaChat"], author="someone", mentions=("other",)) == []


def test_a_chat_match_refuses_an_unknown_read_mode() -> None:
    with pytest.raises(ValueError, match="unknown read mode 'some'"):
        ChatMatch(slug="x", hashtag="#X", read="some")  # type: ignore[arg-type]
