"""What drbot tells CloudWatch, tested through its output: the JSON log lines (no secret in them,
the correlation ids on them) and the EMF metrics blob `log_metrics` prints at the end of an
invocation.

Secrets are checked where they pass: a signed Slack request whose token and signing secret come
from Secrets Manager (moto) through the Lambda entry and its lazy self-invocation, and a
cross-account call whose credentials come from STS (moto). drbot's own logger is captured at DEBUG;
other libraries at INFO, the level a deployed function runs them at (botocore's DEBUG wire log
prints response bodies, credentials included, and is never switched on in a deployment).
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from orchestration.observability import (
    DRS_API_ERRORS,
    EXECUTIONS_COMPLETED,
    EXECUTIONS_STARTED,
    WAVE_DURATION,
    MetricsNotifier,
    correlation_ids,
    lambda_entry,
    logger,
    metrics,
    tracing_enabled,
    with_metrics,
)
from tests.conftest import AWS_REGION, fake_aws_env
from tests.integration.conftest import SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET
from tests.slack_requests import (
    CHANNEL_ID,
    TEAM_ID,
    VERIFICATION_TOKEN,
    LambdaContext,
    StubbedLambda,
    slash_command,
)
from tests.slack_stub import SlackStub

TRACER_DISABLED = "POWERTOOLS_TRACE_DISABLED"
SPOKE = "444455556666"
SPOKE_ROLE = f"arn:aws:iam::{SPOKE}:role/DRSOrchestrationCrossAccountRole"


# -- capturing what a deployed function would write --------------------------------------------------


@dataclass
class Output:
    """Everything written so far: drbot's JSON lines, other libraries' records, stdout (EMF)."""

    lines: io.StringIO
    caplog: pytest.LogCaptureFixture
    capsys: pytest.CaptureFixture[str]
    printed: list[str] = field(default_factory=list)

    def text(self) -> str:
        self.printed.append(self.capsys.readouterr().out)
        return self.lines.getvalue() + self.caplog.text + "".join(self.printed)


@pytest.fixture
def output(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Iterator[Output]:
    """drbot's logger at DEBUG (powertools' handler stream swapped for a buffer), bolt and
    slack_sdk at DEBUG, every other library at INFO, and stdout."""
    handler = logging.getLogger(logger.service).powertools_handler  # type: ignore[attr-defined]
    buffer = io.StringIO()
    previous_stream = handler.setStream(buffer)
    previous_level = logger.log_level
    logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.INFO)  # first: the handler takes the last level set
    for name in ("slack_bolt", "slack_sdk"):
        caplog.set_level(logging.DEBUG, logger=name)
    try:
        yield Output(buffer, caplog, capsys)
    finally:
        handler.setStream(previous_stream)
        logger.setLevel(previous_level)
        logger.thread_safe_clear_keys()  # a Slack request's user stays on this thread's lines


def json_lines(text: str) -> list[dict[str, Any]]:
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    return records


def assert_no_secrets(text: str, secrets: list[str]) -> None:
    assert text, "nothing was captured: the check would pass vacuously"
    leaked = [secret[:6] + "…" for secret in secrets if secret and secret in text]
    assert leaked == [], f"secrets in the logs: {leaked}"


def emf_blobs(text: str) -> list[dict[str, Any]]:
    return [record for record in json_lines(text) if "_aws" in record]


def metric_values(blobs: list[dict[str, Any]], name: str) -> list[float]:
    values: list[float] = []
    for blob in blobs:
        declared = {m["Name"] for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
        if name in declared:
            value = blob[name]
            values.extend(value if isinstance(value, list) else [value])
    return values


def test_the_secret_check_catches_a_leak(output: Output) -> None:
    logger.debug("careless", extra={"token": SLACK_BOT_TOKEN})
    with pytest.raises(AssertionError, match="secrets in the logs"):
        assert_no_secrets(output.text(), [SLACK_BOT_TOKEN])


# -- no secret in the logs ----------------------------------------------------------------------------


@pytest.fixture
def on_moto(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    from moto import mock_aws

    fake_aws_env(monkeypatch, tmp_path)
    with mock_aws():
        yield


def test_no_secret_is_logged_during_a_slack_request_and_a_cross_account_call(
    on_moto: None, slack_services: Any, slack_stub: SlackStub, output: Output
) -> None:
    import boto3

    from bot import lambda_function
    from orchestration.aws import AwsSessions
    from orchestration.handlers import data_management, query, runtime

    secret_arn = boto3.client("secretsmanager", region_name=AWS_REGION).create_secret(
        Name="drbot/test/slack",
        SecretString=json.dumps({"bot_token": SLACK_BOT_TOKEN, "signing_secret": SLACK_SIGNING_SECRET}),
    )["ARN"]
    settings = dataclasses.replace(
        slack_services.settings, slack_secret_arn=secret_arn, slack_bot_token=None, slack_signing_secret=None
    )
    sessions = AwsSessions(slack_services.store, boto3.session.Session(region_name=AWS_REGION))
    services = dataclasses.replace(slack_services, settings=settings, aws=sessions)
    lambdas = StubbedLambda()
    runtime.use(services)
    lambda_function.use(lambda_client=lambdas.client)
    try:
        # a signed slash command: the ack, then the lazy self-invocation that answers
        response_url = slack_stub.new_response_url()
        request = slash_command(SLACK_SIGNING_SECRET, "help", response_url=response_url)
        lambdas.expect(1)
        assert lambda_function.handler(request.apigw_event(), LambdaContext())["statusCode"] == 200
        (lazy_event,) = lambdas.events()
        assert lambda_function.handler(lazy_event, LambdaContext())["statusCode"] == 200
        assert slack_stub.answer_at(response_url).args["response_type"] == "ephemeral"

        # a cross-account call: the spoke's role assumed through STS
        registered = data_management.lambda_handler(
            {
                "operation": "create_target_account",
                "body": {
                    "accountId": SPOKE,
                    "accountName": "Payments",
                    "roleArn": SPOKE_ROLE,
                    "externalId": "drbot-external",
                    "regions": [AWS_REGION],
                },
            },
            LambdaContext(),
        )
        assert registered["accountId"] == SPOKE, registered
        profiles = query.lambda_handler(
            {"operation": "get_ec2_instance_profiles", "queryParams": {"accountId": SPOKE}}, LambdaContext()
        )
        assert profiles["count"] == 0, profiles
        credentials = sessions.session(SPOKE).get_credentials().get_frozen_credentials()
    finally:
        lambda_function.use(None)
        runtime.use(None)

    assert credentials.access_key != "testing"  # the spoke's own, from STS
    assert_no_secrets(
        output.text(),
        [
            SLACK_BOT_TOKEN,
            SLACK_SIGNING_SECRET,
            VERIFICATION_TOKEN,
            credentials.access_key,
            credentials.secret_key,
            credentials.token or "",
        ],
    )
    # the capture saw the calls that carry the token: slack_sdk's requests, at DEBUG
    assert "/api/auth.test" in output.text()


# -- correlation ids ---------------------------------------------------------------------------------------


def test_correlation_ids_come_from_wherever_the_event_has_them() -> None:
    assert correlation_ids({"task": "advance", "executionId": "e-1"}) == {"executionId": "e-1"}
    assert correlation_ids({"operation": "get_recovery_plan", "body": {"planId": "p-1"}}) == {"planId": "p-1"}
    assert correlation_ids({"pathParameters": {"executionId": "e-2"}, "body": '{"planId": "x"}'}) == {
        "executionId": "e-2"
    }
    assert correlation_ids({"scheduleId": "s-1", "scheduledTime": "2026-12-06T03:00:00Z"}) == {
        "scheduleId": "s-1"
    }
    assert correlation_ids(["not", "a", "mapping"]) == {}


def test_an_invocation_logs_its_correlation_ids_and_the_next_one_starts_clean(output: Output) -> None:
    @lambda_entry
    def handler(event: dict[str, Any], context: Any) -> str:
        logger.info("working")
        return "done"

    assert handler({"task": "advance", "executionId": "e-42"}, LambdaContext()) == "done"
    assert handler({"operation": "list_executions"}, LambdaContext()) == "done"

    first, second = [r for r in json_lines(output.text()) if r.get("message") == "working"]
    assert first["executionId"] == "e-42"
    assert first["function_name"] == LambdaContext().function_name
    assert "executionId" not in second


def test_a_slack_request_logs_its_user(slack_services: Any, slack_stub: SlackStub, output: Output) -> None:
    from bot.app import build_app

    app = build_app(slack_services, process_before_response=True)

    def probe(body: dict[str, Any], next: Any) -> Any:  # runs after the correlating middleware
        logger.info("inside the request")
        return next()

    app.middleware(probe)
    for user in ("U0BOB", "U0CAROL"):
        response_url = slack_stub.new_response_url()
        request = slash_command(SLACK_SIGNING_SECRET, "help", response_url=response_url, user_id=user)
        assert app.dispatch(request.bolt()).status == 200
        slack_stub.answer_at(response_url)  # the lazy answer is in before the stub stops

    inside = [r for r in json_lines(output.text()) if r.get("message") == "inside the request"]
    assert [r["slack_user"] for r in inside] == ["U0BOB", "U0CAROL"]  # each request its own user
    assert all(r["slack_channel"] == CHANNEL_ID and r["slack_team"] == TEAM_ID for r in inside)


# -- metrics ----------------------------------------------------------------------------------------------


def test_a_drill_reports_its_start_end_and_wave_durations(
    sqlite_services: Any, clock: Any, simulator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from orchestration.ports import RecordingNotifier
    from tests.drills import run_until_done, start, three_tier_plan

    recorder = RecordingNotifier()
    services = dataclasses.replace(sqlite_services, notifier=with_metrics(recorder))
    execution_id = start(services, three_tier_plan(services, simulator))
    capsys.readouterr()

    @lambda_entry
    def drive(event: dict[str, Any], context: Any) -> str:
        return str(run_until_done(services, clock, event["executionId"]).status)

    assert drive({"executionId": execution_id}, LambdaContext()) == "COMPLETED"

    blobs = emf_blobs(capsys.readouterr().out)
    assert blobs and all(b["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "drbot" for b in blobs)
    assert metric_values(blobs, EXECUTIONS_STARTED) == [1.0]
    assert metric_values(blobs, EXECUTIONS_COMPLETED) == [1.0]
    durations = metric_values(blobs, WAVE_DURATION)
    assert len(durations) == 3 and all(d > 0 for d in durations)
    assert all(b["service"] == "drbot" for b in blobs)
    assert recorder.events(execution_id)  # the composite still delivers to the other notifier


def test_events_offered_again_are_counted_once(
    sqlite_services: Any, clock: Any, simulator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.drills import run_until_done, start, three_tier_plan

    execution_id = start(sqlite_services, three_tier_plan(sqlite_services, simulator))
    run_until_done(sqlite_services, clock, execution_id)
    execution = sqlite_services.store.get_execution(execution_id)
    notifier = MetricsNotifier()
    capsys.readouterr()

    @lambda_entry
    def deliver_twice(event: dict[str, Any], context: Any) -> None:
        notifier.deliver(execution, execution.events)
        notifier.deliver(execution, execution.events)  # a Slack outage made the composite retry

    deliver_twice({}, LambdaContext())

    blobs = emf_blobs(capsys.readouterr().out)
    assert metric_values(blobs, EXECUTIONS_COMPLETED) == [1.0]
    assert len(metric_values(blobs, WAVE_DURATION)) == 3


def test_nothing_is_recorded_outside_a_lambda_invocation(
    sqlite_services: Any, clock: Any, simulator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.drills import run_until_done, start, three_tier_plan

    services = dataclasses.replace(sqlite_services, notifier=with_metrics(None))
    execution_id = start(services, three_tier_plan(services, simulator))
    run_until_done(services, clock, execution_id)

    @lambda_entry
    def plain(event: dict[str, Any], context: Any) -> str:
        return "ok"

    assert plain({}, None) == "ok"  # a plain Python call (scripts, the seed's examples)
    assert metrics.metric_set == {}
    assert emf_blobs(capsys.readouterr().out) == []


def test_a_failed_drs_call_is_counted(simulator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from orchestration.drs.gateway import DrsGateway
    from orchestration.errors import DrbotError

    gateway = DrsGateway(simulator.client(AWS_REGION), AWS_REGION)
    capsys.readouterr()

    @lambda_entry
    def launch(event: dict[str, Any], context: Any) -> str:
        with pytest.raises(DrbotError) as refused:
            gateway.start_recovery(["s-0000000000000dead"], is_drill=True, tags={})
        return refused.value.code

    launch({}, LambdaContext())
    with pytest.raises(DrbotError):  # outside an invocation: refused the same, not counted
        gateway.start_recovery(["s-0000000000000dead"], is_drill=True, tags={})

    assert metric_values(emf_blobs(capsys.readouterr().out), DRS_API_ERRORS) == [1.0]
    assert metrics.metric_set == {}


# -- tracing: built on Lambda only ---------------------------------------------------------------------

TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

# a traced invocation in a fresh interpreter: the X-Ray daemon is a UDP socket of the script's own
TRACED_INVOCATION = """
import json, os, socket, sys
daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
daemon.bind(("127.0.0.1", 0))
os.environ["AWS_XRAY_DAEMON_ADDRESS"] = "127.0.0.1:%d" % daemon.getsockname()[1]
from orchestration import observability
from tests.slack_requests import LambdaContext
loaded = "aws_xray_sdk.core" in sys.modules

