"""Engaging: after each poll, triage the posts read and draft the best replies, shares, reposts, likes and
follows, within the chat's caps, so a person can review every one of them.

Each new post gets a decision (`bot.triage`) stored with it: action, reason, score and hostile-input flags.
Then the undrafted decisions are drafted best first within the chat's caps (`bot.pacing`: `max_pending`
waiting, `max_replies` and a few of each kind per run, room kept for the answers to come). A reply or share is
drafted from its context (`bot.context`) behind the guard (`bot.drafting.guarded`); when nothing passes the
check, the post's decision becomes "none" with the reason, so it is not tried again. Idempotent: the store
keeps one draft per run, kind and target.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import cast, get_args

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.config import Chat, Config
from bot.context import RunView, build_context
from bot.drafting import Draft as Proposed
from bot.drafting import EngageKind, Persona
from bot.drafting.guarded import GuardedDrafter
from bot.drafting.matching import near_duplicate
from bot.drafting.offline import pieces_of
from bot.freshness import expires_at
from bot.guard import OutputRules, join_flags
from bot.material import Material
from bot.pacing import pace_for
from bot.policy import may_engage_with, own_posts, route_for
from bot.store.db import Store
from bot.store.models import ChatPost, ChatRun, Draft, DraftKind, DraftState, PostEvent
from bot.triage import RANK, Action, Decision, Knowledge, decide

log = structlog.get_logger("bot.engaging")

DRAFTED_ACTIONS = (Action.REPLY, Action.SHARE, Action.REPOST, Action.LIKE, Action.FOLLOW)
ENGAGING = (Action.REPLY, Action.SHARE, Action.REPOST)
# The account's texts that count as said (a rejected or expired draft was never posted).
SAID_STATES = (
    DraftState.PENDING,
    DraftState.APPROVED,
    DraftState.POSTING,
    DraftState.POSTED,
    DraftState.HANDED_OFF,
)
# A like, repost or share waits this long after the post: a strong answer shows once others respond.
SETTLE = timedelta(minutes=3)


class Engager:
    def __init__(
        self,
        *,
        config: Config,
        store: Store,
        drafter: GuardedDrafter,
        material: Material,
        persona: Persona,
        clock: Clock,
    ) -> None:
        self.config = config
        self.store = store
        self.drafter = drafter
        self.material = material
        self.persona = persona
        self.clock = clock

    def engage(self, run: ChatRun) -> list[Draft]:
        """Triage what is new in `run`, then draft the best undrafted decisions within the caps."""
        chat = self.config.chat(run.chat_slug)
        with self.store.session() as session:
            view = self.view(session, run)
            self._triage(session, view, chat)
            session.flush()
            chosen = self._candidates(session, view, run, chat)
        made = []
        for post, kind in chosen:
            draft = self._draft(run, chat, post, kind)
            if draft is not None:
                made.append(draft)
        return made

    def view(self, session: Session, run: ChatRun) -> RunView:
        posts = list(session.scalars(select(ChatPost).where(ChatPost.run_id == run.id)))
        chat = self.config.chat(run.chat_slug)
        return RunView(chat, self.config.account.handle, posts, own_ids=own_posts(session))

    def knowledge(self, session: Session, chat: Chat) -> Knowledge:
        """What triage weighs posts against, with the policy's word on each author asked once a poll."""
        now = self.clock.now()
        verdicts: dict[str, tuple[bool, str]] = {}

        def may_engage(author: str) -> tuple[bool, str]:
            if author not in verdicts:
                verdicts[author] = may_engage_with(session, author, chat.slug, self.config, now)
            return verdicts[author]

        return Knowledge(
            material=self.material,
            interests=tuple(self.config.account.interests),
            sensitive_topics=tuple(self.config.drafting.sensitive_topics),
            may_engage=may_engage,
        )

    # --- triage ------------------------------------------------------------------------------------------

    def _triage(self, session: Session, view: RunView, chat: Chat) -> None:
        """Decide the untriaged posts, and decide again the posts they respond to (a strong answer shows
        only once others respond), keeping a new decision only when it engages more (`_upgrades`)."""
        fresh = [p for p in view.posts if p.triage is None]
        if not fresh:
            return
        engaged = select(Draft.target_tweet_id).where(
            Draft.run_id == fresh[0].run_id, Draft.kind.in_([Action.REPLY, Action.SHARE, Action.REPOST])
        )
        drafted = set(session.scalars(engaged))
        parents = {view.parent(p) for p in fresh} - {None}
        again = [
            p
            for p in parents
            if p is not None
            and p.triage is not None
            and not p.is_own
            and p.event != PostEvent.QUESTION
            and p.tweet_id not in drafted
        ]
        earlier = {p.tweet_id: _stored(view, p) for p in view.posts if p.triage is not None}
        for decision in decide(view, [*fresh, *again], self.knowledge(session, chat), earlier):
            post = view.by_id[decision.tweet_id]
            if post.triage is None or _upgrades(decision, Action(post.triage)):
                _store_decision(post, decision)

    # --- drafting ----------------------------------------------------------------------------------------

    def _candidates(
        self, session: Session, view: RunView, run: ChatRun, chat: Chat
    ) -> list[tuple[ChatPost, Action]]:
        """The posts to draft for now and the kind of draft, best first, within the chat's caps
        (`bot.pacing`). A share with no material to spare for its comment becomes a repost."""
        drafts = session.execute(select(Draft.kind, Draft.target_tweet_id).where(Draft.run_id == run.id))
        done = {(kind, target) for kind, target in drafts}
        engaged = {target for kind, target in done if kind in ENGAGING}
        latest = view.latest_question_number()
        ready = [
            post
            for post in view.posts
            if post.triage in DRAFTED_ACTIONS
            and (post.triage, post.tweet_id) not in done
            and not (post.triage in ENGAGING and post.tweet_id in engaged)  # one reply, share or repost
            and self._ready(view, post, Action(post.triage), latest)
        ]
        if not ready:
            return []
        knowledge = self.knowledge(session, chat)
        unsaid = self._unsaid_pieces(session, view)
        pace = pace_for(session, run, chat, self.config, self.clock.now(), unsaid=unsaid)
        chosen = []
        for post in sorted(ready, key=lambda p: (-(p.triage_score or 0.0), p.created_at)):
            if pace.full:
                break
            kind = Action(post.triage or Action.NONE)
            number, score = view.question_number(post), post.triage_score or 0.0
            if not pace.allows(kind, number, score):
                kind = Action.REPOST if kind == Action.SHARE else Action.NONE
                if kind == Action.NONE or not pace.allows(kind, number, score):
                    continue
            if knowledge.may_engage(post.author_username or "")[0]:
                pace.admit(kind, number, score)
                chosen.append((post, kind))
        return chosen

    def _unsaid_pieces(self, session: Session, view: RunView) -> int:
        """How many pieces of the account's material (talking points, bio sentences) are still unsaid."""
        said = [*said_texts(session, view), *self.material.earlier_posts]
        pieces = pieces_of(self.persona.talking_points, self.material.items)
        return sum(1 for _, piece in pieces if not any(near_duplicate(piece.text, text) for text in said))

    def _ready(self, view: RunView, post: ChatPost, kind: Action, latest: int | None) -> bool:
        """A like, repost or share waits for the post to settle; a reply or share about Q<n> still makes
        sense until Q<n + expire_after_questions> is asked."""
        if kind in (Action.LIKE, Action.REPOST, Action.SHARE) and self.clock.now() - post.created_at < SETTLE:
            return False
        if kind not in (Action.REPLY, Action.SHARE) or latest is None:
            return True
        number = view.question_number(post)
        return number is None or latest < number + self.config.drafting.expire_after_questions

    def _draft(self, run: ChatRun, chat: Chat, post: ChatPost, kind: Action) -> Draft | None:
        """Draft one decision; None when nothing passes the check (the post then says why) or it exists."""
        with self.store.session() as session:
            view = self.view(session, run)
            target = view.by_id[post.tweet_id]
            proposed, refused = self.propose(session, view, target, kind=kind)
            if proposed is None:
                target.triage = Action.NONE
                target.triage_reason = f"{target.triage_reason}; but no draft passed the check: {refused}"
                log.info("draft.none", chat=chat.slug, target=post.tweet_id, why=refused)
                return None
            row = self._row(run, view, target, proposed, kind)
        try:
            with self.store.session() as session:
                session.add(row)
        except IntegrityError:  # drafted by another worker meanwhile
            return None
        log.info("draft.queued", chat=chat.slug, draft=row.id, kind=row.kind, reason=row.reason)
        return row

    def propose(
        self,
        session: Session,
        view: RunView,
        target: ChatPost,
        *,
        hint: str | None = None,
        kind: str | None = None,
        also_avoid: Sequence[str] = (),
    ) -> tuple[Proposed | None, str]:
        """A proposed draft for the decision on `target` (or `kind`), and why there is none when None."""
        action = engage_kind(kind or target.triage or "")
        said = [*said_texts(session, view), *self.material.earlier_posts, *also_avoid]
        ctx = build_context(
            view,
            target,
            kind=action,
            persona=self.persona,
            material=self.material,
            budget=self.config.drafting.token_budget,
            reason=target.triage_reason or "",
            avoid=said,
            hint=hint,
        )
        rules = OutputRules(
            kind=action,
            hashtag=view.chat.hashtag,
            people=frozenset(ctx.people),
            links=self.material.links,
            target=target.text or "",
            earlier=tuple(said),
            commitments=tuple(self.config.drafting.commitment_phrases),
            limit=280 - 24 if action == "share" else 280,
        )
        outcome = self.drafter.compose(ctx, rules)
        return outcome.draft, outcome.why_none

    def _row(self, run: ChatRun, view: RunView, target: ChatPost, proposed: Proposed, kind: Action) -> Draft:
        now = self.clock.now()
        grounded = f"; grounded in: {proposed.talking_point}" if proposed.talking_point else ""
        if kind != target.triage:
            grounded += f" (a {kind}: no material to spare for a comment)"
        row = Draft(
            run_id=run.id,
            chat_slug=run.chat_slug,
            kind=DraftKind(engage_kind(kind)),
            text=proposed.text,
            target_tweet_id=target.tweet_id,
            question_number=view.question_number(target),
            state=DraftState.PENDING,
            reason=f"{target.triage_reason}{grounded}",
            score=target.triage_score,
            is_promotional=proposed.is_self_promotional,
            drafter=proposed.drafter,
            llm_model=proposed.model,
            llm_input_tokens=proposed.input_tokens or None,
            llm_output_tokens=proposed.output_tokens or None,
            rationale=proposed.rationale,
            flags=target.flags,
            created_at=now,
            updated_at=now,
            expires_at=expires_at(run, self.config.drafting, now),
        )
        choice = route_for(row, target, self.config, own_post_ids=view.own_ids)
        row.route, row.handoff_url = choice.route, choice.handoff_url
        return row


