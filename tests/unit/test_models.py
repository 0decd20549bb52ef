import pytest

from orchestration.errors import (
    CircularDependency,
    InvalidScheduleExpression,
    InvalidTransition,
    MissingField,
    ValidationFailed,
)
from orchestration.models import (
    EXECUTION_TRANSITIONS,
    TERMINAL_EXECUTION_STATUSES,
    Execution,
    ExecutionStatus,
    ProtectionGroup,
    RecoveryPlan,
    Schedule,
    TargetAccount,
    WaveRun,
    WaveStatus,
    find_cycle,
    name_key,
)
from orchestration.validation import parse_model

S1 = "s-1234567890abcdef0"
S2 = "s-abcdef1234567890a"


def wave(number, deps=None, **extra):
    data = {"waveNumber": number, "waveName": f"Wave {number}", "protectionGroupId": "g1", **extra}
    if deps is not None:
        data["dependsOnWaves"] = deps
    return data


# -- protection groups ----------------------------------------------------------------------------


def test_seed_example_1_payload_is_a_valid_group_with_camel_case_wire_format():
    group = parse_model(
        ProtectionGroup,
        {
            "groupName": "Production Web Servers",
            "region": "us-east-1",
            "sourceServerIds": [S1, S2],
            "description": "Production web tier servers",
        },
    )
    wire = group.to_wire()
    assert wire["groupName"] == "Production Web Servers"
    assert wire["sourceServerIds"] == [S1, S2]
    assert wire["version"] == 1
    assert "accountId" not in wire  # unset optionals are omitted, as in the seed's responses
    assert ProtectionGroup.from_wire(wire) == group


@pytest.mark.parametrize(
    "selection",
    [{}, {"sourceServerIds": [S1], "serverSelectionTags": {"Tier": "web"}}, {"sourceServerIds": []}],
)
def test_group_selects_servers_by_ids_xor_tags(selection):
    with pytest.raises(ValidationFailed, match="either by sourceServerIds or by serverSelectionTags"):
        parse_model(ProtectionGroup, {"groupName": "g", "region": "us-east-1", **selection})


def test_group_rejects_malformed_server_ids_and_regions_naming_the_field():
    with pytest.raises(ValidationFailed) as caught:
        parse_model(ProtectionGroup, {"groupName": "g", "region": "mars-1", "sourceServerIds": ["i-123"]})
    fields = {p["field"] for p in caught.value.details["errors"]}
    assert fields == {"region", "sourceServerIds[0]"}


def test_group_rejects_duplicate_servers_and_unknown_fields():
    with pytest.raises(ValidationFailed, match="listed twice"):
        parse_model(ProtectionGroup, {"groupName": "g", "region": "us-east-1", "sourceServerIds": [S1, S1]})
    with pytest.raises(ValidationFailed, match="unknown field"):
        parse_model(
            ProtectionGroup, {"groupName": "g", "region": "us-east-1", "sourceServerIds": [S1], "x": 1}
        )


def test_missing_field_has_its_own_code():
    with pytest.raises(MissingField) as caught:
        parse_model(ProtectionGroup, {"region": "us-east-1", "sourceServerIds": [S1]})
    assert caught.value.to_body()["error"] == "MISSING_FIELD"
    assert caught.value.message == "groupName: field required"


def test_names_are_unique_case_insensitively():
    assert name_key("  Production Web ") == name_key("production web")


# -- recovery plans -------------------------------------------------------------------------------


def test_depends_on_waves_defaults_to_the_previous_wave():
    plan = parse_model(RecoveryPlan, {"planName": "p", "waves": [wave(3), wave(1), wave(2, deps=[])]})
    assert [(w.wave_number, w.depends_on_waves) for w in plan.waves] == [(1, []), (2, []), (3, [2])]


def test_explicit_dependencies_make_a_dag():
    plan = parse_model(
        RecoveryPlan, {"planName": "p", "waves": [wave(1), wave(2, deps=[]), wave(3, deps=[1, 2])]}
    )
    assert plan.wave(3).depends_on_waves == [1, 2]


def test_wave_numbers_are_unique():
    with pytest.raises(ValidationFailed, match="wave numbers must be unique; repeated: 2"):
        parse_model(RecoveryPlan, {"planName": "p", "waves": [wave(1), wave(2), wave(2)]})


def test_self_and_unknown_dependencies_are_refused():
    with pytest.raises(ValidationFailed, match="wave 2 depends on itself"):
        parse_model(RecoveryPlan, {"planName": "p", "waves": [wave(1), wave(2, deps=[2])]})
    with pytest.raises(ValidationFailed, match=r"wave 2 depends on wave\(s\) 7"):
        parse_model(RecoveryPlan, {"planName": "p", "waves": [wave(1), wave(2, deps=[7])]})


def test_cycle_is_named_with_its_own_code():
    with pytest.raises(CircularDependency) as caught:
        parse_model(RecoveryPlan, {"planName": "p", "waves": [wave(1, deps=[3]), wave(2), wave(3)]})
    assert caught.value.code == "CIRCULAR_DEPENDENCY"
    assert caught.value.details["cycle"] == [1, 3, 2, 1]
    assert "1 → 3 → 2 → 1" in caught.value.message


