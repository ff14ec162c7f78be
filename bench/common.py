"""The benchmarks' shared harness: generated chats, the config they run under, a rig that plays them
through the real pipeline in virtual time, figures and tables, and `docs/benchmarks.md`.

A rig is what `chatcaddy sandbox replay` runs, opened up: the sandbox X server over HTTP, the real tweepy
client (with the usage recorder the runner gives it), the worker's jobs, the drafter, the queue and the
publisher, a migrated SQLite file, all on a `ReplayClock` (virtual time that jumps between steps and runs at
real speed within one, so a latency includes the real work).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from bot.clock import FakeClock
from bot.config import Config, ReadMode, parse_config
from bot.drafting import Drafter
from bot.drafting.llm import LLMDrafter
from bot.errors import DraftStateError
from bot.log import configure_logging
from bot.policy import UsageRecorder
from bot.reading import PollResult
from bot.replay import ReplayClock, drive
from bot.review import approve, queue
from bot.runner import sandbox_gateway
from bot.sandbox.server import SandboxServer
from bot.sandbox.transcript import Transcript, TranscriptPost, User
from bot.schedule import Window
from bot.store.db import Store, open_store
from bot.worker import Worker

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
START = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Monday 21:00 in New York, as the replay

# --- figures and tables ------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank `q` percentile (0-100) of `values`; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table; numbers are written as given (format them first)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def met(ok: bool | None) -> str:
    return "–" if ok is None else "met" if ok else "**missed**"


# --- docs/benchmarks.md ------------------------------------------------------------------------------------

SECTIONS = {
    "latency": ("1. Latency: host question to draft queued", "bench.latency"),
    "read_cost": ("2. Read cost: what a chat costs in X reads", "bench.read_cost"),
    "search_requests": ("3. Search requests with several chats live", "bench.search_requests"),
    "own_work": ("4. Own work: posts per CPU-second, LLM tokens and calls", "bench.own_work"),
    "dashboard": ("5. Dashboard: the queue with 1,000 pending drafts", "bench.dashboard"),
    "memory": ("6. Memory: a worker through an evening and a week", "bench.memory"),
}

_INTRO = """# Benchmarks

What a person feels is how soon after the host's question the draft is in front of them; what a chat costs
is X reads and LLM tokens. Every figure below comes from the real pipeline (sandbox X server over HTTP, the
real tweepy client, the worker's jobs, the drafter, the queue, the publisher, a SQLite file) driven in virtual
time: the clock jumps between due moments and runs at real speed within one, so latencies include real work.

Run them all with `make bench` (`python -m bench`), or one at a time with `python -m bench.latency`,
`bench.read_cost`, `bench.search_requests`, `bench.own_work`, `bench.dashboard`, `bench.memory`; each
rewrites its own section below, with the machine and the command that made it. X's limits and prices are
those of `shared/x-api.md`: a recent search 300 times per 15 minutes, a post read $0.005 and a user read
$0.010, each de-duplicated per UTC day; an empty search is free.
"""


_PROFILES = """## Profiles: what the missed goals took

Profiled with cProfile over the worker's polls and the dashboard's requests (`time.thread_time` for CPU).

- **The sandbox** was the first bottleneck: every search rebuilt every post's search document and walked
  every post for each post's metrics. Cached documents, an id-ordered index and lazy user metrics took an
  empty search on an 800-post world from 51 ms to 0.05 ms (`bot/sandbox/`).
- **Own work** (162 posts per CPU-second before): triage was quadratic (`RunView.responses` scanned the run
  for every post, and each decision copied all earlier ones), every draft reloaded the whole run from the
  database, the reader queried and flushed once per post, and the policy was asked per post what is the same
  for every author. Now the run's view is indexed and kept between polls (a narrow query brings back only
  what changed), the reader stores a poll in one bulk insert, and the policy's reads are shared per pass.
  Every triage decision and draft of a 2,000-post backlog came out byte-identical before and after. Last, a
  full garbage collection walked start-up's ~170,000 objects in the middle of the poll (~100 ms): the worker
  now freezes them once started (`bot/heap.py`), and the bench does the same before the poll it times.
- **Answers with the offline drafter**: in a 10-question session it may run out of material not yet said
  and then drafts nothing rather than repeat itself (2 of 110 here); the LLM drafter answers all.
