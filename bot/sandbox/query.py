"""X's search query language, parsed for real and evaluated against posts.

Grammar (AND binds tighter than OR, as on X)::

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary unary*
    unary    := "-" unary | "(" or_expr ")" | term
    term     := #tag | @user | "phrase" | word | from:user | to:user | is:retweet|reply|quote
              | lang:xx | has:links|mentions|hashtags|media | conversation_id:ID

`is:`, `has:` and `lang:` cannot stand alone: X answers 400 when nothing standalone is beside them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_QUERY_LENGTH = 512

_STANDALONE_PREFIXES = {"from", "to", "conversation_id", "url"}
_CONJUNCTION_PREFIXES = {"is", "has", "lang"}
_IS_VALUES = {"retweet", "reply", "quote", "verified", "nullcast"}
_HAS_VALUES = {"links", "mentions", "hashtags", "media", "images", "videos", "geo", "cashtags"}
_OPERATOR = re.compile(r"([A-Za-z_]+):(.*)", re.DOTALL)


class QueryError(ValueError):
    """The query is not valid; `message` is the text X would put in its 400 answer."""

    def __init__(self, problem: str, position: int) -> None:
        self.problem = problem
        self.position = position
        super().__init__(f"There were errors processing your request: {problem} (at position {position})")


@dataclass(frozen=True)
class SearchDoc:
    """What the query language can see of one post (lower-cased where X matches case-insensitively)."""

    words: tuple[str, ...]
    hashtags: frozenset[str]
    mentions: frozenset[str]
    author: str
    author_id: str
    to_user: str | None = None
    is_reply: bool = False
    is_quote: bool = False
    is_retweet: bool = False
    lang: str = "en"
    conversation_id: str = ""
    urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Term:
    """One search term; `test` says whether a post matches it."""

    text: str
    position: int
    standalone: bool
    test: Callable[[SearchDoc], bool] = field(compare=False)

    def matches(self, doc: SearchDoc) -> bool:
        return self.test(doc)


@dataclass(frozen=True)
class Not:
    child: Node
    position: int

    def matches(self, doc: SearchDoc) -> bool:
        return not self.child.matches(doc)


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]

    def matches(self, doc: SearchDoc) -> bool:
        return all(child.matches(doc) for child in self.children)


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]

    def matches(self, doc: SearchDoc) -> bool:
        return any(child.matches(doc) for child in self.children)


Node = Term | Not | And | Or


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "OR", "-", "term"
    text: str
    position: int  # 1-based, as X reports positions


def parse_query(query: str, *, max_length: int = MAX_QUERY_LENGTH) -> Node:
    """Parse a query into a tree whose `matches(doc)` evaluates it; raises `QueryError`."""
    if not query.strip():
        raise QueryError("The query must not be empty", 1)
    if len(query) > max_length:
        raise QueryError(
            f"Query is {len(query)} characters long; the maximum is {max_length}", max_length + 1
        )
    parser = _Parser(_tokenize(query))
    tree = parser.parse()
    problem = _standalone_problem(tree)
    if problem is not None:
        raise QueryError(*problem)
    return tree


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(query):
        char = query[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token(char, char, i + 1))
            i += 1
        elif char == "-" and i + 1 < len(query) and not query[i + 1].isspace():
            tokens.append(_Token("-", "-", i + 1))
            i += 1
        elif char == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QueryError("Missing closing quote", i + 1)
            tokens.append(_Token("term", query[i : end + 1], i + 1))
            i = end + 1
        else:
            end = i
            while end < len(query) and not query[end].isspace() and query[end] not in '()"':
                end += 1
            word = query[i:end]
            tokens.append(_Token("OR" if word == "OR" else "term", word, i + 1))
            i = end
    return tokens


class _Parser:
    """Recursive descent over the tokens; positions in errors are 1-based like X's."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def next_kind(self) -> str | None:
        token = self.peek()
        return None if token is None else token.kind

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Node:
        tree = self.or_expr()
        extra = self.peek()
        if extra is not None:  # only a stray ")" can stop or_expr early
            raise QueryError("Unbalanced parentheses: ')' without a matching '('", extra.position)
        return tree

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            if self.next_kind() in (None, ")", "OR"):
                raise _ambiguous_or(token)
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children: list[Node] = []
        while (token := self.peek()) is not None and token.kind not in (")", "OR"):
            children.append(self.unary())
        if not children:
            token = self.peek()
            if token is None:
                raise QueryError("Expected a term, found the end of the query", self._end_position())
            if token.kind == "OR":
                raise _ambiguous_or(token)
            raise QueryError("Empty group or ')' without a matching '('", token.position)
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self) -> Node:
        token = self.take()
        if token.kind == "-":
            if self.next_kind() in (None, ")", "OR"):
                raise QueryError("Ambiguous use of '-': nothing to negate", token.position)
            return Not(self.unary(), token.position)
        if token.kind == "(":
            inner = self.or_expr()
            closing = self.peek()
            if closing is None or closing.kind != ")":
                raise QueryError("Unbalanced parentheses: '(' is never closed", token.position)
            self.take()
            return inner
        return _term(token)

    def _end_position(self) -> int:
        last = self.tokens[-1] if self.tokens else None
        return last.position + len(last.text) if last else 1


