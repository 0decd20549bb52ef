"""The evidence archive in S3: `s3://<bucket>/evidence/<planId>/<executionId>/report.md|json`.

Each copy is put once: `If-None-Match: *` makes S3 refuse a put over an existing object, so two
writers cannot both place one; the same bytes already there are taken as written, other bytes are
refused (CopyExists). Every put carries a SHA-256 checksum S3 verifies and keeps
(`ChecksumAlgorithm`), which a bucket with Object Lock requires of a put. The bucket's versioning,
encryption, lifecycle and Object Lock default retention (template.yaml) apply to every object: a
copy under retention cannot be deleted or overwritten in place, only given a newer version, so the
version each put made (`VersionId`) and S3's checksum of it are handed back to be recorded, and a copy
is read back by that version: a newer version at the key is not what is served.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from orchestration.errors import ArchiveAccessDenied
from orchestration.ports import CopyExists, StoredCopy

PREFIX = "evidence"
CONTENT_TYPES = {".md": "text/markdown; charset=utf-8", ".json": "application/json"}
_ABSENT = {"NoSuchKey", "NoSuchVersion", "404", "NotFound"}
_DENIED = {"AccessDenied", "403", "Forbidden"}


class S3Archive:
    """See the module docstring; `client` is a boto3 S3 client."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def key(self, plan_id: str, execution_id: str, name: str) -> str:
        return f"{PREFIX}/{plan_id}/{execution_id}/{name}"

    def location(self, plan_id: str, execution_id: str) -> str:
        return f"s3://{self.bucket}/{PREFIX}/{plan_id}/{execution_id}/"

    def write_once(self, plan_id: str, execution_id: str, name: str, content: bytes) -> StoredCopy:
        key = self.key(plan_id, execution_id, name)
        suffix = name[name.rfind(".") :] if "." in name else ""
        try:
            answer = self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=content,
                ContentType=CONTENT_TYPES.get(suffix, "application/octet-stream"),
                ChecksumAlgorithm="SHA256",
                IfNoneMatch="*",
            )
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code not in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise
            existing = self.read(plan_id, execution_id, name)
            if existing is None:  # a concurrent put not finished yet: the next attempt sees it
                raise
            if existing.content != content:
                raise CopyExists(existing) from None
            return existing
        return StoredCopy(
            f"s3://{self.bucket}/{key}",
            content,
            version_id=answer.get("VersionId"),
            checksum_sha256=answer.get("ChecksumSHA256"),
        )

    def read(self, plan_id: str, execution_id: str, name: str) -> StoredCopy | None:
        return self._get(self.bucket, self.key(plan_id, execution_id, name), None)

    def read_at(self, location: str, version_id: str | None = None) -> StoredCopy | None:
        if not location.startswith("s3://") or "/" not in location[5:]:
            raise ValueError(f"{location} is not in S3: this deployment archives to an S3 bucket")
        bucket, key = location[5:].split("/", 1)
        return self._get(bucket, key, version_id)

    def _get(self, bucket: str, key: str, version_id: str | None) -> StoredCopy | None:
        extra = {"VersionId": version_id} if version_id else {}
        try:
            answer = self.client.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED", **extra)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _ABSENT:
                return None
            if code in _DENIED:
                raise ArchiveAccessDenied(
                    f"S3 refused to read s3://{bucket}/{key} ({code}): the function's role needs "
                    f"s3:GetObject{'Version' if version_id else ''} on arn:aws:s3:::{bucket}/{PREFIX}/* "
                    f"(and s3:ListBucket on arn:aws:s3:::{bucket}, or a missing copy reads as 403)",
                    location=f"s3://{bucket}/{key}",
                ) from error
            raise
        return StoredCopy(
            f"s3://{bucket}/{key}",
            answer["Body"].read(),
            existed=True,
            version_id=answer.get("VersionId"),
            checksum_sha256=answer.get("ChecksumSHA256"),
        )
