"""What reaches a listener has the shape the listeners read; anything else is refused, changing
nothing, before bolt's matchers look at it.

- `read_request(body, headers)`: what every HTTP entry (the Lambda's, `drbot serve --http`) hands
  to bolt: a 401 for an X-Slack-Request-Timestamp that is not a number, like any other bad
  signature (slack_sdk's verifier would raise ValueError on it: a 500), and a 400 for a body bolt
  cannot even build its request from (a `payload` that is not a JSON object, a `user` that is not one).
- `shape_problem(body)`: the fields drbot's listeners and bolt's matchers index into, each of the
  type they are read as (a non-empty `actions` list of objects with an `action_id`, a `view` object
  with its `callback_id`, the user's id, a slash command's `command` and `user_id`, ...). A request
  that fails is answered 400 with what is wrong, by the first global middleware; nothing is logged
  but the fields that locate it.

What is well formed but unexpected (a plan builder button on a message, a form whose metadata is
not drbot's) is the listeners' to answer, privately (bot/listeners/actions/builders.py, views.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot.listeners.errors import CORRELATION_KEYS, logger, request_fields

INTERACTIVE = ("block_actions", "block_suggestion", "view_submission", "view_closed", "interactive_message")


def install(app: App) -> None:
    """Refuse malformed payloads before any listener matches (the first global middleware that
    reads the body, after bolt's own, which include its signature check)."""
    app.middleware(RefuseMalformed())


UNREADABLE = "drbot could not read this request: its body is not a Slack payload"


UNSIGNED = {"error": "invalid request"}  # bolt's own answer to a bad signature


def read_request(body: str, headers: Mapping[str, Sequence[str]]) -> BoltRequest | BoltResponse:
    """The BoltRequest of an HTTP request; a 401 when its timestamp is not a number (bolt's check
    would raise); a 400 when bolt cannot even read it (a `payload` that is not a JSON object, a
    `user` or `team` that is not one): bolt reads those fields as it builds the request, before its
    signature check or any middleware runs."""
    timestamps = [v for k, vs in headers.items() if k.lower() == "x-slack-request-timestamp" for v in vs]
    if any(not (t.isascii() and t.isdigit()) for t in timestamps):
        logger.info("Invalid request signature detected (timestamp is not a number)")
        return BoltResponse(status=401, body=UNSIGNED)
    try:
        return BoltRequest(body=body, headers=dict(headers))
    except Exception:  # JSONDecodeError, AttributeError, TypeError, BoltError: all the same to Slack
        return BoltResponse(status=400, body=UNREADABLE)


class RefuseMalformed(Middleware):
    """The first global middleware that reads the body: a 400 for a body `shape_problem` refuses. A
    Middleware, not a function: bolt builds a function's arguments from the body first (its
    `action` is `body["actions"][0]`), which is what must not be trusted yet."""

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        problem = shape_problem(req.body)
        if problem is None:
            return next()
        logger.thread_safe_remove_keys(CORRELATION_KEYS)  # the previous request's, on this thread
        logger.warning("malformed Slack request refused", extra={"problem": problem, **_located(req.body)})
        return BoltResponse(status=400, body=f"drbot could not read this request: {problem}")


def _located(body: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return request_fields(body)
    except Exception:  # a body too odd to locate: the problem says enough
        return {}


def shape_problem(body: Any) -> str | None:
    """What is wrong with the request's shape, or None when drbot's listeners can read it."""
    if not isinstance(body, Mapping):
        return "the body is not an object"
    kind = body.get("type")
    event = body.get("event")
    if "event" in body and not (isinstance(event, Mapping) and isinstance(event.get("type"), str)):
        return "event is not an object with a type"
    if "command" in body:
        return _strings(body, required=("command", "user_id"), optional=("text", "channel_id", "trigger_id"))
    if not isinstance(kind, str) or kind not in INTERACTIVE:
        return None if kind is None or isinstance(kind, str) else "type is not text"
    user = body.get("user")
    if not isinstance(user, Mapping) or not _is_text(user.get("id")):
        return "user.id is missing"
    for name in ("team", "channel", "container", "enterprise", "message"):
        if body.get(name) is not None and not isinstance(body[name], Mapping):
            return f"{name} is not an object"
    if problem := _strings(body, optional=("trigger_id", "response_url", "value", "block_id")):
        return problem
    actions_read = "actions" in body or kind == "block_actions"
    if actions_read and (problem := _actions_problem(body.get("actions"))):
        return problem
    if kind == "block_suggestion" and not _is_text(body.get("action_id")):
        return "action_id is missing"
    if ("view" in body and body["view"] is not None) or kind in ("view_submission", "view_closed"):
        return _view_problem(body.get("view"))
    return _container_problem(body.get("container"))


def _actions_problem(actions: Any) -> str | None:
    if not isinstance(actions, list) or not actions:
        return "actions is not a non-empty list"
    for action in actions:
        if not isinstance(action, Mapping) or not _is_text(action.get("action_id")):
            return "an action has no action_id"
        if problem := _strings(action, optional=("value", "block_id")):
            return f"action {problem}"
    return None


def _view_problem(view: Any) -> str | None:
    if not isinstance(view, Mapping):
        return "view is not an object"
    if not _is_text(view.get("callback_id")) and "callback_id" in view:
        return "view.callback_id is not text"
    if problem := _strings(view, optional=("id", "hash", "private_metadata", "callback_id")):
        return f"view {problem}"
    state = view.get("state")
    if state is None:
        return None
    values = state.get("values") if isinstance(state, Mapping) else None
    if not isinstance(values, Mapping) or not all(
        isinstance(block, Mapping) and all(isinstance(element, Mapping) for element in block.values())
        for block in values.values()
    ):
        return "view.state.values is not blocks of elements"
    return None


def _container_problem(container: Any) -> str | None:
    if isinstance(container, Mapping) and container.get("type") == "message":
        return _strings(container, required=("channel_id", "message_ts"))
    return None


def _strings(
    fields: Mapping[str, Any], *, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()
) -> str | None:
    for name in required:
        if not _is_text(fields.get(name)):
            return f"{name} is missing"
    for name in optional:
        if fields.get(name) is not None and not isinstance(fields[name], str):
            return f"{name} is not text"
    return None


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value != ""
