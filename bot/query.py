"""Recent-search queries for chats, and routing the posts they return back to their chats.

X recent search takes one query of at most 512 characters. One chat reads its hashtag::

    all             #Tag -is:retweet
    hosts           #Tag (from:host1 OR from:host2) -is:retweet
    hosts+mentions  #Tag (from:host1 OR from:host2 OR @account) -is:retweet

(a single alternative goes without parentheses: `#Tag from:host1 -is:retweet`). `-is:retweet` needs a
standalone operator beside it; the hashtag is one. Since 2026-05-04 keyword search returns no reposts anyway;
the operator stays so the query means the same on any API version.

Chats live at the same time share queries (`combined_queries`) to spend fewer search requests; a post from
a shared query is sent back to the chats it belongs to with `route_post`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

ReadMode = Literal["all", "hosts", "hosts+mentions"]
READ_MODES: tuple[str, ...] = get_args(ReadMode)
MAX_QUERY_LENGTH = 512

_NO_REPOSTS = "-is:retweet"
_HASHTAG = re.compile(r"#?(?P<tag>\w+)")
_USERNAME = re.compile(r"@?(?P<name>[A-Za-z0-9_]{1,15})")


def chat_query(hashtag: str, *, read: ReadMode, hosts: Sequence[str], account: str) -> str:
    """The recent-search query that reads one chat's hashtag in the given read mode.

    `hashtag` and the handles may carry their "#"/"@" or not. Raises ValueError naming the bad value when the
    hashtag or a handle is malformed, the read mode is unknown, or a hosts mode has no hosts.
    """
    tag = normalise_hashtag(hashtag)
    _check_read_mode(read)
    if read == "all":
        return f"#{tag} {_NO_REPOSTS}"
    if not hosts:
        raise ValueError(f"#{tag}: read mode {read!r} needs at least one host")
    alternatives = [f"from:{name}" for name in _unique_usernames(hosts)]
    if read == "hosts+mentions":
        alternatives.append(f"@{normalise_username(account)}")
    return f"#{tag} {_any_of(alternatives)} {_NO_REPOSTS}"


def combined_queries(
    parts: Sequence[tuple[str, str]], limit: int = MAX_QUERY_LENGTH
) -> list[tuple[str, list[str]]]:
    """Pack chats' queries into as few queries of at most `limit` characters as greedy packing finds.

    `parts` is `(chat_slug, query)` pairs, usually from `chat_query`. Parts are taken in the given order and
    added to the current query while it still fits; the result is `(query, [slugs it covers])` pairs, every
    slug exactly once, in order. Deterministic.

    Combined form: when every part ends in `-is:retweet`, it is factored out once:
    `(#A OR (#B from:h) OR …) -is:retweet`; otherwise each part is parenthesised: `(p1) OR (p2)`.
    A lone part is returned unchanged. Raises ValueError, naming the chat, when one part alone is too long.
    """
    for slug, part in parts:
        _check_part(slug, part, limit)
    packed: list[list[tuple[str, str]]] = []
    for slug, part in parts:
        entry = (slug, part.strip())
        if packed and len(_combine([p for _, p in [*packed[-1], entry]])) <= limit:
            packed[-1].append(entry)
        else:
            packed.append([entry])
    return [(_combine([part for _, part in group]), [slug for slug, _ in group]) for group in packed]


@dataclass(frozen=True)
class ChatMatch:
    """What `route_post` needs to know about a chat: its hashtag, read mode and hosts."""

    slug: str
    hashtag: str
    read: ReadMode
    hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_read_mode(self.read)


def route_post(
    hashtags: Iterable[str],
    author_username: str,
    mentions: Iterable[str],
    chats: Sequence[ChatMatch],
    *,
    account: str,
) -> list[str]:
    """The slugs of the chats (in `chats` order) a post read from a combined query belongs to.

    A chat takes the post when the post carries its hashtag (case-insensitive, "#" optional) and the chat's
    read mode lets it in: `all` takes every post, `hosts` only its hosts' posts, `hosts+mentions` its hosts'
    posts and posts mentioning `account`. Handles compare case-insensitively, "@" optional.
    """
    post_tags = {_tag_key(tag) for tag in hashtags}
    author = _handle_key(author_username)
    mentions_account = _handle_key(account) in {_handle_key(mention) for mention in mentions}
    return [
        chat.slug
        for chat in chats
        if _tag_key(chat.hashtag) in post_tags and _read_mode_admits(chat, author, mentions_account)
    ]


def normalise_hashtag(hashtag: str) -> str:
    """The hashtag without "#"; ValueError if it is not one X would recognise (letters, digits, "_")."""
    match = _HASHTAG.fullmatch(hashtag.strip())
    if match is None or match.group("tag").isdigit():
        raise ValueError(f"{hashtag!r} is not a hashtag: use letters, digits and _ (not only digits)")
    return match.group("tag")


def normalise_username(username: str) -> str:
    """The handle without "@"; ValueError if it is not a valid X username (1-15 of A-Z, a-z, 0-9, _)."""
    match = _USERNAME.fullmatch(username.strip())
    if match is None:
        raise ValueError(f"{username!r} is not an X username: 1 to 15 letters, digits or _")
    return match.group("name")


def _read_mode_admits(chat: ChatMatch, author: str, mentions_account: bool) -> bool:
    """Whether the chat's read mode takes a post by `author` (already a handle key)."""
    if chat.read == "all":
        return True
    from_host = author in {_handle_key(host) for host in chat.hosts}
    if chat.read == "hosts":
        return from_host
    return from_host or mentions_account


def _combine(parts: Sequence[str]) -> str:
    """One query matching any of `parts`; see `combined_queries` for the form."""
    if len(parts) == 1:
        return parts[0]
    suffix = f" {_NO_REPOSTS}"
    if all(part.endswith(suffix) for part in parts):
        cores = [part.removesuffix(suffix).strip() for part in parts]
        return f"({' OR '.join(_grouped(core) for core in cores)}){suffix}"
    return " OR ".join(f"({part})" for part in parts)


def _grouped(clause: str) -> str:
    """`clause` as one OR operand: a lone term stays bare, anything longer is parenthesised."""
    return clause if len(clause.split()) == 1 else f"({clause})"


def _any_of(alternatives: Sequence[str]) -> str:
    """`a`, or `(a OR b …)` when there is more than one."""
    return alternatives[0] if len(alternatives) == 1 else f"({' OR '.join(alternatives)})"


def _unique_usernames(handles: Iterable[str]) -> list[str]:
    """Valid usernames without "@", first spelling kept, case-insensitive duplicates dropped."""
    seen: dict[str, str] = {}
    for handle in handles:
        name = normalise_username(handle)
        seen.setdefault(name.casefold(), name)
    return list(seen.values())


def _check_part(slug: str, part: str, limit: int) -> None:
    """ValueError naming the chat when its query is empty or longer than `limit` on its own."""
    length = len(part.strip())
    if length == 0:
        raise ValueError(f"chat {slug!r}: its search query is empty")
    if length > limit:
        raise ValueError(
            f"chat {slug!r}: its search query is {length} characters, over X's {limit}-character limit; "
            "list fewer hosts or read all posts of the hashtag"
        )


def _check_read_mode(read: str) -> None:
    if read not in READ_MODES:
        raise ValueError(f"unknown read mode {read!r}: use one of {', '.join(READ_MODES)}")


def _tag_key(hashtag: str) -> str:
    return hashtag.strip().removeprefix("#").casefold()


def _handle_key(handle: str) -> str:
    return handle.strip().removeprefix("@").casefold()