- **LLM input tokens**: an answer's prompt listed everything the account had said in the chat, so it grew
  all chat long (p95 1,550); it now lists the latest five (the guard still checks them all).
- **The queue page** (227 ms p95 before) asked the ledger again for every draft shown (drafts in flight,
  counts, promotions) and loaded all 1,000 drafts to show 125: the ledger's reads are now shared within a
  page, drafts are listed by id and loaded once, and the heap is frozen at start-up as above.
"""


@dataclass(frozen=True)
class Headline:
    """One row of the summary at the top: a measure, its figure and its goal."""

    measure: str
    figure: str
    goal: str
    ok: bool | None


@dataclass
class Section:
    """What one benchmark writes: its Markdown body and its headline rows."""

    name: str
    body: str
    headlines: list[Headline]
    seconds: float = 0.0


def machine() -> str:
    """CPU, cores, memory, OS, Python and SQLite of this machine, in one line."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        cpu = names[0].strip() if names else cpu
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        found = re.search(r"^MemTotal:\s*(\d+) kB", meminfo.read_text(), re.M)
        memory = f", {int(found.group(1)) / 1024**2:.0f} GB RAM" if found else ""
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def write_section(section: Section, *, command: str, doc: Path = DOC) -> None:
    """Put `section` into `doc` between its markers (the others stay as they were) and update the
    headlines at the top."""
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.touch(exist_ok=True)
    with doc.open("r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # benchmarks running side by side write one at a time
        text = _updated(handle.read(), section, command)
        handle.seek(0)
        handle.truncate()
        handle.write(text)


def _updated(text: str, section: Section, command: str) -> str:
    """The page `text` with `section` in its place and its headlines at the top."""
    bodies = {
        name: body for name, body in re.findall(r"<!-- bench:(\w+) -->\n(.*?)<!-- /bench:\1 -->", text, re.S)
    }
    found = re.search(r"<!-- headlines (.*?) -->", text, re.S)
    headlines: dict[str, list[dict[str, Any]]] = json.loads(found.group(1)) if found else {}
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    bodies[section.name] = (
        f"{section.body.rstrip()}\n\n_Machine: {machine()}. Command: `{command}`. "
        f"Run {stamp}, took {section.seconds:.0f} s._\n"
    )
    headlines[section.name] = [asdict(h) for h in section.headlines]
    return _render_doc(bodies, headlines)


def _render_doc(bodies: dict[str, str], headlines: dict[str, list[dict[str, Any]]]) -> str:
    rows = [
        (SECTIONS[name][0].split(":")[0], h["measure"], h["figure"], h["goal"], met(h["ok"]))
        for name in SECTIONS
        for h in headlines.get(name, [])
    ]
    parts = [
        _INTRO,
        "## Headlines\n",
        f"<!-- headlines {json.dumps(headlines, ensure_ascii=False)} -->",
        table(("benchmark", "measure", "figure", "goal", ""), rows) if rows else "_Nothing run yet._",
        "",
    ]
    for name, (title, module) in SECTIONS.items():
        body = bodies.get(name, "").strip().removeprefix(f"## {title}").strip()
        parts += [
            f"<!-- bench:{name} -->",
            f"## {title}\n",
            f"{body or f'_Not run yet: `python -m {module}`._'}\n",
            f"<!-- /bench:{name} -->",
            "",
        ]
    parts.append(_PROFILES)
    return "\n".join(parts)


def finish(section: Section, *, command: str, doc: Path, started: float) -> Section:
    """Stamp the run time on `section`, write it and print its headlines."""
    section.seconds = time.perf_counter() - started
    write_section(section, command=command, doc=doc)
    for h in section.headlines:
        print(f"  {h.measure}: {h.figure}  (goal {h.goal}: {met(h.ok)})", flush=True)
    return section


def quiet_logs() -> None:
    """Log as a deployed worker does (INFO, JSON), to nowhere: the cost of logging stays in the figures."""
    configure_logging(level="INFO", stream=open(os.devnull, "w"), json=True)  # noqa: SIM115 - lives on
    logging.getLogger("httpx").setLevel(logging.WARNING)


# --- who takes part ----------------------------------------------------------------------------------------

ACCOUNT = User("1000", "ada_builds", "Ada Example", "Backend engineer moving into platform work.")
TALKING_POINTS = (
    "I keep a list of company career handles and check it every Monday",
    "I write a short write-up after each side project, one page at most",
    "I ask for a referral only after a real conversation, never cold",
    "I track every application in a spreadsheet with the date of the next follow-up",
    "I'm moving from backend to platform engineering and learning Kubernetes in public",
)
_FIRST = [
    "Sam",
    "Priya",
    "Marcus",
    "Lena",
    "DeShawn",
    "Mei",
    "Rafa",
    "Hannah",
    "Omar",
    "Jules",
    "Nia",
    "Tom",
    "Aisha",
    "Kenji",
    "Carla",
    "Ben",
    "Sofia",
    "Grace",
]
_LAST = [
    "Ortiz",
    "Natarajan",
    "Lee",
    "Fischer",
    "Carter",
    "Chen",
    "Souza",
    "Brooks",
    "Haddad",
    "Martin",
    "Okafor",
    "Becker",
    "Rahman",
    "Kim",
]
_ROLES = [
    "recruiter",
    "career coach",
    "new grad",
    "designer",
    "data analyst",
    "SRE",
    "PM",
    "frontend dev",
    "HR partner",
]
_CITIES = ["Austin", "Toronto", "Lisbon", "Berlin", "Lagos", "Pune", "Denver", "Leeds", "Manila", "Chicago"]


def people(count: int, *, first_id: int = 5000) -> list[User]:
    """`count` participants with numeric ids from `first_id` and usernames p<id>."""
    return [
        User(
            str(first_id + i),
            f"p{first_id + i}",
            f"{_FIRST[i % len(_FIRST)]} {_LAST[(i * 7) % len(_LAST)]}",
            f"{_ROLES[i % len(_ROLES)]} in {_CITIES[(i * 3) % len(_CITIES)]}",
        )
        for i in range(count)
    ]


@dataclass(frozen=True)
class ChatSpec:
    """One chat as the config and the transcript both see it."""

    slug: str
    hashtag: str
    host: User
    read: ReadMode = "all"
    poll: int = 10
    minutes: int = 60

    def chat_yaml(self) -> str:
        return (
            f"  - slug: {self.slug}\n"
            f'    hashtag: "{self.hashtag}"\n'
            f"    title: {self.slug.title()}\n"
            '    when: {day: monday, time: "21:00", timezone: America/New_York, every: week}\n'
            f"    duration: {self.minutes}m\n"
            f'    hosts: ["@{self.host.username}"]\n'
            f"    read: {self.read}\n"
            f"    poll: {self.poll}\n"
        )


def chat_spec(n: int, *, prefix: str = "Bench", **changes: Any) -> ChatSpec:
    """The n-th benchmark chat: slug `<prefix>-<n>`, hashtag `#<Prefix>Chat<n>`, host `host_<prefix><n>`."""
    host = User(
        str(2000 + n), f"host_{prefix.lower()[:6]}{n:02d}", f"{prefix} Chat {n} host", "Weekly chat host"
    )
    return ChatSpec(f"{prefix.lower()}-{n:02d}", f"#{prefix}Chat{n:02d}", host, **changes)


MATERIAL = Path(__file__).resolve().parent / "material"  # a bio, earlier posts and links, as a user keeps


def make_config(chats: Sequence[ChatSpec], *, material: Path | None = None) -> Config:
    """The benchmark's config: the shipped account, these chats, and a budget high enough never to narrow
    a chat's reading (the budget is not what is measured here); with `material`, the account's folder."""
    points = "".join(f"    - {point}\n" for point in TALKING_POINTS)
    folder = f"  material: {material}\n" if material else ""
    text = (
        "account:\n"
        f'  handle: "@{ACCOUNT.username}"\n'
        f"  name: {ACCOUNT.name}\n"
        "  bio: Backend engineer moving into platform work; writes about Python and job hunting.\n"
        "  voice: warm, curious, concrete; one idea per post\n"
        f"  talking_points:\n{points}"
        "  own_links: [https://ada.example.dev]\n"
        f"{folder}"
        "policy:\n"
        "  usd_per_chat: 1000\n"
        "  usd_per_month: 100000\n"
        "chats:\n" + "".join(chat.chat_yaml() for chat in chats)
    )
    return parse_config(text, "<bench config>")


# --- what they post -----------------------------------------------------------------------------------------

QUESTIONS = (
    "How do you keep track of the roles you apply for?",
    "What's one thing that made an interview go well for you?",
    "How do you ask for a referral without it feeling awkward?",
    "Which skills are you learning this quarter, and how?",
    "How do you follow up after you hear nothing back?",
    "What do you put in a portfolio or write-up?",
    "How do you pick which companies to target?",
    "What's your best networking habit?",
    "How do you handle rejection and keep going?",
    "What would you tell someone starting their search today?",
)
_ANSWERS = (
    "honestly it starts with a clear list and a weekly routine",
    "small steps every day beat one big push on Sunday",
    "I talk to people doing the job before I apply",
    "keeping notes after every call saves me every time",
    "practice out loud, it feels silly and it works",
    "I block an hour each morning for outreach",
    "being specific about the role helps people help you",
    "a friend reviews my résumé and I review theirs",
    "I give myself a break after a rejection, then one small action",
    "reading the job post twice and mirroring its words",
)
_TOPICAL = (
    "I track every application in a spreadsheet with a follow-up date",
    "a one-page write-up after each side project says more than a résumé line",
    "asking for a referral only after a real conversation works best",
    "checking a list of company career handles every Monday",
)
_REACTIONS = (
    "Love this, stealing it",
    "So true, same here",
    "Great point, thanks for sharing",
    "This is the one",
    "Needed to hear this today",
    "Yes! And write it down",
)


@dataclass(frozen=True)
class ChatShape:
    """How one chat session goes: its length, posts (reposts come on top), questions and mix."""

    posts: int = 600
    questions: int = 10
    minutes: float = 60.0
    reply_share: float = 0.25
    mention_share: float = 0.03
    topical_share: float = 0.05
    repost_share: float = 0.05
    jitter: float = 0.0  # questions move up to this share of their spacing either way, at random


def chat_posts(
    spec: ChatSpec, shape: ChatShape, crowd: Sequence[User], *, at: timedelta, seed: int
) -> list[TranscriptPost]:
    """One session of `spec`'s chat starting `at` after the transcript's start: a welcome, introductions,
    the host's questions, answers, replies, mentions of the account, reposts and a closing post."""
    rng = random.Random(seed)
    tag, host = spec.hashtag, spec.host.username
    length = timedelta(minutes=shape.minutes)
    first_q = length * 0.08
    spacing = (length * 0.88 - first_q) / max(shape.questions, 1)
    scripted: list[tuple[timedelta, str, str, str | None]] = [
        (timedelta(0), host, f"Welcome to {tag}! Say hi: who are you and where are you joining from?", None),
        (
            length * 0.01,
            host,
            f"Format: I post Q1, Q2... you answer A1, A2... Keep {tag} in every post",
            None,
        ),
        (length * 0.97, host, f"That's a wrap on {tag}! Thanks everyone, see you next week", None),
    ]
    questions = [
        first_q + spacing * (i + rng.uniform(-shape.jitter, shape.jitter)) for i in range(shape.questions)
    ]
    scripted += [
        (when, host, f"Q{i + 1} {QUESTIONS[i % len(QUESTIONS)]} {tag}", None)
        for i, when in enumerate(questions)
    ]
    rest = max(shape.posts - len(scripted), 0)
    intros = min(len(crowd), rest // 10)
    for i in range(intros):
        who = crowd[i]
        scripted.append(
            (first_q * rng.uniform(0.05, 0.95), who.username, f"Hi all, {who.description}. {tag}", "welcome")
        )
    for _ in range(rest - intros):
        scripted.append(_chatter(rng, shape, crowd, questions, spacing, tag))
    scripted.sort(key=lambda item: item[0])
    return _keyed(spec.slug, scripted, at, rng, shape.repost_share)


def _chatter(
    rng: random.Random,
    shape: ChatShape,
    crowd: Sequence[User],
    questions: list[timedelta],
    spacing: timedelta,
    tag: str,
) -> tuple[timedelta, str, str, str | None]:
    """One participant's post after question n: a reply, a mention of the account, a topical answer (one
    touching the account's talking points) or an answer."""
    n = rng.randrange(len(questions)) if questions else 0
    when = (questions[n] if questions else timedelta(0)) + spacing * min(rng.expovariate(3.0), 0.98)
    who = rng.choice(crowd).username
    roll = rng.random()
    if roll < shape.reply_share:
        return when, who, f"{rng.choice(_REACTIONS)} {tag}", "reply"
    roll -= shape.reply_share
    if roll < shape.mention_share:
        return (
            when,
            who,
            f"@{ACCOUNT.username} {rng.choice(_REACTIONS).lower()}, what's your take? {tag}",
            None,
        )
    roll -= shape.mention_share
    if roll < shape.topical_share:
        return when, who, f"A{n + 1} {rng.choice(_TOPICAL)} {tag}", "question"
    return when, who, f"A{n + 1} {rng.choice(_ANSWERS)} {tag}", "question" if rng.random() < 0.3 else None


def _keyed(
    slug: str,
    scripted: list[tuple[timedelta, str, str, str | None]],
    at: timedelta,
    rng: random.Random,
    repost_share: float,
) -> list[TranscriptPost]:
    """Give the scripted posts keys and their reply targets (always an earlier post), add reposts."""
    posts: list[TranscriptPost] = []
    last_question: str | None = None
    welcome = f"{slug}-0"
    for i, (when, by, text, target) in enumerate(scripted):
        key = f"{slug}-{i}"
        reply_to = None
        if target == "welcome" and i > 0:
            reply_to = welcome
        elif target == "question":
            reply_to = last_question
        elif target == "reply" and posts:
            # Replying to a repost replies to its original on X: only posts proper are targets.
            reply_to = rng.choice([p for p in posts[-30:] if p.repost is None]).key
        if text.startswith("Q") and text[1].isdigit():
            last_question = key
        # A millisecond apart at least: a reply always comes after what it answers.
        offset = at + max(when, timedelta(milliseconds=i))
        posts.append(TranscriptPost(at=offset, by=by, text=text, key=key, reply_to=reply_to))
        if rng.random() < repost_share and len(posts) > 1:
            original = rng.choice(posts[:-1])
            posts.append(
                TranscriptPost(
                    at=offset, by=rng.choice(scripted)[1], text="", key=f"{key}-rt", repost=original.key
                )
            )
    return posts


def week_before(
    spec: ChatSpec, crowd: Sequence[User], *, per_day: int, days: int, seed: int
) -> list[TranscriptPost]:
    """The hashtag's traffic between sessions (visible before the chat starts): the host's reminders and
    people's follow-ups, `per_day` a day over the last `days` days."""
    rng = random.Random(seed)
    posts = []
    for i in range(per_day * days):
        when = -timedelta(days=days) + timedelta(days=days) * rng.random() - timedelta(minutes=5)
        by = spec.host.username if rng.random() < 0.2 else rng.choice(crowd).username
        text = rng.choice(
            (
                f"Join us Monday 9pm ET for {spec.hashtag}!",
                f"Still thinking about last week's {spec.hashtag}: {rng.choice(_ANSWERS)}",
                f"{rng.choice(_REACTIONS)}: great discussion in {spec.hashtag}",
            )
        )
        posts.append(TranscriptPost(at=when, by=by, text=text, key=f"{spec.slug}-bg{i}"))
    return sorted(posts, key=lambda post: post.at)


def transcript(
    chats: Sequence[ChatSpec], crowd: Sequence[User], posts: Iterable[TranscriptPost]
) -> Transcript:
    """One transcript the sandbox plays: every host and participant, the posts in time order."""
    ordered = sorted(posts, key=lambda post: post.at)  # stable: a repost stays after its original
    users = {u.username: u for u in [*(chat.host for chat in chats), *crowd]}
    return Transcript(chats[0].hashtag, ACCOUNT, tuple(users.values()), tuple(ordered), source="<bench>")


# --- the rig ------------------------------------------------------------------------------------------------

_template: tempfile.TemporaryDirectory[str] | None = None


def migrated_store(folder: str | Path) -> Store:
    """A store on a fresh SQLite file in `folder`, at the newest migration: migrated once per process, then
    copied (migrating costs more than a small benchmark run)."""
    global _template
    if _template is None:
        _template = tempfile.TemporaryDirectory(prefix="chatcaddy-bench-template-")
        open_store(f"sqlite:///{_template.name}/template.db", auto_upgrade=True).dispose()
    target = Path(folder) / "bench.db"
    shutil.copyfile(Path(_template.name) / "template.db", target)
    return open_store(f"sqlite:///{target}")


class TimedWorker(Worker):
    """The real worker, noting when each poll starts and what it cost its thread in CPU and wall time."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ticks: list[datetime] = []
        self.tick_cpu: list[float] = []  # seconds, per poll
        self.wall_seconds = 0.0
        self.posts_read = 0

    @property
    def cpu_seconds(self) -> float:
        return sum(self.tick_cpu)

    def tick(self) -> PollResult:
        self.ticks.append(self.clock.now())
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            result = super().tick()
            self.posts_read += sum(len(posts) for posts in result.new_posts.values())
            return result
        finally:
            self.tick_cpu.append(time.thread_time() - cpu)
            self.wall_seconds += time.perf_counter() - wall


@dataclass
class Rig:
    """A sandbox playing `transcript`, a migrated SQLite file and the real worker, on one clock."""

    transcript: Transcript
    config: Config
    drafter: Drafter
    start: datetime = START
    clock: FakeClock = field(default_factory=lambda: ReplayClock(START))
    approve: bool = True
    held: set[int] = field(default_factory=set)

    def __enter__(self) -> Rig:
        self._folder = tempfile.TemporaryDirectory(prefix="chatcaddy-bench-")
        self.store: Store = migrated_store(self._folder.name)
        self.server = SandboxServer(self.transcript, clock=self.clock, start=self.start)
        self.server.start()
        self.worker = TimedWorker(
            config=self.config,
            store=self.store,
            gateway=sandbox_gateway(self.server, self.clock, on_request=UsageRecorder(self.store)),
            drafter=self.drafter,
            clock=self.clock,
        )
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.worker.close()
        if isinstance(self.drafter, LLMDrafter):
            self.drafter.close()  # its connections to the model, as the worker's process end would
        self.server.stop()
        self.store.dispose()
        self._folder.cleanup()

    def play(self, windows: Sequence[Window], *, until: datetime | None = None) -> None:
        """Join each window when it opens, poll, draft, approve (when `approve`) and post as the worker
        does, until `until` (default: a second after the last window ends); then close what ended."""
        step = (
            (lambda: approve_pending(self.store, self.clock, self.config, self.held))
            if self.approve
            else None
        )
        play(self.worker, self.clock, windows, until=until, each_step=step)


def play(
    worker: Worker,
    clock: FakeClock,
    windows: Sequence[Window],
    *,
    until: datetime | None = None,
    each_step: Callable[[], None] | None = None,
) -> None:
    """Drive `worker` through `windows` in virtual time: join each when it opens (as the join job does),
    poll and post in between, until `until` (default: a second after the last window ends); then one
    more poll closes what ended."""
    for window in sorted(windows, key=lambda w: w.start):
        if clock.now() < window.start:
            drive(worker, clock, until=window.start, each_step=each_step)
        worker.join_window(worker.config.chat(window.chat_slug), window)
    end = until or max(w.end for w in windows) + timedelta(seconds=1)
    drive(worker, clock, until=end, each_step=each_step)
    worker.tick()


def approve_pending(store: Store, clock: FakeClock, config: Config, held: set[int]) -> None:
    """Approve every pending draft the policy lets through, one by one, as a person would; the ones it
    holds go into `held` and are not tried again."""
    for draft in queue(store):
        if draft.id in held:
            continue
        try:
            approve(store, [draft.id], clock=clock, by="bench", config=config)
        except DraftStateError:  # held by the policy (PolicyHold), or decided meanwhile
            held.add(draft.id)


def windows_of(chats: Sequence[ChatSpec], starts: Sequence[datetime]) -> list[Window]:
    return [
        Window(chat.slug, at, at + timedelta(minutes=chat.minutes))
        for chat, at in zip(chats, starts, strict=True)
    ]
