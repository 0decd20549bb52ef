"""template.yaml is deployable and matches the code: cfn-lint and the SAM translator accept it (and
refuse a broken copy), its tables are the store's, its routes are the handlers', every environment
variable the code reads is set, every entry point imports, and each role grants what its function
calls and little else.

One piece, longer than most: every check reads the same parsed template and the same code scan.
"""

from __future__ import annotations

import copy
import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestration.engine.wake import DRS_SOURCE, EC2_SOURCE, INSTANCE_STATE_CHANGE, LAUNCH_RESULT
from tests.deploy.conftest import ROOT, load_template, transform

PACKAGES = ("bot", "orchestration", "scheduler")

FUNCTIONS = {  # logical id -> the entry point the workers agreed on
    "SlackFunction": "bot.lambda_function.handler",
    "DataManagementFunction": "orchestration.handlers.data_management.lambda_handler",
    "ExecutionFunction": "orchestration.handlers.execution.lambda_handler",
    "QueryFunction": "orchestration.handlers.query.lambda_handler",
    "ScheduledDrillFunction": "scheduler.handler.lambda_handler",
}
SEED_HANDLERS = {  # seed handler module -> its function
    "data_management": "DataManagementFunction",
    "execution": "ExecutionFunction",
    "query": "QueryFunction",
}

# Variables the code reads that the template leaves unset, each with its reason.
NOT_ON_AWS = {
    "DRBOT_DB_PATH": "the embedded default's SQLite file",
    "DRBOT_SIM_INVENTORY": "the DRS simulator's estate (embedded default)",
    "DRBOT_SIM_LAUNCH_SECONDS": "the DRS simulator's launch time (embedded default)",
    "DRBOT_MISSED_FIRE_GRACE_MINUTES": "the embedded scheduler backend's missed-fire grace",
    "DRBOT_ROLES_FILE": "roles from a local file; on AWS DRBOT_ROLES carries them",
    "DRBOT_EVIDENCE_DIR": "the embedded default's evidence archive folder; on AWS DRBOT_EVIDENCE_BUCKET",
    "SLACK_BOT_TOKEN": "local Slack; on AWS the Secrets Manager secret (SLACK_SECRET_ARN) holds it",
    "SLACK_SIGNING_SECRET": "local Slack; on AWS the Secrets Manager secret (SLACK_SECRET_ARN) holds it",
    "SLACK_APP_TOKEN": "Socket Mode (`drbot serve`); Lambda receives HTTP requests",
    "SLACK_API_URL": "an optional Web API base URL (GovSlack, proxies, tests); Slack's default otherwise",
    "AWS_REGION": "set by Lambda itself",
    "AWS_DEFAULT_REGION": "set by Lambda itself",
}


# -- the checks `sam deploy` would run -------------------------------------------------------------


def test_cfn_lint_accepts_the_template(template_text: str) -> None:
    from cfnlint.api import lint

    problems = lint(template_text)
    assert [str(p) for p in problems] == []


def test_cfn_lint_refuses_a_broken_template(template_text: str) -> None:
    from cfnlint.api import lint

    broken = template_text.replace("!GetAtt ExecutionFunction.Arn\n", "!GetAtt NoSuchFunction.Arn\n", 1)
    broken = broken.replace("BillingMode: PAY_PER_REQUEST", "BillingMode: FREE_OF_CHARGE", 1)
    assert broken != template_text

    rules = {p.rule.id for p in lint(broken)}

    assert "E1010" in rules  # GetAtt to a resource that does not exist
    assert "E3030" in rules  # a value outside the allowed ones


def test_the_sam_translator_expands_it_offline(transformed: dict[str, Any]) -> None:
    resources = transformed["Resources"]
    kinds = {logical_id: r["Type"] for logical_id, r in resources.items()}

    assert all(kinds[name] == "AWS::Lambda::Function" for name in FUNCTIONS)
    assert kinds["OrchestrationStateMachine"] == "AWS::StepFunctions::StateMachine"
    assert kinds["WakeUpScheduleGroup"] == "AWS::Scheduler::ScheduleGroup"
    assert not [t for t in kinds.values() if t.startswith("AWS::Serverless::")]


def test_the_sam_translator_refuses_a_broken_template(template: dict[str, Any]) -> None:
    from samtranslator.model.exceptions import InvalidDocumentException

    broken = copy.deepcopy(template)
    events = broken["Resources"]["SlackFunction"]["Properties"]["Events"]
    events["SlackEvents"]["Properties"].pop("Path")

    with pytest.raises(InvalidDocumentException):
        transform(broken)


