"""A Slack-shaped HTTP server on 127.0.0.1, for the console's in-process Slack (bot/console_slack.py)
and the tests' Web API stub.

It takes what slack_sdk sends — Web API calls under `/api/<method>` (form fields or JSON, the
token in `Authorization` or a `token` field), response_url posts under `/response/<key>` and the
bytes of a file upload (files_upload_v2 posts them to the `upload_url` that
files.getUploadURLExternal gave: `/upload/<file id>`, kept raw) — and
hands each to a function as a `LoopbackRequest`, whose `LoopbackAnswer` it sends back. It listens on
an ephemeral port of the loopback interface only, in a daemon thread, until stopped.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# arguments slack_sdk sends as JSON strings when it posts a form
JSON_ARGUMENTS = ("blocks", "attachments", "view", "metadata", "files")
API_PREFIX = "/api/"
RESPONSE_PREFIX = "/response/"
UPLOAD_PREFIX = "/upload/"


@dataclass(frozen=True)
class LoopbackRequest:
    http_method: str  # GET or POST
    path: str
    headers: dict[str, str]  # names in lower case
    args: dict[str, Any]  # the query and the body: form fields (JSON arguments decoded) or a JSON object
    body: bytes = b""  # the raw body (an upload's bytes; the args of an upload are its query only)

    @property
    def api_method(self) -> str | None:
        """The Web API method of an `/api/<method>` call (None for anything else)."""
        return self.path.removeprefix(API_PREFIX) if self.path.startswith(API_PREFIX) else None

    @property
    def response_key(self) -> str | None:
        """The key of a `/response/<key>` post (None for anything else)."""
        return self.path.removeprefix(RESPONSE_PREFIX) if self.path.startswith(RESPONSE_PREFIX) else None

    @property
    def upload_key(self) -> str | None:
        """The file id of an `/upload/<file id>` post (None for anything else)."""
        return self.path.removeprefix(UPLOAD_PREFIX) if self.path.startswith(UPLOAD_PREFIX) else None

    @property
    def token(self) -> str | None:
        """The token a Web API call carries (`Authorization: Bearer …`, else a `token` field)."""
        authorization = self.headers.get("authorization")
        if authorization:
            return authorization.removeprefix("Bearer ")
        token = self.args.get("token")
        return str(token) if token is not None else None


@dataclass(frozen=True)
class LoopbackAnswer:
    status: int
    body: Any  # a str is sent as text/plain, anything else as JSON
    headers: Mapping[str, str] = field(default_factory=dict)


NOT_FOUND = LoopbackAnswer(404, {"ok": False, "error": "not_found"})

Handle = Callable[[LoopbackRequest], LoopbackAnswer]


class LoopbackServer:
    """See the module docstring; `start()` it (or use it as a context manager), `stop()` it."""

    def __init__(self, handle: Handle, name: str, *, poll_seconds: float = 0.1) -> None:
        self.handle = handle
        self.name = name
        self.poll_seconds = poll_seconds
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LoopbackServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self.handle))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": self.poll_seconds},
            name=self.name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        self._server = self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self.name} is not running: start() it first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _handler_for(handle: Handle) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the owner shows what matters, not every request

        def _serve(self) -> None:
            url = urlsplit(self.path)
            headers = {name.lower(): value for name, value in self.headers.items()}
            length = int(headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            args: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
            if not url.path.startswith(UPLOAD_PREFIX):  # an upload's body is the file, not arguments
                args.update(parse_body(raw.decode("utf-8"), headers.get("content-type", "")))
            request = LoopbackRequest(self.command, url.path, headers, args, raw)
            known = request.api_method or request.response_key or request.upload_key
            answer = handle(request) if known else NOT_FOUND
            self._send(answer)

        def _send(self, answer: LoopbackAnswer) -> None:
            is_text = isinstance(answer.body, str)
            data = (answer.body if is_text else json.dumps(answer.body)).encode("utf-8")
            self.send_response(answer.status)
            self.send_header("Content-Type", "text/plain" if is_text else "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def parse_body(raw: str, content_type: str) -> dict[str, Any]:
    """A request body's arguments: a JSON object, or form fields whose JSON arguments are decoded
    (one that is not valid JSON is left as sent, to show as it came)."""
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        parsed = json.loads(raw)
        return dict(parsed) if isinstance(parsed, dict) else {}
    args: dict[str, Any] = dict(parse_qsl(raw, keep_blank_values=True))
    for name in JSON_ARGUMENTS:
        value = args.get(name)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                args[name] = json.loads(value)
    return args
