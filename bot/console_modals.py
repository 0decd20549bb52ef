"""Modals in the console: each input of the open view asked as a prompt, then submitted to the app.

One piece, longer than most modules: asking a view's inputs, validating the answers and submitting
them is one loop over the same view state.

Standard Block Kit only, so any modal works. In the order of the view's blocks, every input block is
asked (its label; its hint and options above the prompt); one line answers one input:

- plain_text_input, email/url/number inputs: the text (`\\n` is a new line in a multiline input);
- static_select, radio_buttons: an option's number, its text, or the start of its text when no
  other option starts so (a group's name for "DB tier · us-east-1"); checkboxes and
  multi_static_select: numbers or texts separated by commas;
- external_select: text to search for — the app is asked for options with a block_suggestion
  request; an option matching the text exactly, or the only one found, is chosen, else the options
  found are listed and the next line picks one by number (or searches again);
  multi_external_select: several searches separated by commas;
- datepicker YYYY-MM-DD, timepicker HH:MM, users/conversations/channels selects: ids;
- an empty line keeps the initial value, or leaves an optional input empty; a required one is
  asked again. `cancel` (on any prompt) closes the modal. A `/dr …` command on any prompt (a
  script with an answer too few) closes every open view unsaved, and `run` returns the command for
  the console to run next: a command is never taken as a field's value.

When the view has buttons (e.g. "Add wave"), they are offered after the inputs as numbered
choices next to `submit` and `cancel` (a button's number or its label clicks it); a click is a
block_actions request with the view and what was typed so far. The view the app answers with
(views.update) is gone on with: an answer to an input it kept (same block and action id) is kept,
as in Slack; a field asked before under the same label and action id holds what the app put in it
(its initial value) and is not asked again; new fields are asked. Stateful elements of actions
blocks (e.g. a checkbox) are asked like optional inputs, and a change is sent as block_actions.
Without buttons the view is submitted after its last input; a view with nothing new to ask (no
inputs, or the app changed or gave it back) asks for `submit` or `cancel`, and one without a
submit button is shown and closed. `response_action: errors` is shown
next to each field named, and those fields are asked again; `update`, `push` and `clear` are
followed like Slack follows them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from slack_bolt import App

from bot.console_requests import SignedRequest, block_actions, block_suggestion, view_closed, view_submission
from bot.console_slack import ConsoleSlack, buttons_in
from bot.views.text import mrkdwn_to_text, render_blocks

COMMAND = "/dr"
CANCEL_WORDS = frozenset({"cancel", "close"})
SUBMIT_WORDS = frozenset({"", "submit", "s"})
INDENT = "  "

# asks one line after a prompt (None: the input ended)
Ask = Callable[[str], str | None]

_TEXT_INPUTS = {
    "plain_text_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "number_input": "value",
}
_ID_INPUTS = {
    "users_select": "selected_user",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
}
_MULTI_ID_INPUTS = {
    "multi_users_select": "selected_users",
    "multi_conversations_select": "selected_conversations",
    "multi_channels_select": "selected_channels",
}
_ONE_OPTION = frozenset({"static_select", "radio_buttons", "external_select"})
_MANY_OPTIONS = frozenset({"multi_static_select", "checkboxes", "multi_external_select"})


class Cancelled(Exception):
    """The user closed the modal (or the input ended while it was open)."""


class Interrupted(Cancelled):
    """A command was typed where an answer was asked."""

    def __init__(self, command: str) -> None:
        super().__init__(command)
        self.command = command


class Again(Exception):
    """The answer does not fit the input: said why, ask again."""


@dataclass(frozen=True)
class _Input:
    """Something to answer: an input block's element, or a stateful element of an actions block
    (whose every change is sent to the app as block_actions)."""

    block: dict[str, Any]
    element: dict[str, Any]
    in_actions: bool = False

    @property
    def block_id(self) -> str:
        return str(self.block.get("block_id", ""))

    @property
    def action_id(self) -> str:
        return str(self.element.get("action_id", ""))

    @property
    def kind(self) -> str:
        return str(self.element.get("type", ""))

    @property
    def label(self) -> str:
        if not self.in_actions:
            return _plain(self.block.get("label"))
        named = _plain(self.element.get("placeholder")) or " / ".join(
            map(_option_text, _options_of(self.element))
        )
        return named or self.action_id

    @property
    def optional(self) -> bool:
        return self.in_actions or bool(self.block.get("optional"))

    @property
    def dispatches(self) -> bool:
        return self.in_actions or bool(
            self.element.get("dispatch_action") or self.block.get("dispatch_action")
        )

    @property
    def seen_as(self) -> tuple[str, str]:
        """How the field is recognised after the app rebuilt the view with new block ids."""
        return (self.label, self.action_id)


class ModalSession:
    """Fills and submits the views a user has open, until none is left."""

    def __init__(self, slack: ConsoleSlack, app: App, user_id: str, ask: Ask) -> None:
        self.slack = slack
        self.app = app
        self.user_id = user_id
        self.ask = ask
        self._values: dict[str, dict[str, dict[str, Any]]] = {}  # view id -> state.values
        self._seen: dict[str, set[tuple[str, str]]] = {}  # view id -> fields asked
        self._shown: tuple[str, str] | None = None  # the view (id, hash) last shown

    def run(self) -> str | None:
        """Until no view is open; a command typed instead of an answer closes them all, unsaved,
        and is returned (to run next)."""
        while (view := self.slack.top_view(self.user_id)) is not None:
            try:
                self._step(view)
            except Interrupted as typed:
                while (open_view := self.slack.top_view(self.user_id)) is not None:
                    self._close(
                        open_view, f"`{typed.command}` is a command, not an answer: nothing was saved"
                    )
                return typed.command
            except Cancelled:
                self._close(view)
        return None

    # -- one round over the top view ---------------------------------------------------------------

    def _step(self, view: dict[str, Any]) -> None:
        values = self._values.setdefault(view["id"], {})
        seen = self._seen.setdefault(view["id"], set())
        updated = self._shown is not None and self._shown[0] == view["id"]
        if self._shown != (view["id"], view.get("hash", "")):
            self._shown = (view["id"], view.get("hash", ""))
            self._show(view, values, seen if updated else set())
        asked = False
        for item in _inputs(view):
            if item.action_id in values.get(item.block_id, {}):
                continue
            if item.seen_as in seen:  # rebuilt by the app: it holds what the app put in it
                values.setdefault(item.block_id, {})[item.action_id] = _kept(item)
                continue
            state = self._answer(view, item)
            asked = True
            seen.add(item.seen_as)
            if state is None:  # an actions element left as it was
                values.setdefault(item.block_id, {})[item.action_id] = _kept(item)
                continue
            values.setdefault(item.block_id, {})[item.action_id] = state
            if item.dispatches:
                self._dispatch_change(view, item, state)
                return  # the app may have changed the view: look again
        if not view.get("submit"):  # nothing to submit: read, then closed
            raise Cancelled
        buttons = buttons_in(view.get("blocks", []))
        # nothing newly typed (a view the app changed or gave back): submitting needs a yes
        if (buttons or not asked) and not self._choose(view, buttons):
            return
        self._submit(view)

    def _show(self, view: dict[str, Any], values: Mapping[str, Any], seen: set[tuple[str, str]]) -> None:
        """The title; for a view the app changed, the fields it kept and their values."""
        title = _plain(view.get("title")) or "Modal"
        lines = [f"┌ {title}" + (" (changed)" if seen else "")]
        if not _inputs(view):  # nothing is asked: all of it is shown here
            text = render_blocks([b for b in view.get("blocks", []) if b.get("type") != "actions"])
            lines.extend(f"│ {line}" if line else "│" for line in text.splitlines())
        for item in _inputs(view):
            if item.seen_as in seen and item.action_id not in values.get(item.block_id, {}):
                lines.append(f"│ {item.label}: {_describe(_kept(item)) or '-'}")
        self.slack.write("\n".join(lines) + "\n")

    def _answer(self, view: dict[str, Any], item: _Input) -> dict[str, Any] | None:
        """Ask for one input until the answer fits it (None: an actions element left as it was)."""
        preamble = _preamble(view, item)
        if preamble:
            self.slack.write(preamble + "\n")
        while True:
            line = self._line(f"│ {item.label}{'' if not item.optional else ' (optional)'}: ")
            if item.in_actions and not line:
                return None
            try:
                return self._state(view, item, line)
            except Again as again:
                self.slack.write(f"│ ! {again}\n")

    def _line(self, prompt: str) -> str:
        """The answer as typed (spaces too: the app judges them); `cancel` or the end closes."""
        line = self.ask(prompt)
        if line is None or line.strip().lower() in CANCEL_WORDS:
            raise Cancelled
        if is_command(line):
            raise Interrupted(line.strip())
        return line

    def _choose(self, view: dict[str, Any], buttons: list[Any]) -> bool:
        """Offer the view's buttons next to submit; True to submit."""
        numbered = self.slack.number_buttons(buttons, view_id=view["id"])
        offered = "".join(f"[{n}] {b.label}   " for n, b in numbered.items())
        submit = _plain(view.get("submit")) or "Submit"
        while True:
            self.slack.write(f"│ {offered}[submit] {submit}   [cancel]\n")
            line = self._line("│ choose: ").strip().lower()
            if line in SUBMIT_WORDS:
                return True
            by_label = [b for b in numbered.values() if b.label.lower() == line]
            if line.isdigit() and int(line) in numbered:
                by_label = [numbered[int(line)]]
            if by_label:
                self._click(view, by_label[0])
                return False
            self.slack.write(
                f"│ ! Type a number ({', '.join(map(str, numbered))}), a label, submit or cancel.\n"
            )

    # -- requests into the app ---------------------------------------------------------------------

    def _dispatch(self, request: SignedRequest) -> tuple[int, str]:
        response = self.app.dispatch(request.bolt())
        return response.status, response.body

    def _with_state(self, view: dict[str, Any]) -> dict[str, Any]:
        present = {(item.block_id, item.action_id) for item in _inputs(view)}
        values = {
            block_id: {a: s for a, s in actions.items() if (block_id, a) in present}
            for block_id, actions in self._values.get(view["id"], {}).items()
        }
        return {**view, "state": {"values": {b: a for b, a in values.items() if a}}}

    def _click(self, view: dict[str, Any], button: Any) -> None:
        self.slack.write(f"│ → {button.label}\n")
        request = block_actions(
            self.slack.workspace,
            button.action(),
            user_id=self.user_id,
            trigger_id=self.slack.new_trigger_id(self.user_id),
            container={"type": "view", "view_id": view["id"]},
            view=self._with_state(view),
        )
        self._dispatch(request)

    def _dispatch_change(self, view: dict[str, Any], item: _Input, state: Mapping[str, Any]) -> None:
        action = {**state, "type": item.kind, "action_id": item.action_id, "block_id": item.block_id}
        request = block_actions(
            self.slack.workspace,
            action,
            user_id=self.user_id,
            trigger_id=self.slack.new_trigger_id(self.user_id),
            container={"type": "view", "view_id": view["id"]},
            view=self._with_state(view),
        )
        self._dispatch(request)

    def _submit(self, view: dict[str, Any]) -> None:
        request = view_submission(
            self.slack.workspace,
            self._with_state(view),
            user_id=self.user_id,
            trigger_id=self.slack.new_trigger_id(self.user_id),
        )
        self.slack.write(f"└ {_plain(view.get('submit')) or 'Submit'}\n\n")
        status, body = self._dispatch(request)
        answer = _json(body)
        if status != 200:
            self.slack.write(f"The app did not take the form (HTTP {status}).\n\n")
            raise Cancelled
        if answer.get("response_action") == "errors" and isinstance(answer.get("errors"), Mapping):
            self.slack.write(f"┌ {_plain(view.get('title')) or 'Modal'} (not submitted)\n")
            self._show_errors(view, answer["errors"])
            return
        if answer.get("response_action") not in ("update", "push"):  # the view is gone
            self._forget(view)
        self.slack.after_submission(self.user_id, view["id"], answer)

    def _show_errors(self, view: dict[str, Any], errors: Mapping[str, Any]) -> None:
        """Each error next to its field, whose answer is then asked again."""
        values = self._values.get(view["id"], {})
        seen = self._seen.get(view["id"], set())
        fields = {item.block_id: item for item in _inputs(view)}
        asked_again = False
        for block_id, message in errors.items():
            item = fields.get(block_id)
            self.slack.write(f"│ ! {item.label if item else block_id}: {mrkdwn_to_text(str(message))}\n")
            if item is not None:
                seen.discard(item.seen_as)
            asked_again = values.pop(block_id, None) is not None or asked_again
        if not asked_again:  # nothing to answer differently: submitting again would change nothing
            raise Cancelled

    def _forget(self, view: Mapping[str, Any]) -> None:
        self._values.pop(view["id"], None)
        self._seen.pop(view["id"], None)

    def _close(self, view: dict[str, Any], why: str = "") -> None:
        self.slack.write(f"└ closed: {_plain(view.get('title')) or 'modal'}{f' ({why})' if why else ''}\n\n")
        self._forget(view)
        self.slack.close_view(self.user_id, view["id"])
        if view.get("notify_on_close"):
            self._dispatch(view_closed(self.slack.workspace, view, user_id=self.user_id))

    # -- answers -----------------------------------------------------------------------------------

    def _state(self, view: dict[str, Any], item: _Input, line: str) -> dict[str, Any]:
        """The element's state (as in `view.state.values`) for the answer `line`."""
        kind, element = item.kind, item.element
        state: dict[str, Any] = {"type": kind}
        if kind not in _TEXT_INPUTS:
            line = line.strip()
        if not line:
            initial = _initial(element)
            if initial is None and not item.optional:
                raise Again(f"{item.label} is required.")
            state.update(initial or _empty(kind))
            return state
        if kind in _TEXT_INPUTS:
            state["value"] = _text_value(element, line)
        elif kind in _ONE_OPTION:
            [option] = self._options(view, item, [line])
            state["selected_option"] = option
        elif kind in _MANY_OPTIONS:
            state["selected_options"] = self._options(view, item, _split(line))
        elif kind == "datepicker":
            state["selected_date"] = _parsed(line, date.fromisoformat, "a date like 2026-01-31").isoformat()
        elif kind == "timepicker":
            state["selected_time"] = _parsed(line, time.fromisoformat, "a time like 14:30").strftime("%H:%M")
        elif kind == "datetimepicker":
            moment = _parsed(line, datetime.fromisoformat, "a date and time like 2026-01-31 14:30")
            state["selected_date_time"] = int(moment.timestamp())
        elif kind in _ID_INPUTS:
            state[_ID_INPUTS[kind]] = line
        elif kind in _MULTI_ID_INPUTS:
            state[_MULTI_ID_INPUTS[kind]] = _split(line)
        else:
            raise Again(f"The console cannot fill a {kind}: leave it empty.")
        return state

    def _options(self, view: dict[str, Any], item: _Input, answers: list[str]) -> list[dict[str, Any]]:
        if item.kind in ("external_select", "multi_external_select"):
            return [self._search(view, item, answer) for answer in answers]
        options = _options_of(item.element)
        return [_pick(options, answer) for answer in answers]

    def _search(self, view: dict[str, Any], item: _Input, query: str) -> dict[str, Any]:
        """An external select: ask the app for options matching `query` until one is chosen."""
        while True:
            options = self._suggestions(view, item, query)
            exact = [
                o for o in options if query.lower() in (_option_text(o).lower(), str(o.get("value")).lower())
            ]
            if len(exact) == 1 or len(options) == 1:
                chosen = exact[0] if len(exact) == 1 else options[0]
                self.slack.write(f"│   → {_option_text(chosen)}\n")
                return chosen
            if not options:
                raise Again(f"Nothing matches “{query}”.")
            self.slack.write(_numbered(options) + "\n")
            line = self._line("│ number, or text to search again: ").strip()
            if line.isdigit() and 1 <= int(line) <= len(options):
                return options[int(line) - 1]
            query = line

    def _suggestions(self, view: dict[str, Any], item: _Input, query: str) -> list[dict[str, Any]]:
        request = block_suggestion(
            self.slack.workspace,
            self._with_state(view),
            action_id=item.action_id,
            block_id=item.block_id,
            value=query,
            user_id=self.user_id,
        )
        status, body = self._dispatch(request)
        answer = _json(body) if status == 200 else {}
        options = [o for o in answer.get("options") or [] if isinstance(o, dict)]
        for group in answer.get("option_groups") or []:
            options.extend(o for o in group.get("options") or [] if isinstance(o, dict))
        return options


