"""The chat transcript a sandbox plays: who takes part, what each posts, and when.

A transcript is YAML (see `bot/sandbox/transcripts/demo.yaml`)::

    hashtag: "#JobHuntChat"
    account: {id: "1000", username: ada_builds, name: Ada Example}
    users:
      - {id: "2001", username: JobHuntChat, name: Job Hunt Chat}
    posts:
      - {at: 0s, by: JobHuntChat, key: welcome, text: "Welcome to #JobHuntChat!"}
      - {at: 5m40s, by: ada_builds, reply_to: welcome, text: "Hi from Lisbon #JobHuntChat"}

Every mistake is reported at once as a `ConfigError` whose issues name the file, line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from twitter_text import parse_tweet

from bot.errors import ConfigError, ConfigIssue

_OFFSET = re.compile(r"(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?")
_USERNAME = re.compile(r"[A-Za-z0-9_]{1,15}")
_LANG = re.compile(r"[a-z]{2,3}(?:-[A-Za-z]{2,4})?")
_USER_FIELDS = {"id", "username", "name", "description", "location", "followers"}
_POST_FIELDS = {"at", "by", "text", "key", "reply_to", "quote", "repost", "lang", "deleted_at"}
_TOP_FIELDS = {"hashtag", "account", "users", "posts"}


@dataclass(frozen=True)
class User:
    """A person (or the account) in the chat."""

    id: str
    username: str
    name: str
    description: str = ""
    location: str = ""
    followers: int | None = None


@dataclass(frozen=True)
class TranscriptPost:
    """One scripted post; `reply_to`, `quote` and `repost` name an earlier post's `key`."""

    at: timedelta
    by: str
    text: str
    key: str | None = None
    reply_to: str | None = None
    quote: str | None = None
    repost: str | None = None
    lang: str = "en"
    deleted_at: timedelta | None = None
    line: int = 0


@dataclass(frozen=True)
class Transcript:
    """A whole chat: its hashtag, the account the bot acts for, the other users and the posts in order."""

    hashtag: str
    account: User
    users: tuple[User, ...]
    posts: tuple[TranscriptPost, ...]
    source: str = "<transcript>"

    def everyone(self) -> tuple[User, ...]:
        """The account first, then every listed user."""
        return (self.account, *self.users)

    def user(self, username: str) -> User | None:
        """The user (or the account) with this username, case-insensitively, or None."""
        wanted = username.lstrip("@").lower()
        return next((u for u in self.everyone() if u.username.lower() == wanted), None)


def parse_offset(value: object) -> timedelta | None:
    """`0s`, `5m`, `5m40s`, `1h2m` → timedelta; anything else → None."""
    if not isinstance(value, str) or not value:
        return None
    match = _OFFSET.fullmatch(value.strip())
    if match is None or not any(match.groupdict().values()):
        return None
    hours, minutes, seconds = (match.group(g) for g in ("h", "m", "s"))
    return timedelta(hours=int(hours or 0), minutes=int(minutes or 0), seconds=float(seconds or 0))


