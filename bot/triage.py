"""Triage: what to do about each post read in a chat, with a reason a person can check and a score (0 to 1).

The first rule that applies decides:

 1. the account's own post                                               → none
 2. its author opted out ("@you stop") or may not be engaged with        → none
 3. it touches a configured sensitive topic                              → none
 4. a host question                                  → answer (repost when `repost_host_questions` is on)
 5. it carries severe hostile-input flags (`bot.guard`)                   → none, flagged for the reviewer
 6. addressed to the account (a mention, a reply to its post): a question → reply; thanks or a welcome
    → like; anything else → reply; but a second reply to the same person on the same question → like
 7. a host's open question without a number ("Final thoughts?")          → reply
 8. the host's other posts (welcome, rules, thanks)                    → none
 9. someone's answer: answered or quoted by others (a strong answer) → share when it touches the
    account's material or interests, else repost; touching a talking point or the material strongly
    → reply; touching them lightly → like
10. an introduction that matches the account's interests, or a guest's post, once per person → follow
11. anything else                                                        → none, saying why

Posts are triaged again when others respond to them (a strong answer shows only later); `bot.engaging`
keeps the new decision when it engages more (see there).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from bot.context import RunView
from bot.drafting.matching import MIN_MATCH, overlap, plain_words, shown_terms, terms
from bot.guard import input_flags, is_severe
from bot.material import Material
from bot.store.models import ChatPost, PostEvent

STRONG_TOUCH = 2.5  # an idea and a word (or more) in common: something of one's own to say
LIKE_TOUCH = 1.5  # an idea (or two words) in common: worth a like
STRONG_ANSWER = 2  # response points (a reply 1, a quote 2, a host or guest author 1)

MayEngage = Callable[[str], tuple[bool, str]]

_OPT_OUT = re.compile(
    r"^(please )?(stop|unsubscribe|opt ?out|leave me alone|go away|no bots?|block|do not reply|don'?t reply"
    r"|stop (replying|tagging|mentioning|messaging|it)( to me| me)?)( please)?$"
)
_THANKS = re.compile(r"\b(thanks|thank you|thx|welcome|great to have|glad you|cheers|appreciate)\b", re.I)


class Action(StrEnum):
    ANSWER = "answer"
    REPLY = "reply"
    SHARE = "share"
    REPOST = "repost"
    LIKE = "like"
    FOLLOW = "follow"
    NONE = "none"


# Higher ranks win when a post is decided again.
RANK = {action: rank for rank, action in enumerate(reversed(list(Action)))}


@dataclass(frozen=True)
class Decision:
    tweet_id: str
    action: Action
    reason: str
    score: float
    flags: tuple[str, ...] = ()
    author: str = ""
    question_number: int | None = None


@dataclass(frozen=True)
class Knowledge:
    """What triage weighs posts against: the account's material and interests, the topics to keep away
    from, and who may be engaged with."""

    material: Material
    interests: tuple[str, ...] = ()
    sensitive_topics: tuple[str, ...] = ()
    may_engage: MayEngage = field(default=lambda _author: (True, ""))


def decide(
    view: RunView, posts: Sequence[ChatPost], knowledge: Knowledge, earlier: Mapping[str, Decision]
) -> list[Decision]:
    """A decision for each of `posts` (in time order), seeing the run's earlier decisions and each other."""
    known = Known(earlier)
    opted_out: set[str] = set()
    made = []
    for post in sorted(posts, key=lambda p: (p.created_at, p.id or 0)):
        decision = _decide_one(view, post, knowledge, known, opted_out)
        known.add(decision)
        made.append(decision)
    return made