def test_find_cycle_on_a_dag_is_none():
    assert find_cycle({1: [], 2: [1], 3: [1, 2]}) is None


def test_plan_needs_at_least_one_wave():
    with pytest.raises(ValidationFailed, match="waves"):
        parse_model(RecoveryPlan, {"planName": "p", "waves": []})


# -- executions -----------------------------------------------------------------------------------


def execution(status=ExecutionStatus.PENDING_APPROVAL):
    return Execution(
        plan_id="p",
        plan_name="Plan",
        execution_type="DRILL",
        status=status,
        initiated_by="alice",
        requested_at=100,
    )


def test_happy_path_stamps_times():
    e = execution().with_status(ExecutionStatus.PENDING, 110).with_status(ExecutionStatus.RUNNING, 120)
    e = e.with_status(ExecutionStatus.PAUSED, 130).with_status(ExecutionStatus.RUNNING, 140)
    e = e.with_status(ExecutionStatus.COMPLETED, 200)
    assert (e.start_time, e.end_time, e.is_terminal) == (120, 200, True)


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (ExecutionStatus.PENDING_APPROVAL, ExecutionStatus.RUNNING),
        (ExecutionStatus.PENDING, ExecutionStatus.COMPLETED),
        (ExecutionStatus.PAUSED, ExecutionStatus.COMPLETED),
        (ExecutionStatus.COMPLETED, ExecutionStatus.RUNNING),
        (ExecutionStatus.CANCELLED, ExecutionStatus.RUNNING),
        (ExecutionStatus.REJECTED, ExecutionStatus.PENDING),
        (ExecutionStatus.CANCELLING, ExecutionStatus.RUNNING),
    ],
)
def test_transitions_off_the_arrows_are_refused(start, target):
    with pytest.raises(InvalidTransition) as caught:
        execution(start).with_status(target, 1)
    assert caught.value.status == 400


def test_terminal_statuses_have_no_way_out_and_every_status_is_in_the_table():
    assert set(EXECUTION_TRANSITIONS) == set(ExecutionStatus)
    for status in TERMINAL_EXECUTION_STATUSES:
        assert EXECUTION_TRANSITIONS[status] == frozenset()


def test_cancel_goes_through_cancelling():
    e = execution(ExecutionStatus.RUNNING).with_status(ExecutionStatus.CANCELLING, 1, reason="by bob")
    e = e.with_status(ExecutionStatus.CANCELLED, 2)
    assert (e.status, e.status_reason, e.end_time) == (ExecutionStatus.CANCELLED, "by bob", 2)


def test_wave_moves_forward_only():
    w = WaveRun(wave_number=1, wave_name="db")
    w = (
        w.with_status(WaveStatus.INITIATED, 10)
        .with_status(WaveStatus.STARTED, 20)
        .with_status(WaveStatus.COMPLETED, 30)
    )
    assert (w.start_time, w.end_time) == (10, 30)
    with pytest.raises(InvalidTransition):
        w.with_status(WaveStatus.STARTED, 40)
    with pytest.raises(InvalidTransition):
        WaveRun(wave_number=2, wave_name="x").with_status(WaveStatus.COMPLETED, 1)


# -- schedules and accounts -----------------------------------------------------------------------


def test_recovery_schedules_are_refused():
    with pytest.raises(ValidationFailed, match="only drills can be scheduled"):
        parse_model(Schedule, {"planId": "p", "expression": "rate(1 day)", "executionType": "RECOVERY"})


def test_schedule_timezone_and_expression_shape():
    with pytest.raises(InvalidScheduleExpression, match="not an IANA time zone"):
        parse_model(Schedule, {"planId": "p", "expression": "rate(1 day)", "timezone": "Mars/Olympus"})
    with pytest.raises(InvalidScheduleExpression, match="not an EventBridge expression"):
        parse_model(Schedule, {"planId": "p", "expression": "every sunday"})
    ok = parse_model(
        Schedule, {"planId": "p", "expression": "cron(0 3 ? * SUN#1 *)", "timezone": "Europe/Berlin"}
    )
    assert ok.execution_type == "DRILL"


def test_target_account_validates_role_arn():
    with pytest.raises(ValidationFailed, match="roleArn"):
        parse_model(TargetAccount, {"accountId": "123456789012", "accountName": "a", "roleArn": "nope"})
    account = parse_model(
        TargetAccount,
        {
            "accountId": "123456789012",
            "accountName": "spoke",
            "roleArn": "arn:aws:iam::123456789012:role/DRS-x",
        },
    )
    assert account.to_wire()["roleArn"].endswith("role/DRS-x")


def test_non_object_input_is_a_validation_error():
    with pytest.raises(ValidationFailed, match="expected a JSON object"):
        parse_model(ProtectionGroup, ["not", "a", "dict"])
