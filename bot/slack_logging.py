"""What bolt and slack_sdk log, without Slack's secrets in request bodies.

Bolt logs whole request bodies: the Lambda adapter's DEBUG "Incoming event" line, the INFO line of a
badly signed request; slack_sdk logs the response_url it posts to at DEBUG. A body carries Slack's
legacy verification `token`, and its `response_url` lets anyone post into the channel for half an
hour. `SlackSecretsFilter` rewrites such a line, at any level, with both values replaced by `***`:
form fields, JSON (plain, quoted or URL-encoded inside a form field), Python reprs, hooks.slack.com
URLs anywhere, and an API Gateway event's base64 body (decoded, then redacted).

Bolt's own logger is `bolt_logger()`, not the app's name: bolt sets the level of the stdlib logger
named after the app to its base logger's (or the root's) on every request, and `drbot` is the logger
powertools' `Logger(service="drbot")` writes through, whose level POWERTOOLS_LOG_LEVEL sets. Every
logger bolt configures from its base logger gets the filter; slack_sdk's own loggers get it here.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re

REDACTED = "***"
BOLT_LOGGER = "drbot_slack_bolt"
SECRET_KEYS = "token|response_url"
# loggers slack_sdk creates by module name (bolt's respond() builds a WebhookClient without a logger)
SDK_LOGGERS = (
    "slack_sdk.web.base_client",
    "slack_sdk.web.slack_response",
    "slack_sdk.webhook.client",
    "slack_sdk.socket_mode.builtin.client",
    "slack_sdk.socket_mode.websocket_client",
)

_FORM = re.compile(rf"(?<![\w%])({SECRET_KEYS})=[^&\s'\"]*")
_QUOTED = re.compile(rf"(\\*[\"'])({SECRET_KEYS})\1(\s*:\s*)(\\*[\"'])(.*?)\4")
_URL_ENCODED = re.compile(rf"%22({SECRET_KEYS})%22(?:%3A|:)(?:\+|%20)*%22.*?%22", re.IGNORECASE)
_HOOKS = re.compile(r"https?(?::|%3A)(?:/|%2F){2}hooks\.slack(?:-gov)?\.com[^\s'\"&,]*", re.IGNORECASE)
_WEBHOOK_URL = re.compile(r"(url: )\S+?(,|$)")
_BASE64_BODY = re.compile(r"(['\"]body['\"]\s*:\s*)(['\"])([A-Za-z0-9+/]{16,}={0,2})\2")


def redact(text: str) -> str:
    """`text` with every verification token and response_url value replaced by `***`."""
    text = _BASE64_BODY.sub(_decoded_body, text)
    text = _FORM.sub(rf"\1={REDACTED}", text)
    text = _QUOTED.sub(rf"\1\2\1\3\4{REDACTED}\4", text)
    text = _URL_ENCODED.sub(rf"%22\1%22%3A%22{REDACTED}%22", text)
    return _HOOKS.sub(REDACTED, text)


def _decoded_body(match: re.Match[str]) -> str:
    try:
        decoded = base64.b64decode(match[3], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return match[0]
    return f"{match[1]}{match[2]}(base64) {redact(decoded)}{match[2]}"


class SlackSecretsFilter(logging.Filter):
    """Rewrites a record whose message holds a Slack secret; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's to report
            return True
        redacted = redact(message)
        if record.name.startswith("slack_sdk.webhook"):  # its DEBUG line names the response_url
            redacted = _WEBHOOK_URL.sub(rf"\1{REDACTED}\2", redacted)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def install(logger: logging.Logger) -> logging.Logger:
    """Put the filter on `logger` (once) and return it."""
    if not any(isinstance(existing, SlackSecretsFilter) for existing in logger.filters):
        logger.addFilter(SlackSecretsFilter())
    return logger


def bolt_logger() -> logging.Logger:
    """Bolt's base logger, filtered; slack_sdk's module loggers get the filter too."""
    for name in SDK_LOGGERS:
        install(logging.getLogger(name))
    return install(logging.getLogger(BOLT_LOGGER))
