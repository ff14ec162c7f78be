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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast, get_args

import structlog
from sqlalchemy import bindparam, event, func, select, update
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
from bot.policy import ledger, own_posts, route_for
from bot.policy.people import EngageCheck
from bot.store.db import Store, in_chunks
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
        self._views: dict[int, _Kept] = {}  # by run

    def engage(self, run: ChatRun) -> list[Draft]:
        """Triage what is new in `run`, then draft the best undrafted decisions within the caps."""
        chat = self.config.chat(run.chat_slug)
        view = self.current_view(run)
        # Triage and the choice only read the ledger and the drafts: the policy's questions are read once.
        with self.store.session() as session, ledger.shared_reads(session):
            self._triage(session, run, view, chat)
            chosen = self._candidates(session, view, run, chat)
        made = []
        for post, kind in chosen:
            draft = self._draft(run, chat, post, kind)
            if draft is not None:
                made.append(draft)
        return made

    def view(self, session: Session, run: ChatRun) -> RunView:
        """The run's view read afresh in `session` (its posts belong to the session)."""
        posts = list(session.scalars(select(ChatPost).where(ChatPost.run_id == run.id)))
        chat = self.config.chat(run.chat_slug)
        return RunView(chat, self.config.account.handle, posts, own_ids=own_posts(session))

    def current_view(self, run: ChatRun, *, within_poll: bool = False) -> RunView:
        """The run's view as the store holds it now, kept between polls and brought up to date before each
        use (`_Kept.refresh`): reading every post of the run at each poll and for each draft was most of a
        poll's cost. Its posts belong to no session: what changes on them is written with `save_triage`.

        `within_poll`: the view was brought up to date earlier in this poll, and only a count is compared
        (`_Kept.unchanged`): no post came, went or lost its text since, and nothing was written here. A
        run's triage changes only through the worker holding the run, which is this one for the poll."""
        chat, account = self.config.chat(run.chat_slug), self.config.account.handle
        now = self.clock.now()
        self._views = {key: kept for key, kept in self._views.items() if kept.ends > now}  # ended runs go
        kept = self._views.get(run.id)
        with self.store.session() as session:
            if kept is None or kept.view.chat is not chat or kept.view.account != account:  # or a new config
                posts = list(session.scalars(select(ChatPost).where(ChatPost.run_id == run.id)))
                kept = _Kept(
                    RunView(chat, account, posts), run.window_end, {p.id: _changing(p) for p in posts}
                )
                self._views[run.id] = kept
            elif not (within_poll and kept.unchanged(session, run.id)):
                kept.refresh(session, run.id)
            kept.view.account_posts(own_posts(session))
        return kept.view

    def save_triage(self, session: Session, run: ChatRun, posts: Sequence[ChatPost]) -> None:
        """Write the triage of `posts` (of `current_view`, belonging to no session) in one statement."""
        kept = self._views.get(run.id)
        if kept is not None and posts:
            kept.wrote(session, posts)
        _write_triage(session, posts)

    def knowledge(self, session: Session, chat: Chat, authors: Iterable[str | None] = ()) -> Knowledge:
        """What triage weighs posts against, with the policy's word on each author asked once a poll
        (`authors`: those it will be asked about, read ahead together)."""
        check = EngageCheck(session, chat.slug, self.config, self.clock.now())
        check.prefetch(author for author in authors if author)
        verdicts: dict[str, tuple[bool, str]] = {}

        def may_engage(author: str) -> tuple[bool, str]:
            if author not in verdicts:
                verdicts[author] = check(author)
            return verdicts[author]

        return Knowledge(
            material=self.material,
            interests=tuple(self.config.account.interests),
            sensitive_topics=tuple(self.config.drafting.sensitive_topics),
            may_engage=may_engage,
        )

    # --- triage ------------------------------------------------------------------------------------------

    def _triage(self, session: Session, run: ChatRun, view: RunView, chat: Chat) -> None:
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
        changed = []
        posts = [*fresh, *again]
        knowledge = self.knowledge(session, chat, (post.author_username for post in posts))
        for decision in decide(view, posts, knowledge, earlier):
            post = view.by_id[decision.tweet_id]
            if post.triage is None or _upgrades(decision, Action(post.triage)):
                _store_decision(post, decision)
                changed.append(post)
        self.save_triage(session, run, changed)

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
        knowledge = self.knowledge(session, chat, (post.author_username for post in ready))
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
        view = self.current_view(run, within_poll=True)  # `engage` brought it up to date
        with self.store.session() as session:
            target = view.by_id[post.tweet_id]
            proposed, refused = self.propose(session, view, target, kind=kind)
            if proposed is None:
                target.triage = Action.NONE
                target.triage_reason = f"{target.triage_reason}; but no draft passed the check: {refused}"
                self.save_triage(session, run, [target])
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