class Known:
    """The decisions made so far in a run, indexed by what later decisions ask of them (a reply to this
    person on this question? a follow of this person?), each question leaving out the post being decided.
    Scanning every decision for every post made triage quadratic in the run's posts."""

    def __init__(self, earlier: Mapping[str, Decision]) -> None:
        self._by_id: dict[str, Decision] = {}
        self._replies: dict[tuple[str, int | None], set[str]] = {}
        self._follows: dict[str, set[str]] = {}
        for decision in earlier.values():
            self.add(decision)

    def add(self, decision: Decision) -> None:
        """Record `decision`, replacing an earlier one on the same post."""
        before = self._by_id.get(decision.tweet_id)
        if before is not None and (index := self._index(before)) is not None:
            index.discard(before.tweet_id)
        self._by_id[decision.tweet_id] = decision
        if (index := self._index(decision)) is not None:
            index.add(decision.tweet_id)

    def _index(self, decision: Decision) -> set[str] | None:
        if decision.action == Action.REPLY:
            return self._replies.setdefault((decision.author.casefold(), decision.question_number), set())
        if decision.action == Action.FOLLOW:
            return self._follows.setdefault(decision.author, set())
        return None

    def replying(self, author: str, number: int | None, *, besides: str) -> bool:
        """Whether a post other than `besides` is to get a reply to `author` on Q`number`."""
        return bool(self._replies.get((author.casefold(), number), set()) - {besides})

    def following(self, author: str, *, besides: str) -> bool:
        """Whether a post other than `besides` is to get a follow of `author` (the handle as written)."""
        return bool(self._follows.get(author, set()) - {besides})


def _decide_one(
    view: RunView, post: ChatPost, knowledge: Knowledge, known: Known, opted_out: set[str]
) -> Decision:
    author = post.author_username or ""
    number = view.question_number(post)
    flags = input_flags(post.text or "", view.chat.hashtag)

    def made(action: Action, reason: str, score: float = 0.0) -> Decision:
        return Decision(post.tweet_id, action, reason, round(score, 3), flags, author, number)

    if post.is_own or view.role(author) == "you":
        return made(Action.NONE, "your own post")
    allowed, why = knowledge.may_engage(author)
    if author.casefold() in opted_out or not allowed:
        return made(Action.NONE, why or f"@{author} asked you to stop: no drafts for them")
    if view.is_to_account(post) and is_opt_out(post.text or ""):
        opted_out.add(author.casefold())
        return made(Action.NONE, f"@{author} asked you to stop (opt-out): no drafts for them")
    topic = sensitive_topic(post.text or "", knowledge.sensitive_topics)
    if topic:
        return made(Action.NONE, f"touches a sensitive topic ({topic})")
    if post.event == PostEvent.QUESTION:
        if view.chat.repost_host_questions:
            return made(Action.REPOST, f"the host asked Q{number}; reposting host questions is on", 0.4)
        return made(Action.ANSWER, f"the host asked Q{number}", 1.0)
    if is_severe(flags):
        return made(Action.NONE, f"hostile input ({', '.join(flags)}): left for you to read, never drafted")
    if view.is_to_account(post):
        return _addressed(post, number, known, made)
    return _others(view, post, number, knowledge, known, made)


Made = Callable[..., Decision]


def _addressed(post: ChatPost, number: int | None, known: Known, made: Made) -> Decision:
    author = post.author_username or ""
    how = "mentioned you" if post.mentions_account else "replied to your post"
    if known.replying(author, number, besides=post.tweet_id):
        where = f" on Q{number}" if number else ""
        return made(Action.LIKE, f"@{author} {how} again; you already have a reply to them{where}", 0.4)
    if is_question(post.text or ""):
        return made(Action.REPLY, f"@{author} {how} with a question", 0.95)
    if _THANKS.search(post.text or ""):
        return made(Action.LIKE, f"@{author} {how} to thank or welcome you", 0.5)
    return made(Action.REPLY, f"@{author} {how}", 0.85)


def _others(
    view: RunView,
    post: ChatPost,
    number: int | None,
    knowledge: Knowledge,
    known: Known,
    made: Made,
) -> Decision:
    author = post.author_username or ""
    role = view.role(author)
    if role == "host":
        if is_question(post.text or ""):
            return made(Action.REPLY, "the host asked everyone an open question", 0.75)
        return made(Action.NONE, "the host's running of the chat")
    touch, about = _touch(post.text or "", knowledge)
    strength = _strength(view, post)
    is_answer = _is_answer(view, post)
    if is_answer and strength >= STRONG_ANSWER:
        strong = f"a strong answer ({_strength_words(view, post)})"
        if touch >= LIKE_TOUCH:
            return made(Action.SHARE, f"{strong} that touches {about}", 0.55 + min(0.1, 0.02 * strength))
        return made(Action.REPOST, strong, 0.45 + min(0.1, 0.02 * strength))
    if is_answer and touch >= STRONG_TOUCH and not known.replying(author, number, besides=post.tweet_id):
        return made(Action.REPLY, f"@{author}'s answer touches {about}", 0.6 + min(0.25, 0.05 * touch))
    followed = known.following(author, besides=post.tweet_id)
    if role == "guest" and not followed:
        return made(Action.FOLLOW, f"@{author} is a guest of the chat", 0.25)
    if _is_intro(view, post) and touch >= MIN_MATCH and not followed:
        return made(Action.FOLLOW, f"@{author} introduced themselves; it touches {about}", 0.2)
    if touch >= LIKE_TOUCH:
        return made(Action.LIKE, f"@{author}'s post touches {about}", 0.3)
    return made(Action.NONE, _why_nothing(post, role, is_answer))


