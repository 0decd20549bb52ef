"""Ids of interactive elements, shared by the view builders that place them and the Slack listeners
that answer them (a click's `action_id`; its `value` is the execution id)."""

from __future__ import annotations

from enum import StrEnum


class ActionId(StrEnum):
    """Buttons of an execution's messages."""

    APPROVE = "execution_approve"
    REJECT = "execution_reject"
    PAUSE = "execution_pause"
    RESUME = "execution_resume"
    CANCEL = "execution_cancel"


class BlockId(StrEnum):
    EXECUTION_ACTIONS = "execution_actions"


class ScheduleActionId(StrEnum):
    """Buttons of a drill schedule's approval request (a click's `value` is the schedule id)."""

    APPROVE = "schedule_approve"
    REJECT = "schedule_reject"
    BLOCK = "schedule_actions"  # the actions block holding them