def said_texts(session: Session, view: RunView) -> list[str]:
    """What the account has said or is about to say in this run: its posts read back and its drafts that
    are not rejected or expired (a new draft must not repeat them)."""
    run_id = view.posts[0].run_id if view.posts else None
    drafts = session.scalars(
        select(Draft.text).where(Draft.run_id == run_id, Draft.state.in_(SAID_STATES), Draft.text != "")
    )
    return [*view.own_texts(), *drafts]


def engage_kind(kind: str) -> EngageKind:
    """A triage action that has a draft of its own (not answer, not none)."""
    for known in get_args(EngageKind):
        if kind == known:
            return cast(EngageKind, known)
    raise ValueError(f"{kind!r} is not a kind of engagement draft")


def _stored(view: RunView, post: ChatPost) -> Decision:
    return Decision(
        post.tweet_id,
        Action(post.triage or Action.NONE),
        post.triage_reason or "",
        post.triage_score or 0.0,
        author=post.author_username or "",
        question_number=view.question_number(post),
    )


def _upgrades(decision: Decision, before: Action) -> bool:
    """A decision made again (the post has no reply, share or repost draft yet) replaces the earlier one
    when it engages more: a like becomes a share or repost, an undrafted reply a share once others
    responded (a strong answer shows late). Nothing else changes."""
    engaging = (Action.REPLY, Action.SHARE, Action.REPOST)
    if decision.action not in engaging or before == Action.ANSWER:
        return False
    return RANK[decision.action] > RANK[before] or (before == Action.REPLY and decision.action != before)


def _store_decision(post: ChatPost, decision: Decision) -> None:
    post.triage = decision.action
    post.triage_reason = decision.reason
    post.triage_score = decision.score
    post.flags = join_flags(decision.flags)
