"""drbot's Step Functions definition run by moto's ASL interpreter, on a fake clock: the harness of
tests/integration/test_statemachine.py and of `python -m bench.wake`.

moto runs each state machine execution in a thread of its own. Its Wait state and its Retry
back-off are made to move the FakeClock instead of sleeping, so a whole drill takes real
milliseconds to seconds; the Lambda tasks reach the deployed entry point
(`orchestration.handlers.execution.lambda_handler`, which hands "task" events to `handle_task`),
DRS is the simulator. Whoever waits for the machine polls with short, bounded pauses (`eventually`),
never a sleep of seconds, and every wait has a deadline so nothing can hang.

The caller sets the AWS environment first (fake credentials, no ~/.aws: `fake_aws_environ`).
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar
from unittest import mock

import boto3
from moto import mock_aws
from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint
from moto.stepfunctions.parser.utils import TMP_THREADS

from orchestration.aws import AwsSessions
from orchestration.bootstrap import build_services
from orchestration.clock import FakeClock
from orchestration.config import Settings
from orchestration.drs.clients import SimulatedDrsClients
from orchestration.engine.stepfunctions import StepFunctionsDriver
from orchestration.errors import StaleVersion
from orchestration.handlers import runtime
from orchestration.handlers.execution import lambda_handler
from orchestration.ports import RecordingNotifier
from orchestration.statemachine import FUNCTION_ARN_PLACEHOLDER, definition
from orchestration.store.sqlite import SqliteStore

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
MACHINE_DEADLINE_SECONDS = 60.0  # real time a machine may take before the waiter gives up
POLL_SECONDS = 0.02

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], what: str, deadline: float = MACHINE_DEADLINE_SECONDS) -> T:
    """Poll `probe` until it returns something truthy; fail (never hang) after `deadline` seconds."""
    pause = threading.Event()  # never set: wait() is a bounded, interruptible pause
    give_up = time.monotonic() + deadline
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > give_up:
            raise AssertionError(f"gave up after {deadline:.0f}s waiting for {what}")
        pause.wait(POLL_SECONDS)


@contextmanager
def fake_aws_environ(home: Path) -> Iterator[None]:
    """Fake credentials in us-east-1 and no ~/.aws (files under `home` that do not exist), so boto3
    under moto can reach nothing real; the environment is restored on exit."""
    fake = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
    }
    with mock.patch.dict(os.environ, fake):
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
            os.environ.pop(name, None)
        yield


@dataclass
class Machine:
    """One moto account with drbot's state machine, its Lambda routed to drbot, on a fake clock."""

    services: Any
    sfn: Any
    arn: str
    clock: FakeClock
    simulator: Any
    driver: StepFunctionsDriver
    invocations: list[dict[str, Any]] = field(default_factory=list)
    # hooks run before a task reaches drbot: (event) -> None; may raise to fail the invocation
    before_task: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    # the simulator's EventBridge deliveries up to this time (fake clock) went to the function
    events_until: float = 0.0
    event_results: list[dict[str, Any]] = field(default_factory=list)
    handler: Callable[[dict[str, Any]], Any] | None = None
    # False: the simulator's events are not delivered (the machine waits out each safety poll)
    deliver: bool = True

    def deliver_events(self) -> None:
        """Send the simulator's events delivered since the last call to the execution function, as
        the hub's EventBridge rule does."""
        now = self.clock.now()
        since, self.events_until = self.events_until, max(self.events_until, now)
        assert self.handler is not None
        if not self.deliver:
            return
        for event in self.simulator.events_due(since, now) if now > since else []:
            self.event_results.append(self.handler(event))

    def wait_tokens(self) -> set[str]:
        return {str(t["taskToken"]) for t in self.tasks("wait")}

    def start(self, execution_id: str) -> str:
        """Start the machine as the execution service does, recording the ARN on the execution."""
        started = self.driver.start(self.services.store.get_execution(execution_id))
        assert started.state_machine_arn
        for _ in range(5):  # the machine's first Advance may have saved the execution meanwhile
            current = self.services.store.get_execution(execution_id)
            try:
                self.services.store.update_execution(
                    current.model_copy(update={"state_machine_arn": started.state_machine_arn}), "alice"
                )
                break
            except StaleVersion:
                continue
        return started.state_machine_arn

    def finished(self, execution_arn: str, deadline: float = MACHINE_DEADLINE_SECONDS) -> dict[str, Any]:
        def ended() -> dict[str, Any] | None:
            described: dict[str, Any] = self.sfn.describe_execution(executionArn=execution_arn)
            return None if described["status"] == "RUNNING" else described

        return eventually(ended, f"{execution_arn} to end", deadline)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """Every event of the execution's history (all pages)."""
        events: list[dict[str, Any]] = []
        pages = self.sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
        for page in pages:
            events.extend(page["events"])
        return events

    def entered(self, execution_arn: str) -> list[str]:
        """The states the execution entered, in order: one state transition each."""
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history(execution_arn)
            if e["type"].endswith("StateEntered")
        ]

    def tasks(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.invocations if e.get("task") == name]


