"""The prompt templates: Jinja2 files in `prompts/` at the repository root (the source of truth).

Answers: `system.md` is the system message (the chat, the persona, the rules); `answer.md` is the user
message that carries the host's post as quoted data, or, with `draft_length`, the follow-up asking for a
shorter draft.
Replies and shares: `engage_system.md` is the system message (persona, material, who may be mentioned, which
links may be used); `reply.md` and `share.md` carry the conversation as quoted data, one post a line.
Templates are loaded when the drafter is built, so a missing or broken template fails at start-up with the
file and line, not in the middle of a chat.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

import bot
from bot.drafting import AnswerRequest, DraftContext
from bot.errors import ConfigError, ConfigIssue

BEGIN_MARKER = "<<<HOST_POST>>>"
END_MARKER = "<<<END_HOST_POST>>>"
SYSTEM_TEMPLATE = "system.md"
ANSWER_TEMPLATE = "answer.md"
ENGAGE_SYSTEM_TEMPLATE = "engage_system.md"
KIND_TEMPLATES = {"reply": "reply.md", "share": "share.md"}
CONVERSATION_TEMPLATE = "_conversation.md"  # included by reply.md and share.md
POSTS_BEGIN = "<<<CHAT_POSTS>>>"
POSTS_END = "<<<END_CHAT_POSTS>>>"


def default_prompts_dir() -> Path:
    """`prompts/` beside the `bot` package, i.e. at the repository root."""
    return Path(bot.__file__).resolve().parent.parent / "prompts"


def as_data(text: object) -> str:
    """Untrusted text made safe to quote between the markers: every '<<<' and '>>>' removed, repeatedly, so
    no marker can survive or be assembled from pieces."""
    quoted = str(text)
    while "<<<" in quoted or ">>>" in quoted:
        quoted = quoted.replace("<<<", "").replace(">>>", "")
    return quoted


class PromptBook:
    """The loaded templates, rendering the messages of one drafting conversation."""

    def __init__(self, prompts_dir: Path | None = None) -> None:
        self.directory = prompts_dir or default_prompts_dir()
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.directory),
            autoescape=False,  # noqa: S701 -- plain text for a model, not HTML; untrusted text is delimited
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self._env.filters["data"] = as_data
        self._system = self._load(SYSTEM_TEMPLATE)
        self._answer = self._load(ANSWER_TEMPLATE)
        self._engage_system = self._load(ENGAGE_SYSTEM_TEMPLATE)
        self._load(CONVERSATION_TEMPLATE)  # fail at start-up, not mid-chat, when it is missing or broken
        self._kinds = {kind: self._load(name) for kind, name in KIND_TEMPLATES.items()}

    def _load(self, name: str) -> jinja2.Template:
        path = self.directory / name
        try:
            return self._env.get_template(name)
        except jinja2.TemplateNotFound:
            raise ConfigError([ConfigIssue(str(path), 0, 0, "prompt template not found")]) from None
        except jinja2.TemplateSyntaxError as exc:
            issue = ConfigIssue(str(path), exc.lineno, 1, f"template syntax error: {exc.message}")
            raise ConfigError([issue]) from None

    def _render(self, template: jinja2.Template, **values: Any) -> str:
        try:
            return template.render(**values).strip()
        except jinja2.UndefinedError as exc:
            raise ConfigError([ConfigIssue(str(template.filename), 0, 0, f"template error: {exc}")]) from None

    def _common(self, req: AnswerRequest, limit: int) -> dict[str, Any]:
        return {
            "hashtag": req.hashtag.lstrip("#＃"),
            "chat_title": req.chat_title,
            "question_number": req.question_number,
            "limit": limit,
        }

    def system(self, req: AnswerRequest, *, limit: int) -> str:
        """The system message: the chat, the persona, the rules and the output fields."""
        return self._render(self._system, persona=req.persona, **self._common(req, limit))

    def question(self, req: AnswerRequest, *, limit: int) -> str:
        """The user message quoting the host's post between the markers."""
        return self._render(
            self._answer,
            host=req.host,
            question_text=req.question_text,
            material=req.material,
            avoid=req.earlier,
            hint=req.hint,
            begin_marker=BEGIN_MARKER,
            end_marker=END_MARKER,
            **self._common(req, limit),
        )

    def too_long(self, req: AnswerRequest, *, draft_length: int, limit: int) -> str:
        """The follow-up after a draft over the limit, saying by how much."""
        return self._render(
            self._answer,
            draft_length=draft_length,
            begin_marker=BEGIN_MARKER,
            end_marker=END_MARKER,
            **self._common(req, limit),
        )

    def _engage_values(self, ctx: DraftContext, limit: int) -> dict[str, Any]:
        return {
            "ctx": ctx,
            "persona": ctx.persona,
            "hashtag": ctx.hashtag.lstrip("#＃"),
            "limit": limit,
            "begin_marker": POSTS_BEGIN,
            "end_marker": POSTS_END,
        }

    def engage_system(self, ctx: DraftContext, *, limit: int) -> str:
        """The system message of a reply or share: persona, material, the people and links allowed."""
        return self._render(self._engage_system, **self._engage_values(ctx, limit))

    def compose(self, ctx: DraftContext, *, limit: int) -> str:
        """The user message of a reply or share, quoting the conversation between the markers."""
        return self._render(self._kinds[ctx.kind], **self._engage_values(ctx, limit))

    def compose_too_long(self, ctx: DraftContext, *, draft_length: int, limit: int) -> str:
        """The follow-up after a reply or share over the limit."""
        return self._render(
            self._kinds[ctx.kind], draft_length=draft_length, **self._engage_values(ctx, limit)
        )
