"""The monthly digest as a Slack message (docs/report.md, "Monthly digest"), and the digest settings.

The digest says the month's counts, then one line per execution in the groups a reviewer asks about
(missed a target, failed to clean up, did not pass, passed) and one line per plan not drilled within
its expected interval. Block Kit holds at most 50 blocks and 3000 characters a section: each group
gets at most GROUP_SECTIONS sections, and what does not fit is counted ("…and 40 more") with the
command that lists them, so a digest of hundreds of plans still posts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, DividerBlock

from bot.views.common import MAX_BLOCKS_PER_MESSAGE, MAX_SECTION_TEXT, context, header, section, truncate
from bot.views.executions import short_id
from bot.views.message import Message
from bot.views.mrkdwn import escape_mrkdwn, mention
from orchestration.clock import duration_text
from orchestration.models import DigestSettings
from orchestration.schedule_expressions import parse
from orchestration.services.digest import Digest, DigestRun, OverduePlan

GROUP_SECTIONS = 3  # sections per group at most: 5 groups stay far below 50 blocks
MAX_LINE = 300
_ROOM = MAX_SECTION_TEXT - 200  # room for the group title and the "…and N more" line


def _day(moment: datetime, timezone: str) -> str:
    """The date in the digest's time zone (the month it covers is that zone's)."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d")


def _period(digest: Digest) -> str:
    start = digest.period_start.strftime("%Y-%m-%d")
    if digest.partial:
        return f"{start} to {digest.period_end.strftime('%Y-%m-%d %H:%M')} {digest.timezone}"
    last = (digest.period_end - timedelta(seconds=1)).strftime("%Y-%m-%d")
    return f"{start} to {last} {digest.timezone}"


def _verdicts(run: DigestRun) -> str:
    parts = [f"RTO {run.rto}", f"RPO {run.rpo}"]
    if run.cleanup is not None:
        parts.append(f"cleanup {run.cleanup}")
    return " · ".join(parts)


def run_line(run: DigestRun, timezone: str = "UTC") -> str:
    took = f" · {duration_text(run.duration_seconds)}" if run.duration_seconds is not None else ""
    line = (
        f"`{short_id(run.execution_id)}` *{escape_mrkdwn(run.plan_name)}* · {run.execution_type.word} · "
        f"{_day(run.requested_at, timezone)} · {run.status}{took} · {_verdicts(run)} · "
        f"by {mention(run.requested_by)}"
    )
    if run.left_running:
        line += f"\n      left running: {escape_mrkdwn(', '.join(run.left_running))}"
    return line


def overdue_line(plan: OverduePlan, timezone: str = "UTC") -> str:
    last = f"last drilled {_day(plan.last_drill_at, timezone)}" if plan.last_drill_at else "never drilled"
    why = f"its drill schedule `{plan.schedule_id[:8]}`" if plan.schedule_id else "the digest settings"
    return f"*{escape_mrkdwn(plan.plan_name)}* · {last} · expected every {plan.expected_days} days ({why})"


def pack(lines: Sequence[str], max_sections: int, more: str) -> list[str]:
    """`lines` in at most `max_sections` section texts; what does not fit is counted on the last."""
    texts: list[str] = []
    current = ""
    for index, line in enumerate(truncate(line, MAX_LINE) for line in lines):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= _ROOM:
            current = candidate
            continue
        if len(texts) + 1 >= max_sections:
            current += f"\n…and {len(lines) - index} more ({more})"
            break
        texts.append(current)
        current = line
    if current:
        texts.append(current)
    return texts


def _group(title: str, lines: Sequence[str], more: str) -> list[Block]:
    if not lines:
        return []
    texts = pack(lines, GROUP_SECTIONS, more)
    texts[0] = f"*{title}* ({len(lines)})\n{texts[0]}"
    return [DividerBlock(), *(section(text) for text in texts)]


def _summary(digest: Digest) -> str:
    c = digest.counts
    return (
        f"*{c.requested}* requested · *{c.ran}* ran · *{c.passed}* passed · "
        f"*{c.missed_target}* missed a target · *{c.cleanup_failed}* failed to clean up · "
        f"*{c.overdue_plans}* plans not drilled in time"
    )


def _groups(digest: Digest) -> list[tuple[str, Callable[[DigestRun], bool]]]:
    return [
        ("Missed a target (RTO or RPO)", lambda r: r.missed_target),
        ("Failed to clean up: instances left running", lambda r: r.cleanup_failed),
        (
            "Did not pass (failed, cancelled, not run, not finished or RPO not measured)",
            lambda r: not r.passed and not r.missed_target and not r.cleanup_failed,
        ),
        ("Passed", lambda r: r.passed),
    ]


def build_digest_message(digest: Digest) -> Message:
    """The digest as one message, within Block Kit's limits however many runs and plans it has."""
    so_far = " so far" if digest.partial else ""
    title = f"Drill digest: {digest.label}{so_far}"
    period = f"{_period(digest)} · each run's evidence: `/dr report <execution>`"
    blocks: list[Block] = [header(title), section(_summary(digest)), context(period)]
    for name, chosen in _groups(digest):
        blocks += _group(
            name, [run_line(r, digest.timezone) for r in digest.runs if chosen(r)], "`/dr executions`"
        )
    blocks += _group(
        "Plans not drilled within their expected interval",
        [overdue_line(p, digest.timezone) for p in digest.overdue],
        "`/dr plan list`",
    )
    if not digest.runs and not digest.overdue:
        blocks.append(section("No drills were requested in this period, and every plan is up to date."))
    blocks = blocks[:MAX_BLOCKS_PER_MESSAGE]  # cannot be reached with 5 groups of 4 blocks; kept safe
    c = digest.counts
    text = (
        f"{title}: {c.requested} requested, {c.passed} passed, {c.missed_target} missed a target, "
        f"{c.cleanup_failed} failed to clean up, {c.overdue_plans} plans not drilled in time"
    )
    return Message(text=text, blocks=blocks, response_type="in_channel")


def build_digest_settings_message(settings: DigestSettings, headline: str | None = None) -> Message:
    """The digest settings: schedule, time zone, channel, expected interval, and the next post."""
    if settings.schedule_expression:
        expression = parse(settings.schedule_expression)
        when = f"`{settings.schedule_expression}` ({expression.describe(settings.schedule_timezone)})"
    else:
        when = 'no schedule (`/dr digest set --schedule "cron(0 9 1 * ? *)"`)'
    state = "on" if settings.enabled and settings.schedule_expression else "off"
    channel = f"<#{settings.channel}>" if settings.channel else "no channel"
    lines = [
        f"*Monthly digest:* {state}",
        f"*Schedule:* {when}, time zone {settings.schedule_timezone}",
        f"*Channel:* {channel}",
        f"*Every plan drilled within:* {settings.expected_interval_days} days "
        "(a plan with an active drill schedule: that schedule's interval)",
    ]
    if settings.last_posted_period:
        zone = settings.last_posted_timezone or settings.schedule_timezone
        lines.append(f"*Last month posted:* {settings.last_posted_period} ({zone}), posted once")
    blocks: list[Block] = []
    if headline:
        blocks.append(section(headline))
    blocks += [
        section("\n".join(lines)),
        context(f"Version {settings.version} · changed by {mention(settings.last_modified_by)}"),
    ]
    return Message(text=headline or f"Monthly digest: {state}", blocks=blocks)