def _ambiguous_or(token: _Token) -> QueryError:
    return QueryError(
        'Ambiguous use of or as a keyword. Use a space to logically join two clauses, or "or" to find '
        "occurrences of or in text",
        token.position,
    )


def _term(token: _Token) -> Term:
    text, pos = token.text, token.position
    if text.startswith('"'):
        phrase = tuple(re.findall(r"\w+(?:'\w+)*", text[1:-1].lower()))
        if not phrase:
            raise QueryError("Empty quoted phrase", pos)
        return Term(text, pos, True, lambda d: _contains_run(d.words, phrase))
    if text[0] in "#＃" and len(text) > 1:
        tag = text[1:].lower()
        return Term(text, pos, True, lambda d: tag in d.hashtags)
    if text[0] in "@＠" and len(text) > 1:
        name = text[1:].lower()
        return Term(text, pos, True, lambda d: name in d.mentions)
    operator = _OPERATOR.fullmatch(text)
    if operator and not text.lower().startswith(("http:", "https:")):
        return _operator_term(operator.group(1).lower(), operator.group(2), token)
    word = text.lower()
    tokens = tuple(re.findall(r"\w+(?:'\w+)*", word))
    if not tokens:  # punctuation only: X ignores it; match everything it is ANDed with
        return Term(text, pos, True, lambda d: True)
    return Term(text, pos, True, lambda d: _contains_run(d.words, tokens))


def _operator_term(name: str, value: str, token: _Token) -> Term:
    text, pos = token.text, token.position
    if not value:
        raise QueryError(f"Operator '{name}:' needs a value", pos)
    if name not in _STANDALONE_PREFIXES | _CONJUNCTION_PREFIXES:
        raise QueryError(
            f"Reference to invalid operator '{name}'. Operator is not available in current product or "
            "product packaging",
            pos,
        )
    wanted = value.lstrip("@").lower()
    if name == "is":
        test = _is_test(wanted, pos)
    elif name == "has":
        test = _has_test(wanted, pos)
    else:
        tests: dict[str, Callable[[SearchDoc], bool]] = {
            "from": lambda d: wanted in (d.author, d.author_id),
            "to": lambda d: d.to_user == wanted,
            "conversation_id": lambda d: d.conversation_id == wanted,
            "url": lambda d: any(wanted in u.lower() for u in d.urls),
            "lang": lambda d: d.lang.lower() == wanted,
        }
        test = tests[name]
    return Term(text, pos, name in _STANDALONE_PREFIXES, test)


def _is_test(value: str, pos: int) -> Callable[[SearchDoc], bool]:
    if value not in _IS_VALUES:
        return _invalid_field(f"is:{value}", pos)
    checks: dict[str, Callable[[SearchDoc], bool]] = {
        "retweet": lambda d: d.is_retweet,
        "reply": lambda d: d.is_reply,
        "quote": lambda d: d.is_quote,
    }
    return checks.get(value, lambda d: False)


def _has_test(value: str, pos: int) -> Callable[[SearchDoc], bool]:
    if value not in _HAS_VALUES:
        return _invalid_field(f"has:{value}", pos)
    checks: dict[str, Callable[[SearchDoc], bool]] = {
        "links": lambda d: bool(d.urls),
        "mentions": lambda d: bool(d.mentions),
        "hashtags": lambda d: bool(d.hashtags),
    }
    return checks.get(value, lambda d: False)


def _invalid_field(text: str, pos: int) -> Callable[[SearchDoc], bool]:
    raise QueryError(f"Reference to invalid field '{text}'", pos)


def _contains_run(words: tuple[str, ...], run: tuple[str, ...]) -> bool:
    """Whether `run` occurs as consecutive words (a single word is a run of one)."""
    width = len(run)
    return any(words[i : i + width] == run for i in range(len(words) - width + 1))


def _standalone_problem(node: Node) -> tuple[str, int] | None:
    """Why the query has no standalone operator to anchor it, or None when it has one."""
    if isinstance(node, Term):
        if node.standalone:
            return None
        return ("is/has/lang cannot be used as a standalone operator", node.position)
    if isinstance(node, Not):
        inner = _standalone_problem(node.child)
        return (
            inner
            if inner and "is/has/lang" in inner[0]
            else ("Rules must contain a non-negation term", node.position)
        )
    problems = [_standalone_problem(child) for child in node.children]
    if isinstance(node, And):
        return None if any(p is None for p in problems) else problems[0]
    return next((p for p in problems if p is not None), None)
