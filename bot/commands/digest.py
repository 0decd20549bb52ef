"""`/dr digest show|set|off|now`: the monthly digest of drills across plans (docs/schedules.md, "The
monthly digest"; what it says: docs/report.md, "Monthly digest").

`set` and `off` change the digest settings through the same service as the API's
update_digest_settings, so they need the MANAGE_CONFIGURATION permission like every other setting,
and a bad expression, time zone or channel is refused before anything is saved. `show` and `now`
read only. The schedule is registered with the backend this app fires schedules with.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.commands.grammar import Arguments, Flag
from bot.commands.registry import Command, CommandContext, Handler
from bot.commands.schedules import channel_id
from bot.views.digest import build_digest_message, build_digest_settings_message
from bot.views.message import Message
from orchestration.context import Services
from orchestration.errors import UsageError
from orchestration.models import MAX_EXPECTED_INTERVAL_DAYS, DigestSettings
from orchestration.services.digest_query import digest_now
from orchestration.services.digest_settings import (
    UpdateDigestSettings,
    get_digest_settings,
    update_digest_settings,
)
from orchestration.validation import parse_model
from scheduler.backends.port import StoreOnlyBackend

_DAYS = re.compile(r"^(?P<n>\d{1,5})\s*(d|days?)?$", re.IGNORECASE)


def parse_days(value: str) -> int:
    """`--expect-every 90` or `90d`: whole days from 1 to MAX_EXPECTED_INTERVAL_DAYS."""
    found = _DAYS.match(value.strip())
    if not found or not 1 <= int(found["n"]) <= MAX_EXPECTED_INTERVAL_DAYS:
        raise UsageError(
            f"`--expect-every` takes whole days from 1 to {MAX_EXPECTED_INTERVAL_DAYS} (e.g. `90` or "
            f"`90d`), not `{value}`."
        )
    return int(found["n"])


def _services(ctx: CommandContext) -> Services:
    """The services whose recurring-task port is the app's schedule backend, when it has one."""
    if isinstance(ctx.schedules, StoreOnlyBackend):
        return ctx.services
    return replace(ctx.services, recurring=ctx.schedules)


def _save(ctx: CommandContext, changes: dict[str, object], headline: str) -> Message:
    current = get_digest_settings(ctx.services)
    request = parse_model(UpdateDigestSettings, {**changes, "version": current.version})
    saved: DigestSettings = update_digest_settings(_services(ctx), request, ctx.invocation.user_id)
    return build_digest_settings_message(saved, headline=headline)


def _show(ctx: CommandContext, args: Arguments) -> Message:
    return build_digest_settings_message(get_digest_settings(ctx.services))


def _set(ctx: CommandContext, args: Arguments) -> Message:
    changes: dict[str, object] = {}
    channel, schedule = args.get("channel"), args.get("schedule")
    timezone, every = args.get("timezone"), args.get("expect-every")
    if channel is not None:
        changes["channel"] = channel_id(channel)
    if schedule is not None:
        changes["scheduleExpression"] = schedule
    if timezone is not None:
        changes["scheduleTimezone"] = timezone
    if every is not None:
        changes["expectedIntervalDays"] = parse_days(every)
    if not changes:
        raise UsageError("Give at least one of `--channel`, `--schedule`, `--timezone`, `--expect-every`.")
    if channel is not None or schedule is not None:
        changes["enabled"] = True  # naming where or when turns the digest (back) on
    return _save(ctx, changes, f"{ctx.invocation.user_id} changed the monthly digest.")


def _off(ctx: CommandContext, args: Arguments) -> Message:
    return _save(ctx, {"enabled": False}, "The monthly digest is off; `/dr digest set` turns it back on.")


def _now(ctx: CommandContext, args: Arguments) -> Message:
    message = build_digest_message(digest_now(ctx.services))
    return replace(message, response_type="ephemeral")


def _command(
    verb: str, summary: str, handler: Handler, *examples: str, flags: tuple[Flag, ...] = ()
) -> Command:
    return Command(noun="digest", verb=verb, summary=summary, handler=handler, flags=flags, examples=examples)


SUMMARY = "the monthly digest: the month's drills across plans, posted to a channel"
COMMANDS = [
    _command(
        "show",
        "The digest settings: schedule, time zone, channel, expected interval.",
        _show,
        "/dr digest show",
    ),
    _command(
        "set",
        "Post the digest on a schedule to a channel; how often every plan should be drilled.",
        _set,
        '/dr digest set --channel #dr-reports --schedule "cron(0 9 1 * ? *)" --timezone Europe/Berlin',
        "/dr digest set --expect-every 30",
        flags=(
            Flag("channel", "the channel to post to: pick it with #, or its id (C…)", "CHANNEL"),
            Flag(
                "schedule",
                "cron(...) with one minute, hour and day of the month, e.g. cron(0 9 1 * ? *); "
                "no rate() or at()",
                "EXPRESSION",
            ),
            Flag("timezone", "the IANA time zone of the schedule and of the month (default UTC)", "TZ"),
            Flag("expect-every", "days within which every plan should be drilled (default 90)", "DAYS"),
        ),
    ),
    _command("off", "Stop posting the digest (the settings are kept).", _off, "/dr digest off"),
    _command("now", "The digest of the current month so far, shown to you.", _now, "/dr digest now"),
]
