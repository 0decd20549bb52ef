"""A loopback Slack Web API: an HTTP server on 127.0.0.1 that answers like Slack and remembers.

One piece, longer than most modules: what it answers, records and checks share one lock and one
record of calls.

- `POST|GET /api/<method>`: plausible answers (`ok: true`, increasing `ts`, the channel echoed) for
  the methods drbot uses; any other method the spec knows gets `{"ok": true}`.
- `POST /response/<id>`: a response_url (`new_response_url()` hands them out for slash commands).
- `POST /upload/<file id>`: the bytes of a files_upload_v2 upload, posted to the `upload_url`
  files.getUploadURLExternal answered (recorded as `UPLOAD` with the raw `body`); `uploaded()` gives
  the files files.completeUploadExternal shared, with their bytes.
- Every call is recorded in order (method, arguments parsed from the form, JSON body or query
  string, headers including Authorization); `wait_for()` blocks on a Condition, bounded.
- Each call's method and argument names are checked against Slack's OpenAPI description
  (tests/data/slack_web_openapi_v2.json, October 2020) where it covers the method; what Slack added
  since is in the allow-lists below. Problems go to `violations`, which tests assert is empty.
- `rate_limit(method, retry_after, times)` answers the next calls with HTTP 429 + Retry-After;
  `fail(method, error, times)` with `{"ok": false, "error": ...}`; `down()` answers every Web API
  call with HTTP 503 until `up()` (those calls are kept apart, in `refused()`: `calls()` is what
  Slack took or answered).
- `hold(method)` keeps each call of `method` waiting (recorded, unanswered) until `release(method)`,
  bounded by a Condition: a test orders a caller's steps against others' without sleeping.

Nothing here reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import functools
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.console_slack import dm_channel_of
from bot.loopback_http import LoopbackAnswer, LoopbackRequest, LoopbackServer

SPEC_PATH = Path(__file__).parent / "data" / "slack_web_openapi_v2.json"
RESPONSE_URL = "response_url"  # the `method` recorded for a response_url post
UPLOAD = "file_upload"  # the `method` recorded for the post of a file's bytes to its upload_url
WAIT_SECONDS = 30.0  # only reached when something is wrong, so generous for a loaded machine

# Methods Slack added after the October 2020 description (none of drbot's yet).
NEW_METHODS: frozenset[str] = frozenset(
    {
        "apps.connections.open",  # Socket Mode, January 2021
        "files.getUploadURLExternal",  # files.upload's successor, 2024
        "files.completeUploadExternal",
    }
)

# The arguments of the methods above (Slack's method reference), checked as the spec's are.
NEW_METHOD_ARGUMENTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {  # (allowed, required)
    "files.getUploadURLExternal": (
        frozenset({"filename", "length", "alt_txt", "snippet_type"}),
        frozenset({"filename", "length"}),
    ),
    "files.completeUploadExternal": (
        frozenset({"files", "channel_id", "channels", "initial_comment", "thread_ts", "blocks"}),
        frozenset({"files"}),
    ),
}

# Arguments Slack added after October 2020, per method.
NEW_ARGUMENTS: dict[str, frozenset[str]] = {
    # message metadata (2022) and markdown_text (2025)
    "chat.postMessage": frozenset({"metadata", "markdown_text"}),
    # reply_broadcast and file_ids on update (2021+), metadata, markdown_text
    "chat.update": frozenset({"metadata", "reply_broadcast", "file_ids", "markdown_text"}),
    "chat.postEphemeral": frozenset({"markdown_text"}),
    # interactivity_pointer: the trigger_id's successor for workflow steps (2023)
    "views.open": frozenset({"interactivity_pointer"}),
    "views.push": frozenset({"interactivity_pointer"}),
    # Enterprise Grid org-wide apps name the workspace (2021)
    "usergroups.users.list": frozenset({"team_id"}),
    "users.info": frozenset(),
    "conversations.info": frozenset(),
}

# What a response_url accepts (not a Web API method, so not in the spec).
RESPONSE_URL_FIELDS = frozenset(
    {
        "text",
        "blocks",
        "attachments",
        "response_type",
        "replace_original",
        "delete_original",
        "thread_ts",
        "mrkdwn",
        "unfurl_links",
        "unfurl_media",
        "metadata",
    }
)


@dataclass(frozen=True)
class MethodSpec:
    arguments: frozenset[str]
    required: frozenset[str]
    token_required: bool


@functools.cache
def load_spec(path: Path = SPEC_PATH) -> dict[str, MethodSpec]:
    """Method name -> its argument names, from the OpenAPI description."""
    spec = json.loads(path.read_text(encoding="utf-8"))
    methods: dict[str, MethodSpec] = {}
    for method_path, operations in spec["paths"].items():
        parameters = [p for operation in operations.values() for p in operation.get("parameters", [])]
        methods[method_path.lstrip("/")] = MethodSpec(
            arguments=frozenset(p["name"] for p in parameters),
            required=frozenset(p["name"] for p in parameters if p.get("required") and p["name"] != "token"),
            token_required=any(p["name"] == "token" and p.get("required") for p in parameters),
        )
    return methods


def check_call(method: str, arguments: Mapping[str, Any], has_token: bool) -> list[str]:
    """What is wrong with a Web API call by the description (names only, not values or verbs)."""
    spec = load_spec().get(method)
    if spec is None and method in NEW_METHOD_ARGUMENTS:
        allowed, required = NEW_METHOD_ARGUMENTS[method]
        spec = MethodSpec(allowed, required, token_required=True)
    if spec is None:
        return [] if method in NEW_METHODS else [f"{method}: not a Slack Web API method"]
    allowed = spec.arguments | NEW_ARGUMENTS.get(method, frozenset()) | {"token"}
    problems = [f"{method}: unknown argument `{name}`" for name in sorted(set(arguments) - allowed)]
    problems += [f"{method}: missing argument `{name}`" for name in sorted(spec.required - set(arguments))]
    if spec.token_required and not has_token:
        problems.append(f"{method}: no token")
    return problems


def check_response_url_post(payload: Mapping[str, Any]) -> list[str]:
    problems = [
        f"response_url: unknown field `{name}`" for name in sorted(set(payload) - RESPONSE_URL_FIELDS)
    ]
    if payload.get("response_type") not in (None, "ephemeral", "in_channel"):
        problems.append(f"response_url: response_type `{payload['response_type']}`")
    if not payload.get("delete_original") and not (payload.get("text") or payload.get("blocks")):
        problems.append("response_url: neither text nor blocks")
    return problems


@dataclass(frozen=True)
class RecordedCall:
    method: str  # a Web API method name, or RESPONSE_URL
    args: dict[str, Any]  # JSON-valued form fields (blocks, view, …) already decoded
    headers: dict[str, str]  # lower-case names
    path: str
    http_method: str
    token: str | None  # the Web API call's token (Authorization: Bearer, or a token field)
    body: bytes = b""  # the raw body (what an UPLOAD carries)

    @classmethod
    def of(cls, request: LoopbackRequest) -> RecordedCall:
        if request.api_method is not None:
            method = request.api_method
        else:
            method = UPLOAD if request.upload_key is not None else RESPONSE_URL
        return cls(
            method,
            request.args,
            request.headers,
            request.path,
            request.http_method,
            request.token,
            request.body,
        )


@dataclass(frozen=True)
class UploadedFile:
    """A file shared by files.completeUploadExternal: its bytes and where it was shared."""

    id: str
    filename: str
    title: str
    content: bytes
    channel_id: str | None
    thread_ts: str | None
    initial_comment: str | None


@dataclass
class _Planned:
    status: int
    retry_after: int | None = None
    error: str | None = None


@dataclass
class SlackStub:
    """See the module docstring. Start with `start()` or `with running_stub() as stub`."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # users.info answers by id
    usergroups: dict[str, list[str]] = field(default_factory=dict)  # usergroups.users.list
    team_id: str = "T0DRBOT"
    bot_user_id: str = "U0DRBOT"

    def __post_init__(self) -> None:
        self._calls: list[RecordedCall] = []
        self._violations: list[str] = []
        self._planned: dict[str, list[_Planned]] = {}
        self._down = False
        self._refused: list[RecordedCall] = []  # calls answered 503 while down
        self._held: set[str] = set()
        self._changed = threading.Condition()
        self._counter = itertools.count(1)
        self._epoch = int(time.time())
        self._uploads: dict[str, tuple[str, int, bytes | None]] = {}  # file id -> filename, length, bytes
        self._uploaded: list[UploadedFile] = []
        self._server = LoopbackServer(self._serve, "slack-stub", poll_seconds=0.05)

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> SlackStub:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(timeout=WAIT_SECONDS)

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """For SLACK_API_URL / WebClient(base_url=...)."""
        return f"{self.base_url}/api/"

    def new_response_url(self) -> str:
        return f"{self.base_url}/response/{next(self._counter)}"

    # -- what happened -----------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        with self._changed:
            return [c for c in self._calls if method is None or c.method == method]

    @property
    def violations(self) -> list[str]:
        with self._changed:
            return list(self._violations)

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = WAIT_SECONDS,
        where: Callable[[RecordedCall], bool] | None = None,
    ) -> list[RecordedCall]:
        """The first `count` calls of `method` (that match `where`), waiting at most `timeout`."""

        def matching() -> list[RecordedCall]:
            return [c for c in self._calls if c.method == method and (where is None or where(c))]

        with self._changed:
            done = self._changed.wait_for(lambda: len(matching()) >= count, timeout=timeout)
            seen = matching()
        if not done:
            raise AssertionError(
                f"expected {count} call(s) of {method} within {timeout}s, got {len(seen)}; "
                f"all calls: {[c.method for c in self.calls()]}"
            )
        return seen[:count]

    def uploaded(self) -> list[UploadedFile]:
        """The files shared so far (files.completeUploadExternal), in order."""
        with self._changed:
            return list(self._uploaded)

    def answer_at(self, response_url: str, timeout: float = WAIT_SECONDS) -> RecordedCall:
        """The post to `response_url` (one from `new_response_url()`), waiting at most `timeout`."""
        path = urlsplit(response_url).path
        (answer,) = self.wait_for(RESPONSE_URL, timeout=timeout, where=lambda c: c.path == path)
        return answer

    def reset(self) -> None:
        with self._changed:
            self._calls.clear()
            self._violations.clear()
            self._planned.clear()
            self._uploaded.clear()

    # -- what to answer ----------------------------------------------------------------------------

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 429 and Retry-After."""
        self._plan(method, [_Planned(429, retry_after=retry_after)] * times)

    def fail(self, method: str, error: str = "channel_not_found", times: int = 1) -> None:
        """Answer the next `times` calls of `method` with `{"ok": false, "error": error}`."""
        self._plan(method, [_Planned(200, error=error)] * times)

    def down(self) -> None:
        """Answer every Web API call with HTTP 503 (Slack is down) until `up()`."""
        with self._changed:
            self._down = True

    def up(self) -> None:
        with self._changed:
            self._down = False

    def refused(self) -> list[RecordedCall]:
        """The calls answered with 503 while Slack was down (not in `calls()`)."""
        with self._changed:
            return list(self._refused)

    def hold(self, method: str) -> None:
        """Keep the calls of `method` waiting, once recorded, until `release(method)`."""
        with self._changed:
            self._held.add(method)

    def release(self, method: str) -> None:
        with self._changed:
            self._held.discard(method)
            self._changed.notify_all()

    def _plan(self, method: str, planned: list[_Planned]) -> None:
        with self._changed:
            self._planned.setdefault(method, []).extend(planned)

    # -- the server side ---------------------------------------------------------------------------

    def _serve(self, request: LoopbackRequest) -> LoopbackAnswer:
        status, headers, body = self.handle(RecordedCall.of(request))
        return LoopbackAnswer(status, body, headers)

    def handle(self, call: RecordedCall) -> tuple[int, dict[str, str], Any]:
        """Record `call`, then (status, headers, body) to send back."""
        if call.method == RESPONSE_URL:
            problems = check_response_url_post(call.args)
        elif call.method == UPLOAD:
            problems = []
        else:
            problems = check_call(call.method, call.args, has_token=call.token is not None)
        with self._changed:
            down = self._down and call.method not in (RESPONSE_URL, UPLOAD)
            self._violations.extend(problems)
            if down:  # Slack never took it: kept apart, so `calls()` is what Slack has
                self._refused.append(call)
                return 503, {}, {"ok": False, "error": "service_unavailable"}
            self._calls.append(call)
            queue = self._planned.get(call.method)
            planned = queue.pop(0) if queue else None
            self._changed.notify_all()
            if call.method in self._held:  # bounded: a test that forgets to release fails, not hangs
                released = self._changed.wait_for(lambda: call.method not in self._held, WAIT_SECONDS * 5)
                if not released:
                    self._violations.append(f"{call.method}: held and never released")
        if planned is not None and planned.status == 429:
            return 429, {"Retry-After": str(planned.retry_after)}, {"ok": False, "error": "ratelimited"}
        if planned is not None:
            return planned.status, {}, {"ok": False, "error": planned.error}
        if call.method == RESPONSE_URL:
            return 200, {}, "ok"
        if call.method == UPLOAD:
            return self._take_upload(call)
        with self._changed:
            return 200, {}, self._answer(call.method, call.args)

    def _take_upload(self, call: RecordedCall) -> tuple[int, dict[str, str], Any]:
        file_id = call.path.removeprefix("/upload/")
        with self._changed:
            known = self._uploads.get(file_id)
            if known is None:
                self._violations.append(f"upload to an unknown upload_url {call.path}")
                return 404, {}, "not found"
            filename, length, _ = known
            if len(call.body) != length:
                self._violations.append(f"upload of {len(call.body)} bytes, {length} announced")
                return 400, {}, "length mismatch"
            self._uploads[file_id] = (filename, length, call.body)
        return 200, {}, f"OK - {length}"

    def _complete_upload(self, args: Mapping[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        shared: list[UploadedFile] = []
        for given in files:
            known = self._uploads.get(str(given.get("id")))
            if known is None or known[2] is None:
                return {"ok": False, "error": "file_not_found"}
            filename, _, content = known
            title = str(given.get("title") or filename)
            shared.append(
                UploadedFile(
                    str(given["id"]),
                    filename,
                    title,
                    content,
                    args.get("channel_id"),
                    args.get("thread_ts"),
                    args.get("initial_comment"),
                )
            )
        self._uploaded.extend(shared)
        return {"ok": True, "files": [{"id": f.id, "name": f.filename, "title": f.title} for f in shared]}

    def _next_ts(self) -> str:
        return f"{self._epoch}.{next(self._counter):06d}"

    def _answer(self, method: str, args: Mapping[str, Any]) -> dict[str, Any]:
        channel = args.get("channel")
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://drbot-test.slack.com/",
                "team": "drbot test",
                "user": "drbot",
                "team_id": self.team_id,
                "user_id": self.bot_user_id,
                "bot_id": "B0DRBOT",
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            ts = self._next_ts()
            # posted to a user's id, Slack opens the app's DM with them and answers with its id
            posted_in = dm_channel_of(channel) if isinstance(channel, str) else channel
            return {"ok": True, "channel": posted_in, "ts": ts, "message": self._message(args, ts)}
        if method == "chat.update":
            return {
                "ok": True,
                "channel": channel,
                "ts": args.get("ts"),
                "text": args.get("text", ""),
                "message": self._message(args, str(args.get("ts"))),
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "chat.getPermalink":
            ts = str(args.get("message_ts", "")).replace(".", "")
            return {
                "ok": True,
                "channel": channel,
                "permalink": f"https://drbot-test.slack.com/archives/{channel}/p{ts}",
            }
        if method in ("views.open", "views.push", "views.update"):
            return {"ok": True, "view": self._view(method, args)}
        if method == "usergroups.users.list":
            return {"ok": True, "users": list(self.usergroups.get(str(args.get("usergroup")), []))}
        if method == "users.info":
            user_id = str(args.get("user"))
            default = {"id": user_id, "name": user_id.lower(), "real_name": user_id, "is_bot": False}
            return {"ok": True, "user": self.users.get(user_id, default)}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._counter):010d}"
            self._uploads[file_id] = (str(args.get("filename")), int(str(args.get("length") or 0)), None)
            return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            return self._complete_upload(args)
        if method == "conversations.info":
            return {
                "ok": True,
                "channel": {"id": channel, "name": f"chan-{str(channel).lower()}", "is_member": True},
            }
        return {"ok": True}

    def _message(self, args: Mapping[str, Any], ts: str) -> dict[str, Any]:
        message = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": "B0DRBOT",
            "text": args.get("text", ""),
            "blocks": args.get("blocks", []),
            "ts": ts,
        }
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        return message

    def _view(self, method: str, args: Mapping[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        view = dict(view) if isinstance(view, Mapping) else {}
        view_id = str(args.get("view_id") or f"V{next(self._counter):08d}")
        return {
            **view,
            "id": view_id,
            "team_id": self.team_id,
            "hash": f"{self._epoch}.{next(self._counter)}",
            "state": {"values": {}},
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": "A0DRBOT",
            "bot_id": "B0DRBOT",
        }


@contextmanager
def running_stub(**options: Any) -> Iterator[SlackStub]:
    stub = SlackStub(**options).start()
    try:
        yield stub
    finally:
        stub.stop()
