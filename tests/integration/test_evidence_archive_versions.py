"""The archived copy proves it was not edited (docs/report.md, "The archive"). On S3 with the
template's COMPLIANCE-mode Object Lock (moto): each copy's object version and S3's checksum are kept
on the execution and the copy is read back by that version from where it was written, so an
overwrite (a newer version at the key) is not what `/dr report X --markdown` or the API serve, and a
change of the configured bucket does not lose it; S3 refusing a read names the missing permission.
On the folder: a copy already there with other bytes is kept, recorded and said, never adopted."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from bot.commands import build_registry
from bot.commands.registry import Invocation
from bot.views.archive import archive_text, build_archived_copy_message
from bot.views.message import WithFiles
from orchestration.bootstrap import build_services
from orchestration.config import Settings
from orchestration.drs.clients import SimulatedDrsClients
from orchestration.engine.advance import advance
from orchestration.evidence.s3 import S3Archive
from orchestration.handlers import execution as execution_handler
from orchestration.handlers import runtime
from orchestration.models import ArchiveStatus, EventType, ExecutionType
from orchestration.ports import ManualDriver
from orchestration.services.archived_copies import archived_copy
from orchestration.store.dynamodb import DynamoDbStore
from tests.conftest import AWS_REGION, STORE_TABLES
from tests.drills import run_until_done, start, three_tier_plan
from tests.integration.test_handlers_data_management import invoke, rest
from tests.support import locked_bucket

BUCKET = "drbot-evidence-locked"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def on_s3(moto_dynamodb: Callable[[], Any], clock: Any, simulator: Any) -> Iterator[tuple[Any, Any]]:
    s3 = locked_bucket(BUCKET, AWS_REGION, days=365)
    env = {
        "DRBOT_BACKEND": "aws",
        "DRBOT_EVIDENCE_BUCKET": BUCKET,
        "AWS_REGION": AWS_REGION,
        "DRBOT_ROLES": '{"operator": ["alice"], "viewer": ["carol"]}',
    }
    store = DynamoDbStore(STORE_TABLES, client=moto_dynamodb(), clock=clock)
    services = build_services(
        Settings.from_env(env), clock=clock, store=store, drs=SimulatedDrsClients(simulator)
    )
    services.driver = ManualDriver()
    runtime.use(services)
    yield services, s3
    runtime.use(None)
    services.close()


def dr_markdown(services: Any, execution_id: str) -> WithFiles:
    answer = build_registry().dispatch(
        services, Invocation(text=f"/dr report {execution_id} --markdown", user_id="carol", channel_id="C1")
    )
    assert isinstance(answer, WithFiles)
    return answer


def test_an_overwrite_under_compliance_lock_is_not_what_is_served(
    on_s3: tuple[Any, Any], clock: Any, simulator: Any
) -> None:
    services, s3 = on_s3
    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.DRILL)
    assert run_until_done(services, clock, execution_id).done
    execution = services.store.get_execution(execution_id)
    record = execution.archive
    assert record is not None and record.status == ArchiveStatus.ARCHIVED
    key = f"evidence/{execution.plan_id}/{execution_id}/report.md"
    genuine = s3.get_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
    genuine_bytes = genuine["Body"].read()
    assert genuine["ObjectLockMode"] == "COMPLIANCE"
    assert record.markdown_version_id == genuine["VersionId"] and record.json_version_id
    assert base64.b64decode(record.markdown_checksum_sha256 or "") == hashlib.sha256(genuine_bytes).digest()
    assert record.differs_from_rendering == []

    # a forged overwrite: a put without If-None-Match gives the key a newer version
    forged = genuine_bytes.replace(b"COMPLETED", b"FAILED")
    newer = s3.put_object(Bucket=BUCKET, Key=key, Body=forged)["VersionId"]
    assert newer != record.markdown_version_id
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == forged  # the latest is forged

    copy = archived_copy(services, execution_id)
    assert copy.content == genuine_bytes and copy.verified and copy.version_id == record.markdown_version_id
    answer = invoke(execution_handler, "get_execution_evidence", executionId=execution_id)
    assert answer["content"].encode() == genuine_bytes and answer["verified"] is True
    assert answer["versionId"] == record.markdown_version_id
    (shared,) = dr_markdown(services, execution_id).files
    assert shared.content == genuine_bytes

    # the configured bucket changes: the copy is read where the execution says it was written
    services.evidence = S3Archive(s3, "drbot-evidence-elsewhere")
    assert archived_copy(services, execution_id, "json").verified

    # a record from before versions were kept reads the latest: the forged one, and says so
    services.store.modify_execution(
        execution_id,
        lambda e: e.model_copy(update={"archive": record.model_copy(update={"markdown_version_id": None})}),
        "test",
    )
    old = archived_copy(services, execution_id)
    assert old.content == forged and not old.verified


def test_s3_refusing_the_read_names_the_missing_permission(
    on_s3: tuple[Any, Any], clock: Any, simulator: Any
) -> None:
    services, _ = on_s3
    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.DRILL)
    assert run_until_done(services, clock, execution_id).done
    assert isinstance(services.evidence, S3Archive)
    with Stubber(services.evidence.client) as stubber:
        stubber.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)
        status, body = rest(execution_handler, "GET", f"/executions/{execution_id}/evidence")
    assert status == 403 and body["error"] == "ARCHIVE_ACCESS_DENIED"
    assert "s3:GetObjectVersion" in body["message"] and f"arn:aws:s3:::{BUCKET}/evidence/*" in body["message"]


def test_a_copy_already_there_with_other_bytes_is_kept_recorded_and_said(
    sqlite_services: Any, simulator: Any, clock: Any, tmp_path: Path
) -> None:
    services = sqlite_services
    services.driver = ManualDriver()
    execution_id = start(services, three_tier_plan(services, simulator), ExecutionType.DRILL)
    folder = tmp_path / "evidence" / execution_id
    folder.mkdir(parents=True)
    planted = b"# not this run's report\n"
    (folder / "report.md").write_bytes(planted)
    assert run_until_done(services, clock, execution_id).done
    execution = services.store.get_execution(execution_id)
    record = execution.archive
    assert record is not None and record.status == ArchiveStatus.ARCHIVED
    assert record.differs_from_rendering == ["report.md"]
    assert record.markdown_sha256 == sha256(planted)  # what is there, not the rendering's hash
    (differs,) = [e for e in execution.events if e.type == EventType.ARCHIVE_DIFFERS]
    assert "report.md with other bytes" in differs.message and sha256(planted) in differs.message
    audit = services.store.list_audit(subject=f"execution:{execution_id}")
    assert "execution.archive_differs" in [a.action for a in audit]
    assert execution.notified_through == execution.events[-1].seq  # said in the thread

    runtime.use(services)
    try:
        answer = invoke(execution_handler, "get_execution_evidence", executionId=execution_id)
        assert answer["differsFromRendering"] is True and answer["verified"] is True
        assert answer["content"].encode() == planted
        details = invoke(execution_handler, "get_execution_details", executionId=execution_id)
        assert details["archive"]["differsFromRendering"] == ["report.md"]
        json_answer = invoke(
            execution_handler, "get_execution_evidence", executionId=execution_id, format="json"
        )
        assert json_answer["differsFromRendering"] is False
        assert json.loads(json_answer["content"])["executionId"] == execution_id
    finally:
        runtime.use(None)
    assert advance(services, execution_id).done
    # people read it too: beside the hash in the thread, and with the copy /dr report --markdown sends
    assert "report.md already in the archive differs" in archive_text(record)
    copy = archived_copy(services, execution_id, "markdown")
    assert "kept as found" in str(build_archived_copy_message(copy).block_dicts())
