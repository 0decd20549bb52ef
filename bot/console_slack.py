"""The console's Slack: an in-process Slack Web API on 127.0.0.1 that prints what the app says.

One piece, longer than most modules: the loopback Web API's methods share one in-memory workspace
(messages, views, users) and its lock.

`drbot` without Slack credentials runs the real bolt app (bot/app.py) against this server: the
app's WebClient and every response_url point at it. It answers the Web API methods drbot calls
(auth.test, chat.postMessage with thread_ts and reply_broadcast, chat.update, chat.postEphemeral,
chat.getPermalink, views.open/update/push, usergroups.users.list from a local map, users.info,
conversations.info), file uploads as files_upload_v2 makes them (files.getUploadURLExternal, the
bytes posted to the upload_url it gave, files.completeUploadExternal) and response_url posts
(response_type, replace_original, delete_original), and writes each message on the console as text
(bot/views/text.py):

- a message in the channel is printed whole; a thread reply is indented under a line naming its
  root, and a reply also sent to the channel says so;
- an ephemeral answer is marked as visible to its user only;
- an update (chat.update, replace_original) is printed whole only when its buttons or its first
  line changed; otherwise one line with its new summary text (a live summary is refreshed on every
  progress tick), or nothing when that text is the same too;
- buttons get numbers, increasing for the whole session, so that `3` always means the same button;
  clicking one that its message no longer has is refused;
- a message of an earlier console (a run it left, updated or replied to after a restart) is taken
  as Slack takes it: an update of a message this console never saw is printed as one, not refused;
- a shared file is saved in `slack-files` under the data directory it is given and shown where it
  was shared, as its comment and one line with its title and the path it was saved
  to;
- views.publish (the Home tab, refreshed when runs change) is taken and kept, not printed:
  `/dr home` shows the same;
- while the console waits at a prompt (`prompt_opened`), whatever arrives is printed above the
  prompt, and the prompt with what was typed so far is drawn again under it.

It remembers messages, buttons and each user's stack of open views, for the console to act on
(bot/console.py). State and output share one lock: the local runner posts from its own thread.
The bot token and signing secret are random per process; nothing here reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TextIO, TypeVar

from slack_sdk import WebClient

from bot.console_requests import Workspace
from bot.loopback_http import LoopbackAnswer, LoopbackRequest, LoopbackServer
from bot.views.text import mrkdwn_to_text, render_blocks

TEAM_ID = "T0CONSOLE"
TEAM_DOMAIN = "drbot-console"
APP_ID = "A0DRBOT"
BOT_USER_ID = "U0DRBOT"
BOT_ID = "B0DRBOT"
CHANNEL_ID = "C0CONSOLE"
CHANNEL_NAME = "console"

THREAD_BAR = "  │ "
CLEAR_LINE = "\r\x1b[2K"  # back to the line's start and erase it (what an open prompt shows)
ONLY_YOU = "(only visible to {user})"
FILE_LINE = "📎 {title}: {where}"
SLACK_FILES = "slack-files"  # the folder of the data directory shared files are saved in

_P = ParamSpec("_P")
_R = TypeVar("_R")


class InlineExecutor(Executor):
    """Runs each submitted function at once, on the caller's thread: bolt's listeners and lazy
    listeners are done when `app.dispatch` returns, so the console's output follows its input."""

    def submit(self, fn: Callable[_P, _R], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_R]:
        future: Future[_R] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # kept in the future, as a thread pool would
            future.set_exception(error)
        return future


@dataclass(frozen=True)
class Button:
    """A button as the app placed it: the element and the block it is in."""

    element: dict[str, Any]
    block_id: str

    @property
    def label(self) -> str:
        return mrkdwn_to_text(str((self.element.get("text") or {}).get("text", "")))

    @property
    def key(self) -> tuple[str, str, str]:
        return (str(self.element.get("action_id")), str(self.element.get("value", "")), self.label)

    def action(self) -> dict[str, Any]:
        """The `actions[0]` of a click on it."""
        action = {
            "type": "button",
            "action_id": self.element.get("action_id"),
            "block_id": self.block_id,
            "text": self.element.get("text"),
        }
        for name in ("value", "style", "url"):
            if name in self.element:
                action[name] = self.element[name]
        return action


