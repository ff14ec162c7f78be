"""The offline drafter: deterministic drafts from the account's own words, with no network.

It picks the piece of the account's own material (talking points first, then the bio sentences of the
material folder) that matches the post best (`bot.drafting.matching`: shared stems and job-chat ideas;
ties go to the earlier piece), skipping any piece the account already said in this chat, and says it in the
first person behind a short opening. An answer with nothing matching falls back to the bio, and once the
bio is said, to the nearest piece not yet said; a reply or
share with nothing matching is left empty (no draft), because filler is worse than silence. It never adds a
fact, a link or a mention the account's material does not already contain (a share names its author).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.drafting import TEXT_KINDS, AnswerRequest, Draft, DraftContext, MaterialItem, mentions_own_link
from bot.drafting.matching import CONCEPT_WEIGHT, MIN_MATCH, near_duplicate, overlap, shown_terms, terms
from bot.text import MAX_WEIGHTED_LENGTH, ensure_hashtag_once, finalize_answer, shorten_to_fit, url_spans

# Openings that read well before any talking point ("I keep…", "Keep…", "Networking beats…").
OPENINGS = ("", "My take: ", "What works for me: ", "Short answer: ", "From my side: ")
AGREEING = ("Same here: ", "Yes, and ", "That matches what I do: ")
SHARE_LIMIT = MAX_WEIGHTED_LENGTH - 24  # room for the link to the shared post
# A reply or share must say something that fits: an idea and a word (or more) in common with the
# post; a question to the account may be answered from one idea.
REPLY_MATCH = 2.5
QUESTION_MATCH = 1.5
TALKING_POINT_BONUS = CONCEPT_WEIGHT
_SENTENCE_END = ".!?…)\"'”"
_THANKS = ("thank", "thx", "welcome", "glad", "great to have", "cheers")


@dataclass(frozen=True)
class Pick:
    """The piece of material a draft says, and why it was chosen."""

    item: MaterialItem
    label: str
    shared: frozenset[str]
    score: float


def choose(
    query: str, pieces: Sequence[tuple[str, MaterialItem]], avoid: Sequence[str], minimum: float = MIN_MATCH
) -> Pick | None:
    """The best-matching piece (scoring at least `minimum`) not already said (in `avoid`); None when none.
    A talking point ranks one idea's worth above other material: it is what the person chose to speak to."""
    wanted = terms(query)
    best: Pick | None = None
    best_rank = 0.0
    for label, item in pieces:
        score, shared = overlap(wanted, terms(item.text))
        rank = score + (TALKING_POINT_BONUS if item.kind == "talking_point" else 0.0)
        if score < minimum or (best is not None and rank <= best_rank):
            continue
        if any(near_duplicate(item.text, said) for said in avoid):
            continue
        best, best_rank = Pick(item, label, shared, score), rank
    return best


def pieces_of(
    talking_points: Sequence[str], material: Sequence[MaterialItem]
) -> list[tuple[str, MaterialItem]]:
    """What the offline drafter may say: talking points, then bio sentences (no posts: they were said
    already; no links: a link is the person's call)."""
    pieces = [
        (f"Talking point {n}", MaterialItem("talking_point", point, f"talking point {n}"))
        for n, point in enumerate(talking_points, start=1)
    ]
    known = {item.text for _, item in pieces}
    for item in material:
        if item.kind in ("talking_point", "bio") and item.text not in known and not url_spans(item.text):
            pieces.append((f"Your {item.source} sentence" if item.kind == "bio" else item.source, item))
            known.add(item.text)
    return pieces


def sentence(text: str, opening: str) -> str:
    """`opening` + text, ending in a full stop; after an opening the first letter is lowered unless the first
    word is 'I' or looks like a name ("LinkedIn")."""
    text = " ".join(text.split())
    first_word = text.split(" ", 1)[0]
    is_plain_word = first_word[1:] == first_word[1:].lower() and first_word.rstrip(",.:;!?") not in ("I",)
    continues = opening.rstrip()[-1:] not in ("", ".", "!", "?")  # after "Good question! " a new sentence
    if continues and is_plain_word and not first_word.startswith(("I'", "I’")):
        text = text[:1].lower() + text[1:]
    ends_in_url = any(span.end == len(text) for span in url_spans(text))
    if text and text[-1] not in _SENTENCE_END and not ends_in_url:
        text += "."
    return opening + text


