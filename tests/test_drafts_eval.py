"""The drafting evaluation (bench/drafts_eval.py): 30+ fixed chat situations through the real triage and
drafting, with the offline drafter, and with an OpenAI-compatible model (a local fake here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from bench import drafts_eval
from bench.drafts_eval import CHECKS, evaluate, load_situations, summary, table, write_doc
from bot.drafting.offline import OfflineDrafter

SITUATIONS = load_situations()


@pytest.fixture(scope="module")
def offline_rows() -> list[drafts_eval.Row]:
    return evaluate(OfflineDrafter())


def test_there_are_30_or_more_situations_covering_every_kind() -> None:
    assert len(SITUATIONS) >= 30
    assert {s.kind for s in SITUATIONS} == {"answer", "reply", "share", "repost", "like", "follow", "none"}
    assert sum(1 for s in SITUATIONS if s.talking_point is not None) >= 10


def test_the_offline_drafter_passes_every_structure_and_grounding_check(
    offline_rows: list[drafts_eval.Row],
) -> None:
    scores = summary(offline_rows)
    for check in ("kind", "length", "A-n", "hashtag", "own only", "new", "point"):
        passed, applicable = scores[check]
        assert passed == applicable > 0, (check, [r.name for r in offline_rows if r.checks[check] is False])
    passed, applicable = scores["drafted"]
    assert (
        passed >= applicable - 1
    )  # the host's open "final thoughts?": nothing of the account's fits offline


def test_answers_name_the_matching_talking_point_and_skip_what_was_said(
    offline_rows: list[drafts_eval.Row],
) -> None:
    rows = {r.name: r for r in offline_rows}
    assert (
        rows["03_answer_show_your_work"].text.startswith("A3 ")
        and "write-up" in rows["03_answer_show_your_work"].text
    )
    assert "career handles" not in rows["09_answer_already_said"].text
    assert "evil.example" not in rows["10_answer_injected_question"].text
    assert rows["26_share_strong_answer"].text.startswith("Worth reading, from @deshawn_data.")


def test_the_table_has_a_row_per_situation_and_the_totals(offline_rows: list[drafts_eval.Row]) -> None:
    lines = table(offline_rows).splitlines()
    assert lines[0] == "| # | situation | expected | decided | by | " + " | ".join(CHECKS) + " |"
    assert len(lines) == len(SITUATIONS) + 3
    assert lines[-1].startswith("| | **passed** |")
    assert re.search(r"\| 34/34 \|", lines[-1])


def test_the_table_replaces_its_section_of_the_document(tmp_path: Path) -> None:
    doc = tmp_path / "drafting.md"
    doc.write_text("# Drafting\n\nbefore\n\n<!-- drafts_eval -->\nold\n<!-- /drafts_eval -->\n\nafter\n")
    write_doc(doc, "| a |\n|---|", "offline")
    text = doc.read_text()
    assert "old" not in text and "| a |" in text and text.endswith("after\n") and "_Drafter: offline." in text
    write_doc(tmp_path / "new.md", "| b |", "offline")
    assert "| b |" in (tmp_path / "new.md").read_text()


def _fake_model(request: Request) -> Response:
    """A well-behaved model: a short grounded answer or reply in the JSON asked for."""
    body = json.loads(request.get_data())
    schema = body["response_format"]["json_schema"]["name"]
    user = body["messages"][-1]["content"]
    if schema == "AnswerOut":
        found = re.search(r"Draft answer A(\d+) now", user)
        number = found.group(1) if found else "1"
        out = {
            "text": f"A{number} One page per side project: what I built and what broke.",
            "talking_point": "I write a short write-up after each side project, one page at most",
            "rationale": "The write-up habit.",
            "is_self_promotional": False,
            "confidence": 0.7,
        }
    else:
        out = {
            "text": "A date column for the next follow-up keeps my sheet honest.",
            "kind": "share" if "sharing the post" in user else "reply",
            "rationale": "The follow-up habit.",
            "is_self_promotional": False,
            "confidence": 0.7,
            "material": None,
        }
    completion = {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "fake-1",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": json.dumps(out)},
            }
        ],
        "usage": {"prompt_tokens": 800, "completion_tokens": 30, "total_tokens": 830},
    }
    return Response(json.dumps(completion), content_type="application/json")


def test_it_runs_against_any_openai_compatible_server(
    httpserver: HTTPServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_handler(_fake_model)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    drafts_eval.main(["--base-url", httpserver.url_for("/v1"), "--model", "fake-1", "--json"])
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert len(rows) == len(SITUATIONS)
    answer = rows["03_answer_show_your_work"]
    assert answer["drafter"] == "llm" and answer["text"].startswith("A3 One page per side project")
    assert answer["checks"]["A-n"] and answer["checks"]["hashtag"] and answer["checks"]["point"]
    reply = rows["21_reply_answer_touches_spreadsheet"]
    assert reply["drafter"] == "llm" and reply["text"].endswith("#JobHuntChat")
    assert len(httpserver.log) >= 15
