"""The console: drbot's Slack app in a terminal, messages rendered as text.

The console is a Slack client of the real bolt app (bot/app.py): the app's WebClient and every
response_url point at an in-process Slack (bot/console_slack.py) that prints what the app says.
A `/dr …` line is a signed slash command dispatched into the app; a button's number (`3`, or
`/dr click 3`) is a signed block_actions request for that button; a modal the app opens is asked
input by input (bot/console_modals.py) and submitted as a view_submission. Listeners run inline
(InlineExecutor), so each line's answer is printed before the next line is read. Execution events
reach the console through the same SlackNotifier as in Slack: thread replies under the run's root.

Interactive on a terminal (a `drbot>` prompt); with a non-interactive stdin it runs each line as a
command, echoing it, and exits at the end of input — with status 1 if any command failed. Inside a
modal every following line answers one prompt (see bot/console_modals.py for the format).

Console-only verbs: `/dr as <user>` (who is typing), `/dr wait [execution]`, `/dr click <n|label>`, `exit`."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TextIO

from bot.app import build_app
from bot.app_home import publisher_of
from bot.commands.grammar import tokenize
from bot.commands.identity import switch_user
from bot.commands.registry import CommandRegistry
from bot.console_modals import Ask, ModalSession
from bot.console_requests import block_actions, slash_command
from bot.console_slack import ConsoleSlack, InlineExecutor, Posted
from bot.slack_notifier import FLUSH_SECONDS, SlackNotifier
from bot.views.errors import build_error_message
from bot.views.ids import SLASH
from bot.views.message import Message
from bot.views.text import render_message
from orchestration.context import Services
from orchestration.errors import DrbotError, InvalidTransition, NotFound, UsageError
from orchestration.models import TERMINAL_WAVE_STATUSES, Execution, ExecutionStatus, WaveStatus
from orchestration.services.execution_queries import find_execution, list_executions
from scheduler.backends.port import ScheduleBackend

PROMPT = "drbot> "
INTERRUPTED = 130  # the exit status of a session ended by Ctrl-C (128 + SIGINT)
_EXIT_WORDS = frozenset({"exit", "quit", ":q"})

WAIT_USAGE = "/dr wait [execution]   (console only: wait until it has ended, printing its progress)"
CLICK_USAGE = (
    "/dr click <n|label>   (console only: click the button shown as [n], or the newest one with this "
    "label; typing n alone does the same)"
)
HELP = (
    "Buttons show their number: type it (or `/dr click N`, or `/dr click Approve` for the newest "
    "button of that label) to click. A modal asks its fields one by "
    "one: answer each prompt on its own line (an option's number or text; several separated by "
    "commas; an empty line keeps the value or skips an optional field; `cancel` closes it). "
    "`/dr as bob` switches user, `/dr wait` waits for a run to end, `exit` leaves."
)
PIPED_HELP = (
    "Piped in, the lines after a command that opens a modal are its answers, one per prompt, so a "
    "script can fill it."
)
_FAILED_UNEXPECTEDLY = re.compile(r" failed unexpectedly \(reference \w+\)$")


def _error_codes() -> frozenset[str]:
    codes: set[str] = set()
    pending: list[type[DrbotError]] = [DrbotError]
    while pending:
        kind = pending.pop()
        codes.add(kind.code)
        pending.extend(kind.__subclasses__())
    return frozenset(codes)


def is_error_answer(posted: Posted) -> bool:
    """An answer built by build_error_message (its fallback text starts with the error's code) or
    build_failure_message: the command did not do what was asked."""
    code = posted.text.split(":", 1)[0]
    return code in _error_codes() or bool(_FAILED_UNEXPECTEDLY.search(posted.text))


class Console:
    """One person (who can switch who they are) typing into the app through the console Slack.
    Close it (or use it as a context manager) to stop the console Slack."""

    def __init__(
        self,
        services: Services,
        registry: CommandRegistry,
        user_id: str,
        out: TextIO,
        *,
        sleep: Callable[[float], None] = time.sleep,
        usergroups: Mapping[str, list[str]] | None = None,
        names: Mapping[str, str] | None = None,
        schedules: ScheduleBackend | None = None,  # what schedule changes go to (bot/app.py)
    ) -> None:
        self.services = services
        self.user_id, self.out = user_id, out
        self.sleep = sleep  # how `/dr wait` lets time pass (tests move a fake clock instead)
        self.slack = ConsoleSlack(out, services.settings.data_dir, usergroups=usergroups, names=names).start()
        try:
            self.app = build_app(
                services,
                client=self.slack.client(),
                signing_secret=self.slack.signing_secret,
                registry=registry,
                listener_executor=InlineExecutor(),
                schedules=schedules,
            )
        except BaseException:
            self.slack.close()
            raise
        # runs report in their thread, as in Slack, from a delivery worker (the local runner never
        # waits for Slack), until the console closes and the notifier it replaced is back; each
        # line's messages are flushed before the next line, so the output follows the input
        self._notifier_before = services.notifier
        self.notifier = SlackNotifier(
            self.app.client, services.clock, services=services, delivery="background"
        )
        self.notifier.home = publisher_of(self.app)  # App Homes follow the runs
        services.notifier = self.notifier
        self._ask: Ask = lambda _prompt: None
        self._typed: list[str] = []  # commands typed where a modal asked an answer: run next

    def close(self) -> None:
        self.services.notifier = self._notifier_before
        self.notifier.close()
        self.slack.close()

    def __enter__(self) -> Console:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- one line ----------------------------------------------------------------------------------

    def execute(self, line: str) -> bool:
        """Run one command line; False when it answered with an error. The messages it caused are
        in Slack (printed) when it returns."""
        try:
            return self._execute(line)
        finally:
            self.notifier.flush(FLUSH_SECONDS)

    def _execute(self, line: str) -> bool:
        text = line.strip()
        if not text.startswith(SLASH):
            text = f"{SLASH} {text}"
        words = text.split()[1:]
        switched = switch_user(self.services, text)  # `/dr as bob`: the console keeps who is typing
        if switched is not None:
            user, message = switched
            self.user_id = user or self.user_id
            return self._show(message)
        if words[:1] == ["wait"]:
            waited = self.wait(text)
            if isinstance(waited, Message):
                return self._show(waited)
            return self.command(f"{SLASH} status {waited}")
        if words[:1] == ["click"] or (len(words) == 1 and words[0].isdigit()):
            return self.click(" ".join(words[1:]) if words[0] == "click" else words[0])
        answered = self.command(text)
        if words == ["help"]:  # what only the console adds: clicking, modals, piped answers
            self.slack.write(f"In this console: {HELP} {PIPED_HELP}\n\n")
        return answered

    def command(self, text: str) -> bool:
        """A slash command into the app, then whatever modal it opened."""
        response_url = self.slack.new_response_url(self.user_id)
        request = slash_command(
            self.slack.workspace,
            SLASH,
            text.strip()[len(SLASH) :].strip(),
            user_id=self.user_id,
            response_url=response_url,
            trigger_id=self.slack.new_trigger_id(self.user_id),
        )
        response = self.app.dispatch(request.bolt())
        if response.status != 200:
            self.slack.write(f"The app refused the command (HTTP {response.status}).\n\n")
            return False
        acked = _json_object(response.body)
        if acked.get("text") or acked.get("blocks"):  # answered in the ack: Slack shows it as a reply
            self.slack.respond(response_url.rsplit("/", 1)[-1], acked)
        filled = self._modals()
        return filled and not any(is_error_answer(posted) for posted in self.slack.answers(response_url))

    def click(self, button: str) -> bool:
        """Click the button shown as `[n]` (or the newest one with this label), as the current user."""
        if button.isdigit():
            choice = self.slack.choice(int(button))
        else:
            choice = self.slack.newest_choice(button.strip("[]` "), self.user_id) if button else None
        if choice is None:
            missing = (
                f"There is no button [{button}] on the messages shown since this console started; "
                "`/dr status <execution>` shows an execution's buttons again."
            )
            error = UsageError(missing if button else "Say which button.")
            return self._show(build_error_message(error, usage=CLICK_USAGE))
        number = str(choice.number)
        posted = self.slack.message(choice.channel or "", choice.message_ts or "")
        if posted is None or posted.deleted or choice.button.key not in [b.key for b in posted.buttons()]:
            where = "its form is closed" if choice.view_id else "its message no longer has it"
            error = UsageError(f"Button [{number}] ({choice.button.label}) cannot be clicked: {where}.")
            return self._show(build_error_message(error))
        if posted.visible_to not in (None, self.user_id):
            error = UsageError(f"Only {posted.visible_to} sees button [{number}]; `/dr as` them to click it.")
            return self._show(build_error_message(error))
        self.slack.write(f"→ {self.user_id} clicks [{number}] {choice.button.label}\n\n")
        request = block_actions(
            self.slack.workspace,
            choice.button.action(),
            user_id=self.user_id,
            trigger_id=self.slack.new_trigger_id(self.user_id),
            container={
                "type": "message",
                "message_ts": posted.ts,
                "channel_id": posted.channel,
                "is_ephemeral": posted.visible_to is not None,
            },
            message=posted.payload(),
            response_url=self.slack.new_response_url(self.user_id, posted.ts, posted.channel),
        )
        response = self.app.dispatch(request.bolt())
        if response.status != 200:
            self.slack.write(f"The app refused the click (HTTP {response.status}).\n\n")
            return False
        return self._modals()

    def wait(self, text: str) -> str | Message:
        """`/dr wait [execution]`: block until the execution (default: the newest one still being
        driven) needs nothing more, or is paused and waits for `/dr resume`, while the local
        runner drives it and its events print; then its id (or the error). Lets a piped session
        run a whole drill before the console exits."""
        try:
            words = tokenize(text)[2:]
            if len(words) > 1:
                raise UsageError("`/dr wait` takes at most one execution.", usage=WAIT_USAGE)
            if words:
                execution = find_execution(self.services, words[0])
            else:
                active = list_executions(self.services, active_only=True, limit=1)
                if not active:
                    raise NotFound("Nothing is running: there is no execution to wait for.")
                execution = active[0]
            if execution.status == ExecutionStatus.PENDING_APPROVAL:
                raise InvalidTransition(
                    f"Execution {execution.execution_id} is waiting for approval, so it would never end "
                    "by itself: approve it first "
                    f"(`/dr as <approver>`, `/dr approve {execution.execution_id[:8]}`)."
                )
            while (current := self.services.store.get_execution(execution.execution_id)).needs_driving:
                if _waits_for_a_person(current):  # paused: only `/dr resume` (or cancel) moves it on
                    break
                self.notifier.flush(FLUSH_SECONDS)  # what it did so far is printed as it goes
                self.sleep(1.0)
        except DrbotError as error:
            return build_error_message(error, usage=error.details.get("usage"))
        return execution.execution_id

    def _modals(self) -> bool:
        """Fill the modals the app opened; False when a command typed into one closed it unsaved
        (that command runs next)."""
        if self.slack.top_view(self.user_id) is None:
            return True
        typed = ModalSession(self.slack, self.app, self.user_id, self._ask).run()
        if typed is None:
            return True
        self._typed.append(typed)
        return False

    def _then_typed(self, lines: Iterable[str]) -> Iterator[str]:
        """Each line, followed by any command typed into a modal it opened."""
        for line in lines:
            yield line
            while self._typed:
                yield self._typed.pop(0)

    def _show(self, message: Message) -> bool:
        """A console-only answer (not from the app)."""
        self.slack.write(render_message(message, names=self.slack.names) + "\n\n")
        return not message.is_error

    # -- many lines --------------------------------------------------------------------------------

    def run(self, lines: Iterable[str], echo: bool) -> int:
        """Run each line (a modal's answers are the lines after the command that opened it)."""
        source = iter(lines)
        self._ask = _reader(source, self.slack.write if echo else None)
        failures = 0
        for raw in self._then_typed(source):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.lower() in _EXIT_WORDS:
                break
            if echo:
                self.slack.write(f"{PROMPT}{line}\n")
            if not self.execute(line):
                failures += 1
        return 1 if failures else 0

    def interactive(self) -> int:
        """The `drbot>` prompt until `exit` or end of input (0), or Ctrl-C (130, as a shell says of
        a program it interrupted). Output arriving while a prompt is open prints above it."""
        self.slack.write(self.banner() + "\n\n")
        typed = _line_editor()

        def ask(prompt: str) -> str | None:
            self.slack.prompt_opened(prompt, typed)
            try:
                return input(prompt)
            except EOFError:
                self.slack.write("\n")
                return None
            finally:
                self.slack.prompt_closed()

        def lines() -> Iterator[str]:
            while (line := ask(PROMPT)) is not None:
                yield line

        self._ask = ask
        try:
            for line in self._then_typed(lines()):
                text = line.strip()
                if not text or text.startswith("#"):
                    continue
                if text.lower() in _EXIT_WORDS:
                    break
                self.execute(text)
        except KeyboardInterrupt:
            self.slack.write("\n")
            return INTERRUPTED
        return 0

    def banner(self) -> str:
        settings = self.services.settings
        where = (
            f"embedded default: SQLite at {settings.db_path}, simulated DRS in {settings.region}"
            if settings.backend == "embedded"
            else f"AWS backend in {settings.region}"
        )
        return (
            f"drbot console ({where})\n"
            f"You are '{self.user_id}' (`/dr as bob` switches). Type `/dr help` for the commands, "
            f"`/dr servers` to see the source servers.\n{HELP}"
        )


def _waits_for_a_person(execution: Execution) -> bool:
    """Paused with nothing launching and every event shown: it would wait for ever."""
    settled = all(w.status in (WaveStatus.PENDING, *TERMINAL_WAVE_STATUSES) for w in execution.waves)
    return execution.status == ExecutionStatus.PAUSED and settled and not execution.undelivered


def _json_object(body: str) -> dict[str, Any]:
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _line_editor() -> Callable[[], str]:
    """What has been typed at the open prompt: readline's line buffer when readline is there (it
    also gives the prompt line editing and history), else nothing known."""
    try:
        import readline  # interactive sessions only; absent on some platforms
    except ImportError:
        return lambda: ""
    return readline.get_line_buffer


def _reader(source: Iterator[str], echo: Callable[[str], None] | None) -> Ask:
    """A modal's answers from the lines still to come (echoed after their prompt when piped)."""

    def ask(prompt: str) -> str | None:
        line = next(source, None)
        if line is None:
            return None
        line = line.rstrip("\r\n")
        if echo is not None:
            echo(f"{prompt}{line}\n")
        return line

    return ask


def run_console(console: Console, stdin: TextIO | None = None) -> int:
    """Interactive on a terminal, else each line of stdin (echoed) until its end."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        return console.interactive()
    return console.run(stdin, echo=True)
