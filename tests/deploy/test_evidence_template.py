"""The evidence archive's bucket in template.yaml (docs/report.md, "The archive"): versioned,
encrypted, never public, TLS only, a lifecycle, Object Lock only when EvidenceRetentionDays > 0; and
only the functions that archive or read reports reach it, with the bucket in their environment."""

from __future__ import annotations

import copy
from typing import Any

from tests.deploy.conftest import transform
from tests.deploy.test_template import FUNCTIONS, _grants, _resource_id, _role

ARCHIVERS = {"SlackFunction", "ExecutionFunction", "ScheduledDrillFunction"}  # they deliver events


def _bucket(template: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"]["EvidenceBucket"]["Properties"]
    return properties


def test_the_bucket_is_versioned_encrypted_private_and_kept(template: dict[str, Any]) -> None:
    resource = template["Resources"]["EvidenceBucket"]
    assert resource["Type"] == "AWS::S3::Bucket"
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    bucket = _bucket(template)
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4


def test_the_lifecycle_expires_no_version_and_moves_nothing(template: dict[str, Any]) -> None:
    rules = {rule["Id"]: rule for rule in _bucket(template)["LifecycleConfiguration"]["Rules"]}
    assert all(rule["Status"] == "Enabled" for rule in rules.values())
    # a genuine copy is the noncurrent version after an overwrite: nothing may expire it
    assert not any("NoncurrentVersionExpiration" in rule for rule in rules.values())
    assert not any("Expiration" in rule or "ExpirationInDays" in rule for rule in rules.values())
    # reports are a few KB: S3 does not transition objects under 128 KB, so no transition
    assert not any(rule.get("Transitions") or rule.get("Transition") for rule in rules.values())
    assert rules["AbortIncompleteUploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}


def test_object_lock_follows_the_retention_parameter(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["EvidenceRetentionDays"]
    assert (parameter["Type"], parameter["Default"], parameter["MinValue"]) == ("Number", 0, 0)
    condition = template["Conditions"]["HasEvidenceRetention"]
    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": "EvidenceRetentionDays"}, 0]}]}
    bucket = _bucket(template)
    assert bucket["ObjectLockEnabled"] == {"Fn::If": ["HasEvidenceRetention", True, {"Ref": "AWS::NoValue"}]}
    name, locked, unlocked = bucket["ObjectLockConfiguration"]["Fn::If"]
    assert (name, unlocked) == ("HasEvidenceRetention", {"Ref": "AWS::NoValue"})
    assert locked["ObjectLockEnabled"] == "Enabled"
    retention = locked["Rule"]["DefaultRetention"]
    assert retention == {"Mode": "COMPLIANCE", "Days": {"Ref": "EvidenceRetentionDays"}}


def test_the_bucket_refuses_plain_http_and_puts_that_could_overwrite(template: dict[str, Any]) -> None:
    policy = template["Resources"]["EvidenceBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "EvidenceBucket"}
    tls, write_once = policy["PolicyDocument"]["Statement"]
    assert (tls["Effect"], tls["Principal"], tls["Action"]) == ("Deny", "*", "s3:*")
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {_resource_id(r) for r in tls["Resource"]} == {"EvidenceBucket", "${EvidenceBucket.Arn}/*"}
    # a put without If-None-Match (the one way to overwrite a copy) is denied to everyone
    assert (write_once["Effect"], write_once["Principal"], write_once["Action"]) == (
        "Deny",
        "*",
        "s3:PutObject",
    )
    assert _resource_id(write_once["Resource"]) == "${EvidenceBucket.Arn}/evidence/*"
    assert write_once["Condition"] == {"Null": {"s3:if-none-match": "true"}}


def _s3_grants(transformed: dict[str, Any], logical_id: str) -> set[tuple[str, str]]:
    return {
        (action, _resource_id(resource))
        for action, resource in _grants([_role(transformed, logical_id)])
        if action.startswith("s3:")
    }


def test_only_the_archiving_functions_reach_the_bucket_and_none_deletes(transformed: dict[str, Any]) -> None:
    for logical_id in FUNCTIONS:
        grants = _s3_grants(transformed, logical_id)
        env = transformed["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
        if logical_id in ARCHIVERS:
            assert grants == {
                ("s3:GetObject", "${EvidenceBucket.Arn}/evidence/*"),
                ("s3:GetObjectVersion", "${EvidenceBucket.Arn}/evidence/*"),
                ("s3:PutObject", "${EvidenceBucket.Arn}/evidence/*"),
                ("s3:ListBucket", "EvidenceBucket"),
            }, logical_id
            # ListBucket with no s3:prefix condition: a GetObject carries no prefix to match, so a
            # condition would leave a missing copy reading as 403 instead of 404
            (listing,) = [
                statement
                for policy in _role(transformed, logical_id)["Policies"]
                for statement in policy["PolicyDocument"]["Statement"]
                if statement.get("Sid") == "EvidenceArchiveList"
            ]
            assert "Condition" not in listing, logical_id
            assert env["DRBOT_EVIDENCE_BUCKET"] == {"Ref": "EvidenceBucket"}, logical_id
        else:
            assert grants == set(), logical_id
            assert "DRBOT_EVIDENCE_BUCKET" not in env, logical_id


def test_a_template_without_the_bucket_grant_is_caught(template: dict[str, Any]) -> None:
    broken = copy.deepcopy(template)
    statements = broken["Resources"]["ExecutionFunction"]["Properties"]["Policies"][0]["Statement"]
    statements[:] = [s for s in statements if s.get("Sid") != "EvidenceArchive"]
    grants = _s3_grants(transform(broken), "ExecutionFunction")
    assert grants == {("s3:ListBucket", "EvidenceBucket")}
