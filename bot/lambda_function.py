"""The Slack app on AWS Lambda behind API Gateway (`POST /slack/events`): `handler(event, context)`.

The app is built on the first request of a container, over `current_services()`, with the Slack
secrets from Secrets Manager (bot/slack_secrets.py, cached five minutes; a rotated secret rebuilds the
app). Import time stays small: nothing is built here, and a cold start's import is part of the
3 seconds Slack waits for the ack.

For the template:
- Handler `bot.lambda_function.handler`; API Gateway REST (v1 proxy) or HTTP API (v2) events;
  a timeout longer than the slowest command (say 60 s), not API Gateway's 29 s: the ack is fast,
  the work runs in a second, asynchronous invocation.
- Lazy listeners re-invoke this same function: bolt acks within 3 s, then calls
  `lambda:InvokeFunction` (InvocationType=Event) on the function's own ARN with the original
  request plus `x-slack-bolt-lazy-only` headers. The role needs `lambda:InvokeFunction` on
  `arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:<name>` (built with
  !Sub from the name, not !GetAtt, which would be a circular reference).
- `AWS::Lambda::EventInvokeConfig` with `MaximumRetryAttempts: 0`: a lazy run that timed out must
  not run the command a second time (and after 5 minutes its signature would be refused anyway).
- Events of executions changed here (an approval click, an expiry found on touch) go to Slack through
  the app's client (a SlackNotifier keeping its state on the executions, queued and flushed when
  the invocation ends: docs/slack.md), unless DRBOT_NOTIFIER already gave the services a notifier.
- `secretsmanager:GetSecretValue` on SLACK_SECRET_ARN (JSON: bot_token, signing_secret); without
  it, SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are read from the environment.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_bolt.adapter.aws_lambda.handler import to_bolt_request
from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner

from orchestration.cold_start import long_lived_imports

with long_lived_imports():  # drbot's own modules, collector paused (orchestration/cold_start.py)
    from bot.app import build_app
    from bot.app_home import publisher_of
    from bot.listeners.guard import UNREADABLE, read_request
    from bot.slack_notifier import SlackNotifier
    from bot.slack_secrets import slack_secrets
    from orchestration.handlers.runtime import current_services
    from orchestration.observability import lambda_entry
    from orchestration.ports import NullNotifier

if TYPE_CHECKING:
    from pydantic import SecretStr

logger = Logger(service="drbot")


@dataclass(frozen=True)
class _Built:
    secrets: tuple[SecretStr, SecretStr]  # what the app was built with (SecretStr compares values)
    handler: SlackRequestHandler


_lock = threading.Lock()
_built: _Built | None = None
_lambda_client: Any = None  # None: bolt makes boto3.client("lambda") on the first lazy run


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    refused = _refused(event)  # what bolt would raise on building its request: a 502 from API Gateway
    if refused is not None:
        body = refused.body if isinstance(refused.body, str) else json.dumps(refused.body)
        return {"statusCode": refused.status, "body": body, "headers": {}}
    response: dict[str, Any] = slack_handler().handle(event, context)  # type: ignore[no-untyped-call]
    return response


def _refused(event: dict[str, Any]) -> BoltResponse | None:
    """The answer to a request bolt cannot read (guard.read_request), or None to hand it to bolt."""
    try:
        request = to_bolt_request(event)
    except Exception:  # a body that is not Slack's (not UTF-8, a payload that is not a JSON object)
        return BoltResponse(status=400, body=UNREADABLE)
    read = read_request(request.raw_body, request.headers)
    return None if isinstance(read, BoltRequest) else read


def slack_handler() -> SlackRequestHandler:
    """The container's bolt handler, built on first use and again when the Slack secrets change."""
    global _built  # noqa: PLW0603 - the per-container singleton Lambda's execution model wants
    services = current_services()
    token, signing_secret = slack_secrets(services.settings)  # cached by powertools
    with _lock:
        if _built is None or _built.secrets != (token, signing_secret):
            app = build_app(
                services, token=token, signing_secret=signing_secret, process_before_response=True
            )
            if isinstance(services.notifier, NullNotifier):  # events must not be "delivered" to nobody
                # queued, posted when the invocation ends (lambda_entry flushes it): a click's
                # update and the run's refresh are one writer's (docs/slack.md)
                notifier = SlackNotifier(app.client, services.clock, services=services, delivery="deferred")
                notifier.home = publisher_of(app)  # App Homes follow the runs
                services.notifier = notifier
            slack = SlackRequestHandler(app)
            if _lambda_client is not None:
                app.listener_runner.lazy_listener_runner = LambdaLazyListenerRunner(
                    slack.logger, lambda_client=_lambda_client
                )
            _built = _Built((token, signing_secret), slack)
        return _built.handler


def use(lambda_client: Any = None) -> None:
    """Forget the built app (the next request builds it again), invoking lazy listeners through
    `lambda_client` when given (tests: a stubbed boto3 Lambda client)."""
    global _built, _lambda_client
    with _lock:
        _built, _lambda_client = None, lambda_client
