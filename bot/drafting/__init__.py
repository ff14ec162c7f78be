"""Drafting the account's side of a chat: answers to the host's questions, replies, shares with a comment.

A drafter only proposes text: nothing is posted without a person's approval. Two drafters share one protocol:
`OfflineDrafter` (deterministic, from the persona's talking points and material, no network) and `LLMDrafter`
(a language model through any OpenAI-compatible API). `make_drafter` picks one from the settings. Every answer
a drafter returns passes `bot.text.check_answer`; every draft is checked again by `bot.guard` before it is
queued (`bot.drafting.guarded`).

The request types here are plain data: the store and the config never reach a drafter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from bot.clock import Clock

MaterialKind = Literal["talking_point", "bio", "post", "link"]
EngageKind = Literal["reply", "share", "repost", "like", "follow"]
# Kinds whose draft is a text; a repost, like or follow is the decision alone.
TEXT_KINDS = frozenset({"answer", "reply", "share"})


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
class MaterialItem:
    """One piece of the account's own material: a talking point, a bio sentence, an earlier post, a link
    with its one-line description. `source` says where it came from, for the reviewer."""

    kind: MaterialKind
    text: str
    source: str
    url: str | None = None


@dataclass(frozen=True)
class AnswerRequest:
    """One question to answer: the host's post `question_text` is untrusted text from X.

    `material` holds the most relevant items of the account's material, `avoid` the account's earlier texts
    (a draft must not repeat them), `earlier` the latest of them in this chat, shown in the prompt, `hint` a
    person's steer when regenerating."""

    persona: Persona
    hashtag: str
    chat_title: str
    question_number: int
    question_text: str
    host: str
    material: tuple[MaterialItem, ...] = ()
    avoid: tuple[str, ...] = ()
    earlier: tuple[str, ...] = ()
    hint: str | None = None


@dataclass(frozen=True)
class Quoted:
    """A post shown to a drafter as data: who wrote it, in which role, and its (cleaned) text."""

    author: str
    role: Literal["host", "guest", "participant", "you"]
    text: str


@dataclass(frozen=True)
class DraftContext:
    """Everything a reply or share draft may draw on, already cut to the token budget.

    `people` are the only handles a draft may mention, `links` the only links it may contain; `avoid` are
    all the account's texts a draft must not repeat, `earlier` the most recent of them, shown in the prompt;
    `dropped` counts the pieces of context cut for the token budget.
    """

    kind: EngageKind
    persona: Persona
    chat_title: str
    hashtag: str
    question_number: int | None
    question: Quoted | None
    target: Quoted
    thread: tuple[Quoted, ...] = ()
    exchanges: tuple[Quoted, ...] = ()
    material: tuple[MaterialItem, ...] = ()
    people: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    reason: str = ""
    to_you: bool = False  # the post talks to the account (mentions it, replies to its post)
    avoid: tuple[str, ...] = ()
    earlier: tuple[str, ...] = ()
    hint: str | None = None
    dropped: int = 0


@dataclass(frozen=True)
class Draft:
    """A proposed text and how it came about (token counts are 0 for the offline drafter).

    `talking_point` is the material the draft is grounded in (a talking point or another item's text)."""

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
    kind: str = "answer"


class Drafter(Protocol):
    def answer(self, req: AnswerRequest) -> Draft:
        """Draft an answer to `req`; raises `bot.errors.LLMError` when a language model fails."""

    def compose(self, ctx: DraftContext) -> Draft:
        """Draft a reply or share (a repost, like or follow has no text); raises `LLMError` likewise."""


def mentions_own_link(text: str, own_links: tuple[str, ...]) -> bool:
    """True when the text contains one of the account's own links (scheme, 'www.' and case ignored)."""
    haystack = text.casefold()
    return any(bare_link(link) in haystack for link in own_links if bare_link(link))


def bare_link(link: str) -> str:
    """A link without scheme, 'www.', case or trailing '/', for comparing links."""
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