# By primary key, executed many on the connection: plain rows, not the ORM's bulk update (twice the cost).
WRITE_TRIAGE = (
    update(ChatPost)
    .where(ChatPost.id == bindparam("post_id"))
    .values(
        triage=bindparam("triage"),
        triage_reason=bindparam("reason"),
        triage_score=bindparam("score"),
        flags=bindparam("flags"),
    )
)


def _write_triage(session: Session, posts: Sequence[ChatPost]) -> None:
    rows = [
        {
            "post_id": post.id,
            "triage": post.triage,
            "reason": post.triage_reason,
            "score": post.triage_score,
            "flags": post.flags,
        }
        for post in posts
    ]
    if rows:
        session.connection().execute(WRITE_TRIAGE, rows)


# What may change on a stored post: its triage (this worker, or another that held the run before), its
# deletion and its text going (deleted on X, or purged). The rest of a post never changes once stored.
Changing = tuple[str | None, str | None, float | None, str | None, datetime | None, bool]
CHANGING = select(
    ChatPost.id,
    ChatPost.triage,
    ChatPost.triage_reason,
    ChatPost.triage_score,
    ChatPost.flags,
    ChatPost.deleted_at,
    ChatPost.text.is_(None),
)


def _changing(post: ChatPost) -> Changing:
    return (
        post.triage,
        post.triage_reason,
        post.triage_score,
        post.flags,
        post.deleted_at,
        post.text is None,
    )


@dataclass
class _Kept:
    """A run's view kept between polls, with what may change on each post as last read (`Changing`)."""

    view: RunView
    ends: datetime
    read: dict[int, Changing]
    # Posts changed here whose writing is not committed yet: compared with the store at the next refresh
    # even where it did not change since the last read (the transaction may have rolled back).
    touched: set[int] = field(default_factory=set)

    def wrote(self, session: Session, posts: Sequence[ChatPost]) -> None:
        """`posts` changed here and are written in `session`: once it commits, the store holds them so."""
        written = {post.id: _changing(post) for post in posts}
        self.touched.update(written)

        def committed(_session: Session) -> None:
            self.read.update(written)
            self.touched.difference_update(written)

        event.listen(session, "after_commit", committed, once=True)

    def unchanged(self, session: Session, run_id: int) -> bool:
        """Whether the store holds the same posts with the same texts and deletions as last read (a count,
        not a read of every post), and nothing was written here since."""
        if self.touched:
            return False
        counts = select(
            func.count(), func.max(ChatPost.id), func.count(ChatPost.deleted_at), func.count(ChatPost.text)
        ).where(ChatPost.run_id == run_id)
        last = (
            len(self.read),
            max(self.read, default=None),
            sum(1 for changing in self.read.values() if changing[4] is not None),
            sum(1 for changing in self.read.values() if not changing[5]),
        )
        return tuple(session.execute(counts).one()) == last

    def refresh(self, session: Session, run_id: int) -> None:
        """Bring the view up to what the store holds: what may change read back for every post in one
        narrow query and applied where it did, the posts stored since loaded. The view is built again
        when posts came or went or a text went (its indexes read them)."""
        read: dict[int, Changing] = {
            post_id: (triage, reason, score, flags, deleted_at, bool(no_text))
            for post_id, triage, reason, score, flags, deleted_at, no_text in session.execute(
                CHANGING.where(ChatPost.run_id == run_id)
            )
        }
        if read == self.read and not self.touched:
            return
        by_id = {post.id: post for post in self.view.posts}
        new = [post_id for post_id in read if post_id not in by_id]
        rebuild = bool(new) or any(post_id not in read for post_id in by_id)
        for post_id, now in read.items():
            if self.read.get(post_id) == now and post_id not in self.touched:
                continue
            post = by_id.get(post_id)
            if post is None or _changing(post) == now:
                continue
            post.triage, post.triage_reason, post.triage_score, post.flags, post.deleted_at, no_text = now
            if no_text and post.text is not None:  # a text only ever goes
                post.text = None
                rebuild = True
        self.read, self.touched = read, set()
        if rebuild:
            posts = [post for post in self.view.posts if post.id in read]
            for chunk in in_chunks(new):
                posts += session.scalars(select(ChatPost).where(ChatPost.id.in_(chunk)))
            self.view = RunView(self.view.chat, self.view.account, posts)


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
