"""Transcripts: the format loads into users and posts, and every mistake is reported with its line."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.sandbox import DEMO_TRANSCRIPT
from bot.sandbox.transcript import load_transcript, parse_offset, parse_transcript
from tests.fixtures.sandbox import BASIC_TRANSCRIPT, TRANSCRIPTS

HEADER = """\
hashtag: "#JobHuntChat"
account: {id: "1000", username: ada_builds, name: Ada Example}
users:
  - {id: "2001", username: JobHuntChat, name: Job Hunt Chat}
posts:
"""


def issues_of(text: str) -> list[tuple[int, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_transcript(text, source="chat.yaml")
    assert all(issue.file == "chat.yaml" for issue in caught.value.issues)
    return [(issue.line, issue.message) for issue in caught.value.issues]


def test_basic_transcript_loads_users_posts_and_references() -> None:
    transcript = load_transcript(BASIC_TRANSCRIPT)
    assert transcript.hashtag == "#JobHuntChat"
    assert transcript.account.username == "ada_builds"
    assert [u.username for u in transcript.users][:2] == ["JobHuntChat", "sam_recruits"]
    by_key = {p.key: p for p in transcript.posts}
    assert by_key["a1_sam"].at == timedelta(minutes=5, seconds=40)
    assert by_key["a1_sam"].reply_to == "q1"
    assert by_key["quote_sam"].quote == "a1_sam"
    assert by_key["a1_lena"].lang == "es"
    assert by_key["oops"].deleted_at == timedelta(minutes=10)
    assert by_key["rt_priya"].repost == "a1_priya"
    assert transcript.user("@Sam_Recruits") is transcript.users[1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0s", 0),
        ("5m", 300),
        ("5m40s", 340),
        ("1h2m", 3720),
        ("90s", 90),
        ("", None),
        ("5", None),
        ("m5", None),
    ],
)
def test_offsets(text: str, expected: int | None) -> None:
    offset = parse_offset(text)
    assert (offset.total_seconds() if offset is not None else None) == expected


def test_bad_file_reports_every_issue_with_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_transcript(TRANSCRIPTS / "bad_refs.yaml")
    issues = caught.value.issues
    assert {issue.file for issue in issues} == {str(TRANSCRIPTS / "bad_refs.yaml")}
    found = {(issue.line, issue.column): issue.message for issue in issues}
    assert "unknown user 'nobody_here'" in found[(7, 18)]
    assert "'5 minutes' is not an offset" in found[(8, 10)]
    assert "unknown post key 'q2' (it comes later in the file" in found[(9, 41)]
    assert "bad_refs.yaml:7:18: posts[0].by: unknown user" in str(caught.value)


def test_unknown_reply_key_and_unknown_field() -> None:
    issues = issues_of(HEADER + '  - {at: 0s, by: JobHuntChat, reply_to: nope, txt: "hi"}\n')
    assert (
        6,
        "posts[0].reply_to: unknown post key 'nope' (no post has that key; it must name an earlier post)",
    ) in issues
    assert any(line == 6 and "unknown field 'txt'" in message for line, message in issues)
    assert any(line == 6 and "missing field 'text'" in message for line, message in issues)


def test_missing_fields_in_block_style_point_at_the_post() -> None:
    issues = issues_of(HEADER + "  - at: 1m\n    text: hello #JobHuntChat\n")
    assert issues == [(6, "posts[0]: missing field 'by'")]


def test_yaml_syntax_error_has_line_and_column() -> None:
    issues = issues_of(HEADER + '  - {at: 0s, by: JobHuntChat, text: "unclosed}\n  - {at: 1m}\n')
    assert len(issues) == 1
    assert issues[0][1].startswith("YAML syntax")


def test_account_and_users_are_checked() -> None:
    text = """\
hashtag: JobHuntChat
account: {id: "1000", username: ada builds}
users:
  - {id: "20x1", username: JobHuntChat, name: Host}
  - {id: "2002", username: jobhuntchat, name: Same name}
posts: []
"""
    issues = issues_of(text)
    messages = "\n".join(f"{line}: {message}" for line, message in issues)
    assert re.search(r"1: hashtag: expected a hashtag", messages)
    assert re.search(r"2: account: missing field 'name'", messages)
    assert re.search(r"2: account.username: 1-15 letters", messages)
    assert re.search(r"4: users\[0\].id: expected digits", messages)
    assert re.search(r"username 'jobhuntchat' is listed twice", messages)


def test_deleted_before_posted_and_too_long_text() -> None:
    long_text = "x" * 281
    issues = issues_of(
        HEADER
        + "  - {at: 5m, by: JobHuntChat, deleted_at: 1m, text: hi}\n"
        + f"  - {{at: 6m, by: JobHuntChat, text: {long_text}}}\n"
    )
    assert (6, "posts[0].deleted_at: before the post's own `at`") in issues
    assert (7, "posts[1].text: 281 weighted characters, X allows 280") in issues


def test_reference_to_a_post_scheduled_later_is_refused() -> None:
    issues = issues_of(
        HEADER
        + "  - {at: 9m, by: JobHuntChat, key: q1, text: Q1}\n"
        + "  - {at: 2m, by: JobHuntChat, reply_to: q1, text: A1}\n"
    )
    assert any(line == 7 and "appears later" in message for line, message in issues)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read transcript"):
        load_transcript(tmp_path / "nope.yaml")


def test_demo_transcript_is_a_full_hour_long_chat() -> None:
    demo = load_transcript(DEMO_TRANSCRIPT)
    posts = demo.posts
    authors = {p.by for p in posts} - {demo.account.username, "JobHuntChat"}
    questions = [p for p in posts if p.by == "JobHuntChat" and re.match(r"(Q\d|Question \d)", p.text)]
    assert len(posts) >= 120
    assert len(authors) >= 20
    assert len(questions) == 7
    assert any(p.text.startswith("Q3:") for p in questions)
    assert any(p.text.startswith("Question 5") for p in questions)
    assert all("#jobhuntchat" in p.text.lower() for p in posts if not p.repost)
    assert any("#jobhuntchat" in p.text for p in posts)
    assert 3 <= sum("@ada_builds" in p.text for p in posts) <= 5
    assert [p.text for p in posts if p.by == "ada_builds"] == [
        "Hi from Lisbon! Backend engineer moving into platform work #JobHuntChat"
    ]
    assert any(re.search(r"\bstop\b", p.text) for p in posts)
    assert any("https://" in p.text for p in posts)
    assert sum(p.quote is not None for p in posts) >= 3
    assert max(p.at for p in posts) <= timedelta(hours=1)