@observability.lambda_entry
def handler(event, context):
    return "done"

answer = handler({"executionId": "e-1"}, LambdaContext())
daemon.setblocking(False)
sent = daemon.recv(65536).decode()  # the subsegment went before the call returned (no batching)
from aws_xray_sdk.core.patcher import _PATCHED_MODULES
print("RESULT " + json.dumps({"tracer": type(observability.tracer).__name__, "xray": loaded,
    "answer": answer, "sent": sent, "patched": sorted(_PATCHED_MODULES)}))
"""


def _python(script: str, **environ: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("LAMBDA_TASK_ROOT", TRACER_DISABLED)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, **environ},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    marked = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(marked) == 1, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(marked[0].removeprefix("RESULT "))
    return result


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [
        ({}, False),  # a laptop, a test, the embedded default
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),  # Lambda with the template's Tracing: Active
        ({"LAMBDA_TASK_ROOT": "/var/task", TRACER_DISABLED: "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", TRACER_DISABLED: "false"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),  # sam local invoke
    ],
)
def test_tracing_is_on_in_the_lambda_runtime_only(environ: dict[str, str], enabled: bool) -> None:
    assert tracing_enabled(environ) is enabled


def test_outside_lambda_no_tracer_is_built_and_the_xray_sdk_is_not_loaded() -> None:
    script = (
        "import json, sys\nimport bot.lambda_function, scheduler.handler\n"
        "from orchestration.observability import tracer\n"
        "print('RESULT ' + json.dumps({'tracer': tracer is None, "
        "'xray': sorted(m for m in sys.modules if m.startswith('aws_xray_sdk'))}))"
    )
    assert _python(script) == {"tracer": True, "xray": []}


def test_on_lambda_an_invocation_is_traced_and_boto_calls_are_patched() -> None:
    result = _python(TRACED_INVOCATION, LAMBDA_TASK_ROOT="/var/task", _X_AMZN_TRACE_ID=TRACE_ID)
    assert (result["tracer"], result["xray"], result["answer"]) == ("Tracer", True, "done")
    assert "botocore" in result["patched"]  # every AWS call of an invocation is a subsegment
    header, document = result["sent"].split("\n", 1)
    assert json.loads(header) == {"format": "json", "version": 1}
    subsegment = json.loads(document)
    assert subsegment["name"] == "## handler"
    assert subsegment["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert subsegment["annotations"]["ColdStart"] is True
