"""Nothing runs while nothing happens: no recurring schedule targets the execution function (the
invocations of an idle day are 0), and the functions that create an execution's one-time wake-ups
may create and delete them in the wake-up group, naming the scheduler role, which may invoke the
execution function the wake-up targets."""

from __future__ import annotations

import copy
import re
from typing import Any

from orchestration.engine.eventbridge_wake_ups import NAME_PREFIX
from tests.deploy.conftest import ROOT
from tests.deploy.test_template import _granted

RECURRING = re.compile(r"^\s*(rate|cron)\(", re.IGNORECASE)
EXECUTION_HANDLER = "${ProjectName}-execution-handler-${Environment}"
WAKE_UPS = (
    "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${WakeUpScheduleGroup}/"
    f"{NAME_PREFIX}*"
)
_CALL = re.compile(r"self\._client\.([a-z_]+)\(")


def _targets_execution_function(target: Any) -> bool:
    text = repr(target)
    return "ExecutionFunction" in text or EXECUTION_HANDLER in text


def recurring_invocations_of_the_execution_function(template: dict[str, Any]) -> list[str]:
    """Every rate()/cron() schedule or rule of the template (SAM events and plain resources) that
    invokes the execution function: what would run while nothing happens."""
    found: list[str] = []
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::Serverless::Function" and logical_id == "ExecutionFunction":
            for name, event in (properties.get("Events") or {}).items():
                expression = str(event.get("Properties", {}).get("ScheduleExpression") or "")
                if event["Type"] in ("Schedule", "ScheduleV2") or RECURRING.match(expression):
                    found.append(f"{logical_id}.{name}")
        if kind in ("AWS::Scheduler::Schedule", "AWS::Events::Rule"):
            expression = str(properties.get("ScheduleExpression") or "")
            targets = properties.get("Target") or properties.get("Targets")
            if RECURRING.match(expression) and _targets_execution_function(targets):
                found.append(logical_id)
    return found


def test_no_recurring_schedule_targets_the_execution_function(
    template: dict[str, Any], transformed: dict[str, Any]
) -> None:
    assert recurring_invocations_of_the_execution_function(template) == []
    assert recurring_invocations_of_the_execution_function(transformed) == []  # what SAM deploys


def test_the_check_finds_a_recurring_schedule(template: dict[str, Any]) -> None:
    template = copy.deepcopy(template)
    events = template["Resources"]["ExecutionFunction"]["Properties"].setdefault("Events", {})
    events["Sweep"] = {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "rate(1 minute)"}}
    template["Resources"]["Poll"] = {
        "Type": "AWS::Scheduler::Schedule",
        "Properties": {
            "ScheduleExpression": "cron(0 * * * ? *)",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {"Arn": {"Fn::GetAtt": ["ExecutionFunction", "Arn"]}, "RoleArn": "x"},
        },
    }
    assert recurring_invocations_of_the_execution_function(template) == ["ExecutionFunction.Sweep", "Poll"]


def test_who_creates_runs_may_create_and_delete_their_wake_ups(transformed: dict[str, Any]) -> None:
    source = (ROOT / "orchestration/engine/eventbridge_wake_ups.py").read_text(encoding="utf-8")
    calls = set(_CALL.findall(source)) - {"get_paginator"}  # listing is for tests and operators
    needed = {"scheduler:" + "".join(part.title() for part in call.split("_")) for call in calls}
    assert needed == {"scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"}
    for logical_id in ("SlackFunction", "ExecutionFunction", "ScheduledDrillFunction"):
        granted = _granted(transformed, logical_id)
        assert {(action, WAKE_UPS) for action in needed} <= granted, logical_id
        assert ("iam:PassRole", "SchedulerRole") in granted, logical_id


def test_the_wake_up_target_is_the_execution_function(transformed: dict[str, Any]) -> None:
    resources = transformed["Resources"]
    env = resources["ExecutionFunction"]["Properties"]["Environment"]["Variables"]
    assert EXECUTION_HANDLER in env["DRBOT_WAKE_UP_FUNCTION_ARN"]["Fn::Sub"]
    assert resources["ExecutionFunction"]["Properties"]["FunctionName"] == {"Fn::Sub": EXECUTION_HANDLER}
    assert env["DRBOT_WAKE_UP_GROUP"] == {"Ref": "WakeUpScheduleGroup"}
