"""Where the composition root puts the evidence archive (docs/report.md, "The archive"): on AWS the
S3 bucket DRBOT_EVIDENCE_BUCKET names, and a drill driven through the execution function's
state-machine task (`{"task": "advance"}`, as Step Functions sends it) leaves its report there, under
the bucket's Object Lock retention (moto, DynamoDB and S3); on the embedded default the folder under
the data directory, or DRBOT_EVIDENCE_DIR; nothing for an in-memory database."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestration.bootstrap import build_services
from orchestration.config import Settings
from orchestration.drs.clients import SimulatedDrsClients
from orchestration.evidence.folder import FolderArchive
from orchestration.evidence.s3 import S3Archive
from orchestration.handlers import execution as execution_handler
from orchestration.handlers import runtime
from orchestration.models import ArchiveStatus, ExecutionType
from orchestration.ports import NoArchiver
from orchestration.services.archiving import ReportArchiver
from orchestration.store.dynamodb import DynamoDbStore
from tests.conftest import AWS_REGION, STORE_TABLES
from tests.drills import start, three_tier_plan
from tests.support import locked_bucket

BUCKET = "drbot-evidence-dev"


def test_on_aws_a_drill_driven_by_the_state_machine_task_is_archived_in_s3_under_lock(
    moto_dynamodb: Callable[[], Any], clock: Any, simulator: Any
) -> None:
    s3 = locked_bucket(BUCKET, AWS_REGION, days=7)
    env = {
        "DRBOT_BACKEND": "aws",
        "DRBOT_EVIDENCE_BUCKET": BUCKET,
        "AWS_REGION": AWS_REGION,
        "DRBOT_ROLES": '{"operator": ["alice"]}',
    }
    settings = Settings.from_env(env)
    store = DynamoDbStore(STORE_TABLES, client=moto_dynamodb(), clock=clock)
    services = build_services(settings, clock=clock, store=store, drs=SimulatedDrsClients(simulator))
    assert isinstance(services.evidence, S3Archive) and services.evidence.bucket == BUCKET
    assert isinstance(services.archiver, ReportArchiver)

    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.DRILL)
    runtime.use(services)
    try:
        for _ in range(400):
            result = execution_handler.lambda_handler({"task": "advance", "executionId": execution_id}, None)
            if result["done"]:
                break
            clock.advance(result["waitSeconds"])
        else:
            raise AssertionError("the drill did not finish")
    finally:
        runtime.use(None)

    record = services.store.get_execution(execution_id).archive
    assert record is not None and record.status == ArchiveStatus.ARCHIVED
    plan_id = services.store.get_execution(execution_id).plan_id
    key = f"evidence/{plan_id}/{execution_id}/report.md"
    assert record.location == f"s3://{BUCKET}/evidence/{plan_id}/{execution_id}/"
    assert record.markdown_location == f"s3://{BUCKET}/{key}"
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == record.markdown_sha256
    head = s3.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
    assert base64.b64decode(head["ChecksumSHA256"]) == hashlib.sha256(body).digest()
    assert head["ObjectLockMode"] == "COMPLIANCE"  # the template's mode
    json_key = f"evidence/{plan_id}/{execution_id}/report.json"
    assert (
        hashlib.sha256(s3.get_object(Bucket=BUCKET, Key=json_key)["Body"].read()).hexdigest()
        == record.json_sha256
    )
    services.close()


def test_on_aws_without_a_bucket_nothing_is_archived(moto_dynamodb: Callable[[], Any], clock: Any) -> None:
    store = DynamoDbStore(STORE_TABLES, client=moto_dynamodb(), clock=clock)
    services = build_services(Settings.from_env({"DRBOT_BACKEND": "aws"}), clock=clock, store=store)
    assert services.evidence is None and isinstance(services.archiver, NoArchiver)


def test_the_embedded_default_archives_under_the_data_directory_or_the_folder_named(
    tmp_path: Path, clock: Any
) -> None:
    services = build_services(Settings.from_env({}, db_path=tmp_path / "drbot.db"), clock=clock)
    assert isinstance(services.evidence, FolderArchive) and services.evidence.root == tmp_path / "evidence"
    services.close()
    elsewhere = tmp_path / "kept"
    settings = Settings.from_env({"DRBOT_EVIDENCE_DIR": str(elsewhere)}, db_path=tmp_path / "drbot.db")
    services = build_services(settings, clock=clock)
    assert isinstance(services.evidence, FolderArchive) and services.evidence.root == elsewhere
    services.close()
    services = build_services(Settings.from_env({}, db_path=Path(":memory:")), clock=clock)
    assert services.evidence is None and isinstance(services.archiver, NoArchiver)
    services.close()
