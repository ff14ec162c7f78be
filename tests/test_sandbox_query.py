"""The search query language: operators, precedence, negation, and the 400s X gives for bad queries."""

from __future__ import annotations

import pytest

from bot.sandbox.query import QueryError, SearchDoc, parse_query
from bot.sandbox.text import analyse, words


def doc(
    text: str, *, author: str = "sam", reply_to: str | None = None, quote: bool = False, lang: str = "en"
) -> SearchDoc:
    shown, entities = analyse(text, lambda name: None)
    return SearchDoc(
        words=words(shown),
        hashtags=frozenset(h.tag.lower() for h in entities.hashtags),
        mentions=frozenset(m.username.lower() for m in entities.mentions),
        author=author,
        author_id="1",
        to_user=reply_to,
        is_reply=reply_to is not None,
        is_quote=quote,
        lang=lang,
        urls=tuple(u.expanded_url for u in entities.urls),
    )


def matches(query: str, post: SearchDoc) -> bool:
    return parse_query(query).matches(post)


ANSWER = doc("A1 Follow the career handles of companies you like #JobHuntChat", reply_to="jobhuntchat")
OTHER_TAG = doc("Anyone going to the #JobHuntChat2 meetup?", author="lena")
SPANISH = doc("R1 Sigo a las empresas #jobhuntchat", author="lena", lang="es")
MENTION = doc("@ada_builds welcome! #JobHuntChat", author="marcus", reply_to="ada_builds")


def test_hashtag_is_an_exact_case_insensitive_entity_match() -> None:
    assert matches("#JobHuntChat", ANSWER)
    assert matches("#jobhuntchat", ANSWER)
    assert matches("#JOBHUNTCHAT", SPANISH)
    assert not matches("#JobHuntChat", OTHER_TAG)  # not a prefix match
    assert not matches("#Job", ANSWER)


def test_words_phrases_and_mentions() -> None:
    assert matches("career handles", ANSWER)
    assert matches("CAREER", ANSWER)
    assert not matches("care", ANSWER)
    assert matches('"career handles"', ANSWER)
    assert not matches('"handles career"', ANSWER)
    assert matches("@ada_builds", MENTION)
    assert not matches("@ada_builds", ANSWER)


def test_from_to_is_lang_operators() -> None:
    assert matches("#JobHuntChat from:lena", OTHER_TAG) is False
    assert matches("#JobHuntChat from:lena", SPANISH)
    assert matches("#JobHuntChat from:@LENA", SPANISH)
    assert matches("#JobHuntChat to:ada_builds", MENTION)
    assert matches("#JobHuntChat is:reply", ANSWER)
    assert not matches("#JobHuntChat -is:reply", ANSWER)
    assert matches("#JobHuntChat lang:es", SPANISH)
    assert not matches("#JobHuntChat lang:es", ANSWER)
    assert not matches("#JobHuntChat is:quote", ANSWER)
    assert matches("#JobHuntChat is:quote", doc("ha #JobHuntChat", quote=True))


def test_and_binds_tighter_than_or() -> None:
    # "career OR meetup lena" is "career OR (meetup AND lena)"
    assert matches("career OR meetup lena", ANSWER)
    assert not matches("career OR meetup lena", OTHER_TAG)
    assert matches("career OR meetup anyone", OTHER_TAG)
    assert not matches("(career OR meetup) lena", ANSWER)


def test_negation_of_terms_and_groups() -> None:
    assert not matches("#JobHuntChat -career", ANSWER)
    assert matches("#JobHuntChat -(meetup OR sigo)", ANSWER)
    assert not matches("#JobHuntChat -(career OR sigo)", ANSWER)
    assert matches("#JobHuntChat -from:lena", ANSWER)
    assert not matches("#JobHuntChat -from:sam", ANSWER)


def test_has_and_url_operators() -> None:
    link = doc("A1 guide https://example.com/lists #JobHuntChat")
    assert matches("#JobHuntChat has:links", link)
    assert not matches("#JobHuntChat has:links", ANSWER)
    assert matches("url:example.com", link)


@pytest.mark.parametrize(
    ("query", "problem", "position"),
    [
        ("is:reply", "is/has/lang cannot be used as a standalone operator", 1),
        ("lang:en -is:retweet", "is/has/lang cannot be used as a standalone operator", 1),
        ("#a OR is:reply", "is/has/lang cannot be used as a standalone operator", 7),
        ("-#JobHuntChat", "Rules must contain a non-negation term", 1),
        ("(#JobHuntChat OR career", "Unbalanced parentheses: '(' is never closed", 1),
        ("#JobHuntChat)", "Unbalanced parentheses: ')' without a matching '('", 13),
        ("#a ()", "Empty group or ')' without a matching '('", 5),
        ("OR #a", "Ambiguous use of or as a keyword", 1),
        ("#a OR", "Ambiguous use of or as a keyword", 4),
        ('#a "open', "Missing closing quote", 4),
        ("#a foo:bar", "Reference to invalid operator 'foo'", 4),
        ("#a is:famous", "Reference to invalid field 'is:famous'", 4),
    ],
)
def test_invalid_queries(query: str, problem: str, position: int) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    assert caught.value.problem.startswith(problem)
    assert caught.value.position == position
    assert str(caught.value).startswith("There were errors processing your request: ")


def test_query_length_limit_is_512_characters() -> None:
    parse_query("#a " + "x" * 509)
    with pytest.raises(QueryError, match="513 characters"):
        parse_query("#a " + "x" * 510)


def test_standalone_operator_beside_conjunction_operators_is_fine() -> None:
    parse_query("#JobHuntChat -is:retweet lang:en")
    parse_query("from:sam is:reply")
    parse_query("(#a OR #b) -has:links")
