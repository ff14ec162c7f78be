"""The dashboard in a real browser: headless Chromium (Debian's, at /usr/bin/chromium) driven by Playwright
against a live sandbox chat. The test moves the shared fake clock and polls the worker; the page updates by
itself (no reload) as a person would see it.

Skipped with the reason where Chromium or Playwright is missing; never in CI (CI=true), where it fails.
The screenshots in docs/screenshots/ (shown by the README) are taken here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.policy.budget import UsageRecorder
from bot.store.models import ChatPost, Draft, DraftKind, DraftState, Route
from bot.text import weighted_length
from bot.x.types import RateLimit, XRequestRecord
from tests.web_helpers import PASSWORD, ROOT, LiveChat, add_draft, draft_state, live_chat

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1200, "height": 900}
ANSWERS = "article.draft[data-kind=answer]"


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM}: `apt-get install chromium` (.ci/run does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed: `.venv/bin/pip install -e '.[dev]'`"
    return None


MISSING = _missing()
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
pytestmark = pytest.mark.skipif(MISSING is not None and not IN_CI, reason=f"browser tests skipped: {MISSING}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if MISSING is not None:
        pytest.fail(f"CI must run the browser tests: {MISSING}")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=6000)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def chat(sqlite_store: Any) -> Iterator[LiveChat]:
    with live_chat(sqlite_store) as live:
        yield live


def _page(browser: Any, viewport: dict[str, int], **options: Any) -> Any:
    context = browser.new_context(viewport=viewport, **options)
    context.set_default_timeout(6000)
    return context.new_page()


def _log_in(page: Any, chat: LiveChat) -> None:
    from playwright.sync_api import expect

    page.goto(chat.url)
    expect(page).to_have_url(f"{chat.url}/login")
    page.fill("#secret", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{chat.url}/")
    expect(page.locator("h2").first).to_contain_text("#JobHuntChat")


def test_a_draft_appears_by_itself_an_overlong_edit_is_refused_then_it_is_posted(
    browser: Any, chat: LiveChat
) -> None:
    from playwright.sync_api import expect

    page = _page(browser, DESKTOP)
    _log_in(page, chat)
    expect(page.locator(".chat.live")).to_contain_text("No question asked yet")
    page.evaluate("window.notReloaded = true")

    chat.at_minute(5.5)  # the host asked Q1; the worker read it and drafted an answer
    card = page.locator(ANSWERS)
    expect(card).to_have_count(1)
    expect(page.locator(".question")).to_contain_text("Q1 How do you use X in your job search?")
    pending = len([d for d in chat.drafts() if d.state == DraftState.PENDING])
    expect(page).to_have_title(f"({pending}) Queue · chatcaddy")
    assert page.evaluate("window.notReloaded") is True

    card.get_by_role("button", name="Edit").click()
    textarea = card.locator("textarea")
    long_text = "A1 " + "so much to say " * 19 + "#JobHuntChat"
    textarea.fill(long_text)
    expect(card.locator(".counter")).to_have_text(f"{weighted_length(long_text)}/280")
    expect(card.locator(".counter")).to_have_class("counter over")
    card.locator("form.edit-form button[type=submit]").click()
    expect(card.locator(".error")).to_contain_text(f"{weighted_length(long_text)}/280 characters")
    draft_id = int(card.get_attribute("data-id"))
    assert draft_state(chat.store, draft_id).state == DraftState.PENDING

    fixed = "A1 I keep a private list of recruiters and check it every Monday #JobHuntChat"
    card.locator("textarea").fill(fixed)
    expect(card.locator(".counter")).to_have_text(f"{weighted_length(fixed)}/280")
    card.locator("textarea").press("Control+Enter")
    expect(card.locator(".status")).to_have_text("approved: posting shortly")

    posted = chat.publish()
    assert posted is not None and posted.state == DraftState.POSTED
    assert chat.posted_texts() == [fixed]
    expect(card.locator(".status")).to_have_text("posted")  # the page noticed by itself
    assert page.evaluate("window.notReloaded") is True
    page.context.close()


def test_x_trouble_shows_and_goes_by_itself_on_every_page(browser: Any, chat: LiveChat) -> None:
    from playwright.sync_api import expect

    def request(status: int | None) -> None:  # one search, recorded as the worker's gateway records it
        at = chat.clock.now()
        limit = RateLimit(endpoint="search", limit=300, remaining=0, reset_at=at + timedelta(minutes=10))
        UsageRecorder(chat.store)(XRequestRecord("search", status, at, 0, 0, limit))

    page = _page(browser, DESKTOP)
    _log_in(page, chat)
    banner = page.locator("#x-trouble")
    expect(banner).to_be_hidden()
    page.evaluate("window.notReloaded = true")
    request(429)
    expect(banner).to_be_visible()  # the queue's own polling brought it
    expect(banner).to_contain_text("X is rate-limiting chatcaddy")
    expect(banner.locator(".since time")).not_to_have_text("")
    assert page.evaluate("window.notReloaded") is True
    page.goto(f"{chat.url}/chats")
    expect(banner).to_be_visible()  # every page carries it
    request(200)  # X answers again
    expect(banner).to_be_hidden()  # the chats page polls too
    page.goto(chat.url)
    expect(banner).to_be_hidden()
    page.context.close()


def test_keyboard_j_k_a_e_r_without_the_mouse(browser: Any, chat: LiveChat) -> None:
    from playwright.sync_api import expect

    page = _page(browser, DESKTOP)
    _log_in(page, chat)
    chat.at_minute(16)  # Q1 and Q2 are both out, and whatever else the worker drafted meanwhile
    answers = page.locator(ANSWERS)
    expect(page.locator("article.draft")).to_have_count(len(chat.drafts()))
    expect(answers).to_have_count(2)
    ids = [
        int(i) for i in page.locator("article.draft").evaluate_all("cards => cards.map(c => c.dataset.id)")
    ]
    first, second = (int(answers.nth(n).get_attribute("data-id")) for n in (0, 1))
    selected = page.locator("article.draft.selected")
    expect(selected).to_have_attribute("data-id", str(ids[0]))
    page.keyboard.press("j")
    expect(selected).to_have_attribute("data-id", str(ids[1]))
    page.keyboard.press("k")
    expect(selected).to_have_attribute("data-id", str(ids[0]))

    for _ in range(ids.index(first)):
        page.keyboard.press("j")
    expect(selected).to_have_attribute("data-id", str(first))
    page.keyboard.press("e")
    expect(selected.locator("textarea")).to_be_focused()
    page.keyboard.press("Escape")
    expect(selected.locator("form.edit-form")).to_be_hidden()
    page.keyboard.press("a")
    expect(page.locator(f"#draft-{first} .status")).to_have_text("approved: posting shortly")

    for _ in range(ids.index(second) - ids.index(first)):
        page.keyboard.press("j")
    expect(selected).to_have_attribute("data-id", str(second))
    page.keyboard.press("r")
    reason = page.locator(f"#draft-{second} input[name=reason]")
    expect(reason).to_be_focused()
    reason.fill("off topic for me")
    reason.press("Enter")
    expect(page.locator(f"#draft-{second} .status")).to_have_text("rejected")

    assert draft_state(chat.store, first).state == DraftState.APPROVED
    assert draft_state(chat.store, second).state == DraftState.REJECTED
    with chat.store.session() as session:
        assert session.get(Draft, second).events[-1].why == "off topic for me"
    page.context.close()


def test_at_phone_width_the_queue_fits_and_approves_with_a_tap(browser: Any, chat: LiveChat) -> None:
    from playwright.sync_api import expect

    page = _page(browser, PHONE, has_touch=True, is_mobile=True, device_scale_factor=2)
    _log_in(page, chat)
    chat.at_minute(16)
    cards = page.locator(ANSWERS)
    expect(cards).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    approve = cards.nth(0).get_by_role("button", name="Approve")
    box = approve.bounding_box()
    assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= PHONE["width"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "queue-phone.png"))

    status = page.locator(f"#draft-{cards.nth(0).get_attribute('data-id')} .status")
    approve.tap()
    expect(status).to_have_text("approved: posting shortly")
    chat.publish()
    expect(status).to_have_text("posted")
    assert len(chat.posted_texts()) == 1
    page.context.close()


def test_a_hand_off_opens_x_with_the_text_then_shows_posted_once_seen(browser: Any, chat: LiveChat) -> None:
    from playwright.sync_api import expect

    chat.at_minute(7)  # Sam's answer to Q1 has been read
    with chat.store.session() as session:
        target = session.query(ChatPost).filter(ChatPost.author_username == "sam_recruits").first()
        assert target is not None
        target_id = target.tweet_id
    text = "Following career handles is underrated, Sam #JobHuntChat"
    draft_id = add_draft(
        chat.store,
        1,
        text=text,
        at=chat.clock.now(),
        kind=DraftKind.REPLY,
        target=target_id,
        route=Route.HANDOFF,
        reason="Sam answered Q1 with a tip you use too",
    )
    page = _page(browser, DESKTOP)
    page.context.route(
        "https://x.com/**", lambda route: route.fulfill(content_type="text/html", body="<title>X</title>")
    )
    _log_in(page, chat)
    card = page.locator(f"#draft-{draft_id}")
    expect(card.locator(".route")).to_have_text("hand-off")
    expect(card).to_contain_text("sam_recruits")
    with page.context.expect_page() as opened:
        card.get_by_role("button", name="Approve & open X").click()
    tab = opened.value
    tab.wait_for_url("https://x.com/intent/post?**")
    assert "in_reply_to=" + target_id in tab.url and "Following+career+handles" in tab.url
    expect(card.locator(".status")).to_have_text("waiting for you to post")

    chat.sandbox.add_post("ada_builds", text, reply_to=target_id)  # the person posts it in X's composer
    chat.at_minute(8)
    expect(card.locator(".status")).to_have_text("posted")
    assert draft_state(chat.store, draft_id).state == DraftState.POSTED
    page.context.close()


COUNTER_CORPUS = [
    "A1 plain ASCII answer #JobHuntChat",
    "A2 café naïve résumé (composed é and decomposed e\u0301) #JobHuntChat",
    "A3 日本語と한국어 mixed with English #JobHuntChat",
    "A4 emoji 😀 👍🏽 👨‍👩‍👧 🇵🇹 1️⃣ ❤️ © ™ #JobHuntChat",
    "A5 links https://ada.example.dev/posts/1?x=1 and www.linkedin.com/in/ada and ada.example.dev #Chat",
    "A6 not links: e.g. node.js index.html A1.Next? me@mail.com #tag.com",
    "A7 dashes — quotes ‘’ ellipsis … bullets • #JobHuntChat",
    "A8 line\nbreaks\r\nand\ttabs #JobHuntChat",
    "🙂" * 150,
    "x" * 300,
]


def test_the_live_counter_counts_like_the_server(browser: Any, chat: LiveChat) -> None:
    page = _page(browser, DESKTOP)
    _log_in(page, chat)
    counted = page.evaluate("texts => texts.map(t => window.chatcaddyWeightedLength(t))", COUNTER_CORPUS)
    assert counted == [weighted_length(text) for text in COUNTER_CORPUS]
    page.context.close()


def test_screenshots_for_the_readme(browser: Any, chat: LiveChat) -> None:
    from playwright.sync_api import expect

    chat.at_minute(16)
    drafts = chat.drafts()
    first, second = (d for d in drafts if d.kind == DraftKind.ANSWER)
    replies = [d for d in drafts if d.kind == DraftKind.REPLY and d.route == Route.API][:1]
    page = _page(browser, DESKTOP)
    _log_in(page, chat)
    expect(page.locator(ANSWERS)).to_have_count(2)
    for draft in [first, *replies]:  # an answer and a reply go out: the standing chart has a step
        page.locator(f"#draft-{draft.id}").get_by_role("button", name="Approve").click()
        expect(page.locator(f"#draft-{draft.id} .status")).to_have_text("approved: posting shortly")
        chat.publish()
        expect(page.locator(f"#draft-{draft.id} .status")).to_have_text("posted")
    page.locator(f"#draft-{second.id}").get_by_role("button", name="Edit").click()
    expect(page.locator(f"#draft-{second.id} textarea")).to_be_focused()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # the sticky bar belongs at the top of a full-page picture
    page.screenshot(path=str(SCREENSHOTS / "queue.png"), full_page=True)

    page.goto(f"{chat.url}/chats/{chat.config.chats[0].slug}")
    expect(page.locator("figure.chart svg")).to_be_visible()
    expect(page.locator(".posts li.question")).to_have_count(2)
    expect(page.locator(".actions-taken li")).to_have_count(1 + len(replies))
    page.screenshot(path=str(SCREENSHOTS / "chat.png"), full_page=True)
    page.context.close()
