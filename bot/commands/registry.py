"""Command specs and the dispatcher shared by Slack and the console.

A command parses its text, calls one service function and returns a Message built with Block Kit.
The dispatcher owns the parts every command shares: finding the command, parsing its arguments,
and turning any DrbotError into an answer that says what was wrong and shows the right usage —
in which case nothing has changed.

A command with a `modal` handler (group and plan create/edit) answers a ModalAnswer when it is
given no flags: a form for Slack to open with the invocation's trigger_id, which asks for whatever
positional is missing. Without a trigger_id (the console, automation) that handler refuses with
the command's flag form instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from slack_sdk.models.views import View

from bot.commands.grammar import Arguments, Flag, Positional, parse_arguments, tokenize
from bot.views.errors import build_error_message
from bot.views.ids import SLASH
from bot.views.message import Message
from orchestration.context import Services
from orchestration.errors import DrbotError, UsageError
from scheduler.backends.port import ScheduleBackend, StoreOnlyBackend


@dataclass(frozen=True)
class Invocation:
    """Who asked for what, from where."""

    text: str  # the text after `/dr`
    user_id: str
    channel_id: str | None = None
    can_post: bool = False  # Slack: the caller posts a ThreadRoot answer in channel_id itself
    trigger_id: str | None = None  # Slack's, for views.open (lives 3 seconds); None: no modals here


@dataclass(frozen=True)
class CommandContext:
    services: Services
    invocation: Invocation
    # what schedule changes are registered with: the backend the app was built with (bot/app.py)
    schedules: ScheduleBackend = field(default_factory=StoreOnlyBackend)


@dataclass(frozen=True)
class ModalAnswer:
    """An answer that is a form for Slack to open (views.open) rather than a message."""

    view: View


Answer = Message | ModalAnswer
Handler = Callable[[CommandContext, Arguments], Answer]


@dataclass(frozen=True)
class Command:
    noun: str
    verb: str | None  # None: the noun alone is the command (`/dr servers`)
    summary: str
    handler: Handler
    positionals: tuple[Positional, ...] = ()
    flags: tuple[Flag, ...] = ()
    examples: tuple[str, ...] = ()
    modal: Handler | None = None  # what the command answers when given no flags: a form

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

    def opens_modal(self, invocation: Invocation) -> bool:
        """Whether the command would answer with a form to open (so Slack must open it within the
        trigger_id's 3 seconds); a command that does not parse does not."""
        if not invocation.trigger_id:
            return False
        try:
            _, _, for_form = self._parse(invocation)
        except DrbotError:
            return False
        return for_form

    def answer(
        self, services: Services, invocation: Invocation, schedules: ScheduleBackend | None = None
    ) -> Answer:
        """Run one `/dr` command; every DrbotError becomes an error message (nothing changed).
        `schedules`: the schedule backend (default: the store alone, for a caller that fires none)."""
        command: Command | None = None
        try:
            command, rest = self.resolve(tokenize(_strip_slash(invocation.text)))
            arguments, for_form = _arguments(command, rest)
            handler = command.modal if command.modal is not None and for_form else command.handler
            return handler(CommandContext(services, invocation, schedules or StoreOnlyBackend()), arguments)
        except DrbotError as error:
            usage = error.details.get("usage")
            if usage is None and isinstance(error, UsageError) and command is not None:
                usage = command.usage()
            return build_error_message(error, usage=usage)

    def dispatch(
        self, services: Services, invocation: Invocation, schedules: ScheduleBackend | None = None
    ) -> Message:
        """`answer` where only messages can be shown: a command that would open a form says its
        flag form instead."""
        answer = self.answer(services, replace(invocation, trigger_id=None), schedules)
        if isinstance(answer, ModalAnswer):  # a modal handler ignored the missing trigger_id
            return build_error_message(UsageError("This command opens a form, which cannot be shown here."))
        return answer

    def _parse(self, invocation: Invocation) -> tuple[Command, Arguments, bool]:
        command, rest = self.resolve(tokenize(_strip_slash(invocation.text)))
        return command, *_arguments(command, rest)


def _arguments(command: Command, rest: Sequence[str]) -> tuple[Arguments, bool]:
    """The command's arguments, and whether they are for its form: it has one and no flag was
    given (positionals are then optional: the form asks for what is missing)."""
    if command.modal is not None and not any(token.startswith("--") for token in rest):
        optional = tuple(replace(p, required=False) for p in command.positionals)
        return parse_arguments(rest, optional, command.flags), True
    return parse_arguments(rest, command.positionals, command.flags), False


def _strip_slash(text: str) -> str:
    stripped = text.strip()
    if stripped == SLASH or stripped.startswith(SLASH + " "):
        return stripped[len(SLASH) :]
    return stripped
