"""Whether a run passed, said once for every view of many runs (a plan's history, the monthly
digest; docs/report.md): from its evidence report, so no view disagrees with `/dr report`.

- *missed a target*: its RTO or its RPO verdict is MISSED;
- *RPO not verified*: its RPO verdict is UNKNOWN while a target applies (the run's target is known
  but no recovered server's point in time was recorded, so the data loss was not measured);
- *failed to clean up*: a drill whose cleanup FAILED (instances possibly left running);
- *passed*: it COMPLETED, missed no target, its RPO was not left unverified and it did not fail to
  clean up (MET and NO_TARGET pass; UNKNOWN passes only when no target is known, a deleted plan's
  run from before targets were recorded on the execution).
"""

from __future__ import annotations

from orchestration.models import CleanupStatus, ExecutionStatus
from orchestration.services.report import EvidenceReport, RtoResult
from orchestration.services.rpo import RpoResult


def missed_target(report: EvidenceReport) -> bool:
    return report.rto.result == RtoResult.MISSED or report.rpo.result == RpoResult.MISSED


def rpo_unverified(report: EvidenceReport) -> bool:
    """A target applies but the data loss was not measured: the run cannot be said to have met it."""
    return report.rpo.result == RpoResult.UNKNOWN and report.rpo.target_minutes is not None


def cleanup_failed(report: EvidenceReport) -> bool:
    return report.cleanup is not None and report.cleanup.status == CleanupStatus.FAILED


def passed(report: EvidenceReport) -> bool:
    return (
        report.status == ExecutionStatus.COMPLETED
        and not missed_target(report)
        and not rpo_unverified(report)
        and not cleanup_failed(report)
    )
