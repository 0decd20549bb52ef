"""The console: the `/dr` commands without Slack, messages rendered as text.

Interactive on a terminal (a `drbot>` prompt); with a non-interactive stdin it runs each line as a
command, echoing it, and exits at the end of input — with status 1 if any command failed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

from bot.commands.identity import switch_user
from bot.commands.registry import SLASH, CommandRegistry, Invocation
from bot.views.text import render_message
from orchestration.bootstrap import Services

PROMPT = "drbot> "
_EXIT_WORDS = frozenset({"exit", "quit", ":q"})


class Console:
    def __init__(self, services: Services, registry: CommandRegistry, user_id: str, out: TextIO) -> None:
        self.services = services
        self.registry = registry
        self.user_id = user_id
        self.out = out

    def execute(self, line: str) -> bool:
        """Run one command line; False when it answered with an error."""
        text = line.strip()
        if not text.startswith(SLASH):
            text = f"{SLASH} {text}"
        switched = switch_user(self.services, text)  # `/dr as bob`: the console keeps who is typing
        if switched is not None:
            user, message = switched
            self.user_id = user or self.user_id
        else:
            message = self.registry.dispatch(self.services, Invocation(text=text, user_id=self.user_id))
        self.out.write(render_message(message) + "\n\n")
        self.out.flush()
        return not message.is_error

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
