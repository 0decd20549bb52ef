"""`/dr plan history`: a plan's last runs as a compact table (drills and recoveries, by type), the
servers that failed in more than one of its last drills, and when the plan last passed
(orchestration/services/plan_history.py says what counts). The chart that goes with it is
bot/views/plan_chart.py.
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.views.common import context, header, person_cell, section, table
from bot.views.executions import short_id, slack_time
from bot.views.message import Message
from bot.views.mrkdwn import code, escape_mrkdwn, mention
from orchestration.clock import duration_text
from orchestration.services.plan_history import HistoryRun, PlanHistory

COLUMNS = (
    "When (UTC)",
    "Type",
    "By",
    "Duration",
    "Status",
    "RTO",
    "RPO",
    "Worst loss",
    "Failed",
    "Cleanup",
    "Run",
)
MAX_FAILED_SHOWN = 3  # hostnames in a table cell; more are counted


def _failed_cell(run: HistoryRun) -> str:
    failed = run.servers_failed
    if not failed:
        return "-"
    shown = ", ".join(failed[:MAX_FAILED_SHOWN])
    return shown + (f" +{len(failed) - MAX_FAILED_SHOWN}" if len(failed) > MAX_FAILED_SHOWN else "")


def _row(run: HistoryRun) -> list[str | dict[str, object]]:
    when = (run.started_at or run.requested_at).strftime("%Y-%m-%d %H:%M")
    duration = "-" if run.duration_seconds is None else duration_text(run.duration_seconds)
    return [
        when,
        run.execution_type.word,
        person_cell(run.requested_by),
        duration,
        str(run.status) + (" ✓" if run.passed else ""),
        str(run.rto),
        str(run.rpo),
        "-" if run.worst_data_loss_seconds is None else duration_text(run.worst_data_loss_seconds),
        _failed_cell(run),
        str(run.cleanup) if run.cleanup is not None else "-",
        short_id(run.execution_id),
    ]


def _targets(history: PlanHistory) -> str:
    rto, rpo = history.rto_target_minutes, history.rpo_target_minutes
    return " · ".join(
        [
            f"RTO target {rto} min" if rto else "no RTO target",
            f"RPO target {rpo} min" if rpo else "no RPO target",
        ]
    )


def _last_passed(history: PlanHistory) -> str:
    run = history.last_passed
    if run is None and history.complete:
        return "*Last passed:* never, among its runs on record."
    if run is None:
        return (
            f"*Last passed:* not within the last {history.executions_read} runs requested "
            "(older ones were not read)."
        )
    at = int((run.started_at or run.requested_at).timestamp())
    return (
        f"*Last passed:* {slack_time(at)}, a {run.execution_type.word} by {mention(run.requested_by)} "
        f"{code(short_id(run.execution_id))}"
    )


def _repeat_failures(history: PlanHistory) -> str:
    drills = history.drills_counted
    if not history.repeat_failures:
        return f"*Repeat failures:* no server failed in more than one of the last {drills} drill(s)."
    lines = [
        f"• {escape_mrkdwn(r.hostname)}: failed in {r.failures} of the last {drills} drills"
        for r in history.repeat_failures[:20]
    ]
    more = len(history.repeat_failures) - 20
    if more > 0:
        lines.append(f"… and {more} more")
    return "*Repeat failures* (a server that failed in more than one drill):\n" + "\n".join(lines)


def build_history_message(history: PlanHistory) -> Message:
    """The history of a plan as a message: header, targets, the runs newest first, repeat
    failures and the last pass."""
    name = history.plan_name
    blocks: list[Block] = [
        header(f"History of {name}"),
        context(
            f"The last {len(history.runs)} run(s) of at most {history.last}, newest first · "
            f"{_targets(history)} · ✓ passed: completed, no target missed, RPO measured when a "
            "target applies, cleanup not failed"
        ),
    ]
    if not history.runs:
        blocks.append(section(f"{escape_mrkdwn(name)} has not run yet: `/dr plan run`."))
        return Message(text=f"History of {name}: no run yet", blocks=blocks)
    blocks.append(table(COLUMNS, [_row(run) for run in history.runs]))
    blocks.append(section(_repeat_failures(history)))
    blocks.append(section(_last_passed(history)))
    passed = sum(1 for run in history.runs if run.passed)
    text = f"History of {name}: {len(history.runs)} run(s), {passed} passed"
    return Message(text=text, blocks=blocks)
