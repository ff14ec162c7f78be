"""A draft's context: the conversation read from the stored posts, the account's material (loaded from its
folder, every mistake at its line), the token budget that cuts the oldest context first, and the prompts
a model gets for a reply or share."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from bot.answering import persona
from bot.clock import FakeClock
from bot.config import Config
from bot.context import TEMPLATE_TOKENS, build_context, context_tokens, estimate_tokens
from bot.drafting.llm import LLMDrafter
from bot.drafting.prompts import POSTS_BEGIN, POSTS_END, PromptBook
from bot.errors import ConfigError
from bot.material import Material, load_material
from tests.conversation import Conversation, demo_config

TAG = "#JobHuntChat"


@pytest.fixture(scope="module")
def config() -> Config:
    return demo_config()


@pytest.fixture(scope="module")
def material(config: Config) -> Material:
    return load_material(config.account)


@pytest.fixture
def talk(config: Config) -> Conversation:
    talk = Conversation(config.chats[0])
    talk.post("welcome", "JobHuntChat", f"Welcome to {TAG}!")
    talk.post("hi", "ada_builds", f"Hi from Lisbon! {TAG}", reply_to="welcome")
    talk.post(
        "kenji_hi", "kenji_ml", f"@ada_builds welcome, how is the platform move going? {TAG}", reply_to="hi"
    )
    talk.post(
        "ada_to_kenji",
        "ada_builds",
        f"@kenji_ml slowly, one Kubernetes lab at a time {TAG}",
        reply_to="kenji_hi",
    )
    talk.post(
        "q2", "JobHuntChat", f"Q2 What's one thing you do every week to keep your search organized? {TAG}"
    )
    talk.post(
        "a2", "deshawn_data", f"A2 Spreadsheet. Company, role, date applied, next step {TAG}", reply_to="q2"
    )
    talk.post(
        "r1", "marcus_newgrad", f"@deshawn_data do you track the job post link too? {TAG}", reply_to="a2"
    )
    talk.post("r2", "deshawn_data", f"@marcus_newgrad always, and a PDF of the posting {TAG}", reply_to="r1")
    talk.post(
        "k", "kenji_ml", f"@deshawn_data @ada_builds how do you two track follow-ups? {TAG}", reply_to="r2"
    )
    return talk


def test_the_run_view_knows_questions_threads_and_exchanges(talk: Conversation) -> None:
    view = talk.view()
    k = talk.posts["k"]
    assert [p.author_username for p in view.thread(k)] == [
        "JobHuntChat",
        "deshawn_data",
        "marcus_newgrad",
        "deshawn_data",
    ]
    assert view.question_number(k) == view.question_number(talk.posts["a2"]) == 2
    assert view.question_number(talk.posts["kenji_hi"]) is None  # before any question
    assert [p.text for p in view.exchanges(k)] == [
        talk.posts["kenji_hi"].text,
        talk.posts["ada_to_kenji"].text,
    ]
    assert [p.author_username for p in view.responses(talk.posts["a2"])] == ["marcus_newgrad"]
    assert (view.role("@JobHuntChat"), view.role("ADA_BUILDS"), view.role("kenji_ml")) == (
        "host",
        "you",
        "participant",
    )
    assert view.is_to_account(k) and not view.is_to_account(talk.posts["a2"])


def test_the_context_holds_the_chat_the_thread_the_exchanges_and_the_best_material(
    talk: Conversation, config: Config, material: Material
) -> None:
    ctx = build_context(
        talk.view(),
        talk.posts["k"],
        kind="reply",
        persona=persona(config.account),
        material=material,
        budget=3000,
        reason="@kenji_ml mentioned you with a question",
        avoid=["A2 My take: I keep a list of company career handles #JobHuntChat"],
    )
    assert (ctx.chat_title, ctx.hashtag, ctx.question_number) == ("Job Hunt Chat", TAG, 2)
    assert ctx.question is not None and ctx.question.role == "host" and ctx.question.text.startswith("Q2")
    assert (ctx.target.author, ctx.target.role) == ("kenji_ml", "participant")
    assert [q.author for q in ctx.thread] == ["deshawn_data", "marcus_newgrad", "deshawn_data"]
    assert [q.author for q in ctx.exchanges] == ["kenji_ml", "ada_builds"]
    assert ctx.people == ("deshawn_data", "JobHuntChat", "kenji_ml", "marcus_newgrad")
    assert ctx.material[0].text == config.account.talking_points[3]  # the spreadsheet and its follow-ups
    assert 1 <= len(ctx.material) <= 3  # the most relevant, at most three
    assert set(ctx.links) >= {"https://ada.example.dev", "https://ada.example.dev/notes/probes"}
    assert ctx.to_you and ctx.dropped == 0


def test_the_budget_cuts_the_oldest_context_first_and_keeps_the_post_answered(
    config: Config, material: Material
) -> None:
    talk = Conversation(config.chats[0])
    talk.post("q1", "JobHuntChat", f"Q1 How do you use X in your job search? {TAG}")
    parent = "q1"
    for n in range(8):
        talk.post(
            f"p{n}", f"person{n}", f"reply {n}: " + "words about lists and handles " * 12, reply_to=parent
        )
        parent = f"p{n}"
    args = {"kind": "reply", "persona": persona(config.account), "material": material}
    full = build_context(talk.view(), talk.posts["p7"], budget=100_000, **args)  # type: ignore[arg-type]
    cut = build_context(talk.view(), talk.posts["p7"], budget=1500, **args)  # type: ignore[arg-type]
    assert len(full.thread) == 6 and full.dropped == 0
    assert cut.dropped > 0 and context_tokens(cut) <= 1500
    assert [q.author for q in cut.thread] == [q.author for q in full.thread][
        -len(cut.thread) :
    ]  # newest kept
    assert cut.target == full.target and cut.question == full.question

    book = PromptBook()
    prompt = book.engage_system(cut, limit=280) + book.compose(cut, limit=280)
    assert estimate_tokens(prompt) <= 1500
    bare = replace(cut, thread=(), exchanges=(), material=(), earlier=(), links=(), people=(), reason="")
    assert (
        estimate_tokens(book.engage_system(bare, limit=280) + book.compose(bare, limit=280))
        <= TEMPLATE_TOKENS
    )


def test_the_prompt_quotes_every_post_as_data_with_its_author(
    talk: Conversation, config: Config, material: Material
) -> None:
    ctx = build_context(
        talk.view(),
        talk.posts["k"],
        kind="share",
        persona=persona(config.account),
        material=material,
        budget=3000,
    )
    user = PromptBook().compose(ctx, limit=256)
    quoted = user.split(POSTS_BEGIN, 1)[1].split(POSTS_END, 1)[0].strip().splitlines()
    assert quoted[0].startswith("[the host's question] @JobHuntChat (host): Q2")
    assert quoted[-1] == f"[THIS POST] @kenji_ml (participant): {talk.posts['k'].text}"
    assert "[earlier with you] @ada_builds (you): @kenji_ml slowly" in user
    assert "sharing the post marked [THIS POST]" in user
    system = PromptBook().engage_system(ctx, limit=256)
    assert "@deshawn_data, @JobHuntChat, @kenji_ml, @marcus_newgrad" in system
    assert "https://ada.example.dev/notes/platform-pivot" in system


# --- material --------------------------------------------------------------------------------------------


def test_the_shipped_material_folder_loads(material: Material, config: Config) -> None:
    kinds = [item.kind for item in material.items]
    assert kinds[:5] == ["talking_point"] * 5 and {"bio", "post", "link"} <= set(kinds)
    assert len(material.earlier_posts) == 2
    links = {item.url: item.text for item in material.items if item.kind == "link"}
    assert links["https://ada.example.dev"] == "my site, with a one-page write-up of each side project"
    assert material.relevant("Q6 how did you explain your pivot?")[0].source == "bio.md"


def test_relevant_material_puts_what_was_already_said_last(material: Material, config: Config) -> None:
    point = config.account.talking_points[0]
    question = "Do you follow company handles on X, or track them in a spreadsheet?"
    assert material.relevant(question)[0].text == point
    said = ["A1 I keep a list of company career handles and check it every Monday #JobHuntChat"]
    again = material.relevant(question, avoid=said)
    assert again[0].text == config.account.talking_points[3] and again[-1].text == point


def _account(config: Config, folder: Path) -> object:
    return config.account.model_copy(update={"material": str(folder)})


def test_a_missing_material_folder_is_a_config_error_naming_it(config: Config, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"material folder named in schedules\.yaml"):
        load_material(_account(config, tmp_path / "nope"))  # type: ignore[arg-type]


def test_mistakes_in_the_material_files_are_reported_at_their_line(config: Config, tmp_path: Path) -> None:
    (tmp_path / "posts.yaml").write_text(
        "- text: fine\n- url: https://ada.example.dev\n- text: ok\n  url: ftp://x\n"
    )
    (tmp_path / "links.yaml").write_text("- url: https://ada.example.dev\n- url: not a link\n  about: x\n")
    with pytest.raises(ConfigError) as caught:
        load_material(_account(config, tmp_path))  # type: ignore[arg-type]
    assert [(i.line, i.message) for i in caught.value.issues] == [
        (2, "a post needs text: write `- text: …`"),
        (3, "url: 'ftp://x' is not a link; use a full http(s) URL"),
    ]
    (tmp_path / "posts.yaml").write_text("- just a post of mine https://ada.example.dev/blog\n")
    with pytest.raises(ConfigError) as caught:
        load_material(_account(config, tmp_path))  # type: ignore[arg-type]
    assert [(i.line, i.column) for i in caught.value.issues] == [(1, 3), (2, 3)]
    assert "about: missing" in caught.value.issues[0].message
    assert "url: 'not a link' is not a link" in caught.value.issues[1].message
    (tmp_path / "links.yaml").write_text("url: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML") as caught:
        load_material(_account(config, tmp_path))  # type: ignore[arg-type]
    assert caught.value.issues[0].file.endswith("links.yaml")


def test_links_in_earlier_posts_are_the_account_s_own(config: Config, tmp_path: Path) -> None:
    (tmp_path / "posts.yaml").write_text("- my notes https://ada.example.dev/blog/one\n")
    (tmp_path / "bio.md").write_text("I build things. I write about them!\n")
    loaded = load_material(_account(config, tmp_path))  # type: ignore[arg-type]
    assert "https://ada.example.dev/blog/one" in loaded.links
    assert [i.text for i in loaded.items if i.kind == "bio"] == ["I build things.", "I write about them!"]


# --- a reply through a model ---------------------------------------------------------------------------


def test_a_model_drafts_a_reply_with_structured_output(
    httpserver: HTTPServer, talk: Conversation, config: Config, material: Material
) -> None:
    out = {
        "text": "Same: a follow-up date column is what keeps my sheet honest",
        "kind": "reply",
        "rationale": "It adds the follow-up habit.",
        "is_self_promotional": False,
        "confidence": 0.8,
        "material": config.account.talking_points[3].upper(),
    }
    completion = {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "m-1",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": json.dumps(out)},
            }
        ],
        "usage": {"prompt_tokens": 900, "completion_tokens": 40, "total_tokens": 940},
    }
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_json(completion)
    ctx = build_context(
        talk.view(),
        talk.posts["k"],
        kind="reply",
        persona=persona(config.account),
        material=material,
        budget=3000,
    )
    with LLMDrafter(
        api_key="sk-test", base_url=httpserver.url_for("/v1"), model="m", clock=FakeClock()
    ) as llm:
        draft = llm.compose(ctx)
    assert draft.text == f"{out['text']} {TAG}"  # the hashtag added
    assert (draft.kind, draft.drafter, draft.model, draft.input_tokens) == ("reply", "llm", "m-1", 900)
    assert draft.talking_point == config.account.talking_points[3]
    assert "hashtag fixed" in draft.rationale
    request = json.loads(httpserver.log[0][0].get_data())
    assert request["response_format"]["json_schema"]["name"] == "ComposeOut"
