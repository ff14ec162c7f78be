"""A run's posts as a conversation, and the context a draft's prompt gets, kept within a token budget.

`RunView` answers the questions triage and drafting ask of a run: under which question a post was written,
what it replies to, who responded to it, who is a host or a guest, which posts are the account's own.

`build_context` assembles what a reply or share draft may draw on: the chat and its current question, the
post answered and its thread (parents from the stored posts), the author's earlier exchanges with the
account, the account's voice and bio, and the three items of its material most relevant to the post. Every
post is quoted as data (cleaned by `bot.guard.quotable`). When the whole would exceed the budget, the
oldest context goes first (thread, exchanges and earlier posts by age), then the least relevant material.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from bot.config import Chat
from bot.drafting import DraftContext, EngageKind, MaterialItem, Persona, Quoted
from bot.events import parse_answer_number
from bot.guard import quotable
from bot.material import Material
from bot.store.models import ChatPost, PostEvent

# The prompt templates' own text (rules, field descriptions) is about this many tokens.
TEMPLATE_TOKENS = 900
MAX_THREAD = 6
MAX_EXCHANGES = 4
MAX_EARLIER = 5
Role = Literal["host", "guest", "participant", "you"]


def estimate_tokens(text: str) -> int:
    """A model-independent estimate: about four characters a token, as for English with GPT tokenizers."""
    return len(text) // 4 + 1


@dataclass
class RunView:
    """The posts of one run (ordered by time), indexed for the questions triage and drafting ask."""

    chat: Chat
    account: str
    posts: list[ChatPost]
    own_ids: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.posts = sorted(self.posts, key=lambda p: (p.created_at, p.id or 0))
        self.by_id = {p.tweet_id: p for p in self.posts}
        self._own_posts = [p for p in self.posts if p.is_own]
        self._own_read = {p.tweet_id for p in self._own_posts}
        self.own_ids |= self._own_read
        self.questions = [p for p in self.posts if p.event == PostEvent.QUESTION]
        self._numbers: dict[str, int | None] = {}
        # Who responded to whom, indexed once: triage asks it of every post (a scan each was quadratic).
        self._responses: dict[str, list[ChatPost]] = {}
        for p in self.posts:
            for ref in {p.reply_to_tweet_id, p.quote_of_tweet_id} - {None}:
                self._responses.setdefault(ref or "", []).append(p)

    def account_posts(self, own_ids: set[str]) -> None:
        """The account's posts known elsewhere (the ledger) as they are now; its posts read here stay."""
        self.own_ids = own_ids | self._own_read

    def role(self, handle: str | None) -> Role:
        name = (handle or "").casefold().lstrip("@")
        if name == self.account.casefold().lstrip("@"):
            return "you"
        if name in self.chat.hosts_lower:
            return "host"
        return "guest" if name in self.chat.guests_lower else "participant"

    def parent(self, post: ChatPost) -> ChatPost | None:
        """The stored post this one replies to or quotes."""
        ref = post.reply_to_tweet_id or post.quote_of_tweet_id
        return self.by_id.get(ref) if ref else None

    def thread(self, post: ChatPost, limit: int = MAX_THREAD) -> list[ChatPost]:
        """The conversation above `post`, oldest first (at most `limit` posts)."""
        chain: list[ChatPost] = []
        current = self.parent(post)
        while current is not None and len(chain) < limit and current not in chain:
            chain.append(current)
            current = self.parent(current)
        return chain[::-1]

    def question_number(self, post: ChatPost) -> int | None:
        """The question a post belongs to: its own Q number, its A label, its parent's, or the last asked."""
        if post.tweet_id not in self._numbers:
            self._numbers[post.tweet_id] = self._question_number(post)
        return self._numbers[post.tweet_id]

    def _question_number(self, post: ChatPost) -> int | None:
        if post.question_number is not None:
            return post.question_number
        labelled = parse_answer_number(post.text or "")
        if labelled is not None:
            return labelled
        parent = self.parent(post)
        if parent is not None and parent.question_number is not None:
            return parent.question_number
        asked = [q.question_number for q in self.questions if q.created_at <= post.created_at]
        return asked[-1] if asked else None

    def question(self, number: int | None) -> ChatPost | None:
        return next((q for q in reversed(self.questions) if q.question_number == number), None)

    def latest_question_number(self) -> int | None:
        numbers = [q.question_number for q in self.questions if q.question_number is not None]
        return max(numbers, default=None)

    def responses(self, post: ChatPost) -> list[ChatPost]:
        """Replies and quotes of `post` by other people."""
        return [p for p in self._responses.get(post.tweet_id, ()) if p.author_id != post.author_id]

    def is_to_account(self, post: ChatPost) -> bool:
        """Whether a post mentions the account or replies to one of its posts."""
        return post.mentions_account or (post.reply_to_tweet_id or "") in self.own_ids

    def exchanges(self, post: ChatPost, limit: int = MAX_EXCHANGES) -> list[ChatPost]:
        """Earlier posts between the author and the account (the author's to the account and the account's
        replies to the author), oldest first; not the post itself."""
        author = (post.author_username or "").casefold()
        found = []
        for other in self.posts:
            if other is post or other.created_at > post.created_at:
                continue
            by_author = (other.author_username or "").casefold() == author and self.is_to_account(other)
            parent = self.parent(other)
            to_author = other.is_own and parent is not None and parent.author_username == post.author_username
            if by_author or to_author:
                found.append(other)
        return found[-limit:]

    def own_texts(self) -> list[str]:
        return [p.text for p in self._own_posts if p.text]


