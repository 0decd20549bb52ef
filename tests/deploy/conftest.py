"""The deployable artefacts, loaded once: template.yaml as CloudFormation reads it (intrinsic
functions as dicts) and as the SAM translator expands it, offline, as `sam deploy` would.

The Slack fixtures of tests/integration are shared here, for the test that captures logs during a
signed Slack request.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import slack_services, slack_stub

__all__ = ["slack_services", "slack_stub"]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"

# What `sam package` puts in place of local code and definition paths: the translator wants S3 URIs.
CODE_PLACEHOLDER = "s3://drbot-artifacts/code.zip"
DEFINITION_PLACEHOLDER = "s3://drbot-artifacts/orchestration.asl.json"
REGION = "us-east-1"

# AWS managed policies the translator may name (it would ask IAM for this map)
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
}


def load_template(text: str) -> dict[str, Any]:
    """A template as CloudFormation reads it (cfn-lint's decoder: !Ref becomes {"Ref": ...})."""
    from cfnlint.decode import decode_str

    template, problems = decode_str(text)
    if problems:
        raise AssertionError(f"template.yaml does not parse: {problems}")
    return _plain(template)


def transform(template: dict[str, Any]) -> dict[str, Any]:
    """The template after the SAM transform, local paths replaced by `sam package`'s S3 URIs."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    packaged = copy.deepcopy(template)
    for resource in packaged["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and "CodeUri" in properties:
            properties["CodeUri"] = CODE_PLACEHOLDER
        if resource["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in properties:
            properties["DefinitionUri"] = DEFINITION_PLACEHOLDER
    globals_ = packaged.get("Globals", {}).get("Function", {})
    if "CodeUri" in globals_:
        globals_["CodeUri"] = CODE_PLACEHOLDER
    # a session that only names the region (no credentials, no call): the pseudo parameters' values
    session = boto3.session.Session(region_name=REGION)
    translator = Translator(None, Parser(), boto_session=session)
    result: dict[str, Any] = translator.translate(
        packaged, parameter_values={}, get_managed_policy_map=lambda: dict(MANAGED_POLICIES)
    )
    return result


def _plain(value: Any) -> Any:
    """cfn-lint's node classes as plain dicts and lists (they deep-copy and compare as usual)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


@pytest.fixture(scope="session")
def template_text() -> str:
    return TEMPLATE_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def template(template_text: str) -> dict[str, Any]:
    return load_template(template_text)


@pytest.fixture(scope="session")
def transformed(template: dict[str, Any]) -> dict[str, Any]:
    return transform(template)
