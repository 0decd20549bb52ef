"""How long Slack asks to be left alone: the Retry-After header of a rate-limited (HTTP 429) answer,
and a retry handler that waits exactly that long (docs/slack.md)."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.slack_logging import install

logger = logging.getLogger(__name__)
_QUIET_CLIENT_LOGGER = install(logging.getLogger("slack_sdk.web.base_client.retrying"))
_QUIET_CLIENT_LOGGER.setLevel(logging.INFO)


def retry_after(headers: Any, default: float) -> float:
    """Retry-After in seconds from a response's headers (any case, a value or a list of them);
    `default` when it is missing or not a number."""
    value = None
    if headers:
        for name, header in dict(headers).items():
            if str(name).lower() == "retry-after":
                value = header[0] if isinstance(header, list) and header else header
    try:
        return max(0.0, float(value)) if value is not None else default
    except (TypeError, ValueError):
        return default


class ExactRateLimitRetry(RateLimitErrorRetryHandler):
    """slack_sdk's RateLimitErrorRetryHandler, waiting exactly Retry-After (slack_sdk adds up to a
    second of jitter) through an injected `sleep`, logging one line per 429 (no traceback).

    It sleeps in the calling thread: install it only on a client used off the engine's thread (the
    Slack notifier's delivery worker, or its flush at the end of a Lambda invocation). `may_wait`
    says whether a wait of that many seconds is still allowed (a flush's deadline); when it is not,
    the 429 is raised to the caller (SlackApiError), which keeps the message for later."""

    def __init__(
        self,
        sleep: Callable[[float], None] = time.sleep,
        *,
        max_retry_count: int = 5,
        default: float = 1.0,
        may_wait: Callable[[float], bool] | None = None,
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep
        self.default = default
        self.may_wait = may_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after(response.headers, self.default)
        allowed = self.may_wait is None or self.may_wait(wait)
        logger.warning(
            "Slack rate-limited a call; retrying after Retry-After"
            if allowed
            else "Slack rate-limited a call; kept for later",
            extra={"method": _method_of(request.url), "retry_after": wait, "attempt": state.current_attempt},
        )
        return allowed

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        self.sleep(retry_after(response.headers if response is not None else None, self.default))
        state.increment_current_attempt()


def with_exact_rate_limits(client: WebClient, handler: ExactRateLimitRetry) -> WebClient:
    """A shallow copy of `client` (same token source, base URL, session) whose calls also retry
    rate-limited answers through `handler`; `client` itself is left as it was."""
    retrying = copy.copy(client)
    # slack_sdk logs "A retry handler found" at INFO for each retry when its logger is at DEBUG or
    # unset; the handler's own line says it, so the copy logs through a logger at INFO (filtered)
    retrying._logger = _QUIET_CLIENT_LOGGER  # WebClient takes its logger only when built
    retrying.retry_handlers = [
        *(h for h in client.retry_handlers if not isinstance(h, RateLimitErrorRetryHandler)),
        handler,
    ]
    return retrying


def _method_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]
