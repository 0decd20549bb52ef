"""Requests as Slack sends them (helpers, not fixtures): signed, form-encoded, ready for
`app.dispatch` as a BoltRequest or for the Lambda entry as an API Gateway REST event.

Slack signs `v0:{timestamp}:{raw body}` with HMAC-SHA256 under the app's signing secret and sends
`X-Slack-Signature: v0=<hex>` and `X-Slack-Request-Timestamp`. A slash command is a plain form; an
interaction (block_actions, view_submission, block_suggestion) is a form with one field, `payload`,
holding JSON.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from bot.console_requests import SignedRequest as ProductSignedRequest

TEAM_ID = "T0DRBOT"
TEAM_DOMAIN = "drbot-test"
APP_ID = "A0DRBOT"
CHANNEL_ID = "C0DRILLS"
USER_ID = "U0ALICE"
# Slack's legacy verification token, which every request body still carries: never to be logged
VERIFICATION_TOKEN = "legacyVerificationTokenXyZ123"
FUNCTION_NAME = "drbot-slack"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:111122223333:function:{FUNCTION_NAME}"
EVENTS_PATH = "/slack/events"


@dataclass(frozen=True)
class SignedRequest(ProductSignedRequest):
    """The console's signed request (bot/console_requests.py: the same signing, the same
    BoltRequest), plus what tests need: a forged signature and the API Gateway event."""

    def with_signature(self, value: str) -> SignedRequest:
        return replace(self, headers={**self.headers, "X-Slack-Signature": value})

    def apigw_event(self, *, base64_encoded: bool = False) -> dict[str, Any]:
        """An API Gateway REST (v1 proxy) event for `POST /slack/events`."""
        body = base64.b64encode(self.body.encode()).decode() if base64_encoded else self.body
        return {
            "resource": EVENTS_PATH,
            "path": EVENTS_PATH,
            "httpMethod": "POST",
            "headers": dict(self.headers),
            "multiValueHeaders": {k: [v] for k, v in self.headers.items()},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": EVENTS_PATH,
                "httpMethod": "POST",
                "path": f"/prod{EVENTS_PATH}",
                "stage": "prod",
                "requestId": str(uuid.uuid4()),
                "identity": {"sourceIp": "127.0.0.1", "userAgent": self.headers["User-Agent"]},
            },
            "body": body,
            "isBase64Encoded": base64_encoded,
        }


def slash_command(
    signing_secret: str,
    text: str,
    *,
    response_url: str,
    user_id: str = USER_ID,
    channel_id: str = CHANNEL_ID,
    command: str = "/dr",
    timestamp: int | None = None,
) -> SignedRequest:
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": "dr-drills",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": _trigger_id(),
    }
    return SignedRequest.sign(urlencode(fields), signing_secret, timestamp)


def event_callback(signing_secret: str, event: dict[str, Any], event_id: str = "Ev0001") -> SignedRequest:
    """An Events API delivery of `event` (JSON, signed like every request)."""
    body = {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": event,
    }
    return SignedRequest.sign(json.dumps(body), signing_secret)


def block_actions(
    signing_secret: str,
    action_id: str,
    *,
    value: str = "",
    block_id: str = "actions",
    response_url: str = "",
    user_id: str = USER_ID,
    channel_id: str = CHANNEL_ID,
    message_ts: str = "1767225600.000100",
    message: dict[str, Any] | None = None,
    timestamp: int | None = None,
) -> SignedRequest:
    """A button click on a message."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": _trigger_id(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "dr-drills"},
        "message": message or {"type": "message", "ts": message_ts, "text": "", "blocks": []},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [_button_click(action_id, block_id, value)],
    }
    return _interaction(payload, signing_secret, timestamp)


def view_submission(
    signing_secret: str,
    callback_id: str,
    values: dict[str, dict[str, dict[str, Any]]],
    *,
    private_metadata: str = "",
    view_id: str = "V0MODAL",
    user_id: str = USER_ID,
    blocks: list[dict[str, Any]] | None = None,
    timestamp: int | None = None,
) -> SignedRequest:
    """A modal's submit: `values` is `view.state.values` (block id -> action id -> element state)."""
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": _user(user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": _trigger_id(),
        "view": _view(view_id, callback_id, private_metadata, values, blocks),
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _interaction(payload, signing_secret, timestamp)


