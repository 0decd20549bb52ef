"""The execution function on AWS reports to Slack: the Lambda runtime builds its services from the
environment (DynamoDB on moto, the Slack bot token in Secrets Manager on moto, SLACK_API_URL at the
loopback stub) and loads DRBOT_NOTIFIER's factory; each invocation is a fresh process, so what the
notifier did must be read back from the execution, never posted twice."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.slack_thread_record import SLACK_THREADS, SlackThread, thread_of
from orchestration.handlers import execution as execution_function
from orchestration.handlers import runtime
from orchestration.models import EventType, Execution, ExecutionStatus, ExecutionType
from orchestration.ports import flush_deferred
from orchestration.services.execution_control import reject_execution
from orchestration.store.dynamodb import DynamoDbStore
from tests.conftest import STORE_TABLES
from tests.slack_requests import LambdaContext
from tests.slack_stub import SlackStub

CHANNEL, APPROVALS = "C0DRILLS", "C0APPROVALS"
ROOT_TS, COPY_TS = "1767225600.000100", "1767225600.000200"
BOB = "U0BOB0001"
NOTIFIER = "bot.slack_notifier:notifier_from_settings"


@pytest.fixture
def aws_runtime(
    monkeypatch: pytest.MonkeyPatch, moto_dynamodb: Callable[[], Any], slack_stub: SlackStub, tmp_path: Path
) -> Iterator[DynamoDbStore]:
    """The execution function's environment as the template sets it; yields a store on its tables."""
    import boto3
    from aws_lambda_powertools.utilities import parameters

    secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="drbot/slack",
        SecretString=json.dumps({"bot_token": "xoxb-from-secrets-manager", "signing_secret": "unused"}),
    )
    environment = {
        "DRBOT_BACKEND": "aws",
        "DRBOT_NOTIFIER": NOTIFIER,
        "SLACK_SECRET_ARN": secret["ARN"],
        "SLACK_API_URL": slack_stub.api_url,
        "DRBOT_ROLES": json.dumps({"approver": [BOB]}),
        "PROTECTION_GROUPS_TABLE": STORE_TABLES.protection_groups,
        "RECOVERY_PLANS_TABLE": STORE_TABLES.recovery_plans,
        "EXECUTION_HISTORY_TABLE": STORE_TABLES.executions,
        "TARGET_ACCOUNTS_TABLE": STORE_TABLES.target_accounts,
        "TAG_SYNC_CONFIG_TABLE": STORE_TABLES.tag_sync_config,
        "DRBOT_SCHEDULES_TABLE": STORE_TABLES.schedules,
        "DRBOT_AUDIT_TABLE": STORE_TABLES.audit,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("STEP_FUNCTIONS_STATE_MACHINE_ARN", raising=False)
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    runtime.use(None)
    store = DynamoDbStore(STORE_TABLES, client=moto_dynamodb())
    try:
        yield store
    finally:
        runtime.use(None)
        parameters.clear_caches()  # type: ignore[no-untyped-call]
        store.close()


def fresh_process() -> None:
    """A new Lambda invocation environment: nothing remembered but what the store holds."""
    runtime.use(None)


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    fresh_process()
    result: dict[str, Any] = execution_function.lambda_handler(event, LambdaContext())
    return result


def request(store: DynamoDbStore, slack: SlackThread, expires_in: int) -> Execution:
    """A drill request awaiting one approval, as `/dr plan run` leaves it."""
    now = int(time.time())
    execution = Execution(
        plan_id="plan-1",
        plan_name="Prod DR",
        execution_type=ExecutionType.DRILL,
        status=ExecutionStatus.PENDING_APPROVAL,
        initiated_by="U0ALICE01",
        requested_at=now - 60,
        expires_at=now + expires_in,
        required_approvals=1,
    ).with_event(EventType.REQUESTED, now - 60, "U0ALICE01 requested a drill of Prod DR", actor="U0ALICE01")
    created = store.create_execution(execution, "U0ALICE01")
    store.modify_record(SLACK_THREADS, created.execution_id, lambda _: slack)
    return created


def wake_up(execution: Execution) -> dict[str, str]:
    """What the request's one-time EventBridge Scheduler wake-up sends the execution function."""
    return {"task": "wake", "executionId": execution.execution_id, "reason": "expiry"}


def test_the_wake_task_expires_a_request_and_updates_both_its_messages(
    aws_runtime: DynamoDbStore, slack_stub: SlackStub
) -> None:
    thread = SlackThread(
        channel=CHANNEL,
        thread_ts=ROOT_TS,
        approval_channel=APPROVALS,
        approval_ts=COPY_TS,
        posted_through=1,
        shown_through=1,
    )
    execution = request(aws_runtime, thread, expires_in=-1)

    result = invoke(wake_up(execution))

    assert result == {"executionId": execution.execution_id, "did": "expired"}
    saved = aws_runtime.get_execution(execution.execution_id)
    assert saved.status == ExecutionStatus.EXPIRED
    updates = slack_stub.calls("chat.update")
    assert sorted((u.args["channel"], u.args["ts"]) for u in updates) == [
        (APPROVALS, COPY_TS),
        (CHANNEL, ROOT_TS),
    ]
    assert all("EXPIRED" in u.args["text"] for u in updates)
    assert all(u.token == "xoxb-from-secrets-manager" for u in updates)
    assert slack_stub.calls("chat.postMessage") == []
    kept = thread_of(aws_runtime, execution.execution_id)
    assert kept is not None and kept.posted_through == saved.events[-1].seq

    # the state machine's next task, in another process, finds nothing left to tell
    assert invoke({"task": "advance", "executionId": execution.execution_id})["done"] is True
    assert invoke(wake_up(execution))["did"] == "nothing"  # a second (stray) wake-up
    assert len(slack_stub.calls("chat.update")) == 2
    final = aws_runtime.get_execution(execution.execution_id)
    assert final.notified_through == final.events[-1].seq
    assert slack_stub.violations == []


def test_a_root_posted_by_one_invocation_is_the_thread_of_the_next(
    aws_runtime: DynamoDbStore, slack_stub: SlackStub
) -> None:
    execution = request(aws_runtime, SlackThread(channel=CHANNEL), expires_in=3600)

    invoke({"task": "advance", "executionId": execution.execution_id})

    (root,) = slack_stub.wait_for("chat.postMessage")
    assert root.args["channel"] == CHANNEL and "thread_ts" not in root.args
    kept = thread_of(aws_runtime, execution.execution_id)
    assert kept is not None and kept.thread_ts is not None

    fresh_process()
    # the reject as the Slack function makes it: its notifier's queue is flushed when it ends
    reject_execution(runtime.current_services(), execution.execution_id, BOB, "change freeze")
    flush_deferred(5.0)
    invoke({"task": "advance", "executionId": execution.execution_id})

    assert len(slack_stub.calls("chat.postMessage")) == 1  # no second root
    (update,) = slack_stub.calls("chat.update")
    assert (update.args["channel"], update.args["ts"]) == (CHANNEL, kept.thread_ts)
    assert "REJECTED" in update.args["text"]
    assert slack_stub.violations == []


def test_slack_rate_limiting_delays_the_messages_never_the_wake_up(
    aws_runtime: DynamoDbStore, slack_stub: SlackStub
) -> None:
    thread = SlackThread(channel=CHANNEL, thread_ts=ROOT_TS, posted_through=1, shown_through=1)
    execution = request(aws_runtime, thread, expires_in=-1)
    slack_stub.rate_limit("chat.update", retry_after=30)

    assert invoke(wake_up(execution))["did"] == "expired"

    saved = aws_runtime.get_execution(execution.execution_id)
    assert saved.status == ExecutionStatus.EXPIRED
    assert saved.notified_through < saved.events[-1].seq  # kept for the next tick
    invoke({"task": "advance", "executionId": execution.execution_id})
    updates = slack_stub.calls("chat.update")
    assert len(updates) == 2 and "EXPIRED" in updates[-1].args["text"]
    final = aws_runtime.get_execution(execution.execution_id)
    assert final.notified_through == final.events[-1].seq


def test_a_notifier_path_that_does_not_load_is_a_clear_error(
    aws_runtime: DynamoDbStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestration.errors import ValidationFailed

    monkeypatch.setenv("DRBOT_NOTIFIER", "bot.slack_notifier:no_such_factory")
    with pytest.raises(
        ValidationFailed, match=re.escape("DRBOT_NOTIFIER names `bot.slack_notifier:no_such_")
    ):
        invoke({"task": "wake", "executionId": "e-1", "reason": "expiry"})
