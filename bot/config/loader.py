"""Read schedules.yaml into a `Config`, or fail with every problem, each at its file:line:column.

ruamel.yaml's round-trip loader remembers where each key and value sits; pydantic reports each problem
with a `loc` path (('chats', 0, 'when', 'day')), which is walked through the YAML tree to find the spot.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

from bot.config.models import Config
from bot.config.values import shown
from bot.errors import ConfigError, ConfigIssue

Loc = tuple[str | int, ...]
# Messages for pydantic's own error types; everything else carries our message already.
_TYPE_NAMES = {
    "string_type": "text",
    "list_type": "a list",
    "dict_type": "a mapping (key: value lines)",
}


def load_config(path: str | Path) -> Config:
    """Read and check the config file at `path`; `ConfigError` lists every problem found."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [ConfigIssue(name, 1, 1, "no such file; pass the path of your schedules.yaml")]
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [ConfigIssue(name, 1, 1, f"not UTF-8 text ({exc.reason}); save it as UTF-8")]
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError([ConfigIssue(name, 1, 1, f"cannot read the file: {reason}")]) from None
    return _relative_to(parse_config(text, name), Path(path).parent)


def _relative_to(config: Config, folder: Path) -> Config:
    """A relative `account.material` folder is found beside the config file, wherever chatcaddy runs."""
    material = config.account.material
    if material is None or Path(material).is_absolute():
        return config
    account = config.account.model_copy(update={"material": str((folder / material).resolve())})
    return config.model_copy(update={"account": account})


def parse_config(text: str, filename: str) -> Config:
    """Check config `text`; problems are reported against `filename`."""
    tree = _read_yaml(text, filename)
    if tree is None:
        message = "the file is empty; it needs account, chats and optionally policy (see schedules.yaml)"
        raise ConfigError([ConfigIssue(filename, 1, 1, message)])
    try:
        plain = _plain(tree)
    except RecursionError:
        message = "an alias (*name) refers to a node that contains it; YAML aliases must not loop"
        raise ConfigError([ConfigIssue(filename, 1, 1, message)]) from None
    try:
        return Config.model_validate(plain)
    except ValidationError as exc:
        issues = [_issue(error, tree, filename) for error in exc.errors()]
        raise ConfigError(sorted(issues, key=lambda issue: (issue.line, issue.column))) from None


def _read_yaml(text: str, filename: str) -> Any:
    yaml = YAML(typ="rt")
    try:
        with warnings.catch_warnings():
            # ruamel warns on some odd input; anything that matters is reported as an error below.
            warnings.simplefilter("ignore")
            return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "not valid YAML"
        if exc.problem and exc.context and exc.context_mark and exc.context_mark is not mark:
            opened = exc.context_mark
            what += f" ({exc.context} that starts at line {opened.line + 1}, column {opened.column + 1})"
        if "'\\t'" in what:
            what += " (indent with spaces, not tabs)"
        elif "'@'" in what:
            what += ' (put values that start with @ in quotes, e.g. "@JobHuntChat")'
        raise ConfigError([ConfigIssue(filename, line, column, f"YAML syntax: {what}")]) from None
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        what = f"character {exc.character:#06x} is not allowed in YAML; remove it"
        raise ConfigError([ConfigIssue(filename, line, column, f"YAML syntax: {what}")]) from None
    except (YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise ConfigError([ConfigIssue(filename, 1, 1, f"not valid YAML: {exc}")]) from None


def _plain(node: Any) -> Any:
    """The YAML tree as plain dicts, lists and scalars (ruamel's subclasses confuse type checks)."""
    if isinstance(node, Mapping):
        return {_plain_key(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list | tuple):
        return [_plain(item) for item in node]
    if isinstance(node, bool) or node is None or isinstance(node, dt.date):
        return node
    for kind in (int, float, str):
        if isinstance(node, kind):
            return kind(node)
    return node


def _plain_key(key: Any) -> Any:
    """Scalar keys as plain values; a complex key (`? [a, b]`) as its text, reported as an unknown key."""
    return str(key) if isinstance(key, Mapping | list | tuple) else _plain(key)


def _issue(error: ErrorDetails, tree: Any, filename: str) -> ConfigIssue:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "missing":
        at = _position(tree, loc[:-1], of_key=True)
        where, message = loc[:-1], f"missing required key {loc[-1]!r}; {_description(loc)}"
    elif kind == "extra_forbidden":
        at = _position(tree, loc, of_key=True)
        allowed = ", ".join(_model_at(loc[:-1]).model_fields)
        where, message = loc[:-1], f"unknown key {loc[-1]!r}; allowed: {allowed}"
    else:
        at = _position(tree, loc, of_key=False)
        where, message = loc, _value_message(error, loc)
    return ConfigIssue(filename, at[0], at[1], f"{_dotted(where)}: {message}")


def _value_message(error: ErrorDetails, loc: Loc) -> str:
    kind = error["type"]
    if kind in ("model_type", "model_attributes_type"):
        keys = ", ".join(_model_at(loc).model_fields)
        return f"expected a mapping with keys {keys}; got {shown(error['input'])}"
    if kind in _TYPE_NAMES:
        return f"expected {_TYPE_NAMES[kind]}, got {shown(error['input'])}; {_description(loc)}"
    if kind == "too_short":
        return f"the list is empty; add at least one: {_description(loc)}"
    return error["msg"]


def _dotted(loc: Loc) -> str:
    """('chats', 0, 'when', 'day') -> 'chats[0].when.day'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "top level"


def _model_at(loc: Loc) -> type[BaseModel]:
    """The model class that validates the mapping at `loc` (list indexes are skipped)."""
    model: type[BaseModel] = Config
    for part in loc:
        if isinstance(part, str) and part in model.model_fields:
            field = model.model_fields[part]
            model = next(
                (
                    kind
                    for kind in (field.annotation, *getattr(field.annotation, "__args__", ()))
                    if _is_model(kind)
                ),
                model,
            )
    return model


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _description(loc: Loc) -> str:
    """What the field at `loc` should hold, from its model's field description."""
    names = [index for index, part in enumerate(loc) if isinstance(part, str)]
    name = str(loc[names[-1]]) if names else ""
    field = _model_at(loc[: names[-1]]).model_fields.get(name) if names else None
    if field is None or not field.description:
        return "the file holds account, chats and optionally policy"
    return f"{name} is {field.description}"


def _position(tree: Any, loc: Loc, *, of_key: bool) -> tuple[int, int]:
    """1-based (line, column) of the node at `loc`, or of its key; falls back to the nearest ancestor."""
    node, (line, column) = tree, _line_col(tree)
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(node, CommentedMap) and _has_key(node, part):
            line, column = (
                node.lc.key(part) if (last and of_key) or _is_container(node[part]) else node.lc.value(part)
            )
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line, column = node.lc.item(part)
            node = node[part]
        else:
            break
    return line + 1, column + 1


def _has_key(node: CommentedMap, part: str | int) -> bool:
    try:
        return part in node
    except TypeError:  # an unhashable key in pydantic's loc
        return False


def _is_container(node: Any) -> bool:
    """Mappings and lists are pointed at by their key: 'when:' reads better than the first line under it."""
    return isinstance(node, CommentedMap | CommentedSeq)


def _line_col(node: Any) -> tuple[int, int]:
    if isinstance(node, CommentedMap | CommentedSeq) and node.lc.line is not None:
        return node.lc.line, node.lc.col
    return 0, 0
