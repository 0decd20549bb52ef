"""The evidence report as people read it in Slack: a message (Block Kit) and its JSON in a message.

Pure builders over an EvidenceReport (orchestration/services/report.py). The sentences they share
with the whole report as Markdown, and the Markdown and JSON files themselves (what the evidence
archive keeps), are in orchestration/services/report_text.py. Every time is shown in UTC ISO-8601.
A Slack message holds at most 50 blocks, one table and 3000 characters per section, so the message
lists every server only while they fit; a large run shows the servers that did not launch and
points to the JSON. The Markdown has everything.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block

from bot.views.common import (
    MAX_BLOCKS_PER_MESSAGE,
    MAX_SECTION_TEXT,
    context,
    header,
    section,
    table,
    truncate,
)
from bot.views.executions import STATUS_EMOJI, short_id
from bot.views.groups import MAX_TABLE_DATA_ROWS, bullet_sections, plural
from bot.views.message import Message
from bot.views.mrkdwn import escape_mrkdwn, escape_with_mentions, mention
from orchestration.models import LaunchStatus
from orchestration.services.report import EvidenceReport, WaveReport
from orchestration.services.report_text import (  # the sentences the Markdown shares, and the two files
    WAVE_COLUMNS,
    approval_lines,
    cleanup_text,
    event_text,
    iso,
    plan_text,
    report_json,
    rpo_text,
    rto_text,
    server_text,
)
from orchestration.services.report_text import kind as _kind
from orchestration.services.report_text import launched as _launched
from orchestration.services.report_text import result_line as _result_line
from orchestration.services.report_text import seconds_text as _seconds
from orchestration.services.report_text import wave_row as _wave_row
from orchestration.services.verdict import Verdict

MAX_SERVER_SECTIONS = 12  # beyond this a message is a wall of text: the servers are summarised
MAX_LINE = 600  # one server's line (a long DRS error is cut)
MAX_JSON_SECTIONS = 12
_SECTION_ROOM = MAX_SECTION_TEXT - 40
_CODE_ROOM = MAX_SECTION_TEXT - 8  # a section holding a ``` code block ```
_VERDICT_EMOJI = {  # the RTO's and the RPO's verdicts alike
    Verdict.MET: ":white_check_mark:",
    Verdict.MISSED: ":x:",
    Verdict.NO_TARGET: ":information_source:",
    Verdict.UNKNOWN: ":warning:",
    Verdict.IN_PROGRESS: ":hourglass_flowing_sand:",
    Verdict.NOT_RUN: ":information_source:",
}


# -- the Slack message ------------------------------------------------------------------------------


def _facts(report: EvidenceReport) -> str:
    lines = [
        f"*Result:* {STATUS_EMOJI[report.status]} {escape_mrkdwn(_result_line(report))}",
        f"*Plan:* {escape_mrkdwn(plan_text(report))} · *Type:* {_kind(report)}",
        f"*Requested by* {mention(report.requested_by)} at {iso(report.requested_at)}"
        + (f" · *Reason:* {escape_mrkdwn(report.reason)}" if report.reason else ""),
        *(f"*Approval:* {escape_with_mentions(line)}" for line in approval_lines(report)),
        f"*Started* {iso(report.started_at)} · *ended* {iso(report.ended_at)} · "
        f"*duration* {_seconds(report.duration_seconds)} · "
        f"*servers launched* {report.servers_launched}/{report.servers_total}",
        f"*RTO:* {_VERDICT_EMOJI[report.rto.result]} {escape_mrkdwn(rto_text(report))}",
        f"*RPO:* {_VERDICT_EMOJI[report.rpo.result]} {escape_mrkdwn(rpo_text(report))}",
    ]
    return "\n".join(lines)


def _pack(lines: Sequence[str], max_sections: int) -> list[str] | None:
    """`lines` in at most `max_sections` section texts, or None when they do not fit."""
    texts: list[str] = []
    current = ""
    for line in (truncate(line, MAX_LINE) for line in lines):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= _SECTION_ROOM:
            current = candidate
            continue
        texts.append(current)
        current = line
        if len(texts) >= max_sections:
            return None
    if current:
        texts.append(current)
    return texts if len(texts) <= max_sections else None


def _wave_heading(wave: WaveReport) -> str:
    error = f" — {escape_mrkdwn(wave.error)}" if wave.error else ""
    name = f"*Wave {wave.wave_number} ({escape_mrkdwn(wave.wave_name)})*"
    return f"{name} {wave.status}, {_launched(wave)} launched{error}"


def _server_blocks(report: EvidenceReport, room: int, ref: str) -> list[Block]:
    """Every server per wave when they fit in `room` blocks; else the servers that did not launch,
    and where the full list is."""
    every: list[str] = []
    for wave in report.waves:
        if wave.servers:
            every.append(_wave_heading(wave))
            every.extend(f"• {escape_mrkdwn(server_text(s))}" for s in wave.servers)
    if not every:
        return []
    packed = _pack(every, min(room, MAX_SERVER_SECTIONS))
    if packed is not None:
        return [section(text) for text in packed]
    failed = [
        f"Wave {w.wave_number} ({w.wave_name}): {server_text(s)}"
        for w in report.waves
        for s in w.servers
        if s.launch_status != LaunchStatus.LAUNCHED
    ]
    title = (
        f"*{plural(report.servers_total, 'server')} in {plural(len(report.waves), 'wave')}*: too many to "
        "list here; each wave's count is in the table"
    )
    if failed:
        blocks = bullet_sections(
            title + f". *Not launched ({len(failed)}):*",
            [escape_mrkdwn(f) for f in failed],
            max_sections=max(1, min(room - 1, MAX_SERVER_SECTIONS)),
        )
    else:
        blocks = [section(title + ". Every server launched.")]
    blocks.append(
        context(
            f"`/dr report {ref} --json` has every server (hostname, ids, point in time) as far as a "
            "message holds it; the API's execution details have them all."
        )
    )
    return blocks


def build_report_message(report: EvidenceReport) -> Message:
    """The report as one Slack message, within Block Kit's limits."""
    ref = short_id(report.execution_id)
    blocks: list[Block] = [
        header(f"Evidence report: {_kind(report)} of {report.plan.plan_name}"),
        section(_facts(report)),
    ]
    if report.warnings:
        lines = [f"`{w.code}` {escape_mrkdwn(w.message)}" for w in report.warnings]
        blocks.extend(
            bullet_sections(":warning: *Pre-flight warnings at request time*", lines, max_sections=2)
        )
    shown = report.waves[:MAX_TABLE_DATA_ROWS]
    if shown:
        blocks.append(table(WAVE_COLUMNS, [_wave_row(w) for w in shown]))
    if len(shown) < len(report.waves):
        blocks.append(
            context(f"Showing waves 1 to {len(shown)} of {len(report.waves)}; the JSON has every wave.")
        )
    tail: list[Block] = []
    if report.interventions:
        lines = [escape_with_mentions(event_text(e)) for e in report.interventions]
        tail.extend(bullet_sections("*Pause, resume and cancel*", lines, max_sections=2))
    if report.cleanup is not None:
        tail.append(section(f"*Drill cleanup:* {escape_mrkdwn(cleanup_text(report.cleanup))}"))
    tail.append(
        context(
            f"Execution `{report.execution_id}` · generated {iso(report.generated_at)} · "
            f"`/dr report {ref} --json` for the machine-readable record"
        )
    )
    room = MAX_BLOCKS_PER_MESSAGE - len(blocks) - len(tail)
    blocks.extend(_server_blocks(report, room - 1, ref))
    blocks.extend(tail)
    text = (
        f"Evidence report: {_kind(report).lower()} of {report.plan.plan_name} {report.status}, "
        f"{report.servers_launched}/{report.servers_total} servers launched, RTO {report.rto.result}, "
        f"RPO {report.rpo.result}"
    )
    return Message(text=text, blocks=blocks, response_type="in_channel")


# -- JSON in a message ------------------------------------------------------------------------------


def build_report_json_message(report: EvidenceReport) -> Message:
    """The report's JSON in code blocks; when longer than a message holds, cut at a line and said."""
    lines = report_json(report).splitlines()
    chunks: list[str] = []
    current = ""
    shown = 0
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= _CODE_ROOM:
            current = candidate
            shown += 1
            continue
        if current:
            chunks.append(current)
        if len(chunks) >= MAX_JSON_SECTIONS:
            current = ""
            break
        current = truncate(line, _CODE_ROOM)  # one very long value: cut, the rest of the lines kept
        shown += 1
    if current:
        chunks.append(current)
    blocks: list[Block] = [section(f"```{chunk}```") for chunk in chunks]
    ref = short_id(report.execution_id)
    if shown < len(lines):
        blocks.append(
            context(
                f":warning: Truncated: lines 1 to {shown} of {len(lines)} are shown, as much as a Slack "
                f"message holds. `/dr report {ref}` summarises the run; the API's execution details have "
                "every server."
            )
        )
    else:
        blocks.append(context(f"Evidence report of execution `{report.execution_id}`, JSON"))
    return Message(text=f"Evidence report of execution {report.execution_id} (JSON)", blocks=blocks)
