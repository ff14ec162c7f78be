"""Drafting answers to a chat's questions, in the account's voice.

A drafter only proposes text: nothing is posted without a person's approval. Two drafters share one protocol:
`OfflineDrafter` (deterministic, from the persona's talking points, no network) and `LLMDrafter` (a language
model through any OpenAI-compatible API). `make_drafter` picks one from the settings. Every draft a drafter
returns passes `bot.text.check_answer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from bot.clock import Clock


@dataclass(frozen=True)
class Persona:
    """Who the account is, as far as drafting needs to know (mapped from the config's account)."""

    handle: str
    name: str
    bio: str
    voice: str
    talking_points: tuple[str, ...] = ()
    own_links: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnswerRequest:
    """One question to answer: the host's post `question_text` is untrusted text from X."""

    persona: Persona
    hashtag: str
    chat_title: str
    question_number: int
    question_text: str
    host: str


@dataclass(frozen=True)
class Draft:
    """A proposed answer and how it came about (token counts are 0 for the offline drafter)."""

    text: str
    talking_point: str | None
    rationale: str
    is_self_promotional: bool
    confidence: float
    drafter: Literal["offline", "llm"]
    model: str | None
    input_tokens: int
    output_tokens: int
    llm_calls: int


class Drafter(Protocol):
    def answer(self, req: AnswerRequest) -> Draft:
        """Draft an answer to `req`; raises `bot.errors.LLMError` when a language model fails."""


def mentions_own_link(text: str, own_links: tuple[str, ...]) -> bool:
    """True when the text contains one of the account's own links (scheme, 'www.' and case ignored)."""
    haystack = text.casefold()
    return any(_bare_link(link) in haystack for link in own_links if _bare_link(link))


def _bare_link(link: str) -> str:
    bare = link.strip().casefold().removeprefix("https://").removeprefix("http://").removeprefix("www.")
    return bare.rstrip("/")


def make_drafter(
    *, api_key: str | None, base_url: str | None, model: str, clock: Clock, timeout: float = 20.0
) -> Drafter:
    """An `LLMDrafter` when there is an API key, else the `OfflineDrafter`.

    An empty or missing base URL means OpenAI's own API."""
    # Imported here: the openai SDK is heavy, and offline use should not pay for it.
    if not api_key:
        from bot.drafting.offline import OfflineDrafter

        return OfflineDrafter()
    from bot.drafting.llm import LLMDrafter

    return LLMDrafter(api_key=api_key, base_url=base_url or None, model=model, clock=clock, timeout=timeout)
