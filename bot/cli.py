"""The `chatcaddy` command: argument parsing and dispatch. The work itself lives in the domain modules.

Every command returns an exit status: 0 done, 1 failed at runtime, 2 bad input (config, arguments, ids).
A `ChatcaddyError` is printed as its message, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from bot.errors import ChatcaddyError, ConfigError

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


def _settings():  # type: ignore[no-untyped-def]
    from bot.settings import load_settings

    return load_settings()


def _clock():  # type: ignore[no-untyped-def]
    from bot.clock import SystemClock

    return SystemClock()


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Command = args.func
    try:
        return func(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except ChatcaddyError as exc:
        print(f"chatcaddy: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