def _why(pick: Pick, what: str, hint: str | None) -> str:
    steer = " (steered by your hint)" if hint else ""
    return f"{pick.label} shares {shown_terms(pick.shared)} with the {what}{steer}."


class OfflineDrafter:
    """Deterministic drafts from the account's talking points and material; no network, no tokens."""

    def answer(self, req: AnswerRequest) -> Draft:
        persona = req.persona
        opening = OPENINGS[(req.question_number - 1) % len(OPENINGS)]
        query = " ".join(filter(None, [req.question_text, req.hint]))
        pieces = pieces_of(persona.talking_points, req.material)
        pick = choose(query, pieces, req.avoid)
        nearest = None
        if pick is None and any(near_duplicate(persona.bio, said) for said in req.avoid):
            # The bio is said already: the nearest thing not yet said beats no answer at all.
            nearest = choose(query, pieces, req.avoid, minimum=0.0)
        if pick is not None:
            body = sentence(pick.item.text, opening)
            rationale = _why(pick, "question", req.hint)
            point, confidence = pick.item.text, min(0.9, 0.4 + 0.1 * pick.score)
        elif nearest is not None:
            body = sentence(nearest.item.text, opening)
            rationale = (
                f"Nothing of yours matches the question closely; {nearest.label} is not yet said here."
            )
            point, confidence = nearest.item.text, 0.2
        else:
            body = sentence(f"Great question. Where I'm coming from: {persona.bio}", "")
            rationale = "Nothing of yours matches the question yet unsaid; answered from the bio."
            point, confidence = None, 0.2
        text = finalize_answer(body, n=req.question_number, hashtag=req.hashtag)
        return _draft(text, point, rationale, confidence, persona.own_links, kind="answer")

    def compose(self, ctx: DraftContext) -> Draft:
        if ctx.kind not in TEXT_KINDS:
            return _draft("", None, f"a {ctx.kind} carries no text: {ctx.reason}", 1.0, (), kind=ctx.kind)
        query = " ".join(filter(None, [ctx.target.text, ctx.hint]))
        asked = ctx.to_you and "?" in ctx.target.text  # a question to the account deserves an answer
        pieces = pieces_of(ctx.persona.talking_points, ctx.material)
        pick = choose(query, pieces, ctx.avoid, minimum=QUESTION_MATCH if asked else REPLY_MATCH)
        if pick is None and not (asked and ctx.kind == "reply"):
            return _draft(
                "", None, "Nothing of yours fits this post yet unsaid: no draft.", 0.0, (), kind=ctx.kind
            )
        if pick is None:
            body = sentence(f"Good question! Short version: {ctx.persona.bio}", "")
            rationale, point, confidence = "Nothing of yours matches the question: from the bio.", None, 0.3
        else:
            body = sentence(pick.item.text, _opening(ctx, asked))
            rationale, point = _why(pick, "post", ctx.hint), pick.item.text
            confidence = min(0.85, 0.35 + 0.1 * pick.score)
        limit = SHARE_LIMIT if ctx.kind == "share" else MAX_WEIGHTED_LENGTH
        text = shorten_to_fit(ensure_hashtag_once(body, ctx.hashtag), ctx.hashtag, limit)
        return _draft(text, point, rationale, confidence, ctx.persona.own_links, kind=ctx.kind)


def _opening(ctx: DraftContext, asked: bool) -> str:
    if ctx.kind == "share":
        return f"Worth reading, from @{ctx.target.author}. For me: "
    if ctx.target.role == "host":
        return "For me: "
    if asked:
        return "Good question! "
    if any(word in ctx.target.text.casefold() for word in _THANKS):
        return "Thank you! "
    return AGREEING[sum(map(ord, ctx.target.text)) % len(AGREEING)]


def _draft(
    text: str, point: str | None, rationale: str, confidence: float, own_links: tuple[str, ...], *, kind: str
) -> Draft:
    return Draft(
        text=text,
        talking_point=point,
        rationale=rationale,
        is_self_promotional=mentions_own_link(text, own_links),
        confidence=round(confidence, 2),
        drafter="offline",
        model=None,
        input_tokens=0,
        output_tokens=0,
        llm_calls=0,
        kind=kind,
    )
