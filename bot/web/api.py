"""The JSON API: the queue and the same decisions as the pages, for scripts and other front ends.

Authentication is the dashboard's session cookie (log in at /login); every POST needs the session's CSRF
token in the X-CSRF-Token header (the `csrf` field of GET /api/session). The schema is at /api/openapi.json.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bot.store.models import Draft
from bot.web import actions
from bot.web.actions import Refused
from bot.web.auth import Session
from bot.web.chat_views import ChatPage, ScheduleEntry, chat_page, schedule
from bot.web.deps import DraftId, context, require_csrf, require_session
from bot.web.views import (
    ChatQueue,
    DraftView,
    PostView,
    chat_or_none,
    draft_view,
    pending_ids,
    queue_version,
    queue_view,
    x_trouble,
)

MAX_TEXT = 10_000  # far beyond any post; a guard against absurd bodies, not a rule of X's


class Problem(BaseModel):
    detail: str = Field(description="what went wrong, in words")
    problems: list[str] = Field(default=[], description="for a refused text: each problem, e.g. 301/280")


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "the body is not JSON"},
    401: {"model": Problem, "description": "not logged in"},
    403: {"model": Problem, "description": "missing or wrong CSRF token"},
    404: {"model": Problem, "description": "no such draft"},
    409: {"model": Problem, "description": "the draft is no longer pending; nothing changed"},
    422: {"model": Problem, "description": "the request or the edited text is invalid"},
}


class PostOut(BaseModel):
    tweet_id: str
    author: str
    role: str = Field(description="host, guest, participant or you")
    text: str
    at: datetime
    is_question: bool
    question_number: int | None
    url: str


class VerdictOut(BaseModel):
    allowed: bool
    summary: str = Field(description="allowed, held or refused")
    missing: str = Field(description="why, and for a held promotion what is still missing")


class DraftOut(BaseModel):
    id: int
    chat: str
    kind: str
    route: str = Field(description="api, or handoff: you post it yourself through an X Web Intent")
    state: str
    status: str = Field(description="the state in words, e.g. 'waiting for you to post', 'not seen'")
    text: str
    length: int = Field(description="weighted length as X counts it")
    limit: int
    reason: str
    score: float | None
    drafter: str
    question_number: int | None
    is_promotional: bool
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    target: PostOut | None = Field(description="the post the draft answers")
    conversation: list[PostOut] = Field(description="the posts above the target, oldest first")
    verdict: VerdictOut | None = Field(description="the policy's verdict on approving it now")
    error: str | None
    handoff_url: str | None = Field(description="the X Web Intent to open, once a hand-off is approved")
    x_post_url: str | None


class ChatQueueOut(BaseModel):
    slug: str
    title: str
    hashtag: str
    live: bool
    window_end: datetime | None
    question: PostOut | None = Field(description="the chat's current host question")
    drafts: list[DraftOut]
    not_shown: int = Field(description="pending drafts beyond the oldest ones listed here")


class QueueOut(BaseModel):
    version: str = Field(description="changes whenever the queue may have changed")
    pending: int
    chats: list[ChatQueueOut]


class TroubleOut(BaseModel):
    message: str = Field(description="what is wrong with X, in words, e.g. rate-limited until 21:14 UTC")
    since: datetime | None = Field(description="when the failing began")


class StateOut(BaseModel):
    version: str
    pending: int
    pending_ids: list[int]
    x_trouble: TroubleOut | None = Field(
        default=None, description="X is failing (what the banner says), or null while X answers"
    )


class SessionOut(BaseModel):
    csrf: str = Field(description="send it as X-CSRF-Token with every POST")


class ApproveIn(BaseModel):
    text: str | None = Field(
        default=None, max_length=MAX_TEXT, description="post this text instead (checked again first)"
    )


class RejectIn(BaseModel):
    reason: str = Field(default="", max_length=500)


class RegenerateIn(BaseModel):
    hint: str | None = Field(
        default=None, max_length=500, description="a steer, e.g. 'shorter, mention Lisbon'"
    )


class WindowOut(BaseModel):
    start: datetime
    end: datetime
    live: bool


class ChatOut(BaseModel):
    slug: str
    hashtag: str
    title: str
    recurrence: str
    timezone: str
    duration: str
    windows: list[WindowOut]


class ActionOut(BaseModel):
    at: datetime
    kind: str
    via: str
    text: str
    is_promotional: bool
    x_post_url: str | None


class StandingPointOut(BaseModel):
    at: datetime
    since_promotion: int
    promotion: bool


class RunOut(BaseModel):
    id: int
    window_start: datetime
    window_end: datetime
    state: str
    live: bool
    posts_read: int
    authors_read: int
    read_cost_usd: float = Field(description="an estimate at X's prices: each post and author billed once")
    engagements_since_promotion: int
    engagements_needed: int
    standing: list[StandingPointOut]
    actions: list[ActionOut]
    posts: list[PostOut]


class ChatDetailOut(ChatOut):
    runs: list[int] = Field(description="ids of the latest sessions, newest first")
    run: RunOut | None


router = APIRouter(prefix="/api", tags=["dashboard"], responses={k: ERRORS[k] for k in (400, 401, 422)})
Csrf = Annotated[Session, Depends(require_csrf)]
LoggedIn = Annotated[Session, Depends(require_session)]


@router.get("/session", response_model=SessionOut)
def session_info(session: LoggedIn) -> SessionOut:
    """The CSRF token of this session."""
    return SessionOut(csrf=session.csrf)


@router.get("/queue", response_model=QueueOut)
def get_queue(request: Request, _session: LoggedIn) -> QueueOut:
    """Live chats first, each with its current question and its drafts."""
    web = context(request)
    actions.settle(web)
    with web.store.session() as db:
        view = queue_view(db, web.config, web.clock.now(), web.verdicts)
    return QueueOut(version=view.version, pending=view.pending, chats=[_chat_queue(c) for c in view.chats])


@router.get("/queue/state", response_model=StateOut)
def queue_state(
    request: Request,
    session: LoggedIn,
    seen: Annotated[str, Query(max_length=4000, description="ids on a visible page, e.g. 3,4")] = "",
) -> StateOut:
    """Cheap to poll: whether the queue changed, how many drafts wait, and X's trouble while it lasts (the
    pages' banner). With the CSRF header, `seen` records which drafts were on screen (a draft never seen is
    what the notifier tells about)."""
    web = context(request)
    actions.settle(web)
    now = web.clock.now()
    with web.store.session() as db:
        version, waiting, trouble = queue_version(db), pending_ids(db), x_trouble(db, now)
    if seen and request.headers.get("X-CSRF-Token") == session.csrf:
        web.seen.mark(_ids(seen), now)
    return StateOut(
        version=version,
        pending=len(waiting),
        pending_ids=list(waiting),
        x_trouble=TroubleOut(message=trouble.message, since=trouble.since) if trouble else None,
    )


@router.get("/drafts/{draft_id}", response_model=DraftOut, responses={404: ERRORS[404]})
def get_draft(request: Request, draft_id: DraftId, _session: LoggedIn) -> DraftOut:
    return _draft_out(request, draft_id)


@router.post(
    "/drafts/{draft_id}/approve",
    response_model=DraftOut,
    responses={k: ERRORS[k] for k in (403, 404, 409, 422)},
)
def approve(
    request: Request, draft_id: DraftId, _session: Csrf, body: Annotated[ApproveIn | None, Body()] = None
) -> DraftOut | JSONResponse:
    """Approve a pending draft, optionally with a new text. A hand-off comes back with its `handoff_url`."""
    text = (body or ApproveIn()).text
    return _decide(request, draft_id, lambda: actions.approve(context(request), draft_id, text))


@router.post(
    "/drafts/{draft_id}/reject",
    response_model=DraftOut,
    responses={k: ERRORS[k] for k in (403, 404, 409, 422)},
)
def reject(
    request: Request, draft_id: DraftId, _session: Csrf, body: Annotated[RejectIn | None, Body()] = None
) -> DraftOut | JSONResponse:
    reason = (body or RejectIn()).reason.strip()
    return _decide(request, draft_id, lambda: actions.reject(context(request), draft_id, reason))


@router.post(
    "/drafts/{draft_id}/regenerate",
    response_model=DraftOut,
    responses={**{k: ERRORS[k] for k in (403, 404, 409)}, 501: {"model": Problem}},
)
def regenerate(
    request: Request, draft_id: DraftId, _session: Csrf, body: Annotated[RegenerateIn | None, Body()] = None
) -> DraftOut | JSONResponse:
    """Fresh text for a draft about the same post (back to pending); its history keeps the old text."""
    hint = (body or RegenerateIn()).hint
    return _decide(request, draft_id, lambda: actions.regenerate(context(request), draft_id, hint))


@router.get("/chats", response_model=list[ChatOut])
def get_chats(request: Request, _session: LoggedIn) -> list[ChatOut]:
    """Every chat with its live window (if any) and the next ones."""
    web = context(request)
    return [_chat_out(e) for e in schedule(web.config, web.clock.now())]


@router.get("/chats/{slug}", response_model=ChatDetailOut, responses={404: ERRORS[404]})
def get_chat(
    request: Request,
    slug: str,
    _session: LoggedIn,
    run: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> ChatDetailOut:
    """One chat: its schedule and a session (the live or latest one, or `run`)."""
    web = context(request)
    chat = chat_or_none(web.config, slug)
    if chat is None:
        raise HTTPException(404, f"no chat {slug!r} in the config")
    with web.store.session() as db:
        page = chat_page(db, web.config, chat, web.clock.now(), run)
    return ChatDetailOut(
        **_chat_out(page.entry).model_dump(), runs=[r.id for r in page.runs], run=_run_out(page)
    )


def add_openapi_route(app: FastAPI) -> None:
    """The schema, behind the login like everything else."""

    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi(_session: LoggedIn) -> JSONResponse:
        return JSONResponse(app.openapi())


def _decide(request: Request, draft_id: int, decision: Any) -> DraftOut | JSONResponse:
    try:
        decision()
    except Refused as refused:
        body = Problem(detail=str(refused), problems=list(refused.problems))
        return JSONResponse(body.model_dump(), status_code=refused.status)
    return _draft_out(request, draft_id)


def _draft_out(request: Request, draft_id: int) -> DraftOut:
    web = context(request)
    with web.store.session() as db:
        draft = db.get(Draft, draft_id)
        if draft is None:
            raise HTTPException(404, f"no draft {draft_id}")
        return _draft(draft_view(db, draft, web.config, web.clock.now()))


def _ids(raw: str) -> list[int]:
    return [int(part) for part in raw.split(",") if part.strip().isdigit() and len(part.strip()) < 10]


def _post(post: PostView) -> PostOut:
    return PostOut(**vars(post))


def _draft(d: DraftView) -> DraftOut:
    return DraftOut(
        id=d.id,
        chat=d.chat_slug,
        kind=d.kind,
        route=d.route,
        state=d.state,
        status=d.status,
        text=d.text,
        length=d.length,
        limit=d.limit,
        reason=d.reason,
        score=d.score,
        drafter=d.drafter,
        question_number=d.question_number,
        is_promotional=d.is_promotional,
        created_at=d.created_at,
        updated_at=d.updated_at,
        expires_at=d.expires_at,
        target=_post(d.target) if d.target else None,
        conversation=[_post(p) for p in d.conversation],
        verdict=VerdictOut(allowed=d.verdict.allowed, summary=d.verdict.summary, missing=d.verdict.missing)
        if d.verdict
        else None,
        error=d.error,
        handoff_url=d.handoff_url,
        x_post_url=d.x_post_url,
    )


def _chat_queue(c: ChatQueue) -> ChatQueueOut:
    return ChatQueueOut(
        slug=c.slug,
        title=c.title,
        hashtag=c.hashtag,
        live=c.live,
        window_end=c.window_end,
        question=_post(c.question) if c.question else None,
        drafts=[_draft(d) for d in c.drafts],
        not_shown=c.not_shown,
    )


def _chat_out(e: ScheduleEntry) -> ChatOut:
    return ChatOut(
        slug=e.slug,
        hashtag=e.hashtag,
        title=e.title,
        recurrence=e.recurrence,
        timezone=e.timezone,
        duration=e.duration,
        windows=[WindowOut(start=w.start, end=w.end, live=w.live) for w in e.windows],
    )


def _run_out(page: ChatPage) -> RunOut | None:
    run, standing = page.run, page.standing
    if run is None or standing is None:
        return None
    return RunOut(
        id=run.id,
        window_start=run.window_start,
        window_end=run.window_end,
        state=run.state,
        live=run.live,
        posts_read=page.cost.posts,
        authors_read=page.cost.authors,
        read_cost_usd=round(page.cost.usd, 6),
        engagements_since_promotion=standing.now,
        engagements_needed=standing.needed,
        standing=[StandingPointOut(**vars(p)) for p in standing.points],
        actions=[ActionOut(**vars(a)) for a in page.actions],
        posts=[_post(p) for p in page.posts],
    )