def _lambda_context() -> Any:
    return SimpleNamespace(
        function_name="drbot-execution",
        function_version="$LATEST",
        memory_limit_in_mb=512,
        invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:drbot-execution",
        aws_request_id="00000000-0000-4000-8000-000000000000",
        log_group_name="/aws/lambda/drbot-execution",
        log_stream_name="test",
        get_remaining_time_in_millis=lambda: 900_000,
    )


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return event\n")
    return buffer.getvalue()


_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _token_wait_on_the_fake_clock(
    machine: Machine, over: threading.Event, original: Callable[..., Any]
) -> Callable[..., Any]:
    """WaitForEvent's wait: time moves on the fake clock to the next event the simulator delivers
    (sent to the function, which may send the token back) or to the timeout (States.Timeout)."""
    clock = machine.clock

    def wait(endpoint: Any, timeout: float | None = None) -> Any:
        if timeout is None or endpoint.callback_id not in machine.wait_tokens():
            return original(endpoint, timeout)
        deadline = clock.now() + timeout
        while not endpoint._notify_event.is_set() and not over.is_set():
            machine.deliver_events()
            if endpoint._notify_event.is_set():
                break
            now = clock.now()
            upcoming = machine.simulator.next_event_at(now) if machine.deliver else None
            target = deadline if upcoming is None else min(deadline, upcoming)
            if target <= now:
                break  # timed out
            clock.set(target)
        return endpoint._outcome

    return wait


@contextmanager
def running_machine(clock: FakeClock, simulator: Any, db_path: Path) -> Iterator[Machine]:
    """drbot's state machine in a moto account, its tasks run by drbot on `simulator` with a SQLite
    store at `db_path`, waits moving `clock`. On exit, machines still running are stopped and may no
    longer reach drbot."""
    over = threading.Event()  # set at the end: a machine still running must not reach drbot
    threads_before = len(TMP_THREADS)
    with (
        mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}),
        ExitStack() as patches,
    ):
        session = boto3.session.Session(region_name=REGION)
        role = session.client("iam").create_role(
            RoleName="drbot-execution", AssumeRolePolicyDocument=json.dumps(_TRUST)
        )["Role"]["Arn"]
        function_arn = session.client("lambda").create_function(
            FunctionName="drbot-execution",
            Runtime="python3.11",
            Role=role,
            Handler="handler.lambda_handler",
            Code={"ZipFile": _zip()},
        )["FunctionArn"]
        sfn = session.client("stepfunctions")
        arn = sfn.create_state_machine(
            name="drbot-orchestration",
            definition=json.dumps(definition({FUNCTION_ARN_PLACEHOLDER: function_arn})),
            roleArn=role,
            type="STANDARD",
        )["stateMachineArn"]

        store = SqliteStore(db_path, clock=clock)
        driver = StepFunctionsDriver(arn, sfn)
        services = build_services(
            Settings.from_env({}, db_path=db_path, state_machine_arn=arn),
            clock=clock,
            store=store,
            drs=SimulatedDrsClients(simulator),
            aws=AwsSessions(store, session),
            notifier=RecordingNotifier(),
            driver=driver,
        )
        machine = Machine(
            services=services, sfn=sfn, arn=arn, clock=clock, simulator=simulator, driver=driver
        )

        def invoke(backend: Any, function_name: str, *request: Any) -> bytes:
            """The Lambda as AWS runs it: the payload to drbot's handler, an exception to a
            FunctionError with the Python runtime's error document."""
            _qualifier, body, _headers, response_headers = request
            if over.is_set():
                raise LambdaClientError("ServiceException", "the run is over")
            event = json.loads(body)
            machine.invocations.append(event)
            try:
                for hook in list(machine.before_task):
                    hook(event)
                result = lambda_handler(event, _lambda_context())
            except LambdaClientError:
                raise  # a Lambda service error, not the function's
            except Exception as exc:
                response_headers["x-amz-function-error"] = "Unhandled"
                document = {"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": []}
                return json.dumps(document).encode()
            return json.dumps(result).encode()

        def wait_on_the_fake_clock(self: Any, env: Any, wait_seconds: int) -> None:
            clock.advance(max(0, wait_seconds))

        patches.enter_context(mock.patch.object(LambdaSimpleBackend, "invoke", invoke))
        token_wait = _token_wait_on_the_fake_clock(machine, over, CallbackEndpoint.wait)
        patches.enter_context(mock.patch.object(CallbackEndpoint, "wait", token_wait))
        patches.enter_context(mock.patch.object(WaitFunction, "_wait_interval", wait_on_the_fake_clock))
        patches.enter_context(mock.patch.object(retrier_decl, "time", SimpleNamespace(sleep=clock.advance)))
        machine.events_until = clock.now()
        machine.handler = lambda event: lambda_handler(event, _lambda_context())
        runtime.use(services)
        try:
            yield machine
        finally:
            over.set()
            for execution in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
                sfn.stop_execution(executionArn=execution["executionArn"])
            give_up = time.monotonic() + 5.0
            for thread in list(TMP_THREADS[threads_before:]):
                thread.join(timeout=max(0.0, give_up - time.monotonic()))
            runtime.use(None)
            services.close()