def is_command(line: str) -> bool:
    """`/dr` or `/dr …`: a command, never an answer."""
    words = line.split()
    return bool(words) and words[0] == COMMAND


def _inputs(view: Mapping[str, Any]) -> list[_Input]:
    """What to answer, in the view's order (buttons are offered separately)."""
    found: list[_Input] = []
    for block in view.get("blocks", []):
        if block.get("type") == "input" and isinstance(block.get("element"), dict):
            found.append(_Input(block, block["element"]))
        elif block.get("type") == "actions":
            found.extend(
                _Input(block, element, in_actions=True)
                for element in block.get("elements", [])
                if element.get("type") not in ("button", "overflow", "workflow_button")
            )
    return found


def _kept(item: _Input) -> dict[str, Any]:
    """The state of a field nobody typed into: its initial value, or empty."""
    return {"type": item.kind, **(_initial(item.element) or _empty(item.kind))}


def _preamble(view: Mapping[str, Any], item: _Input) -> str:
    """What is shown above an input's prompt: the blocks since the previous input, its hint and
    its options."""
    blocks = view.get("blocks", [])
    index = blocks.index(item.block)
    start = index
    while start > 0 and blocks[start - 1].get("type") != "input":
        start -= 1
    # actions blocks are not shown: their elements are asked, their buttons offered at the end
    shown = [block for block in blocks[start:index] if block.get("type") != "actions"]
    lines = [render_blocks(shown)] if shown else []
    if item.block.get("hint"):
        lines.append(f"({_plain(item.block['hint'])})")
    if item.kind in ("static_select", "multi_static_select", "checkboxes", "radio_buttons"):
        lines.append(_numbered(_options_of(item.element)))
    elif item.kind in ("external_select", "multi_external_select"):
        lines.append("(type to search" + ("; several separated by commas)" if "multi" in item.kind else ")"))
    elif item.kind.startswith("multi_") or item.kind == "checkboxes":
        lines.append("(several separated by commas)")
    initial = _initial(item.element)
    if initial:
        lines.append(f"(empty keeps: {_describe(initial)})")
    text = "\n".join(line for line in lines if line)
    return "\n".join(f"│ {line}" if line else "│" for line in text.splitlines())


