"""`drbot`: the console on the embedded default (or AWS with DRBOT_BACKEND=aws)."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from bot.commands import build_registry
from bot.console import HELP, INTERRUPTED, PIPED_HELP, Console, run_console
from bot.digest_poster import SlackDigestPoster
from bot.interrupt import CtrlC
from bot.views.errors import explain
from orchestration.bootstrap import build_running_services, start_running
from orchestration.config import Settings
from orchestration.errors import DrbotError
from orchestration.observability import SERVICE
from scheduler.reporting import PrintingReporter
from scheduler.runtime import local_schedules, start_local_schedules, stop_local_schedules


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drbot",
        description=(
            "drbot: DRS drills from Slack. Without Slack credentials it opens the console: the same "
            "Slack app, its messages as text. Piped into, it runs each line and exits at the end."
        ),
        epilog=(
            f"In the console: {HELP} {PIPED_HELP} "
            "drbot serve [--http --port N] runs the Slack app (Socket Mode, or HTTP with --http)."
        ),
    )
    parser.add_argument("-c", "--command", action="append", help="run this /dr command and exit (repeatable)")
    parser.add_argument(
        "--db", type=Path, help="SQLite database file (default: DRBOT_DB_PATH or the user data dir)"
    )
    parser.add_argument("--user", default=None, help="who you are in the console (default: your login name)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """`drbot` (the console) or `drbot serve`; Ctrl-C anywhere ends it quietly with status 130."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print(file=sys.stderr)  # end the line the ^C was echoed on; no traceback
        return INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        from bot.serve import main as serve_main

        return serve_main(argv[1:])
    args = _parser().parse_args(argv)
    console_logging(sys.stderr, os.environ)
    # Ctrl-C must end the session wherever the main thread waits, even at a terminal's prompt:
    # bot/interrupt.py says why that needs more than Python's default handler
    with CtrlC():
        return _console(args)


def _console(args: argparse.Namespace) -> int:
    try:
        overrides = {"db_path": args.db} if args.db else {}
        # the local runner drives executions in the background; the console's Slack prints their
        # events as they happen (the console sets the notifier, so the runner starts after it)
        services = build_running_services(Settings.from_env(**overrides), start=False)
    except DrbotError as error:
        print(f"drbot: {explain(error)}", file=sys.stderr)
        return 2
    user = args.user or _login_name()
    registry = build_registry()
    schedules = local_schedules(services)  # what fires schedules here, handed to the commands
    try:
        with Console(services, registry, user, sys.stdout, schedules=schedules) as console:
            # now that events reach the console: runs a previous drbot left are picked up, and drill
            # schedules fire in this process too (rebuilt from the store; late fires handled now)
            start_running(services)
            # the monthly digest is posted in the console's Slack, as a message in its channel
            digests = SlackDigestPoster(console.slack.client())
            start_local_schedules(
                services, PrintingReporter(sys.stdout), backend=schedules, digest_poster=digests
            )
            if args.command:
                return console.run(args.command, echo=False)
            return run_console(console)
    finally:
        stop_local_schedules(schedules)
        services.close()


LOG_LEVEL_VARIABLES = ("POWERTOOLS_LOG_LEVEL", "LOG_LEVEL")


def console_logging(stderr: TextIO, env: Mapping[str, str]) -> None:
    """The console's stdout is its conversation: drbot's JSON log lines (the powertools loggers,
    which write to stdout as Lambda wants) go to stderr instead, and only warnings and errors
    unless POWERTOOLS_LOG_LEVEL or LOG_LEVEL asks for more."""
    logger = logging.getLogger(SERVICE)  # every powertools Logger(service="drbot") logs through it
    for handler in logger.handlers:
        if type(handler) is logging.StreamHandler:
            handler.setStream(stderr)
    if not any(env.get(name) for name in LOG_LEVEL_VARIABLES):
        logger.setLevel(logging.WARNING)


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "console-user"


if __name__ == "__main__":
    sys.exit(main())
