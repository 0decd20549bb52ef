"""An execution's initial shape from its plan: one WaveRun per wave, with where its job will run,
and the plan's RTO and RPO targets at the request (the run's verdicts use these, docs/report.md)."""

from __future__ import annotations

from orchestration.context import Services
from orchestration.models import Execution, ExecutionStatus, ExecutionType, RecoveryPlan, WaveRun


def build_execution(
    services: Services,
    plan: RecoveryPlan,
    execution_type: ExecutionType,
    initiated_by: str,
    status: ExecutionStatus,
    *,
    reason: str = "",
    cleanup_after_minutes: int | None = None,
    schedule_id: str | None = None,
) -> Execution:
    groups = {g.group_id: g for g in services.store.list_groups()}
    waves = []
    for wave in plan.waves:
        group = groups.get(wave.protection_group_id)
        waves.append(
            WaveRun(
                wave_number=wave.wave_number,
                wave_name=wave.wave_name,
                protection_group_id=wave.protection_group_id,
                region=group.region if group else None,
                account_id=group.account_id if group else None,
                depends_on_waves=list(wave.depends_on_waves or []),
                pause_before=wave.pause_before,
            )
        )
    return Execution(
        plan_id=plan.plan_id,
        plan_name=plan.plan_name,
        execution_type=execution_type,
        status=status,
        initiated_by=initiated_by,
        reason=reason,
        requested_at=int(services.clock.now()),
        waves=waves,
        cleanup_after_minutes=cleanup_after_minutes,
        schedule_id=schedule_id,
        # the targets as they are now, at the request: the run's verdicts hold it against these
        rto_target_minutes=plan.rto_target_minutes,
        rpo_target_minutes=plan.rpo_target_minutes,
        targets_recorded=True,
    )
