"""The queue pages: the whole queue, its fragment (for the page's own refresh), one draft's card, and the
decisions (approve, edit then approve, reject, regenerate) answered with the draft's new card for htmx."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response

from bot.store.models import Draft
from bot.web import actions
from bot.web.actions import Refused
from bot.web.deps import DraftId, context, render, require_csrf, require_session
from bot.web.views import QueueView, draft_view, queue_view

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_session)])


@router.get("/")
def queue_page(request: Request) -> Response:
    return render(request, "queue.html", view=_queue(request), page="queue")


@router.get("/queue/items")
def queue_items(request: Request) -> Response:
    return render(request, "_queue.html", view=_queue(request))


@router.get("/drafts/{draft_id}")
def draft_card(request: Request, draft_id: DraftId) -> Response:
    return _card(request, draft_id)


@router.post("/drafts/{draft_id}/approve", dependencies=[Depends(require_csrf)])
def approve(request: Request, draft_id: DraftId, text: Annotated[str | None, Form()] = None) -> Response:
    try:
        draft = actions.approve(context(request), draft_id, text)
    except Refused as refused:
        return _card(request, draft_id, error=str(refused), text=text, status=refused.status)
    headers = {"X-Intent-Url": draft.handoff_url} if draft.handoff_url and draft.state == "handed_off" else {}
    return _card(request, draft_id, headers=headers)


@router.post("/drafts/{draft_id}/reject", dependencies=[Depends(require_csrf)])
def reject(request: Request, draft_id: DraftId, reason: Annotated[str, Form()] = "") -> Response:
    try:
        actions.reject(context(request), draft_id, reason.strip())
    except Refused as refused:
        return _card(request, draft_id, error=str(refused), status=refused.status)
    return _card(request, draft_id)


@router.post("/drafts/{draft_id}/regenerate", dependencies=[Depends(require_csrf)])
def regenerate(request: Request, draft_id: DraftId) -> Response:
    try:
        fresh = actions.regenerate(context(request), draft_id)
    except Refused as refused:
        return _card(request, draft_id, error=str(refused), status=refused.status)
    return _card(request, fresh.id)


def _queue(request: Request) -> QueueView:
    web = context(request)
    actions.settle(web)
    with web.store.session() as session:
        return queue_view(session, web.config, web.clock.now(), web.verdicts)


def _card(
    request: Request,
    draft_id: int,
    *,
    error: str = "",
    text: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The draft's card; with `text` (an edit that was refused) it opens in edit mode on that text."""
    web = context(request)
    now = web.clock.now()
    with web.store.session() as session:
        draft = session.get(Draft, draft_id)
        if draft is None:
            raise HTTPException(404, f"no draft {draft_id}")
        view = draft_view(session, draft, web.config, now)
    return render(
        request,
        "_draft.html",
        status_code=status,
        headers=headers,
        d=view,
        error=error,
        edit_text=text,
    )
