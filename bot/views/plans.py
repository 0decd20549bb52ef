"""`/dr plan …` answers: a plan with its waves, the list of plans, a pre-flight check.

Pure builders. A message holds at most one table (the waves, or the plans); a plan has at most
100 waves by the model and a table at most 99 data rows, so a longer one is trimmed and says so.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence

from slack_sdk.models.blocks import Block

from bot.views.common import context, header, section, table, truncate
from bot.views.groups import MAX_TABLE_DATA_ROWS, bullet_sections, plural
from bot.views.message import Message
from bot.views.mrkdwn import code, escape_mrkdwn, mention
from orchestration.drs.limits import DrsLimits
from orchestration.models import ExecutionType, RecoveryPlan
from orchestration.services.plans import PlanView, WaveView
from orchestration.services.preflight import DrsUsage, Finding, PlanCheck

WAVE_COLUMNS = ("#", "Wave", "Protection group", "Depends on", "Servers", "Pause before")
CHECK_COLUMNS = (*WAVE_COLUMNS, "Check")
LIST_COLUMNS = ("Name", "Waves", "Protection groups", "RTO target", "RPO target", "Channel", "Description")
_CELL = 60


def depends_text(depends_on: Sequence[int]) -> str:
    return ", ".join(str(n) for n in depends_on) if depends_on else "- (starts at once)"


def _servers_cell(wave: WaveView) -> str:
    if wave.listing_error is not None:
        return "? (DRS did not answer)"
    unhealthy = sum(1 for s in wave.servers if not s.healthy)
    return f"{len(wave.servers)} ({unhealthy} not replicating)" if unhealthy else str(len(wave.servers))


def _wave_row(wave: WaveView) -> list[str]:
    return [
        str(wave.wave_number),
        wave.wave_name,
        wave.group.group_name,
        depends_text(wave.depends_on),
        _servers_cell(wave),
        "yes" if wave.pause_before else "-",
    ]


def _rto(plan: RecoveryPlan) -> str:
    return f"{plan.rto_target_minutes} min" if plan.rto_target_minutes else "-"


def _rpo(plan: RecoveryPlan) -> str:
    return f"{plan.rpo_target_minutes} min" if plan.rpo_target_minutes else "-"


def _channel_mrkdwn(plan: RecoveryPlan) -> str:
    return f"<#{plan.notification_channel}>" if plan.notification_channel else "the channel a run starts in"


def waves_table(waves: Sequence[WaveView]) -> list[Block]:
    """The waves as one table, trimmed to the table limit with a note."""
    shown = waves[:MAX_TABLE_DATA_ROWS]
    blocks: list[Block] = [table(WAVE_COLUMNS, [_wave_row(w) for w in shown])]
    if len(shown) < len(waves):
        blocks.append(context(f"Showing waves 1 to {len(shown)} of {len(waves)}."))
    return blocks


def build_plan_message(view: PlanView, headline: str | None = None) -> Message:
    """A plan: its targets, each wave with group, dependencies, servers and gate, and warnings."""
    plan = view.plan
    blocks: list[Block] = [header(f"Recovery plan: {plan.plan_name}")]
    if headline:
        blocks.append(section(headline))
    lines = [
        f"*{plural(len(view.waves), 'wave')}* · *{plural(view.server_count, 'server')}* now · "
        f"*RTO target:* {_rto(plan)} · *RPO target:* {_rpo(plan)} · *Notifications:* {_channel_mrkdwn(plan)}"
    ]
    if plan.description:
        lines.append(f"*Description:* {escape_mrkdwn(plan.description)}")
    blocks.append(section("\n".join(lines)))
    if view.warnings:
        blocks.extend(bullet_sections(":warning: *Warnings*", view.warnings))
    blocks.extend(waves_table(view.waves))
    blocks.append(
        context(
            f"ID `{plan.plan_id}` · version {plan.version} · created by {mention(plan.created_by)} · "
            f"{code('/dr plan check ' + shlex.quote(plan.plan_name))} runs the pre-flight checks"
        )
    )
    text = (
        f"Recovery plan {plan.plan_name}: {plural(len(view.waves), 'wave')}, "
        f"{plural(view.server_count, 'server')}, {plural(len(view.warnings), 'warning')}"
    )
    return Message(text=text, blocks=blocks)


def _list_row(plan: RecoveryPlan, group_names: Mapping[str, str]) -> list[str]:
    groups = ", ".join(group_names.get(gid, gid) for gid in plan.protection_group_ids)
    return [
        plan.plan_name,
        str(len(plan.waves)),
        truncate(groups, _CELL),
        _rto(plan),
        _rpo(plan),
        plan.notification_channel or "-",
        truncate(plan.description, _CELL) or "-",
    ]


def build_plans_list(plans: Sequence[RecoveryPlan], group_names: Mapping[str, str] | None = None) -> Message:
    """Every plan in one table; `group_names` (id -> name) shows groups by name instead of id."""
    if not plans:
        text = "No recovery plans yet."
        hint = 'Create one with `/dr plan create "Prod DR" --wave "Database:db tier" --wave "Web:web tier"`.'
        return Message(text=text, blocks=[section(f":mag: {text} {hint}")])
    names = group_names or {}
    shown = plans[:MAX_TABLE_DATA_ROWS]
    blocks: list[Block] = [
        header("Recovery plans"),
        section(f"*{plural(len(plans), 'recovery plan')}*"),
        table(LIST_COLUMNS, [_list_row(p, names) for p in shown]),
    ]
    if len(shown) < len(plans):
        blocks.append(
            context(f"Showing {len(shown)} of {len(plans)}; `/dr plan show &lt;plan&gt;` shows any.")
        )
    blocks.append(
        context("`/dr plan show &lt;plan&gt;` shows its waves; `/dr plan check &lt;plan&gt;` dry-runs it.")
    )
    return Message(text=plural(len(plans), "recovery plan"), blocks=blocks)


def _wave_findings(wave: WaveView, findings: Sequence[Finding]) -> list[Finding]:
    """The findings about one wave: named by number, or holding one of its servers."""
    mine = {s.source_server_id for s in wave.servers}
    return [f for f in findings if f.about_wave(wave.wave_number) or mine & set(f.server_ids)]


def _check_cell(findings: Sequence[Finding]) -> str:
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    parts = [plural(errors, "error")] if errors else []
    parts += [plural(warnings, "warning")] if warnings else []
    return ", ".join(parts) or "ok"


def _finding_line(finding: Finding) -> str:
    return f"`{finding.code}` {escape_mrkdwn(finding.message)}"


def _usage_line(usage: DrsUsage, limits: DrsLimits | None) -> str:
    where = usage.region + (f" (account {usage.account_id})" if usage.account_id else "")
    counts = [
        (usage.active_jobs, limits.max_concurrent_jobs if limits else None, "active jobs"),
        (usage.servers_in_active_jobs, limits.max_servers_in_all_jobs if limits else None, "servers in jobs"),
        (usage.recovery_instances, limits.max_recovery_instances if limits else None, "recovery instances"),
    ]
    shown = [f"{value}/{limit} {what}" if limit else f"{value} {what}" for value, limit, what in counts]
    return f"*DRS in {where} now:* " + " · ".join(shown)


def build_plan_check(
    check: PlanCheck,
    limits: DrsLimits | None = None,
    execution_type: ExecutionType = ExecutionType.DRILL,
) -> Message:
    """The dry run of a plan: ready or not, every finding (errors first), each wave's verdict and
    what DRS is doing now against its quotas. A plan that is not ready answers as an error, so a
    script can gate on it."""
    view = check.view
    plan = view.plan
    errors, warnings = check.errors, check.warnings
    as_what = "a recovery" if execution_type == ExecutionType.RECOVERY else "a drill"
    size = f"{plural(len(view.waves), 'wave')}, {plural(view.server_count, 'server')}"
    if check.ok:
        verdict = f":white_check_mark: *Ready to run as {as_what}* ({size})"
        verdict += (
            f", with {plural(len(warnings), 'warning')}." if warnings else ": every pre-flight rule passes."
        )
    else:
        verdict = (
            f":x: *Not ready to run as {as_what}* ({size}): {plural(len(errors), 'error')}"
            f"{', ' + plural(len(warnings), 'warning') if warnings else ''}. A run is refused until the "
            "errors are fixed."
        )
    blocks: list[Block] = [header(f"Pre-flight check: {plan.plan_name}"), section(verdict)]
    for title, findings in ((":x: *Errors*", errors), (":warning: *Warnings*", warnings)):
        if findings:
            blocks.extend(bullet_sections(title, [_finding_line(f) for f in findings], max_sections=3))
    shown = view.waves[:MAX_TABLE_DATA_ROWS]
    rows = [[*_wave_row(w), _check_cell(_wave_findings(w, check.findings))] for w in shown]
    blocks.append(table(CHECK_COLUMNS, rows))
    if len(shown) < len(view.waves):
        blocks.append(context(f"Showing waves 1 to {len(shown)} of {len(view.waves)}."))
    if check.usage:
        blocks.append(section("\n".join(_usage_line(u, limits) for u in check.usage[:20])))
    blocks.append(context(f"Nothing was launched: this is a dry run · plan version {plan.version}"))
    outcome = "ready" if check.ok else f"not ready, {plural(len(errors), 'error')}"
    text = f"Pre-flight check of {plan.plan_name}: {outcome}, {plural(len(warnings), 'warning')}"
    return Message(text=text, blocks=blocks, is_error=not check.ok)
