"""Drafting behind the guard: a draft is only handed on when it passes `bot.guard.check_output`.

The configured drafter goes first; when it fails (`LLMError`) or its draft fails the check, the offline
drafter tries; when that draft fails the check too, there is no draft, and the reasons say why. The offline
drafter never sees the post's words as instructions, so it is the safe fallback for hostile input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog

from bot.drafting import AnswerRequest, Draft, DraftContext, Drafter
from bot.drafting.offline import OfflineDrafter
from bot.errors import LLMError
from bot.guard import OutputRules, check_output

log = structlog.get_logger("bot.drafting")


@dataclass(frozen=True)
class Outcome:
    """A draft that passed the check (or None), and what was refused on the way."""

    draft: Draft | None
    refused: tuple[str, ...] = ()

    @property
    def why_none(self) -> str:
        return "; ".join(self.refused) or "no draft"


class GuardedDrafter:
    def __init__(self, drafter: Drafter) -> None:
        self.drafter = drafter
        self.fallback = OfflineDrafter()

    def answer(self, req: AnswerRequest, rules: OutputRules) -> Outcome:
        """An answer that passes the check, from the drafter or else the offline drafter."""
        return self._first_passing(lambda d: d.answer(req), rules, f"Q{req.question_number}")

    def compose(self, ctx: DraftContext, rules: OutputRules) -> Outcome:
        """A reply or share that passes the check (a repost, like or follow has no text to check)."""
        if ctx.kind not in ("reply", "share"):
            return Outcome(self.fallback.compose(ctx))
        return self._first_passing(lambda d: d.compose(ctx), rules, f"{ctx.kind} to @{ctx.target.author}")

    def _first_passing(self, make: Callable[[Drafter], Draft], rules: OutputRules, what: str) -> Outcome:
        refused: list[str] = []
        drafters: list[Drafter] = [self.drafter]
        if not isinstance(self.drafter, OfflineDrafter):
            drafters.append(self.fallback)
        for drafter in drafters:
            name = "offline" if isinstance(drafter, OfflineDrafter) else "llm"
            try:
                draft = make(drafter)
            except LLMError as exc:
                log.warning("llm.fallback", reason=str(exc), what=what)
                refused.append(f"{name}: {exc}")
                continue
            problems = check_output(draft.text, rules)
            if not problems:
                return Outcome(draft, tuple(refused))
            log.info("draft.refused", what=what, drafter=name, problems=problems)
            refused.append(f"{name} draft refused: {'; '.join(problems)}")
        return Outcome(None, tuple(refused))
