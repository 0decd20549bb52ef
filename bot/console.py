"""The console: the `/dr` commands without Slack, messages rendered as text.

Interactive on a terminal (a `drbot>` prompt); with a non-interactive stdin it runs each line as a
command, echoing it, and exits at the end of input — with status 1 if any command failed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from typing import TextIO

from bot.commands.grammar import tokenize
from bot.commands.identity import switch_user
from bot.commands.registry import SLASH, CommandRegistry, Invocation
from bot.views.errors import build_error_message
from bot.views.message import Message
from bot.views.text import render_message
from orchestration.bootstrap import Services
from orchestration.errors import DrbotError, InvalidTransition, NotFound, UsageError
from orchestration.models import ExecutionStatus
from orchestration.services.executions import find_execution, list_executions

PROMPT = "drbot> "
_EXIT_WORDS = frozenset({"exit", "quit", ":q"})


WAIT_USAGE = "/dr wait [execution]   (console only: wait until it has ended, printing its progress)"


class Console:
    def __init__(
        self,
        services: Services,
        registry: CommandRegistry,
        user_id: str,
        out: TextIO,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.services = services
        self.registry = registry
        self.user_id = user_id
        self.out = out
        self.sleep = sleep  # how `/dr wait` lets time pass (tests move a fake clock instead)

    def execute(self, line: str) -> bool:
        """Run one command line; False when it answered with an error."""
        text = line.strip()
        if not text.startswith(SLASH):
            text = f"{SLASH} {text}"
        switched = switch_user(self.services, text)  # `/dr as bob`: the console keeps who is typing
        if switched is not None:
            user, message = switched
            self.user_id = user or self.user_id
        elif text.split()[1:2] == ["wait"]:
            message = self.wait(text)
        else:
            message = self.registry.dispatch(self.services, Invocation(text=text, user_id=self.user_id))
        self.out.write(render_message(message) + "\n\n")
        self.out.flush()
        return not message.is_error

    def wait(self, text: str) -> Message:
        """`/dr wait [execution]`: block until the execution (default: the newest one still being
        driven) needs nothing more, while the local runner drives it and events print; then show
        its status. Lets a piped session run a whole drill before the console exits."""
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
            while self.services.store.get_execution(execution.execution_id).needs_driving:
                self.sleep(1.0)
        except DrbotError as error:
            return build_error_message(error, usage=error.details.get("usage"))
        return self.registry.dispatch(
            self.services, Invocation(text=f"{SLASH} status {execution.execution_id}", user_id=self.user_id)
        )

    def run(self, lines: Iterable[str], echo: bool) -> int:
        failures = 0
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.lower() in _EXIT_WORDS:
                break
            if echo:
                self.out.write(f"{PROMPT}{line}\n")
            if not self.execute(line):
                failures += 1
        return 1 if failures else 0

    def interactive(self) -> int:
        self.out.write(self.banner() + "\n\n")

        def lines() -> Iterable[str]:
            while True:
                try:
                    yield input(PROMPT)
                except EOFError:
                    self.out.write("\n")
                    return
                except KeyboardInterrupt:
                    self.out.write("\n")
                    continue

        self.run(lines(), echo=False)
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
            "`/dr servers` to see the source servers, `exit` to leave."
        )


def run_console(
    services: Services, registry: CommandRegistry, user_id: str, stdin: TextIO | None = None
) -> int:
    stdin = stdin or sys.stdin
    console = Console(services, registry, user_id, sys.stdout)
    if stdin.isatty():
        return console.interactive()
    return console.run(stdin, echo=True)
