"""The evidence report as people read it: a Slack message (Block Kit), its JSON in a message, and

One piece, longer than most modules: the three renderings of one report (Block Kit, JSON, Markdown)
must say the same things and share their wording.
Markdown for a file or an export.

Pure builders over an EvidenceReport (orchestration/services/report.py). Every time is shown in UTC
ISO-8601. A Slack message holds at most 50 blocks, one table and 3000 characters per section, so
the message lists every server only while they fit; a large run shows the servers that did not
launch and points to the JSON. The Markdown has everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

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
from orchestration.clock import duration_text
from orchestration.models import CleanupStatus, LaunchStatus
from orchestration.services.report import (
    CleanupReport,
    EventRecord,
    EvidenceReport,
    PlanState,
    RpoResult,
    RtoResult,
    ServerReport,
    WaveReport,
)

WAVE_COLUMNS = (
    "#",
    "Wave",
    "Status",
    "Started (UTC)",
    "Ended (UTC)",
    "Duration",
    "Launched",
    "Worst data loss",
)
SERVER_COLUMNS = (
    "Hostname",
    "Source server",
    "Launch status",
    "Recovery instance",
    "EC2 instance",
    "Point in time",
    "Data loss",
    "Error",
)
MAX_SERVER_SECTIONS = 12  # beyond this a message is a wall of text: the servers are summarised
MAX_LINE = 600  # one server's line (a long DRS error is cut)
MAX_JSON_SECTIONS = 12
_SECTION_ROOM = MAX_SECTION_TEXT - 40
_CODE_ROOM = MAX_SECTION_TEXT - 8  # a section holding a ``` code block ```
_RTO_EMOJI = {
    RtoResult.MET: ":white_check_mark:",
    RtoResult.MISSED: ":x:",
    RtoResult.NO_TARGET: ":information_source:",
    RtoResult.UNKNOWN: ":warning:",
    RtoResult.IN_PROGRESS: ":hourglass_flowing_sand:",
    RtoResult.NOT_RUN: ":information_source:",
}
_RPO_EMOJI = {result: _RTO_EMOJI[RtoResult(result.value)] for result in RpoResult}  # the same marks


def iso(moment: datetime | None) -> str:
    """UTC ISO-8601 to the second, `-` when unknown."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else "-"


def _kind(report: EvidenceReport) -> str:
    return report.execution_type.word.capitalize()


def _seconds(value: int | None) -> str:
    return duration_text(value) if value is not None else "-"


# -- sentences shared by the message and the Markdown ----------------------------------------------


def plan_text(report: EvidenceReport) -> str:
    plan = report.plan
    what = {
        PlanState.UNCHANGED: f"version {plan.version}",
        PlanState.CHANGED: (
            f"edited since the run (now version {plan.current_version}; the version run is not known)"
        ),
        PlanState.DELETED: "deleted since the run",
        PlanState.NOT_READ: "not looked up",
    }[plan.state]
    return f"{plan.plan_name} (id {plan.plan_id}, {what})"


def approval_lines(report: EvidenceReport) -> list[str]:
    approval = report.approval
    lines = []
    if approval.schedule_id:
        lines.append(f"Started by schedule {approval.schedule_id}")
    for given in approval.given:
        how = " (approved the schedule beforehand)" if given.via_schedule else ""
        lines.append(f"Approved by {given.user_id} at {iso(given.at)}{how}")
    if not approval.given:
        lines.append("No approval recorded" + (" (none was required)" if approval.required == 0 else ""))
    elif len(approval.given) < approval.required:
        lines.append(f"{len(approval.given)} of {approval.required} approvals given")
    return lines


def rto_text(report: EvidenceReport) -> str:
    rto = report.rto
    target = f"target {rto.target_minutes} min" if rto.target_minutes else "no target"
    actual = f"took {_seconds(rto.actual_seconds)}" if rto.actual_seconds is not None else "not measured"
    return f"{rto.result.replace('_', ' ')} ({target}, {actual}): {rto.note}"


def rpo_text(report: EvidenceReport) -> str:
    rpo = report.rpo
    target = f"target {rpo.target_minutes} min" if rpo.target_minutes else "no target"
    worst = (
        f"worst data loss {_seconds(rpo.worst_seconds)}"
        + (f" on {rpo.worst_server}" if rpo.worst_server else "")
        if rpo.worst_seconds is not None
        else "not measured"
    )
    return f"{rpo.result.replace('_', ' ')} ({target}, {worst}): {rpo.note}"


def cleanup_text(cleanup: CleanupReport) -> str:
    total = plural(cleanup.instances_total, "drill instance")
    text = {
        CleanupStatus.SCHEDULED: f"scheduled: {total} to be terminated at {iso(cleanup.due_at)}",
        CleanupStatus.TERMINATING: f"in progress: terminating {total}",
        CleanupStatus.COMPLETED: f"completed at {iso(cleanup.finished_at)}: {total}, all terminated",
        CleanupStatus.FAILED: f"FAILED at {iso(cleanup.finished_at)}: {cleanup.error or 'see the timeline'}",
        CleanupStatus.NOT_NEEDED: "not needed: nothing was launched",
    }[cleanup.status]
    if cleanup.left_running:
        text += f". Possibly left running ({len(cleanup.left_running)}): " + ", ".join(cleanup.left_running)
    return text