def block_suggestion(
    signing_secret: str,
    action_id: str,
    value: str,
    *,
    block_id: str,
    callback_id: str,
    view_id: str = "V0MODAL",
    private_metadata: str = "",
    user_id: str = USER_ID,
    timestamp: int | None = None,
) -> SignedRequest:
    """Type-ahead in an external_select inside a modal."""
    payload = {
        "type": "block_suggestion",
        "user": _user(user_id),
        "container": {"type": "view", "view_id": view_id},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": _view(view_id, callback_id, private_metadata, {}, None),
    }
    return _interaction(payload, signing_secret, timestamp)


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that bolt and powertools read."""

    function_name: str = FUNCTION_NAME
    invoked_function_arn: str = FUNCTION_ARN
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = f"/aws/lambda/{FUNCTION_NAME}"
    log_stream_name: str = "2026/01/01/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class StubbedLambda:
    """A real boto3 Lambda client whose `invoke` is answered by botocore's Stubber (parameters
    validated against the Lambda API model) and recorded, so a test can play each asynchronous
    self-invocation back into the handler, as Lambda would."""

    def __init__(self, region: str = "us-east-1") -> None:
        import boto3
        from botocore.stub import Stubber

        self.client = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        ).client("lambda")
        self.invocations: list[dict[str, Any]] = []
        self.client.meta.events.register("provide-client-params.lambda.Invoke", self._record)
        self._stubber = Stubber(self.client)
        self._stubber.activate()

    def expect(self, count: int = 1) -> None:
        """Answer the next `count` invokes as Lambda answers an asynchronous one (202)."""
        from botocore.stub import ANY

        for _ in range(count):
            self._stubber.add_response(
                "invoke",
                {"StatusCode": 202},
                {"FunctionName": ANY, "InvocationType": "Event", "Payload": ANY},
            )

    def events(self) -> list[dict[str, Any]]:
        """The payloads invoked so far, as the function would receive them."""
        return [json.loads(invocation["Payload"]) for invocation in self.invocations]

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.invocations.append(dict(params))


def _interaction(payload: dict[str, Any], signing_secret: str, timestamp: int | None) -> SignedRequest:
    return SignedRequest.sign(urlencode({"payload": json.dumps(payload)}), signing_secret, timestamp)


def _button_click(action_id: str, block_id: str, value: str) -> dict[str, Any]:
    """One clicked button as block_actions lists it."""
    return {
        "action_id": action_id,
        "block_id": block_id,
        "text": {"type": "plain_text", "text": action_id, "emoji": True},
        "value": value,
        "type": "button",
        "action_ts": f"{int(time.time())}.000000",
    }


def _user(user_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID}


def _view(
    view_id: str,
    callback_id: str,
    private_metadata: str,
    values: dict[str, dict[str, dict[str, Any]]],
    blocks: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    return {
        "id": view_id,
        "team_id": TEAM_ID,
        "type": "modal",
        "blocks": blocks or [],
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "state": {"values": values},
        "hash": f"{int(time.time())}.abcdef",
        "title": {"type": "plain_text", "text": "drbot", "emoji": True},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": {"type": "plain_text", "text": "Save", "emoji": True},
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": APP_ID,
        "external_id": "",
        "app_installed_team_id": TEAM_ID,
        "bot_id": "B0DRBOT",
    }


def _trigger_id() -> str:
    return f"{int(time.time())}.{TEAM_ID}.{uuid.uuid4().hex}"


def view_state(
    view: dict[str, Any], typed: dict[str, dict[str, dict[str, Any]]] | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """`view.state.values` as Slack reports it for a modal shown as built (each input holding its
    initial value), then what the person `typed` (block id -> action id -> element state) on top."""
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for block in view.get("blocks", []):
        elements = [block["element"]] if block["type"] == "input" else block.get("elements", [])
        for element in elements:
            state = _element_state(element)
            if state is not None and block["type"] in ("input", "actions"):
                values.setdefault(block["block_id"], {})[element["action_id"]] = state
    for block_id, actions in (typed or {}).items():
        for action_id, state in actions.items():
            values.setdefault(block_id, {})[action_id] = state
    return values


def _element_state(element: dict[str, Any]) -> dict[str, Any] | None:
    kind = element["type"]
    if kind == "plain_text_input":
        return {"type": kind, "value": element.get("initial_value")}
    if kind in ("static_select", "external_select"):
        return {"type": kind, "selected_option": element.get("initial_option")}
    if kind in ("multi_static_select", "multi_external_select", "checkboxes"):
        return {"type": kind, "selected_options": element.get("initial_options", [])}
    return None  # buttons hold no state


def view_block_actions(
    signing_secret: str,
    view: dict[str, Any],
    action_id: str,
    *,
    block_id: str,
    value: str = "",
    values: dict[str, dict[str, dict[str, Any]]] | None = None,
    user_id: str = USER_ID,
    timestamp: int | None = None,
) -> SignedRequest:
    """A button click inside an open modal: `view` is the one Slack shows (with its id and hash),
    `values` its state (default: as built, see `view_state`)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": _trigger_id(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {
            **_view(
                view["id"],
                view["callback_id"],
                view.get("private_metadata", ""),
                view_state(view) if values is None else values,
                view["blocks"],
            ),
            "hash": view.get("hash", ""),
        },
        "actions": [_button_click(action_id, block_id, value)],
    }
    return _interaction(payload, signing_secret, timestamp)


def view_block_suggestion(
    signing_secret: str,
    view: dict[str, Any],
    action_id: str,
    value: str,
    *,
    block_id: str,
    values: dict[str, dict[str, dict[str, Any]]] | None = None,
    user_id: str = USER_ID,
    timestamp: int | None = None,
) -> SignedRequest:
    """Type-ahead in an external select of an open modal, with the modal's state as it is (default:
    as built, see `view_state`)."""
    payload = {
        "type": "block_suggestion",
        "user": _user(user_id),
        "container": {"type": "view", "view_id": view["id"]},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": _view(
            view["id"],
            view["callback_id"],
            view.get("private_metadata", ""),
            view_state(view) if values is None else values,
            view["blocks"],
        ),
    }
    return _interaction(payload, signing_secret, timestamp)