def load_transcript(path: str | Path) -> Transcript:
    """Read and check a transcript file; raises `ConfigError` listing every problem with its line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigIssue(str(path), 0, 0, f"cannot read transcript: {exc.strerror}")]) from None
    return parse_transcript(text, source=str(path))


def parse_transcript(text: str, *, source: str = "<transcript>") -> Transcript:
    """Parse transcript YAML given as a string; `source` names it in error messages."""
    try:
        document = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise ConfigError([ConfigIssue(source, line, column, f"YAML syntax: {exc.problem}")]) from None
    except YAMLError as exc:
        raise ConfigError([ConfigIssue(source, 0, 0, f"YAML syntax: {exc}")]) from None
    return _Reader(source).read(document)


class _Reader:
    """Turns the YAML tree into a `Transcript`, collecting every issue before failing."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.issues: list[ConfigIssue] = []

    def fail(self, where: tuple[int, int], message: str) -> None:
        self.issues.append(ConfigIssue(self.source, where[0] + 1, where[1] + 1, message))

    def read(self, document: Any) -> Transcript:
        if not isinstance(document, CommentedMap):
            self.fail((0, 0), "a transcript is a mapping with hashtag, account, users and posts")
            raise ConfigError(self.issues)
        self._unknown_fields(document, _TOP_FIELDS, "the transcript")
        hashtag = self._hashtag(document)
        account = self._user(document, "account", (document.lc.line, document.lc.col))
        users = self._users(document)
        people = [u for u in (account, *users) if u is not None]
        self._no_duplicates(people, document)
        posts = self._posts(document, {u.username.lower(): u for u in people})
        if self.issues or account is None:
            raise ConfigError(self.issues)
        return Transcript(hashtag, account, tuple(u for u in users if u), tuple(posts), self.source)

    # -- pieces ---------------------------------------------------------------------------------------------

    def _hashtag(self, document: CommentedMap) -> str:
        value = document.get("hashtag")
        if not isinstance(value, str) or not re.fullmatch(r"#\w+", value.strip()):
            where = document.lc.value("hashtag") if "hashtag" in document else (0, 0)
            self.fail(
                where, 'hashtag: expected a hashtag such as "#JobHuntChat" (quote it: # starts a comment)'
            )
            return ""
        return value.strip()

    def _users(self, document: CommentedMap) -> list[User | None]:
        users = document.get("users", [])
        if users is None:
            return []
        if not isinstance(users, CommentedSeq):
            self.fail(document.lc.value("users"), "users: expected a list of {id, username, name}")
            return []
        return [self._user(users, i, users.lc.item(i)) for i in range(len(users))]

    def _user(self, parent: Any, at: str | int, where: tuple[int, int]) -> User | None:
        label = f"users[{at}]" if isinstance(at, int) else str(at)
        try:
            node = parent[at]
            where = parent.lc.item(at) if isinstance(at, int) else parent.lc.value(at)
        except (KeyError, IndexError):
            self.fail(where, f"{label}: missing (expected {{id, username, name}})")
            return None
        if not isinstance(node, CommentedMap):
            self.fail(where, f"{label}: expected a mapping {{id, username, name}}")
            return None
        self._unknown_fields(node, _USER_FIELDS, label)
        user_id = self._field(node, "id", label, int | str)
        username = self._field(node, "username", label, str)
        name = self._field(node, "name", label, str)
        if user_id is not None and not str(user_id).isdigit():
            self.fail(node.lc.value("id"), f'{label}.id: expected digits such as "2001", got {user_id!r}')
        if isinstance(username, str) and not _USERNAME.fullmatch(username):
            self.fail(
                node.lc.value("username"), f"{label}.username: 1-15 letters, digits or _ ({username!r})"
            )
        followers = node.get("followers")
        if followers is not None and (not isinstance(followers, int) or followers < 0):
            self.fail(node.lc.value("followers"), f"{label}.followers: expected a whole number")
            followers = None
        if user_id is None or username is None or name is None:
            return None
        return User(
            str(user_id),
            str(username),
            str(name),
            str(node.get("description", "")),
            str(node.get("location", "")),
            followers,
        )

    def _no_duplicates(self, people: list[User], document: CommentedMap) -> None:
        seen_names: set[str] = set()
        seen_ids: set[str] = set()
        where = document.lc.value("users") if "users" in document else (0, 0)
        for user in people:
            if user.username.lower() in seen_names:
                self.fail(where, f"users: username {user.username!r} is listed twice")
            if user.id in seen_ids:
                self.fail(where, f"users: id {user.id!r} is used twice")
            seen_names.add(user.username.lower())
            seen_ids.add(user.id)

    def _posts(self, document: CommentedMap, people: dict[str, User]) -> list[TranscriptPost]:
        posts = document.get("posts")
        if not isinstance(posts, CommentedSeq):
            where = document.lc.value("posts") if "posts" in document else (document.lc.line, document.lc.col)
            self.fail(where, "posts: expected a list of {at, by, text}")
            return []
        result: list[TranscriptPost] = []
        keys: dict[str, TranscriptPost] = {}
        later_keys = {
            str(p["key"]) for p in posts if isinstance(p, CommentedMap) and p.get("key") is not None
        }
        for index, node in enumerate(posts):
            post = self._post(node, f"posts[{index}]", posts.lc.item(index), people, keys, later_keys)
            if post is not None:
                result.append(post)
                if post.key is not None:
                    keys[post.key] = post
        return result

    def _post(
        self,
        node: Any,
        label: str,
        where: tuple[int, int],
        people: dict[str, User],
        keys: dict[str, TranscriptPost],
        all_keys: set[str],
    ) -> TranscriptPost | None:
        if not isinstance(node, CommentedMap):
            self.fail(where, f"{label}: expected a mapping {{at, by, text}}")
            return None
        self._unknown_fields(node, _POST_FIELDS, label)
        at = self._offset(node, "at", label, required=True)
        by = self._field(node, "by", label, str)
        if by is not None and by.lstrip("@").lower() not in people:
            self.fail(node.lc.value("by"), f"{label}.by: unknown user {by!r} (list them under users:)")
            by = None
        key = node.get("key")
        if key is not None and str(key) in keys:
            self.fail(node.lc.value("key"), f"{label}.key: {key!r} is used by an earlier post")
        refs = {
            name: self._reference(node, name, label, keys, all_keys, at)
            for name in ("reply_to", "quote", "repost")
        }
        text = self._text(node, label, is_repost="repost" in node)
        deleted_at = self._offset(node, "deleted_at", label, required=False)
        if at is not None and deleted_at is not None and deleted_at < at:
            self.fail(node.lc.value("deleted_at"), f"{label}.deleted_at: before the post's own `at`")
        lang = str(node.get("lang", "en"))
        if not _LANG.fullmatch(lang):
            self.fail(node.lc.value("lang"), f"{label}.lang: expected a language code such as en, es, pt-BR")
        if at is None or by is None or text is None or any(v is False for v in refs.values()):
            return None
        author = people[by.lstrip("@").lower()].username
        ref = {k: (v if isinstance(v, str) else None) for k, v in refs.items()}
        return TranscriptPost(
            at,
            author,
            text,
            None if key is None else str(key),
            ref["reply_to"],
            ref["quote"],
            ref["repost"],
            lang,
            deleted_at,
            node.lc.line + 1,
        )

    def _text(self, node: CommentedMap, label: str, *, is_repost: bool) -> str | None:
        if is_repost:
            if "text" in node:
                self.fail(node.lc.key("text"), f"{label}.text: a repost has no text of its own")
            return ""
        text: str | None = self._field(node, "text", label, str)
        if text is None:
            return None
        if not text.strip():
            self.fail(node.lc.value("text"), f"{label}.text: empty")
            return None
        length = parse_tweet(text).weightedLength
        if length > 280:
            self.fail(node.lc.value("text"), f"{label}.text: {length} weighted characters, X allows 280")
        return text

    def _reference(
        self,
        node: CommentedMap,
        name: str,
        label: str,
        keys: dict[str, TranscriptPost],
        all_keys: set[str],
        at: timedelta | None,
    ) -> str | bool | None:
        """The referenced key; None when absent; False when it is wrong (already reported)."""
        if name not in node:
            return None
        key = str(node[name])
        where = node.lc.value(name)
        if key not in keys:
            hint = "it comes later in the file" if key in all_keys else "no post has that key"
            self.fail(
                where, f"{label}.{name}: unknown post key {key!r} ({hint}; it must name an earlier post)"
            )
            return False
        if at is not None and keys[key].at > at:
            self.fail(
                where, f"{label}.{name}: post {key!r} appears later ({keys[key].at}) than this one ({at})"
            )
            return False
        return key

    def _offset(self, node: CommentedMap, name: str, label: str, *, required: bool) -> timedelta | None:
        if name not in node:
            if required:
                self.fail((node.lc.line, node.lc.col), f"{label}: missing field {name!r}")
            return None
        offset = parse_offset(node[name])
        if offset is None:
            self.fail(
                node.lc.value(name),
                f"{label}.{name}: {node[name]!r} is not an offset like 0s, 5m, 5m40s, 1h2m",
            )
        return offset

    def _field(self, node: CommentedMap, name: str, label: str, kind: Any) -> Any:
        if name not in node or node[name] is None:
            self.fail((node.lc.line, node.lc.col), f"{label}: missing field {name!r}")
            return None
        value = node[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            self.fail(node.lc.value(name), f"{label}.{name}: expected text, got {value!r}")
            return None
        return value

    def _unknown_fields(self, node: CommentedMap, allowed: set[str], label: str) -> None:
        for name in node:
            if str(name) not in allowed:
                known = ", ".join(sorted(allowed))
                self.fail(node.lc.key(name), f"{label}: unknown field {name!r} (known: {known})")
