"""The `chatcaddy` command: argument parsing and dispatch. The work itself lives in the domain modules.

Every command returns an exit status: 0 done, 1 failed at runtime, 2 bad input (config, arguments, ids).
A `ChatcaddyError` is printed as its message, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bot.errors import ChatcaddyError, ConfigError, DraftStateError

if TYPE_CHECKING:
    from bot.clock import SystemClock
    from bot.config import Config
    from bot.settings import Settings
    from bot.store.db import Store

Command = Callable[[argparse.Namespace], int]


def _check(args: argparse.Namespace) -> int:
    from bot.schedule import check_report

    status, text = check_report(args.config or _settings().chatcaddy_config)
    print(text, file=sys.stdout if status == 0 else sys.stderr)
    return status


def _chats(args: argparse.Namespace) -> int:
    from datetime import datetime

    from bot.config import load_config
    from bot.schedule import chats_report

    config = load_config(args.config or _settings().chatcaddy_config)
    local_tz = datetime.now().astimezone().tzinfo
    assert local_tz is not None
    print(chats_report(config, _clock().now(), local_tz, args.json))
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from bot.store.db import upgrade

    upgrade(_settings().database_url)
    print("database is at the newest schema")
    return 0


def _sandbox_serve(args: argparse.Namespace) -> int:
    from bot.sandbox import serve

    return serve(args.transcript, speed=args.speed, port=args.port, tier=args.tier, start=None)


def _run(args: argparse.Namespace) -> int:
    from bot.runner import run

    return run(_settings(), sandbox=args.sandbox, web=not args.no_web, host=args.host, port=args.port)


def _web(args: argparse.Namespace) -> int:
    from bot.runner import serve_web

    return serve_web(_settings(), host=args.host, port=args.port)


def _queue(args: argparse.Namespace) -> int:
    from bot.review import queue, render_queue

    print(render_queue(queue(_store(), chat=args.chat, include_all=args.all), as_json=args.json))
    return 0


def _show(args: argparse.Namespace) -> int:
    from bot.review import render_show, show

    print(render_show(*show(_store(), args.id)))
    return 0


def _approve(args: argparse.Namespace) -> int:
    from bot.review import approve

    drafts = approve(_store(), args.ids, clock=_clock(), by="cli", text=args.text, config=_config(args))
    for draft in drafts:
        if draft.handoff_url:
            print(f"approved #{draft.id}: post it yourself on X (the text is filled in): {draft.handoff_url}")
        else:
            print(f"approved #{draft.id}: the worker posts it (once) within seconds")
    return 0


def _reject(args: argparse.Namespace) -> int:
    from bot.review import reject

    for draft in reject(_store(), args.ids, clock=_clock(), by="cli", reason=args.reason or ""):
        print(f"rejected #{draft.id}")
    return 0


def _regenerate(args: argparse.Namespace) -> int:
    from bot.answering import Answerer
    from bot.config import load_config
    from bot.runner import drafter_from_settings

    settings, clock = _settings(), _clock()
    answerer = Answerer(
        config=load_config(args.config or settings.chatcaddy_config),
        store=_store(),
        drafter=drafter_from_settings(settings, clock),
        clock=clock,
    )
    draft = answerer.regenerate(args.id, hint=args.hint, by="cli")
    print(f"regenerated #{draft.id} ({draft.kind}, pending): {draft.text}")
    return 0


def _policy(args: argparse.Namespace) -> int:
    from bot.policy import render_standing, standing

    config = _config(args)
    if args.chat is not None:
        config.chat(args.chat)  # an unknown slug is an error naming the known ones
    with _store().session() as session:
        found = standing(session, config, _clock().now(), chat=args.chat)
    print(render_standing(found, as_json=args.json))
    return 0


def _reclassify(args: argparse.Namespace) -> int:
    from bot.policy import reclassify

    with _store().session() as session:
        draft = reclassify(session, args.id, args.promotional, _config(args), by="cli", at=_clock().now())
    said = "promotional" if draft.promo_override else "not promotional"
    print(f"draft #{draft.id} is now {said} (logged in its history: chatcaddy show {draft.id})")
    return 0


def _replay(args: argparse.Namespace) -> int:
    import json

    from bot.config import load_config
    from bot.log import configure_logging
    from bot.replay import Replay, render_summary
    from bot.runner import drafter_from_settings
    from bot.sandbox.transcript import load_transcript

    settings = _settings()
    configure_logging(secrets=settings.secret_values(), level="WARNING")
    replay = Replay(
        config=load_config(args.config or settings.chatcaddy_config),
        transcript=load_transcript(args.transcript),
        store=_store(),
        drafter=drafter_from_settings(settings, _clock()),
        speed=args.speed,
        approve=args.approve,
    )
    summary = replay.run()
    print(json.dumps(summary, indent=2, ensure_ascii=False) if args.json else render_summary(summary))
    return 0


def _settings() -> Settings:
    from bot.settings import load_settings

    return load_settings()


def _clock() -> SystemClock:
    from bot.clock import SystemClock

    return SystemClock()


def _config(args: argparse.Namespace) -> Config:
    from bot.config import load_config

    return load_config(getattr(args, "config", None) or _settings().chatcaddy_config)


def _store() -> Store:
    from bot.store.db import open_store

    return open_store(_settings().database_url, auto_upgrade=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatcaddy", description="A caddy for Twitter/X chats.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="validate schedules.yaml and print OK or every problem")
    check.add_argument("--config", help="config file (default: $CHATCADDY_CONFIG or ./schedules.yaml)")
    check.set_defaults(func=_check)

    chats = sub.add_parser("chats", help="each chat's next three windows, in its zone and yours")
    chats.add_argument("--config")
    chats.add_argument("--json", action="store_true")
    chats.set_defaults(func=_chats)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="migrate the database to the newest schema").set_defaults(
        func=_db_upgrade
    )

    sandbox = sub.add_parser("sandbox", help="the local X API server that plays a chat transcript")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="ACTION")
    serve = sandbox_sub.add_parser("serve", help="serve a transcript on 127.0.0.1")
    serve.add_argument("--transcript", required=True)
    serve.add_argument("--speed", type=float, default=1.0, help="play N times faster than real time")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--tier", choices=["self-serve", "unrestricted"], default="self-serve")
    serve.set_defaults(func=_sandbox_serve)
    replay = sandbox_sub.add_parser("replay", help="play one whole chat through the real pipeline, then exit")
    replay.add_argument("--transcript", required=True)
    replay.add_argument("--config")
    replay.add_argument("--speed", type=float, default=1.0)
    replay.add_argument("--approve", choices=["all", "none"], default="none")
    replay.add_argument("--json", action="store_true")
    replay.set_defaults(func=_replay)

    run = sub.add_parser("run", help="the worker: join the chats on schedule, draft, post what you approve")
    run.add_argument("--sandbox", action="store_true", help="play the bundled demo chat on a local X sandbox")
    run.add_argument("--no-web", action="store_true", help="do not serve the dashboard")
    _web_address(run)
    run.set_defaults(func=_run)

    web = sub.add_parser("web", help="serve the approval dashboard (and its JSON API)")
    _web_address(web)
    web.set_defaults(func=_web)

    q = sub.add_parser("queue", help="drafts waiting for you")
    q.add_argument("--json", action="store_true")
    q.add_argument("--chat", help="only this chat (its slug)")
    q.add_argument("--all", action="store_true", help="every draft, not only pending ones")
    q.set_defaults(func=_queue)

    show = sub.add_parser("show", help="one draft, the post it answers and its history")
    show.add_argument("id", type=int)
    show.set_defaults(func=_show)

    approve = sub.add_parser("approve", help="approve drafts; the worker posts each exactly once")
    approve.add_argument("ids", type=int, nargs="+", metavar="ID")
    approve.add_argument("--text", help="post this text instead (checked again)")
    approve.set_defaults(func=_approve)

    reject = sub.add_parser("reject", help="reject drafts")
    reject.add_argument("ids", type=int, nargs="+", metavar="ID")
    reject.add_argument("--reason")
    reject.set_defaults(func=_reject)

    regenerate = sub.add_parser("regenerate", help="fresh text for a draft, same target (old text kept)")
    regenerate.add_argument("id", type=int)
    regenerate.add_argument("--hint", help="steer the new draft, e.g. 'mention the homelab'")
    regenerate.add_argument("--config")
    regenerate.set_defaults(func=_regenerate)

    pol = sub.add_parser(
        "policy", help="your standing: engagement before promotion, limits, budget, held drafts"
    )
    pol.add_argument("--json", action="store_true")
    pol.add_argument("--chat", help="only this chat (its slug)")
    pol.add_argument("--config")
    pol.set_defaults(func=_policy)

    recl = sub.add_parser("reclassify", help="say whether a draft is promotional (logged in its history)")
    recl.add_argument("id", type=int)
    verdict = recl.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--promotional", dest="promotional", action="store_true")
    verdict.add_argument("--not-promotional", dest="promotional", action="store_false")
    recl.add_argument("--config")
    recl.set_defaults(func=_reclassify)
    return parser


def _web_address(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="dashboard address (default 127.0.0.1; others need DASHBOARD_PASSWORD)",
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="dashboard port (default 8000; 0 picks a free one)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Command = args.func
    try:
        return func(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except DraftStateError as exc:  # an unknown id, a draft no longer pending, an edit that can't be posted
        print(f"chatcaddy: {exc}", file=sys.stderr)
        return 2
    except ChatcaddyError as exc:
        print(f"chatcaddy: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
