"""Requests as Slack sends them to an app, for the console: signed, form-encoded, ready for
`app.dispatch` as a BoltRequest.

Slack signs `v0:{timestamp}:{raw body}` with HMAC-SHA256 under the app's signing secret (slack_sdk's
SignatureVerifier computes the same signature bolt checks) and sends `X-Slack-Signature` and
`X-Slack-Request-Timestamp`. A slash command is a plain form; an interaction (block_actions,
view_submission, view_closed, block_suggestion) is a form with one field, `payload`, holding JSON.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlencode

from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier


def signature(signing_secret: str, timestamp: int, body: str) -> str:
    """`v0=<hex>`: what Slack puts in X-Slack-Signature for this body and timestamp."""
    signed = SignatureVerifier(signing_secret).generate_signature(timestamp=str(timestamp), body=body)
    if signed is None:  # only when the timestamp is missing, which it never is here
        raise ValueError("no signature without a timestamp")
    return signed


@dataclass(frozen=True)
class SignedRequest:
    body: str  # the raw form-encoded body, exactly what was signed
    headers: dict[str, str]

    @classmethod
    def sign(cls, body: str, signing_secret: str, timestamp: int | None = None) -> Self:
        ts = int(time.time()) if timestamp is None else timestamp
        return cls(
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
                "X-Slack-Request-Timestamp": str(ts),
                "X-Slack-Signature": signature(signing_secret, ts, body),
            },
        )

    def bolt(self) -> BoltRequest:
        """For `app.dispatch(...)`: headers as lists, the way bolt's adapters build them."""
        return BoltRequest(body=self.body, headers={k: [v] for k, v in self.headers.items()})


@dataclass(frozen=True)
class Workspace:
    """Where the console's requests come from: the team, the app and the channel typed into."""

    team_id: str
    team_domain: str
    app_id: str
    channel_id: str
    channel_name: str
    signing_secret: str


def slash_command(
    workspace: Workspace, command: str, text: str, *, user_id: str, response_url: str, trigger_id: str
) -> SignedRequest:
    fields = {
        "team_id": workspace.team_id,
        "team_domain": workspace.team_domain,
        "channel_id": workspace.channel_id,
        "channel_name": workspace.channel_name,
        "user_id": user_id,
        "user_name": user_id,
        "command": command,
        "text": text,
        "api_app_id": workspace.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return SignedRequest.sign(urlencode(fields), workspace.signing_secret)


def block_actions(
    workspace: Workspace,
    action: Mapping[str, Any],
    *,
    user_id: str,
    trigger_id: str,
    container: Mapping[str, Any],
    message: Mapping[str, Any] | None = None,
    view: Mapping[str, Any] | None = None,
    response_url: str | None = None,
) -> SignedRequest:
    """A click on a button (or a change of a dispatching input) in a message or a view."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(workspace, user_id),
        "api_app_id": workspace.app_id,
        "container": dict(container),
        "trigger_id": trigger_id,
        "team": {"id": workspace.team_id, "domain": workspace.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
    }
    if message is not None:
        payload["channel"] = {"id": workspace.channel_id, "name": workspace.channel_name}
        payload["message"] = dict(message)
        payload["state"] = {"values": {}}
    if view is not None:
        payload["view"] = dict(view)
    if response_url is not None:
        payload["response_url"] = response_url
    return interaction(payload, workspace.signing_secret)


def view_submission(
    workspace: Workspace, view: Mapping[str, Any], *, user_id: str, trigger_id: str
) -> SignedRequest:
    """A modal's submit; `view` carries its `state.values`."""
    payload = {
        "type": "view_submission",
        "team": {"id": workspace.team_id, "domain": workspace.team_domain},
        "user": _user(workspace, user_id),
        "api_app_id": workspace.app_id,
        "trigger_id": trigger_id,
        "view": dict(view),
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return interaction(payload, workspace.signing_secret)


def view_closed(workspace: Workspace, view: Mapping[str, Any], *, user_id: str) -> SignedRequest:
    """A modal closed by the user (sent only for views with `notify_on_close`)."""
    payload = {
        "type": "view_closed",
        "team": {"id": workspace.team_id, "domain": workspace.team_domain},
        "user": _user(workspace, user_id),
        "api_app_id": workspace.app_id,
        "view": dict(view),
        "is_cleared": False,
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return interaction(payload, workspace.signing_secret)


def block_suggestion(
    workspace: Workspace, view: Mapping[str, Any], *, action_id: str, block_id: str, value: str, user_id: str
) -> SignedRequest:
    """Type-ahead in an external select inside a view: the app answers with the options."""
    payload = {
        "type": "block_suggestion",
        "user": _user(workspace, user_id),
        "container": {"type": "view", "view_id": view.get("id")},
        "api_app_id": workspace.app_id,
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "team": {"id": workspace.team_id, "domain": workspace.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": dict(view),
    }
    return interaction(payload, workspace.signing_secret)


def interaction(
    payload: Mapping[str, Any], signing_secret: str, timestamp: int | None = None
) -> SignedRequest:
    return SignedRequest.sign(urlencode({"payload": json.dumps(payload)}), signing_secret, timestamp)


def _user(workspace: Workspace, user_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_id, "name": user_id, "team_id": workspace.team_id}
