"""The alias cache of tests/moto_speed.py changes how fast moto answers, not what it answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import fake_aws_env
from tests.moto_speed import forget_aliases, remember_aliases

ITEM = {
    "executionId": {"S": "e-1"},
    "version": {"N": "3"},
    "waves": {
        "L": [
            {"M": {"waveNumber": {"N": "1"}, "servers": {"SS": ["s-1", "s-2"]}, "done": {"BOOL": True}}},
            {"M": {"waveNumber": {"N": "2"}, "note": {"NULL": True}, "blob": {"B": b"\x00\x01"}}},
        ]
    },
    "counts": {"NS": ["1", "2"]},
}


def answers(client: Any) -> list[dict[str, Any]]:
    """What moto answers to reads and a describe, without the per-request metadata."""
    got = [
        client.get_item(TableName="t", Key={"executionId": {"S": "e-1"}}),
        client.query(
            TableName="t",
            KeyConditionExpression="executionId = :e",
            ExpressionAttributeValues={":e": {"S": "e-1"}},
        ),
        client.describe_table(TableName="t"),
    ]
    for answer in got:
        answer.pop("ResponseMetadata")
        answer.get("Table", {}).pop("CreationDateTime", None)
    return got


def test_moto_answers_the_same_with_and_without_the_alias_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import boto3
    from moto import mock_aws

    fake_aws_env(monkeypatch, tmp_path)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "executionId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "executionId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.put_item(TableName="t", Item=ITEM)
        try:
            forget_aliases()
            without = answers(client)
            remember_aliases()
            with_cache, again = answers(client), answers(client)
        finally:
            remember_aliases()

    assert without[0]["Item"] == ITEM
    assert with_cache == without
    assert again == without
