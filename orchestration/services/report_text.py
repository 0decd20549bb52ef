"""The evidence report as text: the sentences every rendering shares, the whole report as Markdown
and as JSON, nothing left out.

Pure functions of an EvidenceReport (orchestration/services/report.py). The Markdown and the JSON
are what the evidence archive keeps (orchestration/services/archiving.py), so they live below the
Slack views (bot/views/report.py), which render the same sentences as Block Kit.
"""

from __future__ import annotations

from datetime import datetime

from orchestration.clock import duration_text
from orchestration.models import CleanupStatus
from orchestration.services.report import (
    CleanupReport,
    EventRecord,
    EvidenceReport,
    PlanState,
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
    "Lag at launch",
    "Error",
)


def iso(moment: datetime | None) -> str:
    """UTC ISO-8601 to the second, `-` when unknown."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else "-"


def kind(report: EvidenceReport) -> str:
    return report.execution_type.word.capitalize()


def seconds_text(value: int | None) -> str:
    return duration_text(value) if value is not None else "-"


# -- sentences shared by every rendering ----------------------------------------------


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


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
    actual = f"took {seconds_text(rto.actual_seconds)}" if rto.actual_seconds is not None else "not measured"
    return f"{rto.result.replace('_', ' ')} ({target}, {actual}): {rto.note}"


def rpo_text(report: EvidenceReport) -> str:
    rpo = report.rpo
    target = f"target {rpo.target_minutes} min" if rpo.target_minutes else "no target"
    worst = (
        f"worst data loss {seconds_text(rpo.worst_seconds)}"
        + (f" on {rpo.worst_server}" if rpo.worst_server else "")
        if rpo.worst_seconds is not None
        else "not measured"
    )
    return f"{rpo.result.replace('_', ' ')} ({target}, {worst}): {rpo.note}"


def cleanup_text(cleanup: CleanupReport) -> str:
    total = _plural(cleanup.instances_total, "drill instance")
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
        parts.append(f"data loss {seconds_text(server.data_loss_seconds)}")
    if server.lag_at_launch_seconds is not None:
        parts.append(f"lag at launch {seconds_text(server.lag_at_launch_seconds)}")
    text = ", ".join(parts)
    return text + (f" — error: {server.error}" if server.error else "")


def launched(wave: WaveReport) -> str:
    return f"{wave.servers_launched}/{wave.servers_total}" if wave.servers_total else "-"


def result_line(report: EvidenceReport) -> str:
    state = "final" if report.final else "not final: the run or its cleanup has not ended"
    said = report.status_reason and report.status_reason.casefold() != report.status.casefold()
    reason = f" — {report.status_reason}" if said else ""
    return f"{report.status}{reason} ({state})"


def wave_row(wave: WaveReport) -> list[str]:
    return [
        str(wave.wave_number),
        wave.wave_name,
        wave.status,
        iso(wave.started_at),
        iso(wave.ended_at),
        seconds_text(wave.duration_seconds),
        launched(wave),
        seconds_text(wave.worst_data_loss_seconds),
    ]


def report_json(report: EvidenceReport) -> str:
    return report.model_dump_json(by_alias=True, exclude_none=True, indent=2)


# -- Markdown ---------------------------------------------------------------------------------------


def md(text: str) -> str:
    """Text in a Markdown table cell or line: pipes escaped, one line."""
    return text.replace("|", "\\|").replace("<", "\\<").replace("\n", " ")


def report_markdown(report: EvidenceReport) -> str:
    """The whole report as Markdown: every wave, every server, the timeline."""
    out = [
        f"# Evidence report: {md(kind(report))} of {md(report.plan.plan_name)}",
        "",
        f"- **Execution:** {report.execution_id}",
        f"- **Result:** {md(result_line(report))}",
        f"- **Plan:** {md(plan_text(report))}",
        f"- **Type:** {kind(report)}",
        f"- **Requested by:** {md(report.requested_by)} at {iso(report.requested_at)}",
        f"- **Reason:** {md(report.reason) or '-'}",
        *(f"- **Approval:** {md(line)}" for line in approval_lines(report)),
        f"- **Started:** {iso(report.started_at)}",
        f"- **Ended:** {iso(report.ended_at)}",
        f"- **Duration:** {seconds_text(report.duration_seconds)}",
        f"- **RTO:** {md(rto_text(report))}",
        f"- **RPO:** {md(rpo_text(report))}",
        f"- **Servers launched:** {report.servers_launched} of {report.servers_total}",
        f"- **Report generated:** {iso(report.generated_at)}",
        "",
        "## Pre-flight warnings at request time",
        "",
        *([f"- `{w.code}` {md(w.message)}" for w in report.warnings] or ["None."]),
        "",
        "## Waves",
        "",
        "| " + " | ".join(WAVE_COLUMNS) + " |",
        "|" + "---|" * len(WAVE_COLUMNS),
        *("| " + " | ".join(md(cell) for cell in wave_row(w)) + " |" for w in report.waves),
    ]
    for wave in report.waves:
        out += ["", f"### Wave {wave.wave_number}: {md(wave.wave_name)}", ""]
        out.append(
            f"{wave.status}, {launched(wave)} launched, {iso(wave.started_at)} to {iso(wave.ended_at)} "
            f"({seconds_text(wave.duration_seconds)})" + (f". Error: {md(wave.error)}" if wave.error else "")
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
                md(cell or "-")
                for cell in (
                    s.hostname,
                    s.source_server_id,
                    str(s.launch_status),
                    s.recovery_instance_id,
                    s.instance_id,
                    iso(s.snapshot_time),
                    seconds_text(s.data_loss_seconds),
                    seconds_text(s.lag_at_launch_seconds),
                    s.error,
                )
            )
            + " |"
            for s in wave.servers
        ]
    out += ["", "## Pause, resume and cancel", ""]
    out += [f"- {md(event_text(e))}" for e in report.interventions] or ["None."]
    if report.cleanup is not None:
        cleanup = md(cleanup_text(report.cleanup))
        out += ["", "## Drill cleanup", "", cleanup[:1].upper() + cleanup[1:]]
    out += ["", "## Timeline", ""]
    out += [f"- {md(event_text(e))}" for e in report.timeline] or ["No events."]
    return "\n".join(out) + "\n"