def _numbered(options: list[dict[str, Any]]) -> str:
    return "\n".join(f"{INDENT}{n}) {_option_text(o)}" for n, o in enumerate(options, 1))


def _options_of(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    options = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        options.extend(o for o in group.get("options") or [] if isinstance(o, dict))
    return options


def _pick(options: list[dict[str, Any]], answer: str) -> dict[str, Any]:
    if answer.isdigit() and 1 <= int(answer) <= len(options):
        return options[int(answer) - 1]
    for option in options:
        if answer.lower() in (_option_text(option).lower(), str(option.get("value")).lower()):
            return option
    # the start of an option's text, e.g. a group's name for "DB tier · us-east-1"
    starting = [o for o in options if _option_text(o).lower().startswith(answer.lower())]
    if len(starting) == 1:
        return starting[0]
    if starting:
        raise Again(f"“{answer}” starts several options: type its number (1-{len(options)}).")
    raise Again(f"“{answer}” is not one of the options: type its number (1-{len(options)}).")


def _option_text(option: Mapping[str, Any]) -> str:
    return _plain(option.get("text"))


def _initial(element: Mapping[str, Any]) -> dict[str, Any] | None:
    for source, target in (
        ("initial_value", "value"),
        ("initial_option", "selected_option"),
        ("initial_options", "selected_options"),
        ("initial_date", "selected_date"),
        ("initial_time", "selected_time"),
        ("initial_date_time", "selected_date_time"),
        ("initial_user", "selected_user"),
        ("initial_users", "selected_users"),
        ("initial_conversation", "selected_conversation"),
        ("initial_conversations", "selected_conversations"),
        ("initial_channel", "selected_channel"),
        ("initial_channels", "selected_channels"),
    ):
        if element.get(source) not in (None, "", []):
            return {target: element[source]}
    return None


def _empty(kind: str) -> dict[str, Any]:
    if kind in _MANY_OPTIONS:
        return {"selected_options": []}
    if kind in _ONE_OPTION:
        return {"selected_option": None}
    if kind in _MULTI_ID_INPUTS:
        return {_MULTI_ID_INPUTS[kind]: []}
    if kind in _ID_INPUTS:
        return {_ID_INPUTS[kind]: None}
    return {"value": None}


def _describe(state: Mapping[str, Any]) -> str:
    value = next((v for k, v in state.items() if k != "type"), None)
    if value is None:
        return ""
    if isinstance(value, dict):
        return _option_text(value)
    if isinstance(value, list):
        return ", ".join(_option_text(v) if isinstance(v, dict) else str(v) for v in value)
    return str(value)


def _text_value(element: Mapping[str, Any], line: str) -> str:
    text = line.replace("\\n", "\n") if element.get("multiline") else line
    if element.get("type") == "number_input":
        pattern = r"-?\d+(\.\d+)?" if element.get("is_decimal_allowed") else r"-?\d+"
        if not re.fullmatch(pattern, text):
            raise Again(
                "Type a number" + (": a whole one." if not element.get("is_decimal_allowed") else ".")
            )
        low, high = element.get("min_value"), element.get("max_value")
        if (low is not None and float(text) < float(low)) or (high is not None and float(text) > float(high)):
            lowest, highest = ("…" if v is None else v for v in (low, high))
            raise Again(f"Type a number from {lowest} to {highest}.")
    if element.get("max_length") and len(text) > int(element["max_length"]):
        raise Again(f"At most {element['max_length']} characters, please.")
    if element.get("min_length") and len(text) < int(element["min_length"]):
        raise Again(f"At least {element['min_length']} characters, please.")
    return text


def _parsed(line: str, parse: Callable[[str], Any], what: str) -> Any:
    try:
        return parse(line)
    except ValueError:
        raise Again(f"Type {what}.") from None


def _split(line: str) -> list[str]:
    return [part.strip() for part in line.split(",") if part.strip()]


def _plain(text_object: Any) -> str:
    if isinstance(text_object, Mapping):
        return mrkdwn_to_text(str(text_object.get("text", "")))
    return mrkdwn_to_text(str(text_object or ""))


def _json(body: str) -> dict[str, Any]:
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