def event_text(event: EventRecord) -> str:
    by = f" by {event.actor}" if event.actor else ""
    return f"{iso(event.at)} {event.type}{by}: {event.message}"


def server_text(server: ServerReport) -> str:
    name = server.hostname or server.source_server_id
    parts = [f"{name} ({server.source_server_id}): {server.launch_status}"]
    if server.recovery_instance_id:
        parts.append(f"recovery instance {server.recovery_instance_id}")
    if server.instance_id and server.instance_id != server.recovery_instance_id:
        parts.append(f"EC2 {server.instance_id}")
    if server.snapshot_time:
        parts.append(f"point in time {iso(server.snapshot_time)}")
    if server.data_loss_seconds is not None:
        parts.append(f"data loss {_seconds(server.data_loss_seconds)}")
    text = ", ".join(parts)
    return text + (f" — error: {server.error}" if server.error else "")


def _launched(wave: WaveReport) -> str:
    return f"{wave.servers_launched}/{wave.servers_total}" if wave.servers_total else "-"


def _result_line(report: EvidenceReport) -> str:
    state = "final" if report.final else "not final: the run or its cleanup has not ended"
    said = report.status_reason and report.status_reason.casefold() != report.status.casefold()
    reason = f" — {report.status_reason}" if said else ""
    return f"{report.status}{reason} ({state})"


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
        f"*RTO:* {_RTO_EMOJI[report.rto.result]} {escape_mrkdwn(rto_text(report))}",
        f"*RPO:* {_RPO_EMOJI[report.rpo.result]} {escape_mrkdwn(rpo_text(report))}",
    ]
    return "\n".join(lines)


def _wave_row(wave: WaveReport) -> list[str]:
    return [
        str(wave.wave_number),
        wave.wave_name,
        wave.status,
        iso(wave.started_at),
        iso(wave.ended_at),
        _seconds(wave.duration_seconds),
        _launched(wave),
        _seconds(wave.worst_data_loss_seconds),
    ]


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


def report_json(report: EvidenceReport) -> str:
    return report.model_dump_json(by_alias=True, exclude_none=True, indent=2)


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


# -- Markdown ---------------------------------------------------------------------------------------


def _md(text: str) -> str:
    """Text in a Markdown table cell or line: pipes escaped, one line."""
    return text.replace("|", "\\|").replace("<", "\\<").replace("\n", " ")


def report_markdown(report: EvidenceReport) -> str:
    """The whole report as Markdown: every wave, every server, the timeline."""
    out = [
        f"# Evidence report: {_md(_kind(report))} of {_md(report.plan.plan_name)}",
        "",
        f"- **Execution:** {report.execution_id}",
        f"- **Result:** {_md(_result_line(report))}",
        f"- **Plan:** {_md(plan_text(report))}",
        f"- **Type:** {_kind(report)}",
        f"- **Requested by:** {_md(report.requested_by)} at {iso(report.requested_at)}",
        f"- **Reason:** {_md(report.reason) or '-'}",
        *(f"- **Approval:** {_md(line)}" for line in approval_lines(report)),
        f"- **Started:** {iso(report.started_at)}",
        f"- **Ended:** {iso(report.ended_at)}",
        f"- **Duration:** {_seconds(report.duration_seconds)}",
        f"- **RTO:** {_md(rto_text(report))}",
        f"- **RPO:** {_md(rpo_text(report))}",
        f"- **Servers launched:** {report.servers_launched} of {report.servers_total}",
        f"- **Report generated:** {iso(report.generated_at)}",
        "",
        "## Pre-flight warnings at request time",
        "",
        *([f"- `{w.code}` {_md(w.message)}" for w in report.warnings] or ["None."]),
        "",
        "## Waves",
        "",
        "| " + " | ".join(WAVE_COLUMNS) + " |",
        "|" + "---|" * len(WAVE_COLUMNS),
        *("| " + " | ".join(_md(cell) for cell in _wave_row(w)) + " |" for w in report.waves),
    ]
    for wave in report.waves:
        out += ["", f"### Wave {wave.wave_number}: {_md(wave.wave_name)}", ""]
        out.append(
            f"{wave.status}, {_launched(wave)} launched, {iso(wave.started_at)} to {iso(wave.ended_at)} "
            f"({_seconds(wave.duration_seconds)})" + (f". Error: {_md(wave.error)}" if wave.error else "")
        )
        if not wave.servers:
            continue
        out += [
            "",
            "| " + " | ".join(SERVER_COLUMNS) + " |",
            "|" + "---|" * len(SERVER_COLUMNS),
        ]
        out += [
            "| "
            + " | ".join(
                _md(cell or "-")
                for cell in (
                    s.hostname,
                    s.source_server_id,
                    str(s.launch_status),
                    s.recovery_instance_id,
                    s.instance_id,
                    iso(s.snapshot_time),
                    _seconds(s.data_loss_seconds),
                    s.error,
                )
            )
            + " |"
            for s in wave.servers
        ]
    out += ["", "## Pause, resume and cancel", ""]
    out += [f"- {_md(event_text(e))}" for e in report.interventions] or ["None."]
    if report.cleanup is not None:
        cleanup = _md(cleanup_text(report.cleanup))
        out += ["", "## Drill cleanup", "", cleanup[:1].upper() + cleanup[1:]]
    out += ["", "## Timeline", ""]
    out += [f"- {_md(event_text(e))}" for e in report.timeline] or ["No events."]
    return "\n".join(out) + "\n"