def _touch(text: str, knowledge: Knowledge) -> tuple[float, str]:
    """How strongly a post touches the account's material or interests, and a description of what."""
    wanted = terms(text)
    best, about = 0.0, ""
    for item in knowledge.material.items:
        score, shared = overlap(wanted, terms(item.text))
        if score > best:
            best, about = score, f"your {item.kind.replace('_', ' ')} ({item.source}: {shown_terms(shared)})"
    interest = _interest(text, knowledge.interests)
    if interest and best < MIN_MATCH:
        best, about = MIN_MATCH, f"your interest {interest}"
    return best, about


def _interest(text: str, interests: Sequence[str]) -> str | None:
    wanted = terms(text)
    for interest in interests:
        if overlap(wanted, terms(interest))[0] >= MIN_MATCH:
            return repr(interest)
    return None


def _strength(view: RunView, post: ChatPost) -> int:
    responses = view.responses(post)
    points = sum(2 if r.quote_of_tweet_id == post.tweet_id else 1 for r in responses)
    return points + (1 if view.role(post.author_username) in ("host", "guest") else 0)


def _strength_words(view: RunView, post: ChatPost) -> str:
    responses = view.responses(post)
    quotes = sum(1 for r in responses if r.quote_of_tweet_id == post.tweet_id)
    replies = len(responses) - quotes
    parts = [f"{replies} repl{'y' if replies == 1 else 'ies'}" if replies else ""]
    parts.append(f"quoted {quotes} time{'s' if quotes > 1 else ''}" if quotes else "")
    return ", ".join(p for p in parts if p) or f"by the chat's {view.role(post.author_username)}"


def _is_answer(view: RunView, post: ChatPost) -> bool:
    """An answer to a question: A-labelled, a reply to a host question, or a quote-post's comment."""
    parent = view.parent(post)
    replies_to_question = parent is not None and parent.event == PostEvent.QUESTION
    return post.event in (PostEvent.ANSWER, PostEvent.QUOTE) or replies_to_question


def _is_intro(view: RunView, post: ChatPost) -> bool:
    """A reply to the host's welcome, before the first question."""
    parent = view.parent(post)
    asked = any(q.created_at <= post.created_at for q in view.questions)
    return parent is not None and view.role(parent.author_username) == "host" and not asked


def _why_nothing(post: ChatPost, role: str, is_answer: bool) -> str:
    if is_answer:
        return "an answer that touches none of your talking points, material or interests"
    if post.reply_to_tweet_id or post.quote_of_tweet_id:
        return "a conversation between others"
    return "chatter that needs nothing from you"


def is_question(text: str) -> bool:
    """Whether a post asks something (a question mark outside its links)."""
    return "?" in re.sub(r"\S+://\S+", " ", text)


def is_opt_out(text: str) -> bool:
    """A post that, without its mentions and hashtags, only asks the account to stop."""
    words = " ".join(plain_words(text)).replace("'", "")
    return bool(_OPT_OUT.match(words.replace("dont", "don't")) or _OPT_OUT.match(words))


def sensitive_topic(text: str, topics: Sequence[str]) -> str | None:
    """The first configured topic the text touches (at the start of a word, any case, accents ignored)."""
    folded = _fold(text)
    if not topics or not _any_topic(tuple(topics)).search(folded):  # one scan for most posts
        return None
    return next(topic for topic in topics if _any_topic((topic,)).search(folded))


@functools.lru_cache(maxsize=256)
def _any_topic(topics: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w)(?:{'|'.join(re.escape(_fold(topic)) for topic in topics)})")


def _fold(text: str) -> str:
    if text.isascii():  # nothing to decompose: most posts
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
