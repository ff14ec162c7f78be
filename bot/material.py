"""The account's own material: what drafts may draw on besides the talking points.

The folder named by `account.material` in schedules.yaml (relative to the config file) may hold, each
optional:

    bio.md       a longer bio in the first person; each sentence is one item
    posts.yaml   earlier posts: a list of `- text: …` (with an optional `url: …`), or of plain strings
    links.yaml   a list of `- url: https://…` with `about: one line saying what is there`

Every item can be offered to a drafter; the earlier posts also feed the duplicate check (X refuses a post
that repeats an earlier one), and every link here, in `own_links` or in a post is a link drafts may use.
A mistake in a file is a `ConfigError` naming the file, line and column.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from bot.config.models import Account
from bot.config.values import parse_url, shown
from bot.drafting import MaterialItem, bare_link
from bot.drafting.matching import MIN_MATCH, near_duplicate, overlap, terms
from bot.errors import ConfigError, ConfigIssue
from bot.text import clean, url_spans

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'“])")


@dataclass(frozen=True)
class Material:
    """Everything of the account's own: items to draw on, links it may post, posts it must not repeat."""

    items: tuple[MaterialItem, ...]
    links: tuple[str, ...]
    earlier_posts: tuple[str, ...]

    def relevant(
        self, text: str, *, limit: int = 3, avoid: Sequence[str] = (), kinds: Sequence[str] | None = None
    ) -> list[MaterialItem]:
        """The `limit` items that match `text` best (at least `MIN_MATCH`), items not yet said in `avoid`
        first; ties keep the file order (talking points come first)."""
        wanted = terms(text)
        ranked = []
        for index, item in enumerate(self.items):
            if kinds is not None and item.kind not in kinds:
                continue
            score, _ = overlap(wanted, terms(item.text))
            if score >= MIN_MATCH:
                used = any(near_duplicate(item.text, said) for said in avoid)
                ranked.append((used, -score, index, item))
        return [item for *_, item in sorted(ranked, key=lambda r: r[:3])[:limit]]


def load_material(account: Account, base: Path | None = None) -> Material:
    """The account's talking points plus its material folder (when it names one)."""
    items = [
        MaterialItem("talking_point", point, f"talking point {n}")
        for n, point in enumerate(account.talking_points, start=1)
    ]
    links = list(account.own_links)
    earlier: list[str] = []
    if account.material:
        folder = _folder(account.material, base)
        items += _bio(folder / "bio.md")
        posts = _posts(folder / "posts.yaml")
        items += posts
        earlier += [post.text for post in posts]
        link_items = _links(folder / "links.yaml")
        items += link_items
        links += [item.url for item in [*posts, *link_items] if item.url]
        links += [url for post in posts for url in _urls(post.text)]
    return Material(items=tuple(items), links=_unique_links(links), earlier_posts=tuple(earlier))


def _folder(name: str, base: Path | None) -> Path:
    """The material folder: as loaded, `account.material` is already absolute (found beside the config file);
    a relative one (a config built in code) is taken from `base`, or from the directory chatcaddy runs in."""
    folder = (base or Path.cwd()) / name
    if not folder.is_dir():
        message = "the material folder named in schedules.yaml (account.material) does not exist"
        raise ConfigError([ConfigIssue(str(folder), 0, 0, message)])
    return folder


def _bio(path: Path) -> list[MaterialItem]:
    if not path.is_file():
        return []
    text = " ".join(_read(path).split())
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    return [MaterialItem("bio", sentence, path.name) for sentence in sentences]


def _posts(path: Path) -> list[MaterialItem]:
    found, issues = [], []
    for line, column, entry in _entries(path):
        where = f"{path.name}:{line}"
        if isinstance(entry, str) and entry.strip():
            found.append(MaterialItem("post", entry.strip(), where))
            continue
        text = entry.get("text") if isinstance(entry, CommentedMap) else None
        url = entry.get("url") if isinstance(entry, CommentedMap) else None
        if not isinstance(text, str) or not text.strip():
            issues.append(ConfigIssue(str(path), line, column, "a post needs text: write `- text: …`"))
            continue
        problem = _url_problem(url) if url is not None else None
        if problem:
            issues.append(ConfigIssue(str(path), line, column, f"url: {problem}"))
            continue
        found.append(MaterialItem("post", text.strip(), where, url=url))
    if issues:
        raise ConfigError(issues)
    return found


def _links(path: Path) -> list[MaterialItem]:
    found, issues = [], []
    for line, column, entry in _entries(path):
        url = entry.get("url") if isinstance(entry, CommentedMap) else None
        about = entry.get("about") if isinstance(entry, CommentedMap) else None
        problem = _url_problem(url) if url is not None else "missing"
        if problem:
            issues.append(ConfigIssue(str(path), line, column, f"url: {problem}; write `- url: https://…`"))
        elif not isinstance(about, str) or not about.strip():
            message = "about: missing; add one line saying what the link is, e.g. `about: my portfolio`"
            issues.append(ConfigIssue(str(path), line, column, message))
        else:
            found.append(MaterialItem("link", about.strip(), f"{path.name}:{line}", url=url))
    if issues:
        raise ConfigError(issues)
    return found


def _entries(path: Path) -> list[tuple[int, int, Any]]:
    """The items of a YAML list file with their 1-based line and column; [] when there is no file."""
    if not path.is_file():
        return []
    try:
        data = YAML(typ="rt").load(_read(path))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ConfigError([ConfigIssue(str(path), line, column, f"not valid YAML: {exc.problem}")]) from None
    except YAMLError as exc:
        raise ConfigError([ConfigIssue(str(path), 1, 1, f"not valid YAML: {exc}")]) from None
    if data is None:
        return []
    if not isinstance(data, CommentedSeq):
        raise ConfigError([ConfigIssue(str(path), 1, 1, "expected a list, each entry beginning '- '")])
    return [(data.lc.item(i)[0] + 1, data.lc.item(i)[1] + 1, entry) for i, entry in enumerate(data)]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigIssue(str(path), 1, 1, f"not UTF-8 text ({exc.reason})")]) from None
    except OSError as exc:
        raise ConfigError([ConfigIssue(str(path), 1, 1, f"cannot read: {exc.strerror}")]) from None


def _url_problem(value: Any) -> str | None:
    try:
        parse_url(value)
    except ValueError:
        return f"{shown(value)} is not a link; use a full http(s) URL"
    return None


def _urls(text: str) -> list[str]:
    cleaned = clean(text)
    return [cleaned[span.start : span.end] for span in url_spans(cleaned)]


def _unique_links(links: Sequence[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for link in links:
        seen.setdefault(bare_link(link), link)
    return tuple(seen.values())
