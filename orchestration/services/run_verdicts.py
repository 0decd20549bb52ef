"""Whether a run passed, said once for every view of many runs (a plan's history, the monthly
digest; docs/report.md): from its evidence report, so no view disagrees with `/dr report`.

- *missed a target*: its RTO or its RPO verdict is MISSED;
- *failed to clean up*: a drill whose cleanup FAILED (instances possibly left running);
- *passed*: it COMPLETED, missed no target (MET, NO_TARGET and UNKNOWN do not fail it) and did not
  fail to clean up.
"""

from __future__ import annotations

from orchestration.models import CleanupStatus, ExecutionStatus
from orchestration.services.report import EvidenceReport, RtoResult
from orchestration.services.rpo import RpoResult


def missed_target(report: EvidenceReport) -> bool:
    return report.rto.result == RtoResult.MISSED or report.rpo.result == RpoResult.MISSED


def cleanup_failed(report: EvidenceReport) -> bool:
    return report.cleanup is not None and report.cleanup.status == CleanupStatus.FAILED


def passed(report: EvidenceReport) -> bool:
    return (
        report.status == ExecutionStatus.COMPLETED
        and not missed_target(report)
        and not cleanup_failed(report)
    )
