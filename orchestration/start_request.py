"""The typed request to start a drill or a recovery (`StartExecution`).

Its own module, apart from the other requests (orchestration/requests.py, which re-exports it):
the scheduled-drill and execution functions start runs but never create or change a group or a
plan, so they do not build those requests' models (bench/README.md, "Import cost of the Lambda
entries").
"""

from __future__ import annotations

from pydantic import Field

from orchestration.models import MAX_MINUTES, Description, ExecutionType, WireModel


class StartExecution(WireModel):
    plan_id: str = Field(min_length=1, description="The plan's id (or its name).")
    execution_type: ExecutionType = ExecutionType.DRILL
    initiated_by: str = Field(default="direct-invocation", min_length=1, max_length=256)
    reason: Description = ""
    cleanup_after_minutes: int | None = Field(
        default=None,
        ge=0,
        le=MAX_MINUTES,
        description="Drills: terminate the recovery instances this long after the end (default: at once).",
    )
