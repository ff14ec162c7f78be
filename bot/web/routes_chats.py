"""The chat pages: the schedule of every chat, and one chat's run (posts, actions, standing, read cost)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from bot.web.charts import standing_svg
from bot.web.chat_views import chat_page, schedule
from bot.web.deps import context, render, require_session
from bot.web.views import chat_or_none

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_session)])


@router.get("/chats")
def chats(request: Request) -> Response:
    web = context(request)
    return render(request, "chats.html", entries=schedule(web.config, web.clock.now()), page="chats")


@router.get("/chats/{slug}")
def chat(
    request: Request, slug: str, run: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
) -> Response:
    web = context(request)
    found = chat_or_none(web.config, slug)
    if found is None:
        raise HTTPException(404, f"no chat {slug!r} in the config")
    with web.store.session() as session:
        page = chat_page(session, web.config, found, web.clock.now(), run)
    chart = standing_svg(page.standing) if page.standing else None
    return render(request, "chat.html", chat=page, chart=chart, page="chats")
