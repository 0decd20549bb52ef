"""Helpers shared by tests (not fixtures): events as AWS delivers them."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bot.views.message import Message
from bot.views.text import render_message


def apigw_event(
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    user_arn: str = "arn:aws:iam::111122223333:user/alice",
) -> dict[str, Any]:
    """An API Gateway REST (v1 proxy) event, as the IAM-authorized API sends it."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"userArn": user_arn, "caller": "AIDAEXAMPLE", "sourceIp": "127.0.0.1"},
        },
        "body": None if body is None else (body if isinstance(body, str) else json.dumps(body)),
        "isBase64Encoded": False,
    }


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def run_drbot(stdin: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`drbot ARGS` with `stdin` piped in, as `printf … | make run` does."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def ok(message: Message) -> str:
    """A command's answer that must be a success: its text (and valid Block Kit)."""
    text = render_message(message)
    assert not message.is_error, text
    message.to_slack()  # valid Block Kit
    return text


def failed(message: Message, code: str) -> str:
    """A command's answer that must be the error `code`, saying nothing changed."""
    text = render_message(message)
    assert message.is_error, text
    assert code in text and "nothing was changed" in text, text
    # every refusal reads the same (bot/views/errors.py): its code first, then what was wrong
    assert message.text.startswith(f"{code}: "), message.text
    assert text.startswith(f"! {code}: "), text
    return text


def locked_bucket(name: str, region: str, days: int) -> Any:
    """An S3 bucket as template.yaml's EvidenceBucket with EvidenceRetentionDays > 0 (Object Lock,
    COMPLIANCE default retention of `days`), on the moto mock the caller has started; its client."""
    import boto3

    s3 = boto3.client("s3", region_name=region)
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket=name,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": days}},
        },
    )
    return s3
