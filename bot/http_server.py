"""`drbot serve --http`: the Slack app over plain HTTP, `POST /slack/events`, for a tunnel or a
reverse proxy in front of it.

bolt's own development server (`App.start`) builds its request from whatever arrives, so a body
that is not UTF-8, a Content-Length that is not a number or a `payload` that is not JSON becomes a
500 with a traceback. This one reads the request as the Lambda entry does (bot/listeners/guard.py
`read_request`): a body bolt cannot read is a 400, an over-large one a 413, any other path a 404,
another method a 405; everything else goes to `app.dispatch`. One thread per request
(`ThreadingHTTPServer`), so a slow listener never holds up the next ack.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

from bot.listeners.errors import logger
from bot.listeners.guard import read_request

# Slack's payloads are a few KB (a modal's state at most some hundreds); anything larger is not Slack
MAX_BODY_BYTES = 1024 * 1024


def slack_http_server(app: App, host: str, port: int, path: str) -> ThreadingHTTPServer:
    """An HTTP server (not yet serving: call `serve_forever`) that hands `POST path` to `app`."""

    class SlackEvents(BaseHTTPRequestHandler):
        server_version = "drbot"

        def do_POST(self) -> None:
            request_path = self.path.partition("?")[0]
            if request_path != path:
                self._answer(
                    BoltResponse(status=404, body=f"No route POST {request_path}: Slack posts to {path}")
                )
                return
            length = self.headers.get("Content-Length", "")
            if not (length.isascii() and length.isdigit()):
                self._answer(BoltResponse(status=411, body="Content-Length is missing or not a number"))
                return
            if int(length) > MAX_BODY_BYTES:
                self._answer(
                    BoltResponse(status=413, body=f"a body over {MAX_BODY_BYTES} bytes is not Slack's")
                )
                return
            raw = self.rfile.read(int(length))
            try:
                body = raw.decode("utf-8")
            except UnicodeDecodeError:
                self._answer(BoltResponse(status=400, body="drbot could not read this request: not UTF-8"))
                return
            headers = {name.lower(): self.headers.get_all(name) or [] for name in self.headers}
            request = read_request(body, headers)
            self._answer(app.dispatch(request) if isinstance(request, BoltRequest) else request)

        def do_GET(self) -> None:
            self._not_allowed()

        def do_PUT(self) -> None:
            self._not_allowed()

        def do_DELETE(self) -> None:
            self._not_allowed()

        def _not_allowed(self) -> None:
            answer = BoltResponse(status=405, body="Slack's requests are POSTs", headers={"Allow": "POST"})
            self._answer(answer)

        def _answer(self, response: BoltResponse) -> None:
            body = response.body if isinstance(response.body, str) else json.dumps(response.body)
            data = body.encode("utf-8")
            self.send_response(response.status)
            for name, values in response.headers.items():
                for value in values if isinstance(values, list | tuple | set) else [values]:
                    if name.lower() != "content-length":
                        self.send_header(name, str(value))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            # one structured line per request, never the body (it carries Slack's legacy token)
            logger.debug("slack http request", extra={"request_line": self.requestline[:200]})

    return ThreadingHTTPServer((host, port), SlackEvents)