@dataclass(frozen=True)
class SharedFile:
    """A file shared in a channel or thread (files_upload_v2): its bytes, and where it was saved."""

    id: str
    filename: str
    title: str
    content: bytes
    channel: str
    thread_ts: str | None
    path: Path | None  # None: the console Slack was given no `files_dir`, kept in memory only


@dataclass
class _Upload:
    """A file between files.getUploadURLExternal and files.completeUploadExternal."""

    filename: str
    length: int
    content: bytes | None = None


@dataclass
class Posted:
    """A message in the console channel (or in another channel an execution names)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    visible_to: str | None = None  # an ephemeral message: only this user sees it
    deleted: bool = False
    files: list[SharedFile] = field(default_factory=list)  # shared with it (files_upload_v2)

    def payload(self) -> dict[str, Any]:
        """The message as a block_actions request carries it."""
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": self.ts,
            "text": self.text,
            "blocks": self.blocks,
        }
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        return message

    def buttons(self) -> list[Button]:
        return buttons_in(self.blocks)

    def first_line(self) -> str:
        return render_blocks(self.blocks).split("\n", 1)[0] if self.blocks else mrkdwn_to_text(self.text)


@dataclass(frozen=True)
class Choice:
    """A numbered button: on a message (`message_ts`) or in a view (`view_id`)."""

    number: int
    button: Button
    channel: str | None = None
    message_ts: str | None = None
    view_id: str | None = None


@dataclass(frozen=True)
class ResponseTarget:
    """Who a response_url answers, and the message whose button gave it (to replace or delete)."""

    user_id: str
    channel: str
    message_ts: str | None = None


@dataclass
class _Views:
    """One user's stack of open views, the newest last."""

    stack: list[dict[str, Any]] = field(default_factory=list)


def dm_channel_of(channel: str) -> str:
    """Where a message posted to `channel` lands: a user's id (U…, W…) stands for the app's direct
    messages with them, whose id (D…) Slack answers with; any other channel is itself."""
    return f"D{channel[1:]}" if channel[:1] in ("U", "W") and channel[1:].isalnum() else channel


def buttons_in(blocks: list[dict[str, Any]]) -> list[Button]:
    """Every button of actions blocks and section accessories, in order."""
    found: list[Button] = []
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        if block.get("type") == "actions":
            elements = block.get("elements", [])
        elif block.get("type") == "section" and block.get("accessory"):
            elements = [block["accessory"]]
        else:
            continue
        found.extend(Button(e, block_id) for e in elements if e.get("type") == "button")
    return found


