"""Ids of interactive elements, shared by the view builders that place them and the Slack listeners
that answer them (a click's `action_id`; its `value` is the execution id), and the slash command's
name, as the app's manifest declares it."""

from __future__ import annotations

from enum import StrEnum

SLASH = "/dr"


class ActionId(StrEnum):
    """Buttons of an execution's messages."""

    APPROVE = "execution_approve"
    REJECT = "execution_reject"
    PAUSE = "execution_pause"
    RESUME = "execution_resume"
    CANCEL = "execution_cancel"


class BlockId(StrEnum):
    EXECUTION_ACTIONS = "execution_actions"


class GroupBuilderId(StrEnum):
    """The group builder modal: its callback id and its input blocks (each element's action_id is
    its block's id)."""

    CALLBACK = "group_builder"
    NAME = "group_builder_name"
    DESCRIPTION = "group_builder_description"
    REGION = "group_builder_region"
    ACCOUNT = "group_builder_account"
    SERVERS = "group_builder_servers"  # a multi_external_select: its options come from DRS
    TAGS = "group_builder_tags"


class PlanBuilderId(StrEnum):
    """The plan builder modal: its callback id, the plan's input blocks, the per-wave block kinds
    (a wave's block id is `<kind>.<wave number>.<revision>`) and the buttons and selects that call
    the app while the modal is open."""

    CALLBACK = "plan_builder"
    NAME = "plan_builder_name"
    DESCRIPTION = "plan_builder_description"
    RTO = "plan_builder_rto"
    RPO = "plan_builder_rpo"
    FOOTER = "plan_builder_footer"
    WAVE_NAME = "plan_wave_name"
    WAVE_GROUP = "plan_wave_group"
    WAVE_AFTER = "plan_wave_after"
    WAVE_ACTIONS = "plan_wave_actions"
    ADD_WAVE = "plan_builder_add_wave"
    REMOVE_WAVE = "plan_builder_remove_wave"  # its value is the wave's number
    PAUSE = "plan_builder_pause"  # the pause-before checkbox, in the wave's actions block
    GROUP_SELECT = "plan_builder_group"  # an external_select when there are too many groups to list


class ScheduleActionId(StrEnum):
    """Buttons of a drill schedule's approval request (a click's `value` is the schedule id)."""

    APPROVE = "schedule_approve"
    REJECT = "schedule_reject"
    BLOCK = "schedule_actions"  # the actions block holding them


class ServersActionId(StrEnum):
    """The page buttons of `/dr servers` (a click's `value` is the page and the filters, as JSON:
    bot/views/servers.py `ServerQuery`)."""

    PAGE = "servers_page"
    BLOCK = "servers_pages"  # the actions block holding Previous / Next


class HomeActionId(StrEnum):
    """Buttons of the App Home's plan lines (a click's `value` is the plan id)."""

    PLAN_HISTORY = "home_plan_history"