def quoted(view: RunView, post: ChatPost) -> Quoted:
    return Quoted(
        post.author_username or "unknown", view.role(post.author_username), quotable(post.text or "")
    )


def build_context(
    view: RunView,
    target: ChatPost,
    *,
    kind: EngageKind,
    persona: Persona,
    material: Material,
    budget: int,
    reason: str = "",
    avoid: Sequence[str] = (),
    hint: str | None = None,
) -> DraftContext:
    """The context of one draft about `target`, within `budget` tokens (with the templates' own text)."""
    number = view.question_number(target)
    question = view.question(number)
    thread = [p for p in view.thread(target) if p is not question]
    exchanges = [p for p in view.exchanges(target) if p not in thread]
    query = " ".join(filter(None, [target.text, hint]))
    items = material.relevant(query, avoid=avoid)
    people = {p.author_username for p in [target, *thread, *exchanges] if p.author_username}
    if question is not None and question.author_username:
        people.add(question.author_username)
    context = DraftContext(
        kind=kind,
        persona=persona,
        chat_title=view.chat.title,
        hashtag=view.chat.hashtag,
        question_number=number,
        question=quoted(view, question) if question is not None else None,
        target=quoted(view, target),
        thread=tuple(quoted(view, p) for p in thread),
        exchanges=tuple(quoted(view, p) for p in exchanges),
        material=tuple(items),
        people=tuple(sorted((p for p in people if view.role(p) != "you"), key=str.casefold)),
        links=material.links,
        reason=reason,
        to_you=view.is_to_account(target),
        avoid=tuple(avoid),
        earlier=tuple(avoid)[-MAX_EARLIER:],
        hint=hint,
    )
    return fit_budget(context, budget)


def context_tokens(context: DraftContext) -> int:
    """The estimated tokens of everything variable in the prompt, plus the templates' own text."""
    persona = context.persona
    parts: list[str] = [
        persona.bio,
        persona.voice,
        *persona.talking_points,
        context.reason,
        context.hint or "",
    ]
    parts += [q.text + q.author for q in _posts_of(context)]
    parts += [item.text + (item.url or "") for item in context.material]
    parts += [*context.earlier, *context.links, *context.people]
    return TEMPLATE_TOKENS + sum(estimate_tokens(part) for part in parts if part)


def _posts_of(context: DraftContext) -> Iterable[Quoted]:
    yield context.target
    if context.question is not None:
        yield context.question
    yield from context.thread
    yield from context.exchanges


def fit_budget(context: DraftContext, budget: int) -> DraftContext:
    """Cut the oldest context first (thread, exchanges, earlier posts, each oldest first), then the least
    relevant material, until the estimate fits `budget`; the post answered and its question always stay."""
    dropped = 0
    while context_tokens(context) > budget:
        if context.thread:
            context = replace(context, thread=context.thread[1:])
        elif context.exchanges:
            context = replace(context, exchanges=context.exchanges[1:])
        elif context.earlier:
            context = replace(context, earlier=context.earlier[1:])
        elif context.material:
            context = replace(context, material=context.material[:-1])
        else:
            break
        dropped += 1
    return replace(context, dropped=dropped)


def answer_material(material: Material, question: str, avoid: Sequence[str]) -> tuple[MaterialItem, ...]:
    """The material an answer draft may draw on: the three items most relevant to the question."""
    return tuple(material.relevant(question, avoid=avoid))
