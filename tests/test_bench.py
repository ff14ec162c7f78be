"""The benchmarks run end to end at a tiny size and write their sections of the benchmarks page (no timing
is asserted here: the figures belong to `make bench` on a quiet machine)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench import dashboard, latency, memory, own_work, read_cost, search_requests
from bench.common import SECTIONS, Headline, Section, write_section


def sections(doc: Path) -> dict[str, str]:
    text = doc.read_text(encoding="utf-8")
    return dict(re.findall(r"<!-- bench:(\w+) -->\n(.*?)<!-- /bench:\1 -->", text, re.S))


def written(doc: Path, name: str) -> str:
    body = sections(doc)[name]
    assert "Not run yet" not in body
    assert "| --- |" not in body and "|---|" in body, body  # a Markdown table
    assert "_Machine: " in body and "Command: `test`" in body
    return body


def headline_rows(doc: Path, title: str) -> list[str]:
    return [line for line in doc.read_text(encoding="utf-8").splitlines() if line.startswith(f"| {title} |")]


@pytest.fixture
def doc(tmp_path: Path) -> Path:
    return tmp_path / "benchmarks.md"


def test_latency_times_every_drafted_question(doc: Path) -> None:
    plan = latency.Plan(questions=2, per_session=2, spacing=20, poll=300, llm_latency=0.0)
    section = latency.run(plan=plan, doc=doc, command="test")

    body = written(doc, "latency")
    assert "| offline |" in body and "| LLM, L = 0 ms |" in body
    assert len(section.headlines) == 4
    assert len(headline_rows(doc, "1. Latency")) == 4


def test_read_cost_sets_the_caddy_beside_the_naive_poller(doc: Path) -> None:
    read_cost.run(posts=30, minutes=5, poll=300, doc=doc, command="test")

    body = written(doc, "read_cost")
    for mode in read_cost.MODES:
        assert f"| {mode} | caddy |" in body and f"| {mode} | naive |" in body


def test_search_requests_per_tick_for_each_number_of_chats(doc: Path) -> None:
    search_requests.run(counts=(1, 2), posts_per_chat=10, minutes=5, poll=300, doc=doc, command="test")

    body = written(doc, "search_requests")
    assert re.search(r"^\| 1 \| all \|", body, re.M) and re.search(r"^\| 2 \| hosts\+mentions \|", body, re.M)


def test_own_work_counts_posts_per_cpu_second_and_llm_tokens(doc: Path) -> None:
    section = own_work.run(backlog=30, posts=30, minutes=5, poll=300, doc=doc, command="test")

    written(doc, "own_work")
    measures = [h.measure for h in section.headlines]
    assert "LLM input tokens per draft p50 / p95" in measures and "LLM calls per posted action" in measures


def test_dashboard_renders_and_approves(doc: Path) -> None:
    dashboard.run(drafts=10, renders=1, approvals=1, doc=doc, command="test")

    body = written(doc, "dashboard")
    assert "The page showed 10 drafts" in body


def test_memory_samples_a_worker_process(doc: Path) -> None:
    memory.run(evenings=1, posts=5, minutes=5, poll=300, doc=doc, command="test")

    body = written(doc, "memory")
    assert "| database | WAL file | chat posts |" in body
    (evening,) = [line for line in body.splitlines() if line.startswith("| evening 1 |")]
    assert evening.count(" MB |") == 4  # RSS, peak, database, WAL
    assert len(headline_rows(doc, "6. Memory")) == 3


def test_a_section_is_replaced_and_the_others_kept(doc: Path) -> None:
    first = Section("dashboard", "| a |\n|---|\n| 1 |", [Headline("render", "1 ms", "< 150 ms", True)])
    write_section(first, command="test", doc=doc)
    write_section(Section("memory", "| b |\n|---|\n| 2 |", []), command="test", doc=doc)
    write_section(
        Section("dashboard", "| a |\n|---|\n| 3 |", [Headline("render", "3 ms", "< 150 ms", True)]),
        command="test",
        doc=doc,
    )

    found = sections(doc)
    assert list(found) == list(SECTIONS)
    assert "| 3 |" in found["dashboard"] and "| 1 |" not in found["dashboard"]
    assert "| 2 |" in found["memory"]
    assert "Not run yet" in found["latency"]
    assert headline_rows(doc, "5. Dashboard") == ["| 5. Dashboard | render | 3 ms | < 150 ms | met |"]
