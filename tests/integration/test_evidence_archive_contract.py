"""The EvidenceArchive port's contract, against both adapters: the folder of the embedded default
and S3 on moto, in a bucket created with Object Lock and a default retention, as template.yaml's
EvidenceBucket is with EvidenceRetentionDays > 0 (docs/report.md, "The archive").

Each copy is written once: the same bytes again are taken as written, other bytes are refused
(CopyExists, the existing copy kept); a missing copy reads as None. On S3 the put carries its SHA-256
(S3 checks and keeps it), the object gets the bucket's default retention, a locked version cannot be
deleted, and an overwrite past the write-once check only adds a version: the first stays."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from orchestration.evidence.folder import FolderArchive
from orchestration.evidence.s3 import S3Archive
from orchestration.ports import CopyExists, EvidenceArchive
from tests.conftest import AWS_REGION, fake_aws_env
from tests.support import locked_bucket

BUCKET = "drbot-evidence-test"
RETENTION_DAYS = 30
REPORT = "# Evidence report: Drill of Prod DR\n\n- **Execution:** e-1 ✓\n".encode()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_network: None) -> Iterator[Any]:
    """A moto S3 client and a bucket made as the template makes it with a retention: versioned
    (Object Lock turns it on), Object Lock with a COMPLIANCE default retention."""
    from moto import mock_aws

    fake_aws_env(monkeypatch, tmp_path)
    with mock_aws():
        yield locked_bucket(BUCKET, AWS_REGION, days=RETENTION_DAYS)


@pytest.fixture(params=["folder", "s3"])
def archive(request: pytest.FixtureRequest, tmp_path: Path) -> EvidenceArchive:
    if request.param == "folder":
        return FolderArchive(tmp_path / "evidence")
    return S3Archive(request.getfixturevalue("s3"), BUCKET)


def test_a_copy_is_written_and_read_back_as_is(archive: EvidenceArchive) -> None:
    written = archive.write_once("p-1", "e-1", "report.md", REPORT)
    assert (written.content, written.existed) == (REPORT, False)
    read = archive.read("p-1", "e-1", "report.md")
    assert read is not None
    assert (read.location, read.content) == (written.location, REPORT)
    assert written.location.startswith(archive.location("p-1", "e-1").rstrip("/"))


def test_the_same_bytes_again_are_taken_as_written(archive: EvidenceArchive) -> None:
    archive.write_once("p-1", "e-1", "report.md", REPORT)
    again = archive.write_once("p-1", "e-1", "report.md", REPORT)
    assert (again.content, again.existed) == (REPORT, True)


def test_other_bytes_are_refused_and_the_first_copy_kept(archive: EvidenceArchive) -> None:
    archive.write_once("p-1", "e-1", "report.md", REPORT)
    with pytest.raises(CopyExists) as refused:
        archive.write_once("p-1", "e-1", "report.md", REPORT + b"edited\n")
    assert refused.value.existing.content == REPORT
    read = archive.read("p-1", "e-1", "report.md")
    assert read is not None and read.content == REPORT


def test_a_missing_copy_reads_as_none(archive: EvidenceArchive) -> None:
    assert archive.read("p-1", "e-none", "report.md") is None


def test_each_execution_and_name_is_its_own_copy(archive: EvidenceArchive) -> None:
    archive.write_once("p-1", "e-1", "report.md", REPORT)
    archive.write_once("p-1", "e-1", "report.json", b"{}\n")
    archive.write_once("p-1", "e-2", "report.md", b"other\n")
    assert [
        archive.read("p-1", e, n).content
        for e, n in [("e-1", "report.md"), ("e-1", "report.json"), ("e-2", "report.md")]
    ] == [REPORT, b"{}\n", b"other\n"]  # type: ignore[union-attr]


# -- the folder ----------------------------------------------------------------------------------------


def test_the_folder_lays_copies_out_by_execution_and_makes_them_read_only(tmp_path: Path) -> None:
    archive = FolderArchive(tmp_path / "evidence")
    written = archive.write_once("p-1", "e-1", "report.md", REPORT)
    path = tmp_path / "evidence" / "e-1" / "report.md"
    assert written.location == str(path)
    assert path.read_bytes() == REPORT
    assert stat.S_IMODE(path.stat().st_mode) & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0
    assert os.listdir(path.parent) == ["report.md"]  # no temporary file left behind


def test_the_folder_refuses_an_id_that_would_leave_it(tmp_path: Path) -> None:
    archive = FolderArchive(tmp_path / "evidence")
    for bad in ("..", "a/b", ""):
        with pytest.raises(ValueError, match="not an execution id"):
            archive.write_once("p-1", bad, "report.md", REPORT)


# -- S3 with Object Lock, as moto shows it -------------------------------------------------------------


def test_s3_keys_the_copy_by_plan_and_execution_with_its_sha256_and_the_default_retention(s3: Any) -> None:
    archive = S3Archive(s3, BUCKET)
    written = archive.write_once("p-1", "e-1", "report.md", REPORT)
    key = "evidence/p-1/e-1/report.md"
    assert written.location == f"s3://{BUCKET}/{key}"
    head = s3.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(REPORT).digest()).decode()
    assert head["ContentType"].startswith("text/markdown")
    assert head["ObjectLockMode"] == "COMPLIANCE"  # from the bucket's default retention
    assert head["ObjectLockRetainUntilDate"] is not None


def test_s3_a_locked_version_cannot_be_deleted(s3: Any) -> None:
    S3Archive(s3, BUCKET).write_once("p-1", "e-1", "report.md", REPORT)
    key = "evidence/p-1/e-1/report.md"
    (version,) = s3.list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"]
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version["VersionId"])
    assert s3.get_object(Bucket=BUCKET, Key=key, VersionId=version["VersionId"])["Body"].read() == REPORT


def test_s3_an_overwrite_past_the_archive_is_a_new_version_and_the_first_stays(s3: Any) -> None:
    archive = S3Archive(s3, BUCKET)
    archive.write_once("p-1", "e-1", "report.md", REPORT)
    key = "evidence/p-1/e-1/report.md"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"forged\n", ChecksumAlgorithm="SHA256")  # not drbot
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"]
    assert len(versions) == 2
    first = next(v for v in versions if not v["IsLatest"])
    assert s3.get_object(Bucket=BUCKET, Key=key, VersionId=first["VersionId"])["Body"].read() == REPORT
    # drbot's copy as read now is the forged one: the hash kept on the execution tells them apart
    read = archive.read("p-1", "e-1", "report.md")
    assert read is not None and read.content == b"forged\n"
