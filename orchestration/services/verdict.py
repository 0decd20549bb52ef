"""A run held against a target (docs/report.md): the verdict values the RTO and the RPO share, and
the cases both decide before their target is looked at.

Before the target decides, a run that never ran is NOT_RUN, one that has not ended IN_PROGRESS, one
whose plan (and so its target) is not known UNKNOWN, and one whose plan sets no target NO_TARGET.
Only then does each objective judge its own measure (orchestration/services/report.py for the RTO,
orchestration/services/rpo.py for the RPO).
"""

from __future__ import annotations

from enum import StrEnum

from orchestration.models import Execution, ExecutionStatus


class Verdict(StrEnum):
    MET = "MET"
    MISSED = "MISSED"
    NO_TARGET = "NO_TARGET"
    UNKNOWN = "UNKNOWN"  # the plan is gone (or was not read); for the RPO also: nothing measured
    IN_PROGRESS = "IN_PROGRESS"
    NOT_RUN = "NOT_RUN"  # rejected or expired before it ran

    @property
    def shows_target(self) -> bool:
        """Not decided by the run: the target it will be (or would have been) held against is shown."""
        return self in (Verdict.NOT_RUN, Verdict.IN_PROGRESS)


EDITED = " (the plan's current target: it was edited after the run)"


def undecided(
    execution: Execution, target: int | None, objective: str, *, plan_unknown: str | None, edited: bool
) -> tuple[Verdict, str] | None:
    """The verdict and its note when the target cannot decide (see the module docstring); None when
    it can. `objective` is "RTO" or "RPO"; `plan_unknown` why the plan is not known ("was deleted
    since"); `edited` that the target is the plan's current one and the plan was edited since."""
    if execution.status in (ExecutionStatus.REJECTED, ExecutionStatus.EXPIRED):
        return Verdict.NOT_RUN, "It never ran."
    if not execution.is_terminal:
        return Verdict.IN_PROGRESS, "The run has not ended yet."
    if plan_unknown is not None:
        return Verdict.UNKNOWN, f"The plan {plan_unknown}: its {objective} target is not known."
    if target is None:
        return Verdict.NO_TARGET, f"The plan sets no {objective} target{EDITED if edited else ''}."
    return None
