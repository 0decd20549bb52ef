"""Command specs and the dispatcher shared by Slack and the console.

A command parses its text, calls one service function and returns a Message built with Block Kit.
The dispatcher owns the parts every command shares: finding the command, parsing its arguments,
and turning any DrbotError into an answer that says what was wrong and shows the right usage —
in which case nothing has changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from bot.commands.grammar import Arguments, Flag, Positional, parse_arguments, tokenize
from bot.views.errors import build_error_message
from bot.views.message import Message
from orchestration.bootstrap import Services
from orchestration.errors import DrbotError, UsageError

SLASH = "/dr"


@dataclass(frozen=True)
class Invocation:
    """Who asked for what, from where."""

    text: str  # the text after `/dr`
    user_id: str
    channel_id: str | None = None
    can_post: bool = False  # Slack: the caller posts a ThreadRoot answer in channel_id itself


@dataclass(frozen=True)
class ThreadRoot(Message):
    """An answer that opens an execution's thread: Slack posts it in the channel and records it on
    the execution (bot/slack_threads.py); the console shows it like any message."""

    execution_id: str = ""


@dataclass(frozen=True)
class CommandContext:
    services: Services
    invocation: Invocation


Handler = Callable[[CommandContext, Arguments], Message]


@dataclass(frozen=True)
class Command:
    noun: str
    verb: str | None  # None: the noun alone is the command (`/dr servers`)
    summary: str
    handler: Handler
    positionals: tuple[Positional, ...] = ()
    flags: tuple[Flag, ...] = ()
    examples: tuple[str, ...] = ()

    @property
    def words(self) -> str:
        return self.noun if self.verb is None else f"{self.noun} {self.verb}"

    def usage(self) -> str:
        parts = [SLASH, self.words, *(p.usage() for p in self.positionals), *(f.usage() for f in self.flags)]
        return " ".join(parts)


@dataclass
class CommandRegistry:
    commands: dict[tuple[str, str | None], Command] = field(default_factory=dict)
    noun_summaries: dict[str, str] = field(default_factory=dict)

    def add(self, noun_summary: str, commands: Iterable[Command]) -> None:
        for command in commands:
            key = (command.noun, command.verb)
            if key in self.commands:
                raise ValueError(f"command `{command.words}` registered twice")
            self.commands[key] = command
            self.noun_summaries.setdefault(command.noun, noun_summary)

    def nouns(self) -> list[str]:
        return list(self.noun_summaries)

    def of_noun(self, noun: str) -> list[Command]:
        return [c for c in self.commands.values() if c.noun == noun]

    def resolve(self, tokens: Sequence[str]) -> tuple[Command, list[str]]:
        """The command the tokens name, and the tokens left for its arguments."""
        if not tokens:
            return self.commands[("help", None)], []
        noun, rest = tokens[0].lower(), list(tokens[1:])
        if noun not in self.noun_summaries:
            raise UsageError(f"`{tokens[0]}` is not a /dr command.", usage=self._overview())
        if rest and (noun, rest[0].lower()) in self.commands:
            return self.commands[(noun, rest[0].lower())], rest[1:]
        if (noun, None) in self.commands:
            return self.commands[(noun, None)], rest
        verbs = [c for c in self.of_noun(noun)]
        usage = "\n".join(c.usage() for c in verbs)
        if rest:
            raise UsageError(f"`{noun} {rest[0]}` is not a /dr command.", usage=usage)
        raise UsageError(f"`{noun}` needs a verb.", usage=usage)

    def _overview(self) -> str:
        return "\n".join(f"{SLASH} {noun} — {summary}" for noun, summary in self.noun_summaries.items())

    def dispatch(self, services: Services, invocation: Invocation) -> Message:
        """Run one `/dr` command; every DrbotError becomes an error message (nothing changed)."""
        command: Command | None = None
        try:
            tokens = tokenize(_strip_slash(invocation.text))
            command, rest = self.resolve(tokens)
            arguments = parse_arguments(rest, command.positionals, command.flags)
            return command.handler(CommandContext(services, invocation), arguments)
        except DrbotError as error:
            usage = error.details.get("usage")
            if usage is None and isinstance(error, UsageError) and command is not None:
                usage = command.usage()
            return build_error_message(error, usage=usage)


def _strip_slash(text: str) -> str:
    stripped = text.strip()
    if stripped == SLASH or stripped.startswith(SLASH + " "):
        return stripped[len(SLASH) :]
    return stripped
