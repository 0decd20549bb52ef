"""The `/dr` grammar: `<noun> [<verb>] [args] [--flags]`, shell-like quoting.

Slack clients turn straight quotes into curly ones; those are read as straight quotes so that
`/dr plan show “Prod DR”` works as typed. Flags take `--name value`, `--name=value`, or nothing
(switches); a flag may be repeatable. Every problem raises UsageError with a sentence that says
what to fix; the dispatcher adds the command's usage line.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

from orchestration.errors import UsageError

_CURLY_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'"})  # noqa: RUF001


@dataclass(frozen=True)
class Flag:
    """A `--name` option of one command."""

    name: str
    help: str
    value: str | None = None  # placeholder shown in usage (e.g. "REGION"); None: a switch
    repeatable: bool = False
    choices: tuple[str, ...] = ()
    required: bool = False  # the command refuses to run without it (a value flag only)

    @property
    def is_switch(self) -> bool:
        return self.value is None

    def usage(self) -> str:
        """`--name VALUE` when required, `[--name VALUE]` when not; `…` when repeatable."""
        text = f"--{self.name}" if self.is_switch else f"--{self.name} {self.value}"
        return (text if self.required else f"[{text}]") + ("…" if self.repeatable else "")


@dataclass(frozen=True)
class Positional:
    name: str  # placeholder shown in usage: "plan", "execution"
    help: str
    required: bool = True

    def usage(self) -> str:
        return f"<{self.name}>" if self.required else f"[{self.name}]"


@dataclass(frozen=True)
class Arguments:
    """What a command received, already checked against its declared flags and positionals."""

    positionals: dict[str, str] = field(default_factory=dict)
    values: dict[str, list[str]] = field(default_factory=dict)
    switches: frozenset[str] = frozenset()

    def get(self, name: str, default: str | None = None) -> str | None:
        if name in self.positionals:
            return self.positionals[name]
        values = self.values.get(name)
        return values[-1] if values else default

    def all(self, name: str) -> list[str]:
        return list(self.values.get(name, []))

    def has(self, switch: str) -> bool:
        return switch in self.switches


def tokenize(text: str) -> list[str]:
    """Split command text like a shell would, reading curly quotes as straight ones."""
    try:
        return shlex.split(text.translate(_CURLY_QUOTES), posix=True)
    except ValueError as exc:  # shlex says "No closing quotation"
        raise UsageError(f"Unbalanced quotes in `{text.strip()}`: close every quote you open.") from exc


def parse_arguments(
    tokens: Sequence[str], positionals: Sequence[Positional], flags: Sequence[Flag]
) -> Arguments:
    by_name = {f.name: f for f in flags}
    given: list[str] = []
    values: dict[str, list[str]] = {}
    switches: set[str] = set()
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token == "--":  # everything after is positional
            given.extend(tokens[i:])
            break
        if not token.startswith("--") or token == "--":
            given.append(token)
            continue
        name, has_inline, inline_value = token[2:].partition("=")
        flag = by_name.get(name)
        if flag is None:
            known = ", ".join(f"--{f}" for f in by_name) or "none"
            raise UsageError(f"Unknown option `--{name}` (this command takes: {known}).")
        if flag.is_switch:
            if has_inline:
                raise UsageError(f"`--{name}` is a switch and takes no value.")
            switches.add(name)
            continue
        if has_inline:
            value = inline_value
        elif i < len(tokens) and not tokens[i].startswith("--"):
            value = tokens[i]
            i += 1
        else:
            raise UsageError(f"`--{name}` needs a value: --{name} {flag.value}.")
        if flag.choices and value not in flag.choices:
            raise UsageError(f"`--{name}` must be one of {', '.join(flag.choices)}, not `{value}`.")
        if name in values and not flag.repeatable:
            raise UsageError(f"`--{name}` given twice; give it once.")
        values.setdefault(name, []).append(value)

    required = [p for p in positionals if p.required]
    if len(given) < len(required):
        missing = required[len(given)]
        raise UsageError(f"Missing <{missing.name}>: {missing.help}.")
    if len(given) > len(positionals):
        extra = " ".join(given[len(positionals) :])
        hint = " Quote names that contain spaces." if positionals else ""
        raise UsageError(f"Unexpected `{extra}`.{hint}")
    for flag in flags:
        if flag.required and flag.name not in values:
            raise UsageError(f"Missing `{flag.usage()}`: {flag.help}.")
    return Arguments(
        positionals={p.name: v for p, v in zip(positionals, given, strict=False)},
        values=values,
        switches=frozenset(switches),
    )
