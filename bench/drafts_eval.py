"""Drafting evaluation: fixed chat situations (bench/situations/*.yaml) through the real triage and drafting
code, scored on structure and grounding.

Each situation is a short conversation for the account of bench/account.yaml; its last post (or `target`)
is triaged and, when the decision has text (an answer, a reply, a share), drafted behind the guard, exactly
as the worker does. Scored per situation, ✓ / ✗ / · (does not apply):

- kind: triage decided the expected kind (answer, reply, share, repost, like, follow, none)
- drafted: a text kind got a draft that passed the guard (or, where `draft: optional`, no draft is right)
- length: 1 to 280 weighted characters (256 for a share: the link to the post is added)
- A-n: an answer starts with the question's A-number
- hashtag: the chat hashtag exactly once
- own only: no link outside the account's material, no mention of anyone outside the conversation
- new: not a near-duplicate of the account's earlier posts (in the chat or in its material)
- point: names the expected talking point, when the situation expects one

    python -m bench.drafts_eval                       # the offline drafter; prints the table
    python -m bench.drafts_eval --write               # ... and puts it in docs/drafting.md
    OPENAI_API_KEY=sk-… python -m bench.drafts_eval --model gpt-4o-mini
    python -m bench.drafts_eval --base-url http://127.0.0.1:11434/v1 --model llama3.1  # any compatible API
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from sqlalchemy.orm import Session

from bot.answering import Answerer
from bot.clock import FakeClock
from bot.config import Config, load_config
from bot.drafting import Draft as Proposed
from bot.drafting import Drafter, bare_link, make_drafter
from bot.drafting.matching import near_duplicate
from bot.events import EventKind, classify
from bot.material import load_material
from bot.policy import note_opt_out
from bot.store.db import Store
from bot.store.models import ChatPost, ChatRun, PostEvent
from bot.text import answer_number, clean, count_hashtag, url_spans, weighted_length
from bot.triage import Action, decide

BENCH = Path(__file__).resolve().parent
SITUATIONS = BENCH / "situations"
ACCOUNT = BENCH / "account.yaml"
DOC = BENCH.parent / "docs" / "drafting.md"
START = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
CHECKS = ("kind", "drafted", "length", "A-n", "hashtag", "own only", "new", "point")
TEXT_ACTIONS = (Action.ANSWER, Action.REPLY, Action.SHARE)
_MENTION = re.compile(r"(?<![\w@])@(\w{1,20})")


@dataclass(frozen=True)
class Situation:
    name: str
    about: str
    posts: list[dict[str, Any]]
    target: str
    kind: str
    talking_point: int | None
    draft_optional: bool = False  # no draft is a right answer too (nothing fitting is left to say)


@dataclass
class Row:
    name: str
    expected: str
    decided: str
    drafter: str
    text: str
    checks: dict[str, bool | None] = field(default_factory=dict)


def load_situations(folder: Path = SITUATIONS) -> list[Situation]:
    found = []
    for path in sorted(folder.glob("*.yaml")):
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        posts = list(data["posts"])
        expect = data["expect"]
        target = str(data.get("target") or posts[-1]["key"])
        optional = expect.get("draft") == "optional"
        found.append(
            Situation(
                path.stem, data["about"], posts, target, expect["kind"], expect["talking_point"], optional
            )
        )
    return found


class Evaluation:
    """The account of bench/account.yaml, a scratch SQLite store and the drafter under test."""

    def __init__(self, drafter: Drafter, workdir: Path, account: Path = ACCOUNT) -> None:
        self.config: Config = load_config(account)
        self.clock = FakeClock(START)
        self.store = Store(f"sqlite:///{workdir / 'drafts_eval.db'}")
        self.store.upgrade()
        material = load_material(self.config.account, base=account.parent)
        self.answerer = Answerer(
            config=self.config, store=self.store, drafter=drafter, clock=self.clock, material=material
        )

    def close(self) -> None:
        self.store.dispose()

    def run(self, situations: list[Situation]) -> list[Row]:
        return [self.evaluate(situation, index) for index, situation in enumerate(situations, start=1)]

    def evaluate(self, situation: Situation, index: int) -> Row:
        chat = self.config.chats[0]
        with self.store.session() as session:
            run, posts = self._play(session, situation, index)
            self.clock.set(max(p.created_at for p in posts.values()) + timedelta(seconds=30))
            engager = self.answerer.engager
            view = engager.view(session, run)
            target = view.by_id[posts[situation.target].tweet_id]
            (decision,) = decide(view, [target], engager.knowledge(session, chat), {})
            target.triage, target.triage_reason = decision.action, decision.reason
            proposed = self._draft(session, view, target, decision.action)
            said = [*view.own_texts(), *self.answerer.material.earlier_posts]
        return self._score(situation, decision.action, proposed, target, said, posts)

    def _play(
        self, session: Session, situation: Situation, index: int
    ) -> tuple[ChatRun, dict[str, ChatPost]]:
        chat = self.config.chats[0]
        start = START + timedelta(days=index)
        run = ChatRun(
            chat_slug=chat.slug, hashtag=chat.hashtag, window_start=start, window_end=start + chat.duration,
            opened_at=start,
        )  # fmt: skip
        session.add(run)
        session.flush()
        posts: dict[str, ChatPost] = {}
        for n, raw in enumerate(situation.posts):
            post = self._post(run, raw, n, posts)
            session.add(post)
            session.flush()
            note_opt_out(session, post, chat.slug, self.config)  # as the reader does
            posts[str(raw["key"])] = post
        return run, posts

    def _post(self, run: ChatRun, raw: dict[str, Any], n: int, earlier: dict[str, ChatPost]) -> ChatPost:
        chat, account = self.config.chats[0], self.config.account.handle
        text, author = str(raw["text"]), str(raw["by"])
        reply_to = earlier[raw["reply_to"]].tweet_id if raw.get("reply_to") else None
        quote_of = earlier[raw["quote"]].tweet_id if raw.get("quote") else None
        event = classify(
            text=text, author_username=author, hosts=chat.hosts, account_username=account,
            replied_to_id=reply_to, quoted_id=quote_of, mentions=_MENTION.findall(text),
        )  # fmt: skip
        at = run.window_start + timedelta(seconds=30 * (n + 1))
        return ChatPost(
            run_id=run.id,
            tweet_id=str(run.id * 1000 + n),
            author_id=author,
            author_username=author,
            text=text,
            created_at=at,
            reply_to_tweet_id=reply_to,
            quote_of_tweet_id=quote_of,
            mentions_account=event.mentions_account,
            is_own=event.kind == EventKind.OWN,
            event=PostEvent.OTHER if event.kind == EventKind.OWN else PostEvent(event.kind.value),
            question_number=event.question_number if event.kind == EventKind.QUESTION else None,
            read_at=at,
        )

    def _draft(self, session: Session, view: Any, target: ChatPost, action: Action) -> Proposed | None:
        if action == Action.ANSWER:
            return self.answerer.propose_answer(session, view, target)[0]
        if action in (Action.REPLY, Action.SHARE):
            return self.answerer.engager.propose(session, view, target, kind=action)[0]
        return None

    def _score(
        self,
        situation: Situation,
        decided: Action,
        proposed: Proposed | None,
        target: ChatPost,
        said: list[str],
        posts: dict[str, ChatPost],
    ) -> Row:
        row = Row(situation.name, situation.kind, str(decided), proposed.drafter if proposed else "-", "")
        row.checks = dict.fromkeys(CHECKS)
        row.checks["kind"] = decided == situation.kind
        if decided not in TEXT_ACTIONS:
            return row
        row.checks["drafted"] = True if situation.draft_optional else proposed is not None
        if proposed is None:
            return row
        text = row.text = proposed.text
        chat = self.config.chats[0]
        limit = 256 if decided == Action.SHARE else 280
        people = {p.author_username.casefold() for p in posts.values() if p.author_username}
        own = {bare_link(link) for link in self.answerer.material.links}
        cleaned = clean(text)
        links = [cleaned[s.start : s.end] for s in url_spans(cleaned)]
        row.checks["length"] = 0 < weighted_length(cleaned) <= limit
        if decided == Action.ANSWER:
            row.checks["A-n"] = answer_number(text) == target.question_number
        row.checks["hashtag"] = count_hashtag(text, chat.hashtag) == 1
        row.checks["own only"] = all(bare_link(u) in own for u in links) and all(
            m.casefold() in people for m in _MENTION.findall(cleaned)
        )
        row.checks["new"] = not any(near_duplicate(text, earlier) for earlier in said)
        if situation.talking_point is not None:
            points = self.config.account.talking_points
            row.checks["point"] = proposed.talking_point == points[situation.talking_point - 1]
        return row


def table(rows: list[Row]) -> str:
    """The Markdown table: one row per situation, then the share of each check passed where it applies."""
    mark = {True: "✓", False: "✗", None: "·"}
    lines = [
        "| # | situation | expected | decided | by | " + " | ".join(CHECKS) + " |",
        "|---|---|---|---|---|" + "---|" * len(CHECKS),
    ]
    for n, row in enumerate(rows, start=1):
        cells = " | ".join(mark[row.checks[c]] for c in CHECKS)
        lines.append(f"| {n} | {row.name} | {row.expected} | {row.decided} | {row.drafter} | {cells} |")
    totals = []
    for check in CHECKS:
        applied = [row.checks[check] for row in rows if row.checks[check] is not None]
        totals.append(f"{sum(1 for ok in applied if ok)}/{len(applied)}")
    lines.append("| | **passed** | | | | " + " | ".join(totals) + " |")
    return "\n".join(lines)


def summary(rows: list[Row]) -> dict[str, tuple[int, int]]:
    """Per check: (passed, applicable)."""
    result = {}
    for check in CHECKS:
        applied = [row.checks[check] for row in rows if row.checks[check] is not None]
        result[check] = (sum(1 for ok in applied if ok), len(applied))
    return result


def write_doc(doc: Path, body: str, drafter: str) -> None:
    """Put the table between the `drafts_eval` markers of `doc` (appended when the markers are missing)."""
    start, end = "<!-- drafts_eval -->", "<!-- /drafts_eval -->"
    section = (
        f"{start}\n_Drafter: {drafter}. Command: `python -m bench.drafts_eval --write`._\n\n{body}\n{end}"
    )
    text = doc.read_text(encoding="utf-8") if doc.exists() else ""
    if start in text and end in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end) :]
    else:
        text = f"{text.rstrip()}\n\n{section}\n"
    doc.write_text(text, encoding="utf-8")


def evaluate(drafter: Drafter, situations: list[Situation] | None = None) -> list[Row]:
    """Every situation through `drafter`, in a scratch database."""
    with tempfile.TemporaryDirectory() as workdir:
        evaluation = Evaluation(drafter, Path(workdir))
        try:
            return evaluation.run(situations if situations is not None else load_situations())
        finally:
            evaluation.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.drafts_eval", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.environ.get("CHATCADDY_MODEL", "gpt-4o-mini"))
    parser.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL") or None)
    parser.add_argument(
        "--write", action="store_true", help=f"put the table in {DOC.relative_to(BENCH.parent)}"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    key = os.environ.get("OPENAI_API_KEY") or ("none" if args.base_url else None)
    drafter = make_drafter(api_key=key, base_url=args.base_url, model=args.model, clock=FakeClock(START))
    name = f"LLM {args.model}" if key else "offline"
    rows = evaluate(drafter)
    if args.json:
        print(json.dumps([asdict(row) for row in rows], indent=2, ensure_ascii=False))
    else:
        print(table(rows))
    if args.write:
        write_doc(DOC, table(rows), name)


if __name__ == "__main__":
    main()
