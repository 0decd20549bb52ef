"""`drbot serve [--http [--port N]]`: the Slack app as a long-lived local process.

Socket Mode (the default) dials out to Slack over a WebSocket with the app-level token
(SLACK_APP_TOKEN, xapp-…), so it needs no public URL: the way to run drbot on a laptop or a bastion.
`--http` serves `http://0.0.0.0:PORT/slack/events` instead (bot/http_server.py: a threaded HTTP
server that reads requests as the Lambda entry does; for a tunnel or a reverse proxy). Either
way, on the embedded default, this process also drives executions (the local runner) and fires
drill schedules (the local schedule backend, reporting skipped fires to the schedule's channel);
the bot token and signing secret come from SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from bot.app import build_app, socket_mode_handler
from bot.app_home import publisher_of
from bot.digest_poster import SlackDigestPoster
from bot.http_server import slack_http_server
from bot.schedule_reporter import SlackScheduleReporter
from bot.slack_notifier import SlackNotifier
from orchestration.config import (
    ENV_SLACK_APP_TOKEN,
    ENV_SLACK_BOT_TOKEN,
    ENV_SLACK_SIGNING_SECRET,
    Settings,
)
from orchestration.context import Services
from orchestration.errors import DrbotError
from scheduler.runtime import local_schedules, start_local_schedules, stop_local_schedules

ServeMode = Literal["socket", "http"]

DEFAULT_PORT = 3000
EVENTS_PATH = "/slack/events"


def serve(services: Services, mode: ServeMode, *, port: int = DEFAULT_PORT) -> None:
    """Run the Slack app until interrupted (Ctrl-C)."""
    local = local_schedules(services)  # what fires schedules here, handed to the app's commands
    if mode == "socket":
        app = build_app(services, socket_mode=True, schedules=local)
        # runs report in their thread, from a delivery worker: Slack never slows the runs
        notifier = SlackNotifier(app.client, services.clock, services=services, delivery="background")
        notifier.home = publisher_of(app)  # App Homes follow the runs
        services.notifier = notifier
        schedules = start_local_schedules(
            services,
            SlackScheduleReporter(app.client),
            backend=local,
            digest_poster=SlackDigestPoster(app.client),
        )
        try:
            socket_mode_handler(app, services.settings).start()  # type: ignore[no-untyped-call]
        finally:
            stop_local_schedules(schedules)
            notifier.close()
    else:
        app = build_app(services, schedules=local)
        notifier = SlackNotifier(app.client, services.clock, services=services, delivery="background")
        notifier.home = publisher_of(app)  # App Homes follow the runs
        services.notifier = notifier
        schedules = start_local_schedules(
            services,
            SlackScheduleReporter(app.client),
            backend=local,
            digest_poster=SlackDigestPoster(app.client),
        )
        try:
            server = slack_http_server(app, "0.0.0.0", port, EVENTS_PATH)
            try:
                server.serve_forever()
            finally:
                server.server_close()
        finally:
            stop_local_schedules(schedules)
            notifier.close()


def missing_credentials(settings: Settings, mode: ServeMode) -> list[str]:
    """The environment variables `mode` needs and does not have."""
    # Socket Mode requests are not signed: it needs the app-level token instead of the secret
    second = (
        (ENV_SLACK_APP_TOKEN, settings.slack_app_token)
        if mode == "socket"
        else (ENV_SLACK_SIGNING_SECRET, settings.slack_signing_secret)
    )
    return [
        name for name, value in ((ENV_SLACK_BOT_TOKEN, settings.slack_bot_token), second) if value is None
    ]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drbot serve",
        description="Run the Slack app: Socket Mode (SLACK_APP_TOKEN) by default, or HTTP with --http.",
    )
    parser.add_argument("--http", action="store_true", help=f"serve HTTP at {EVENTS_PATH}, not Socket Mode")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"HTTP port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--db", type=Path, help="SQLite database file (default: DRBOT_DB_PATH or the user data dir)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    mode: ServeMode = "http" if args.http else "socket"
    try:
        settings = Settings.from_env(**({"db_path": args.db} if args.db else {}))
    except DrbotError as error:
        print(f"drbot serve: {error.message}", file=sys.stderr)
        return 2
    missing = missing_credentials(settings, mode)
    if missing:
        print(f"drbot serve: {mode} mode needs {', '.join(missing)}", file=sys.stderr)
        return 2
    # imported here: APScheduler is only worth importing once there is something to serve
    from orchestration.bootstrap import build_running_services
    from orchestration.engine.local_runner import LocalRunner

    services = build_running_services(settings)
    try:
        serve(services, mode, port=args.port)
    except DrbotError as error:
        print(f"drbot serve: {error.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        if isinstance(services.driver, LocalRunner):
            services.driver.shutdown()
        services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