def test_the_template_reads_back_as_written() -> None:
    """The helper that loads it refuses YAML CloudFormation would refuse (duplicate keys)."""
    with pytest.raises(AssertionError, match="does not parse"):
        load_template("Resources:\n  A: {Type: AWS::SQS::Queue}\n  A: {Type: AWS::SQS::Queue}\n")


# -- tables ------------------------------------------------------------------------------------------

TABLE_VARIABLES = {  # TableNames field -> the template's environment variable
    "protection_groups": "PROTECTION_GROUPS_TABLE",
    "recovery_plans": "RECOVERY_PLANS_TABLE",
    "executions": "EXECUTION_HISTORY_TABLE",
    "target_accounts": "TARGET_ACCOUNTS_TABLE",
    "tag_sync_config": "TAG_SYNC_CONFIG_TABLE",
    "schedules": "DRBOT_SCHEDULES_TABLE",
    "audit": "DRBOT_AUDIT_TABLE",
    "execution_parts": "DRBOT_EXECUTION_PARTS_TABLE",
}


def _tables_by_variable(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    resources = template["Resources"]
    return {name: resources[variables[name]["Ref"]] for name in TABLE_VARIABLES.values()}


def _key_layout(definition: dict[str, Any]) -> dict[str, Any]:
    return {
        "KeySchema": definition["KeySchema"],
        "AttributeDefinitions": sorted(definition["AttributeDefinitions"], key=lambda a: a["AttributeName"]),
        "GlobalSecondaryIndexes": sorted(
            definition.get("GlobalSecondaryIndexes", []), key=lambda i: i["IndexName"]
        ),
        "BillingMode": definition["BillingMode"],
    }


def table_drift(template: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Tables whose keys, attributes, indexes or billing differ from the store's: name -> (template,
    store)."""
    from orchestration.config import TableNames
    from orchestration.store.dynamodb import table_definitions

    names = TableNames(**{field: f"<{variable}>" for field, variable in TABLE_VARIABLES.items()})
    expected = {d["TableName"].strip("<>"): _key_layout(dict(d)) for d in table_definitions(names)}
    in_template = {
        variable: _key_layout(table["Properties"])
        for variable, table in _tables_by_variable(template).items()
    }
    return {
        name: (in_template.get(name), expected.get(name))
        for name in set(expected) | set(in_template)
        if in_template.get(name) != expected.get(name)
    }


def test_every_table_is_the_stores_with_its_keys_and_indexes(template: dict[str, Any]) -> None:
    assert table_drift(template) == {}


def test_every_table_is_protected(template: dict[str, Any]) -> None:
    tables = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"}
    assert len(tables) == len(TABLE_VARIABLES) + 1  # plus the idempotency table
    for logical_id, table in tables.items():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST", logical_id
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, (
            logical_id
        )
        assert properties["DeletionProtectionEnabled"] is True, logical_id
        assert properties["SSESpecification"] == {"SSEEnabled": True}, logical_id
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain", logical_id
        assert properties["TableName"] == {"Fn::Sub": _seed_name(logical_id)}, logical_id


def _seed_name(table_logical_id: str) -> str:
    """`${ProjectName}-<kebab name>-${Environment}`: ExecutionHistoryTable -> execution-history."""
    stem = table_logical_id.removesuffix("Table")
    kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", stem).lower()
    return f"${{ProjectName}}-{kebab}-${{Environment}}"


# -- functions: names, entry points, routes ------------------------------------------------------------


def test_functions_are_named_as_the_seed_names_them(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    for logical_id in FUNCTIONS:
        stem = re.sub(r"(?<!^)(?=[A-Z])", "-", logical_id.removesuffix("Function")).lower()
        name = resources[logical_id]["Properties"]["FunctionName"]
        assert name == {"Fn::Sub": f"${{ProjectName}}-{stem}-handler-${{Environment}}"}


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_function_entry_point_imports(template: dict[str, Any], logical_id: str) -> None:
    handler = template["Resources"][logical_id]["Properties"]["Handler"]
    assert handler == FUNCTIONS[logical_id]
    module_name, _, attribute = handler.rpartition(".")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute))
    assert (ROOT / module_name.replace(".", "/")).with_suffix(".py").is_file()  # inside CodeUri


def route_drift(template: dict[str, Any], module_name: str) -> set[tuple[str, str]]:
    """(method, path) pairs on the handler's operation table or on its function, not on both."""
    module = importlib.import_module(f"orchestration.handlers.{module_name}")
    expected = {(op.method, op.path) for op in module.OPERATIONS}
    function = template["Resources"][SEED_HANDLERS[module_name]]["Properties"]
    routes = {
        (event["Properties"]["Method"], event["Properties"]["Path"])
        for event in function["Events"].values()
        if event["Type"] == "Api"
    }
    return routes ^ expected


@pytest.mark.parametrize("module_name", sorted(SEED_HANDLERS))
def test_every_seed_operation_has_its_route_on_its_function(
    template: dict[str, Any], module_name: str
) -> None:
    assert route_drift(template, module_name) == set()
    function = template["Resources"][SEED_HANDLERS[module_name]]["Properties"]
    assert all(
        e["Properties"]["RestApiId"] == {"Ref": "DrbotApi"}
        for e in function["Events"].values()
        if e["Type"] == "Api"
    )


def test_the_rest_api_requires_iam_and_slack_has_its_route(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    assert resources["DrbotApi"]["Properties"]["Auth"]["DefaultAuthorizer"] == "AWS_IAM"
    slack = resources["SlackFunction"]["Properties"]
    assert slack["Events"]["SlackEvents"] == {
        "Type": "HttpApi",
        "Properties": {"ApiId": {"Ref": "SlackApi"}, "Path": "/slack/events", "Method": "POST"},
    }
    # lazy listeners: no retry of an asynchronous self-invocation, and time for the slowest command
    assert slack["EventInvokeConfig"]["MaximumRetryAttempts"] == 0
    assert slack["Timeout"] >= 120
    # a cold start must ack within Slack's 3 seconds: a full vCPU (1769 MB), not the global 512 MB
    assert slack["MemorySize"] >= 1769


SEED_OPERATIONS = {
    name: sorted(
        (op.method, op.path) for op in importlib.import_module(f"orchestration.handlers.{name}").OPERATIONS
    )
    for name in SEED_HANDLERS
}


def test_rest_callers_need_execute_api_invoke_only(transformed: dict[str, Any]) -> None:
    """API Gateway invokes each function under the resource policy SAM gives it for its route, not
    with the caller's credentials (which would also need lambda:InvokeFunction, else a 500)."""
    resources = transformed["Resources"]
    paths = resources["DrbotApi"]["Properties"]["Body"]["paths"]
    integrations = [
        (method, path, operation["x-amazon-apigateway-integration"])
        for path, operations in paths.items()
        for method, operation in operations.items()
    ]
    assert len(integrations) == sum(len(SEED_OPERATIONS[m]) for m in SEED_OPERATIONS)
    assert [(m, p) for m, p, integration in integrations if "credentials" in integration] == []
    allowed = {
        (r["Properties"]["FunctionName"]["Ref"], r["Properties"]["SourceArn"]["Fn::Sub"][0].rsplit("}", 1)[1])
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"]["Principal"] == "apigateway.amazonaws.com"
    }
    for module_name, logical_id in SEED_HANDLERS.items():
        for method, path in SEED_OPERATIONS[module_name]:
            route = "/" + method + re.sub(r"\{[^}]+\}", "*", path)
            assert (logical_id, route) in allowed, (logical_id, route)


def test_the_state_machine_definition_and_its_substitutions(template: dict[str, Any]) -> None:
    machine = template["Resources"]["OrchestrationStateMachine"]["Properties"]
    definition = ROOT / machine["DefinitionUri"]
    placeholders = set(re.findall(r"\$\{(\w+)\}", definition.read_text(encoding="utf-8")))

    assert placeholders == set(machine["DefinitionSubstitutions"]) == {"ExecutionFunctionArn"}
    assert machine["DefinitionSubstitutions"]["ExecutionFunctionArn"] == {
        "Fn::GetAtt": ["ExecutionFunction", "Arn"]
    }
    assert machine["Tracing"] == {"Enabled": True}
    assert machine["Logging"]["Level"] in ("ALL", "ERROR", "FATAL")
    # the functions name the machine by a fixed name, so there is no circular reference
    arn = template["Globals"]["Function"]["Environment"]["Variables"]["STEP_FUNCTIONS_STATE_MACHINE_ARN"]
    assert arn["Fn::Sub"].endswith(":stateMachine:" + machine["Name"]["Fn::Sub"])


def test_the_scheduler_role_may_fire_the_scheduled_drill_and_execution_functions_only(
    transformed: dict[str, Any],
) -> None:
    role = transformed["Resources"]["SchedulerRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    granted = {(a, _resource_id(r)) for a, r in _grants([role])}
    assert granted == {
        (
            "lambda:InvokeFunction",
            "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
            "${ProjectName}-scheduled-drill-handler-${Environment}",
        ),
        (  # executions' wake-ups
            "lambda:InvokeFunction",
            "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
            "${ProjectName}-execution-handler-${Environment}",
        ),
        ("sqs:SendMessage", "ScheduleDeadLetterQueue"),
    }


# -- environment -----------------------------------------------------------------------------------------

_ENV_CONSTANT = re.compile(r'^\s*ENV_[A-Z0-9_]+\s*(?::\s*str\s*)?=\s*"([A-Z][A-Z0-9_]+)"', re.MULTILINE)
_ENV_READ = re.compile(
    r'(?:os\.environ(?:\.get)?|os\.getenv|environ\.get|getenv)\s*[\[(]\s*"([A-Z][A-Z0-9_]+)"'
)


def _python_sources() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def variables_the_code_reads() -> dict[str, str]:
    """Every environment variable name the code reads: ENV_* constants (orchestration/config.py
    and any module that declares its own) and literal os.environ / getenv reads. name -> file."""
    found: dict[str, str] = {}
    for path in _python_sources():
        text = path.read_text(encoding="utf-8")
        for name in _ENV_CONSTANT.findall(text) + _ENV_READ.findall(text):
            found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def _function_variables(transformed: dict[str, Any]) -> dict[str, set[str]]:
    return {
        logical_id: set(transformed["Resources"][logical_id]["Properties"]["Environment"]["Variables"])
        for logical_id in FUNCTIONS
    }


def test_the_scan_finds_the_variables_config_declares() -> None:
    from orchestration import config

    declared = {value for name, value in vars(config).items() if name.startswith("ENV_")}
    found = variables_the_code_reads()
    assert declared <= set(found)
    assert {"DRBOT_BACKEND", "SLACK_SECRET_ARN", "DRBOT_NOTIFIER"} <= set(found)


def unset_variables(transformed: dict[str, Any]) -> dict[str, str]:
    """Variables the code reads that no function sets (and NOT_ON_AWS does not excuse): name -> file."""
    set_somewhere = set().union(*_function_variables(transformed).values())
    return {
        name: where
        for name, where in variables_the_code_reads().items()
        if name not in set_somewhere and name not in NOT_ON_AWS
    }


def test_every_variable_the_code_reads_is_set_by_the_template(transformed: dict[str, Any]) -> None:
    missing = unset_variables(transformed)
    assert missing == {}, "set these in template.yaml (or say in NOT_ON_AWS why AWS needs none)"


def test_a_template_that_drifted_from_the_code_is_caught(template: dict[str, Any]) -> None:
    """The checks above fail on a broken copy: an index dropped, a route missing, a variable unset."""
    broken = copy.deepcopy(template)
    resources = broken["Resources"]
    resources["ExecutionHistoryTable"]["Properties"]["GlobalSecondaryIndexes"].pop()
    resources["ExecutionFunction"]["Properties"]["Events"].pop("PauseExecution")
    assert set(table_drift(broken)) == {"EXECUTION_HISTORY_TABLE"}
    assert route_drift(broken, "execution") == {("POST", "/executions/{executionId}/pause")}

    del broken["Globals"]["Function"]["Environment"]["Variables"]["DRBOT_AUDIT_TABLE"]
    assert set(unset_variables(transform(broken))) == {"DRBOT_AUDIT_TABLE"}


def test_each_function_has_the_variables_its_runtime_needs(transformed: dict[str, Any]) -> None:
    variables = _function_variables(transformed)
    tables = set(TABLE_VARIABLES.values())
    for logical_id, names in variables.items():
        assert tables | {"DRBOT_BACKEND", "STEP_FUNCTIONS_STATE_MACHINE_ARN"} <= names, logical_id
    for logical_id in ("SlackFunction", "ExecutionFunction", "ScheduledDrillFunction"):
        assert "SLACK_SECRET_ARN" in variables[logical_id], logical_id
    for logical_id in ("SlackFunction", "ExecutionFunction", "ScheduledDrillFunction"):  # they deliver events
        env = transformed["Resources"][logical_id]["Properties"]["Environment"]["Variables"]
        assert env["DRBOT_NOTIFIER"] == "bot.slack_notifier:notifier_from_settings"
    schedule_target = {
        "DRBOT_SCHEDULE_GROUP",
        "DRBOT_SCHEDULER_ROLE_ARN",
        "DRBOT_SCHEDULED_DRILL_FUNCTION_ARN",
        "DRBOT_SCHEDULE_DLQ_ARN",
    }
    for logical_id in ("SlackFunction", "ScheduledDrillFunction"):  # both write EventBridge schedules
        assert schedule_target <= variables[logical_id], logical_id
    assert "DRBOT_IDEMPOTENCY_TABLE" in variables["ScheduledDrillFunction"]
    wake_ups = {"DRBOT_WAKE_UP_GROUP", "DRBOT_WAKE_UP_FUNCTION_ARN", "DRBOT_SCHEDULER_ROLE_ARN"}
    for logical_id in ("SlackFunction", "ExecutionFunction", "ScheduledDrillFunction"):  # they create runs
        assert wake_ups <= variables[logical_id], logical_id


def test_the_not_on_aws_list_names_only_variables_the_code_still_reads() -> None:
    read = variables_the_code_reads()
    stale = {name for name in NOT_ON_AWS if name not in read and not name.startswith("AWS_")}
    assert stale == set()


# -- IAM: what each function may do ------------------------------------------------------------------------

# Actions granted on "*", each because the service has no resource-level permission for it, or (for a
# DRS launch) because the resources are created by DRS and unknown in advance.
STAR_ALLOWED = {
    "drs:DescribeSourceServers",
    "drs:DescribeJobs",
    "drs:DescribeRecoveryInstances",
    "ec2:DescribeInstances",
    "ec2:DescribeTags",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeInstanceTypes",
    "iam:ListInstanceProfiles",
    "scheduler:ListSchedules",
    # Step Functions' log delivery
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}
DRS_LAUNCH_EC2_PREFIX = "ec2:"  # StartRecovery's dependent EC2 actions (execution function only)

WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}

# The seed's "IAM Permissions Required" per handler. drbot's execution handler drives runs through
# Step Functions instead of invoking itself, so `lambda:InvokeFunction` (self-invocation) is not in it.
SEED_ACTIONS = {
    "DataManagementFunction": {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "drs:DescribeSourceServers",
        "ec2:DescribeInstances",
        "ec2:DescribeTags",
        "sts:AssumeRole",
    },
    "ExecutionFunction": {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "drs:StartRecovery",
        "drs:DescribeJobs",
        "drs:DescribeRecoveryInstances",
        "states:StartExecution",
        "states:DescribeExecution",
        "sts:AssumeRole",
    },
    "QueryFunction": {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "drs:DescribeSourceServers",
        "drs:DescribeRecoveryInstances",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeInstanceTypes",
        "iam:ListInstanceProfiles",
        "sts:AssumeRole",
    },
}


def _statements(role_properties: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for policy in role_properties.get("Policies", []):
        yield from policy["PolicyDocument"]["Statement"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grants(roles: list[dict[str, Any]]) -> Iterator[tuple[str, Any]]:
    for role in roles:
        for statement in _statements(role):
            assert statement["Effect"] == "Allow"
            for action in _as_list(statement["Action"]):
                for resource in _as_list(statement["Resource"]):
                    yield action, resource


def _role(transformed: dict[str, Any], logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = transformed["Resources"][f"{logical_id}Role"]["Properties"]
    return properties


def _resource_id(resource: Any) -> str:
    """The logical id a resource expression points at, or its text (for !Sub ARNs and "*")."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return str(resource["Fn::GetAtt"][0])
    if isinstance(resource, dict) and "Ref" in resource:
        return str(resource["Ref"])
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        sub = resource["Fn::Sub"]
        return str(sub if isinstance(sub, str) else sub[0])
    return str(resource)


def _actions(transformed: dict[str, Any], logical_id: str) -> set[str]:
    return {action for action, _ in _grants([_role(transformed, logical_id)])}


@pytest.mark.parametrize("logical_id", [*sorted(FUNCTIONS), "OrchestrationStateMachine"])
def test_no_role_grants_wildcards_it_does_not_need(transformed: dict[str, Any], logical_id: str) -> None:
    for action, resource in _grants([_role(transformed, logical_id)]):
        assert "*" not in action, f"{logical_id}: {action}"
        if resource == "*":
            allowed = action in STAR_ALLOWED or (
                logical_id == "ExecutionFunction" and action.startswith(DRS_LAUNCH_EC2_PREFIX)
            )
            assert allowed, f"{logical_id}: {action} on '*'"


@pytest.mark.parametrize("logical_id", sorted(SEED_ACTIONS))
def test_each_seed_handler_has_the_actions_the_seed_lists(
    transformed: dict[str, Any], logical_id: str
) -> None:
    assert SEED_ACTIONS[logical_id] <= _actions(transformed, logical_id)


def test_whoever_reaches_executions_reaches_their_parts_alike(transformed: dict[str, Any]) -> None:
    """An execution is its head (ExecutionHistoryTable) and its parts (ExecutionPartsTable, written in
    the same transaction; orchestration/store/parts.py): every role has the same actions on both."""
    roles = {k: r["Properties"] for k, r in transformed["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    reaching = set()
    for logical_id, role in roles.items():
        grants = {(action, _resource_id(resource)) for action, resource in _grants([role])}
        on_heads = {action for action, resource in grants if resource == "ExecutionHistoryTable"}
        on_parts = {action for action, resource in grants if resource == "ExecutionPartsTable"}
        assert on_heads == on_parts, logical_id
        if on_heads:
            reaching.add(logical_id)
    assert {f"{f}Role" for f in FUNCTIONS} | {"DRSOrchestrationRole"} <= reaching


def test_the_query_function_only_reads(transformed: dict[str, Any]) -> None:
    actions = _actions(transformed, "QueryFunction")
    assert not actions & WRITES
    assert not {a for a in actions if a.startswith(("states:", "drs:Start", "drs:Terminate", "drs:Tag"))}


def test_only_the_execution_function_launches_and_terminates(transformed: dict[str, Any]) -> None:
    for logical_id in FUNCTIONS:
        launches = {"drs:StartRecovery", "drs:TerminateRecoveryInstances"} & _actions(transformed, logical_id)
        assert bool(launches) == (logical_id == "ExecutionFunction"), logical_id


def test_the_slack_function_invokes_itself_only(transformed: dict[str, Any]) -> None:
    invokes = [r for a, r in _grants([_role(transformed, "SlackFunction")]) if a == "lambda:InvokeFunction"]
    assert [_resource_id(r) for r in invokes] == [
        "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
        "${ProjectName}-slack-handler-${Environment}"
    ]
    assert (
        _resource_id(transformed["Resources"]["SlackFunction"]["Properties"]["FunctionName"])
        == "${ProjectName}-slack-handler-${Environment}"
    )


def test_the_state_machine_invokes_the_execution_function_only(transformed: dict[str, Any]) -> None:
    invokes = [
        r
        for a, r in _grants([_role(transformed, "OrchestrationStateMachine")])
        if a == "lambda:InvokeFunction"
    ]
    # SAM's LambdaInvokePolicy: the function and its versions, by name
    assert invokes == [
        {
            "Fn::Sub": [
                "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${functionName}*",
                {"functionName": {"Ref": "ExecutionFunction"}},
            ]
        }
    ]


def test_secrets_and_cross_account_roles_are_scoped(transformed: dict[str, Any]) -> None:
    for logical_id in FUNCTIONS:
        for action, resource in _grants([_role(transformed, logical_id)]):
            if action == "secretsmanager:GetSecretValue":
                assert _resource_id(resource) == "SlackSecret", logical_id
            if action == "sts:AssumeRole":
                assert _resource_id(resource) == "arn:${AWS::Partition}:iam::*:role/${CrossAccountRoleName}"
            if action == "iam:PassRole":
                assert isinstance(resource, dict), logical_id  # never "*"


# The AWS calls the code makes, found in its source, must be allowed to the functions that make them.
_DRS_CALL = re.compile(r'_client\.([a-z_]+)\(|_pages\(\s*"([a-z_]+)"')
_SFN_CALL = re.compile(r"client\.(start_execution|send_task_success|describe_execution|stop_execution)\(")


def _iam_action(service: str, operation: str) -> str:
    return f"{service}:" + "".join(part.title() for part in operation.split("_"))


def test_every_drs_call_of_the_gateway_is_granted_to_the_execution_function(
    transformed: dict[str, Any],
) -> None:
    source = (ROOT / "orchestration/drs/gateway.py").read_text(encoding="utf-8")
    calls = {a or b for a, b in _DRS_CALL.findall(source)} - {"get_paginator"}
    needed = {_iam_action("drs", call) for call in calls}

    assert {"drs:StartRecovery", "drs:DescribeJobs"} <= needed  # the scan sees the gateway's calls
    assert needed <= _actions(transformed, "ExecutionFunction")
    describes = {a for a in needed if ":Describe" in a}
    for logical_id in FUNCTIONS:
        assert describes <= _actions(transformed, logical_id), logical_id


def test_every_step_functions_call_is_granted_where_runs_are_driven(transformed: dict[str, Any]) -> None:
    source = (ROOT / "orchestration/engine/stepfunctions.py").read_text(encoding="utf-8")
    needed = {_iam_action("states", call) for call in _SFN_CALL.findall(source)}

    assert "states:StartExecution" in needed
    for logical_id in ("SlackFunction", "ExecutionFunction"):
        assert needed <= _actions(transformed, logical_id), logical_id
    assert "states:StartExecution" in _actions(transformed, "ScheduledDrillFunction")


def test_the_lambda_requirements_are_pyprojects_dependencies() -> None:
    """`sam build` reads requirements.txt; pyproject.toml is where dependencies are declared."""
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    required = [line.strip() for line in lines if line.strip() and not line.startswith("#")]

    assert sorted(required) == sorted(declared)


def test_samconfig_allows_the_named_roles_the_template_creates(template: dict[str, Any]) -> None:
    import tomllib

    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    capabilities = config["default"]["deploy"]["parameters"]["capabilities"].split()
    named = [
        k
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and "RoleName" in r["Properties"]
    ]

    assert named  # the seed's orchestration role
    assert {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"} <= set(capabilities)


_SCHEDULER_CALL = re.compile(r"self\._client\.([a-z_]+)\(")
DRILL_SCHEDULES = (
    "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${DrillScheduleGroup}/*"
)


def _granted(transformed: dict[str, Any], logical_id: str) -> set[tuple[str, str]]:
    return {(action, _resource_id(r)) for action, r in _grants([_role(transformed, logical_id)])}


def test_every_eventbridge_scheduler_call_is_granted_on_drbots_schedules(transformed: dict[str, Any]) -> None:
    """/dr schedule add|pause|resume|delete (the Slack function) make every schedule call of the backend;
    a fire of a deleted plan (the scheduled-drill function) reads and updates its schedule. Both pass
    the role EventBridge Scheduler fires with. The group is the template's (ensure_group is for tools)."""
    source = (ROOT / "scheduler/backends/eventbridge.py").read_text(encoding="utf-8")
    needed = {_iam_action("scheduler", call) for call in _SCHEDULER_CALL.findall(source)}
    on_schedules = needed - {"scheduler:GetScheduleGroup", "scheduler:CreateScheduleGroup"}

    assert {
        "scheduler:CreateSchedule",
        "scheduler:UpdateSchedule",
        "scheduler:DeleteSchedule",
    } <= on_schedules
    slack, drill = _granted(transformed, "SlackFunction"), _granted(transformed, "ScheduledDrillFunction")
    assert {(action, DRILL_SCHEDULES) for action in on_schedules} <= slack
    assert {
        ("scheduler:GetSchedule", DRILL_SCHEDULES),
        ("scheduler:UpdateSchedule", DRILL_SCHEDULES),
    } <= drill
    for grants in (slack, drill):
        assert ("iam:PassRole", "SchedulerRole") in grants
        assert ("scheduler:GetScheduleGroup", "DrillScheduleGroup") in grants


def test_the_scheduled_drill_function_may_keep_its_idempotency_records(
    template: dict[str, Any], transformed: dict[str, Any]
) -> None:
    """Every call powertools' DynamoDB persistence layer makes is granted on the idempotency table, whose
    key and TTL attribute are the layer's defaults (the handler builds it with the table name alone)."""
    import inspect

    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    source = inspect.getsource(DynamoDBPersistenceLayer)
    calls = set(re.findall(r"self\.client\.([a-z_]+)\(", source))
    needed = {_iam_action("dynamodb", call) for call in calls}
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"} <= needed
    assert {(action, "IdempotencyTable") for action in needed} <= _granted(
        transformed, "ScheduledDrillFunction"
    )

    function = template["Resources"]["ScheduledDrillFunction"]["Properties"]
    assert function["Environment"]["Variables"]["DRBOT_IDEMPOTENCY_TABLE"] == {"Ref": "IdempotencyTable"}
    defaults = inspect.signature(DynamoDBPersistenceLayer).parameters
    table = template["Resources"]["IdempotencyTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": defaults["key_attr"].default, "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {
        "AttributeName": defaults["expiry_attr"].default,
        "Enabled": True,
    }


def test_schedule_time_zones_need_no_system_tz_database() -> None:
    """Lambda's python3.12 runtime is an Amazon Linux 2023 minimal image: the IANA zones drill
    schedules are written in come from the `tzdata` package the functions are built with, not from
    /usr/share/zoneinfo."""
    import zoneinfo
    from datetime import datetime, timedelta

    from orchestration.models import Schedule
    from orchestration.schedule_expressions import _zone, validate_timezone

    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert "tzdata" in {re.split(r"[<>=\[; ]", line.strip())[0] for line in lines if line.strip()}

    zoneinfo.reset_tzpath(to=[])  # no system tz database
    zoneinfo.ZoneInfo.clear_cache()
    _zone.cache_clear()
    try:
        assert validate_timezone("Europe/Berlin") == "Europe/Berlin"
        schedule = Schedule(
            schedule_id="s-1",
            plan_id="p-1",
            expression="cron(0 3 ? * SUN#1 *)",
            timezone="America/New_York",
            created_by="alice",
        )
        summer = datetime(2026, 7, 1, tzinfo=zoneinfo.ZoneInfo(schedule.timezone))
        assert summer.utcoffset() == timedelta(hours=-4)
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()
        _zone.cache_clear()


TAG_SYNC_SCHEDULE = (
    "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/"
    "${DrillScheduleGroup}/drbot-tag-sync"
)
DIGEST_SCHEDULE = (
    "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/"
    "${DrillScheduleGroup}/drbot-digest"
)


def test_the_tag_sync_schedule_is_registered_by_data_management_and_fired_by_the_scheduled_function(
    template: dict[str, Any], transformed: dict[str, Any]
) -> None:
    """update_tag_sync_settings (data management) writes that one schedule, through the factory the
    environment names; the scheduled function's tag sync reads the settings, EC2 and tags DRS."""
    import pkgutil

    from scheduler.backends.eventbridge import TAG_SYNC_SCHEDULE as NAME

    assert TAG_SYNC_SCHEDULE.endswith(f"/{NAME}")
    env = template["Resources"]["DataManagementFunction"]["Properties"]["Environment"]["Variables"]
    assert callable(pkgutil.resolve_name(env["DRBOT_RECURRING_TASKS"]))
    assert {
        "DRBOT_SCHEDULE_GROUP",
        "DRBOT_SCHEDULER_ROLE_ARN",
        "DRBOT_SCHEDULED_DRILL_FUNCTION_ARN",
        "DRBOT_SCHEDULE_DLQ_ARN",
    } <= set(env)
    data = _granted(transformed, "DataManagementFunction")
    scheduler_grants = {(a, r) for a, r in data if a.startswith("scheduler:")}
    assert scheduler_grants == {
        (action, schedule)
        for schedule in (TAG_SYNC_SCHEDULE, DIGEST_SCHEDULE)  # the digest's: docs/schedules.md
        for action in (
            "scheduler:CreateSchedule",
            "scheduler:UpdateSchedule",
            "scheduler:DeleteSchedule",
            "scheduler:GetSchedule",
        )
    }
    assert ("iam:PassRole", "SchedulerRole") in data

    fired = _granted(transformed, "ScheduledDrillFunction")
    assert {
        ("dynamodb:GetItem", "TagSyncConfigTable"),
        ("dynamodb:PutItem", "TagSyncConfigTable"),  # the digest's claim of its month
        ("ec2:DescribeInstances", "*"),
        ("drs:TagResource", "arn:${AWS::Partition}:drs:*:${AWS::AccountId}:source-server/*"),
        ("dynamodb:PutItem", "AuditTable"),
    } <= fired


def test_drs_events_wake_the_execution_function(transformed: dict[str, Any]) -> None:
    resources = transformed["Resources"]
    rules = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::Events::Rule"}
    patterns = {
        (p["EventPattern"]["source"][0], p["EventPattern"]["detail-type"][0]): p
        for p in rules.values()
        if "EventPattern" in p
    }
    launch = patterns[(DRS_SOURCE, LAUNCH_RESULT)]  # what the execution function acts on
    ec2 = patterns[(EC2_SOURCE, INSTANCE_STATE_CHANGE)]
    assert ec2["EventPattern"]["detail"] == {"state": ["terminated"]}
    for rule in (launch, ec2):
        (target,) = rule["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": ["ExecutionFunction", "Arn"]}
        assert "EventBusName" not in rule  # the default bus, where DRS and the spokes put events
    permissions = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    assert len(permissions) == 2
    assert all(p["FunctionName"] == {"Ref": "ExecutionFunction"} for p in permissions)


def test_spoke_accounts_may_put_events_on_the_hubs_bus_only_when_named(template: dict[str, Any]) -> None:
    assert template["Parameters"]["SpokeAccountIds"]["Type"] == "CommaDelimitedList"
    assert template["Parameters"]["SpokeAccountIds"]["Default"] == ""
    policy = template["Resources"]["SpokeEventsPolicy"]
    assert policy["Condition"] == "HasSpokeAccounts"
    statement = policy["Properties"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Principal"] == {"AWS": {"Ref": "SpokeAccountIds"}}