class ConsoleSlack:
    """See the module docstring. `start()` it (or use it as a context manager), give `client()`
    and `signing_secret` to build_app, then dispatch the requests built from `workspace`."""

    def __init__(
        self,
        out: TextIO,
        data_dir: Path | None = None,
        *,
        usergroups: Mapping[str, list[str]] | None = None,
        names: Mapping[str, str] | None = None,
        lock: threading.RLock | None = None,
    ) -> None:
        self.out = out
        # where shared files are saved: `slack-files` in the data directory (None: kept in memory)
        self.files_dir = data_dir / SLACK_FILES if data_dir is not None else None
        # how a mention reads: a Slack user or user group id -> its name (an unknown one: @ and its id)
        self.names = dict(names or {})
        self.lock = lock or threading.RLock()
        self.usergroups = {name: list(users) for name, users in (usergroups or {}).items()}
        self.token = "xoxb-console-" + secrets.token_hex(12)
        self.signing_secret = secrets.token_hex(32)
        self.workspace = Workspace(
            TEAM_ID, TEAM_DOMAIN, APP_ID, CHANNEL_ID, CHANNEL_NAME, self.signing_secret
        )
        self._messages: dict[tuple[str, str], Posted] = {}
        self._choices: dict[int, Choice] = {}
        self._numbers = itertools.count(1)
        self._counter = itertools.count(1)
        self._epoch = int(time.time())
        self._responses: dict[str, ResponseTarget] = {}
        self._answers: dict[str, list[Posted]] = {}  # response_url key -> the messages it posted
        self._triggers: dict[str, str] = {}  # trigger_id -> user
        self._views: dict[str, _Views] = {}
        self._last_thread: str | None = None  # the thread the last printed message was in
        self._prompt: tuple[str, Callable[[], str]] | None = None  # an open prompt, what is typed in it
        self.homes: dict[str, dict[str, Any]] = {}  # user -> the Home view last published
        self._uploads: dict[str, _Upload] = {}  # file id -> an upload not completed yet
        self._shared: list[SharedFile] = []
        self._server = LoopbackServer(self._serve, "console-slack")

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> ConsoleSlack:
        self._server.start()
        return self

    def close(self) -> None:
        self._server.stop()

    def __enter__(self) -> ConsoleSlack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        return self._server.base_url

    def _serve(self, request: LoopbackRequest) -> LoopbackAnswer:
        """One request from the app: a Web API call, or a post to one of its response_urls."""
        if request.api_method is not None:
            return LoopbackAnswer(200, self.call(request.api_method, request.args, request.token))
        if request.upload_key is not None:
            return self._upload(request.upload_key, request.body)
        status, body = self.respond(str(request.response_key), request.args)
        return LoopbackAnswer(status, body)

    def client(self) -> WebClient:
        """A WebClient of the app's bot token, calling this server."""
        return WebClient(token=self.token, base_url=f"{self.base_url}/api/")

    # -- what the console hands out ----------------------------------------------------------------

    def new_response_url(self, user_id: str, message_ts: str | None = None, channel: str = CHANNEL_ID) -> str:
        key = secrets.token_hex(8)
        with self.lock:
            self._responses[key] = ResponseTarget(user_id, channel, message_ts)
        return f"{self.base_url}/response/{key}"

    def new_trigger_id(self, user_id: str) -> str:
        trigger_id = f"{int(time.time())}.{TEAM_ID}.{secrets.token_hex(16)}"
        with self.lock:
            self._triggers[trigger_id] = user_id
        return trigger_id

    def write(self, text: str) -> None:
        """Print whole lines under the lock (the runner's thread prints too)."""
        with self.lock:
            self._emit(text)

    def prompt_opened(self, prompt: str, typed: Callable[[], str]) -> None:
        """The console now waits at `prompt`; `typed()` is what has been typed there so far."""
        with self.lock:
            self._prompt = (prompt, typed)

    def prompt_closed(self) -> None:
        with self.lock:
            self._prompt = None

    # -- what the console reads --------------------------------------------------------------------

    def choice(self, number: int) -> Choice | None:
        with self.lock:
            return self._choices.get(number)

    def newest_choice(self, label: str, user_id: str) -> Choice | None:
        """The numbered button labelled `label` (any case) on the newest message that still has it
        and that `user_id` sees."""
        with self.lock:
            for choice in sorted(self._choices.values(), key=lambda c: c.number, reverse=True):
                posted = self._messages.get((choice.channel or "", choice.message_ts or ""))
                if (
                    posted is not None
                    and not posted.deleted
                    and posted.visible_to in (None, user_id)
                    and choice.button.label.lower() == label.lower()
                    and choice.button.key in [b.key for b in posted.buttons()]
                ):
                    return choice
            return None

    def message(self, channel: str, ts: str) -> Posted | None:
        with self.lock:
            return self._messages.get((channel, ts))

    def messages(self) -> list[Posted]:
        with self.lock:
            return list(self._messages.values())

    def shared_files(self) -> list[SharedFile]:
        """Every file shared so far, in order."""
        with self.lock:
            return list(self._shared)

    def answers(self, response_url: str) -> list[Posted]:
        """The new messages posted to a response_url (one from `new_response_url`)."""
        with self.lock:
            return list(self._answers.get(response_url.rsplit("/", 1)[-1], []))

    def top_view(self, user_id: str) -> dict[str, Any] | None:
        """The view the user sees now (the top of their stack), if any."""
        with self.lock:
            stack = self._views.get(user_id, _Views()).stack
            return stack[-1] if stack else None

    def number_buttons(self, buttons: list[Button], *, view_id: str) -> dict[int, Button]:
        """Numbers for the buttons of a view (the console offers them before submitting)."""
        with self.lock:
            numbered: dict[int, Button] = {}
            for button in buttons:
                number = next(self._numbers)
                self._choices[number] = Choice(number, button, view_id=view_id)
                numbered[number] = button
            return numbered

    def after_submission(self, user_id: str, view_id: str, answer: Mapping[str, Any]) -> None:
        """Apply an accepted view_submission ack: close the view, or update, push or clear."""
        action = answer.get("response_action")
        with self.lock:
            stack = self._views.setdefault(user_id, _Views()).stack
            if action == "update" and isinstance(answer.get("view"), Mapping):
                self._replace_view(stack, view_id, answer["view"])
            elif action == "push" and isinstance(answer.get("view"), Mapping):
                stack.append(self._new_view(answer["view"], stack[-1]["id"] if stack else None))
            elif action == "clear":
                stack.clear()
            else:
                self._drop_view(stack, view_id)

    def close_view(self, user_id: str, view_id: str) -> None:
        with self.lock:
            self._drop_view(self._views.setdefault(user_id, _Views()).stack, view_id)

    # -- the Web API -------------------------------------------------------------------------------

    def call(self, method: str, args: Mapping[str, Any], token: str | None) -> dict[str, Any]:
        """The answer to one Web API call."""
        if token != self.token:
            return {"ok": False, "error": "invalid_auth"}
        handler = _METHODS.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        with self.lock:
            return handler(self, args)

    def _auth_test(self, args: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "drbot console",
            "user": "drbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, args: Mapping[str, Any]) -> dict[str, Any]:
        # posted to a user's id, Slack opens the app's DM with them and answers with its id
        channel = dm_channel_of(str(args.get("channel") or CHANNEL_ID))
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        posted = self._store(channel, args, thread_ts=thread_ts)
        self._print_new(posted, broadcast=bool(args.get("reply_broadcast")) and thread_ts is not None)
        return {"ok": True, "channel": channel, "ts": posted.ts, "message": posted.payload()}

    def _post_ephemeral(self, args: Mapping[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or CHANNEL_ID)
        posted = self._store(channel, args, visible_to=str(args.get("user") or ""))
        self._print_new(posted)
        return {"ok": True, "message_ts": posted.ts}

    def _update(self, args: Mapping[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        ts = str(args.get("ts") or "")
        posted = self._messages.get((channel, ts))
        if posted is None and channel and _is_ts(ts):  # posted by an earlier console: Slack has it
            posted = Posted(channel, ts, "", [], None, None)
            self._messages[(channel, ts)] = posted
        if posted is None or posted.deleted:
            return {"ok": False, "error": "message_not_found"}
        self._print_update(posted, str(args.get("text") or ""), _blocks(args))
        return {"ok": True, "channel": channel, "ts": ts, "text": posted.text, "message": posted.payload()}

    def _permalink(self, args: Mapping[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        ts = str(args.get("message_ts") or "").replace(".", "")
        return {"ok": True, "channel": channel, "permalink": f"{self.base_url}/archives/{channel}/p{ts}"}

    def _views_open(self, args: Mapping[str, Any]) -> dict[str, Any]:
        user = self._triggers.get(str(args.get("trigger_id") or ""))
        if user is None:
            return {"ok": False, "error": "invalid_trigger_id"}
        if not isinstance(args.get("view"), Mapping):
            return {"ok": False, "error": "invalid_arguments"}
        view = self._new_view(args["view"], None)
        self._views[user] = _Views([view])
        return {"ok": True, "view": view}

    def _views_push(self, args: Mapping[str, Any]) -> dict[str, Any]:
        user = self._triggers.get(str(args.get("trigger_id") or ""))
        stack = self._views.get(user or "", _Views()).stack
        if user is None or not stack or not isinstance(args.get("view"), Mapping):
            return {"ok": False, "error": "invalid_trigger_id" if user is None else "invalid_arguments"}
        view = self._new_view(args["view"], stack[-1]["id"])
        stack.append(view)
        return {"ok": True, "view": view}

    def _views_update(self, args: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(args.get("view"), Mapping):
            return {"ok": False, "error": "invalid_arguments"}
        for views in self._views.values():
            for existing in views.stack:
                named = existing["id"] == args.get("view_id") or (
                    args.get("external_id") and existing.get("external_id") == args.get("external_id")
                )
                if named:
                    return {"ok": True, "view": self._replace_view(views.stack, existing["id"], args["view"])}
        return {"ok": False, "error": "not_found"}

    def _views_publish(self, args: Mapping[str, Any]) -> dict[str, Any]:
        user = str(args.get("user_id") or "")
        if not user or not isinstance(args.get("view"), Mapping):
            return {"ok": False, "error": "invalid_arguments"}
        self.homes[user] = dict(args["view"])
        return {"ok": True, "view": {**dict(args["view"]), "id": f"V{next(self._counter):08d}"}}

    def _usergroup_members(self, args: Mapping[str, Any]) -> dict[str, Any]:
        return {"ok": True, "users": list(self.usergroups.get(str(args.get("usergroup")), []))}

    def _user_info(self, args: Mapping[str, Any]) -> dict[str, Any]:
        user = str(args.get("user") or "")
        name = self.names.get(user, user)
        return {"ok": True, "user": {"id": user, "name": name, "real_name": name, "is_bot": False}}

    def _conversation_info(self, args: Mapping[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        name = CHANNEL_NAME if channel == CHANNEL_ID else channel.lower()
        return {"ok": True, "channel": {"id": channel, "name": name, "is_member": True}}

    # -- files (files_upload_v2) ---------------------------------------------------------------------

    def _upload_url(self, args: Mapping[str, Any]) -> dict[str, Any]:
        filename = str(args.get("filename") or "")
        length = str(args.get("length") or "")
        if not filename or not length.isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._counter):010d}"
        self._uploads[file_id] = _Upload(filename, int(length))
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _upload(self, file_id: str, content: bytes) -> LoopbackAnswer:
        with self.lock:
            upload = self._uploads.get(file_id)
            if upload is None:
                return LoopbackAnswer(404, "no such upload")
            if len(content) != upload.length:  # Slack refuses a body of another length than announced
                return LoopbackAnswer(400, f"expected {upload.length} bytes, got {len(content)}")
            upload.content = content
            return LoopbackAnswer(200, f"OK - {len(content)}")

    def _complete_upload(self, args: Mapping[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files or not all(isinstance(f, Mapping) for f in files):
            return {"ok": False, "error": "invalid_arguments"}
        uploads = [(str(f.get("id")), self._uploads.get(str(f.get("id")))) for f in files]
        if any(upload is None or upload.content is None for _, upload in uploads):
            return {"ok": False, "error": "file_not_found"}
        channel = str(args.get("channel_id") or "") or None
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        shared: list[SharedFile] = []
        for given, (file_id, upload) in zip(files, uploads, strict=True):
            assert upload is not None and upload.content is not None  # checked above
            title = str(given.get("title") or upload.filename)
            path = self._save(file_id, upload.filename, upload.content)
            shared.append(
                SharedFile(file_id, upload.filename, title, upload.content, channel or "", thread_ts, path)
            )
            del self._uploads[file_id]
        self._shared.extend(shared)
        if channel is not None:  # not shared anywhere: uploaded, private to the app
            posted = self._store(channel, {"text": args.get("initial_comment") or ""}, thread_ts=thread_ts)
            posted.files = shared
            self._print_new(posted)
        return {
            "ok": True,
            "files": [
                {"id": f.id, "name": f.filename, "title": f.title, "size": len(f.content)} for f in shared
            ],
        }

    def _save(self, file_id: str, filename: str, content: bytes) -> Path | None:
        if self.files_dir is None:
            return None
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename) or "file"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        # file ids start again with each console: a file an earlier session saved is never replaced
        path, copy = self.files_dir / f"{file_id}-{safe}", 1
        while True:
            try:
                with path.open("xb") as saved:
                    saved.write(content)
                return path
            except FileExistsError:
                copy += 1
                path = self.files_dir / f"{file_id}-{copy}-{safe}"

    # -- response_url ------------------------------------------------------------------------------

    def respond(self, key: str, payload: Mapping[str, Any]) -> tuple[int, str]:
        """A post to a response_url: a new message, or a change of the one whose button gave it."""
        with self.lock:
            target = self._responses.get(key)
            if target is None:
                return 404, "no_service"
            original = self._messages.get((target.channel, target.message_ts or ""))
            if payload.get("delete_original") and original is not None:
                original.deleted = True
                self._write_block(f"(message deleted: {original.first_line()})")
            elif payload.get("replace_original") and original is not None:
                self._print_update(original, str(payload.get("text") or ""), _blocks(payload))
            else:
                ephemeral = payload.get("response_type") != "in_channel"
                thread_ts = str(payload["thread_ts"]) if payload.get("thread_ts") else None
                posted = self._store(
                    target.channel,
                    payload,
                    thread_ts=thread_ts,
                    visible_to=target.user_id if ephemeral else None,
                )
                self._answers.setdefault(key, []).append(posted)
                self._print_new(posted)
            return 200, "ok"

    # -- printing ----------------------------------------------------------------------------------

    def _store(
        self,
        channel: str,
        args: Mapping[str, Any],
        *,
        thread_ts: str | None = None,
        visible_to: str | None = None,
    ) -> Posted:
        ts = f"{self._epoch}.{next(self._counter):06d}"
        posted = Posted(channel, ts, str(args.get("text") or ""), _blocks(args), thread_ts, visible_to)
        self._messages[(channel, ts)] = posted
        return posted

    def _render(self, posted: Posted) -> str:
        numbered: list[tuple[int, Button]] = []

        def number(element: dict[str, Any], block_id: str) -> int:
            button = Button(element, block_id)
            choice = Choice(next(self._numbers), button, posted.channel, posted.ts)
            self._choices[choice.number] = choice
            numbered.append((choice.number, button))
            return choice.number

        text = (
            render_blocks(posted.blocks, number, self.names)
            if posted.blocks
            else mrkdwn_to_text(posted.text, self.names)
        )
        for shared in posted.files:
            where = str(shared.path) if shared.path else f"{shared.filename}, {len(shared.content)} bytes"
            text = (text + "\n" if text else "") + FILE_LINE.format(title=shared.title, where=where)
        if posted.visible_to:
            text = ONLY_YOU.format(user=posted.visible_to) + "\n" + text
        if posted.channel != CHANNEL_ID:
            text = f"(in <#{posted.channel}>)\n" + text
        return text

    def _print_new(self, posted: Posted, broadcast: bool = False) -> None:
        text = self._render(posted)
        if posted.thread_ts is None:
            self._write_block(text)
            return
        lines = []
        if self._last_thread != posted.thread_ts:
            root = self._messages.get((posted.channel, posted.thread_ts))
            # a run requested before this console started replies under a root it never saw
            title = f"“{root.first_line()}”" if root else "a message from before this console started"
            lines.append(f"{THREAD_BAR.rstrip()} in the thread of {title}:")
        body = text + ("\n(also sent to the channel)" if broadcast else "")
        lines.extend(THREAD_BAR + line if line else THREAD_BAR.rstrip() for line in body.splitlines())
        thread = self._last_thread
        self._last_thread = None
        self._emit(("\n" if thread not in (None, posted.thread_ts) else "") + "\n".join(lines) + "\n")
        self._last_thread = posted.thread_ts

    def _print_update(self, posted: Posted, text: str, blocks: list[dict[str, Any]]) -> None:
        """Print an update compactly (see the module docstring)."""
        before = (posted.text, posted.blocks, [b.key for b in posted.buttons()], posted.first_line())
        posted.text, posted.blocks = text, blocks
        if (posted.text, posted.blocks) == before[:2]:
            return
        buttons_changed = [b.key for b in posted.buttons()] != before[2]
        if buttons_changed or posted.first_line() != before[3]:
            self._write_block("↻ updated:\n" + self._render(posted))
        elif posted.text != before[0]:
            self._write_block(f"↻ {mrkdwn_to_text(posted.text, self.names)}")

    def _write_block(self, text: str) -> None:
        self._emit(text + "\n\n")

    def _emit(self, text: str) -> None:
        if self._last_thread is not None:  # a blank line after the last reply of a thread
            text = "\n" + text
            self._last_thread = None
        if self._prompt is None:
            self.out.write(text)
        else:  # above the open prompt: clear its line, print, draw the prompt and the typing again
            prompt, typed = self._prompt
            self.out.write(CLEAR_LINE + text + prompt + typed())
        self.out.flush()

    # -- views -------------------------------------------------------------------------------------

    def _new_view(self, view: Mapping[str, Any], previous: str | None) -> dict[str, Any]:
        view_id = f"V{next(self._counter):08d}"
        return {
            **dict(view),
            "id": view_id,
            "team_id": TEAM_ID,
            "state": {"values": {}},
            "hash": f"{self._epoch}.{secrets.token_hex(4)}",
            "previous_view_id": previous,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }

    def _replace_view(
        self, stack: list[dict[str, Any]], view_id: str, view: Mapping[str, Any]
    ) -> dict[str, Any]:
        for index, existing in enumerate(stack):
            if existing["id"] == view_id:
                stack[index] = {
                    **dict(view),
                    **{
                        k: existing[k]
                        for k in ("id", "team_id", "previous_view_id", "root_view_id", "app_id")
                    },
                    "state": {"values": {}},
                    "hash": f"{self._epoch}.{secrets.token_hex(4)}",
                    "bot_id": BOT_ID,
                }
                return stack[index]
        return dict(view)

    @staticmethod
    def _drop_view(stack: list[dict[str, Any]], view_id: str) -> None:
        stack[:] = [view for view in stack if view["id"] != view_id]


_METHODS: dict[str, Callable[[ConsoleSlack, Mapping[str, Any]], dict[str, Any]]] = {
    "auth.test": ConsoleSlack._auth_test,
    "chat.postMessage": ConsoleSlack._post_message,
    "chat.postEphemeral": ConsoleSlack._post_ephemeral,
    "chat.update": ConsoleSlack._update,
    "views.publish": ConsoleSlack._views_publish,
    "chat.getPermalink": ConsoleSlack._permalink,
    "views.open": ConsoleSlack._views_open,
    "views.push": ConsoleSlack._views_push,
    "views.update": ConsoleSlack._views_update,
    "usergroups.users.list": ConsoleSlack._usergroup_members,
    "users.info": ConsoleSlack._user_info,
    "conversations.info": ConsoleSlack._conversation_info,
    "files.getUploadURLExternal": ConsoleSlack._upload_url,
    "files.completeUploadExternal": ConsoleSlack._complete_upload,
}


def _blocks(args: Mapping[str, Any]) -> list[dict[str, Any]]:
    blocks = args.get("blocks")
    return [dict(b) for b in blocks if isinstance(b, Mapping)] if isinstance(blocks, list) else []


def _is_ts(ts: str) -> bool:
    """Shaped like a message ts ("1767225600.000123")."""
    seconds, dot, fraction = ts.partition(".")
    return bool(dot) and seconds.isascii() and seconds.isdigit() and fraction.isascii() and fraction.isdigit()
