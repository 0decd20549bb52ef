"""The wave spec of `/dr plan create|edit --wave`: one wave of a plan written on one line.

    NAME:GROUP[:after=N[,N…]|:after=none][:pause]

Waves are numbered in the order given (1, 2, 3…). `after` omitted means "after the previous wave"
(sequential, the model's default); `after=none` lets the wave start at once; `after=1,3` names the
waves it waits for. `pause` puts a manual gate before the wave. GROUP is a protection group's name
or id, resolved by the command. Names cannot contain `:`.

Parsing is pure: every malformed spec raises UsageError naming the spec and the bad part. Rules
that need the whole plan (cycles) stay with the model, so they are checked in one place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orchestration.errors import UsageError

WAVE_SPEC_GRAMMAR = "NAME:GROUP[:after=N[,N…]|:after=none][:pause]"
WAVE_SPEC_HELP = (
    f"a wave as {WAVE_SPEC_GRAMMAR}; waves are numbered in the order given, "
    "after= defaults to the previous wave, after=none starts at once, pause gates it"
)
_NUMBER_LIST = re.compile(r"[,\s]+")


@dataclass(frozen=True)
class WaveSpec:
    """One `--wave` as typed, its group not yet resolved."""

    number: int
    name: str
    group: str  # a protection group's name or id
    depends_on: tuple[int, ...] | None  # None: the previous wave (sequential)
    pause_before: bool
    text: str  # the spec as typed, for messages

    def to_wire(self, group_id: str) -> dict[str, Any]:
        """The wave as the plan requests take it (camelCase), with its group resolved to an id."""
        wire: dict[str, Any] = {
            "waveNumber": self.number,
            "waveName": self.name,
            "protectionGroupId": group_id,
            "pauseBefore": self.pause_before,
        }
        if self.depends_on is not None:
            wire["dependsOnWaves"] = list(self.depends_on)
        return wire


def _bad(number: int, text: str, problem: str) -> UsageError:
    return UsageError(
        f"Wave {number} (`{text}`): {problem}. Write a wave as {WAVE_SPEC_GRAMMAR}, "
        'e.g. --wave "App:app tier:after=1:pause".'
    )


def _parse_after(value: str, number: int, total: int, text: str) -> tuple[int, ...]:
    if value.strip().casefold() == "none":
        return ()
    words = [w for w in _NUMBER_LIST.split(value.strip()) if w]
    if not words:
        raise _bad(number, text, "`after=` needs wave numbers (after=1 or after=1,2) or after=none")
    numbers: list[int] = []
    for word in words:
        if not word.isdigit():
            raise _bad(number, text, f"`{word}` in `after={value.strip()}` is not a wave number")
        wave = int(word)
        if wave == number:
            raise _bad(number, text, f"a wave cannot wait for itself (`after={value.strip()}`)")
        if not 1 <= wave <= total:
            raise _bad(
                number,
                text,
                f"there is no wave {wave} for `after={value.strip()}` (waves are numbered 1 to {total} "
                "in the order given)",
            )
        numbers.append(wave)
    return tuple(sorted(set(numbers)))


def parse_wave_spec(text: str, number: int, total: int) -> WaveSpec:
    """Wave `number` of `total` from its spec; raises UsageError naming the spec and the bad part."""
    parts = [part.strip() for part in text.split(":")]
    if len(parts) < 2:
        raise _bad(number, text, "a wave needs a name and a protection group separated by `:`")
    name, group, options = parts[0], parts[1], parts[2:]
    if not name:
        raise _bad(number, text, "the wave name is empty")
    if not group:
        raise _bad(number, text, "the protection group is empty")
    depends_on: tuple[int, ...] | None = None
    pause = False
    seen: set[str] = set()
    for option in options:
        key, has_value, value = option.partition("=")
        key = key.strip().casefold()
        if not key:
            raise _bad(number, text, "there is an empty part between two `:`")
        if key in seen:
            raise _bad(number, text, f"`{key}` is given twice")
        seen.add(key)
        if key == "after" and has_value:
            depends_on = _parse_after(value, number, total, text)
        elif key == "after":
            raise _bad(number, text, "`after` needs wave numbers: after=1, after=1,2 or after=none")
        elif key == "pause" and not has_value:
            pause = True
        else:
            raise _bad(
                number,
                text,
                f"`{option}` is not an option (after=N, after=none or pause); names cannot contain `:`",
            )
    return WaveSpec(number, name, group, depends_on, pause, text)


def parse_wave_specs(texts: Sequence[str]) -> list[WaveSpec]:
    """Every `--wave` of a command, numbered 1, 2, 3… in the order given."""
    return [parse_wave_spec(text, number, len(texts)) for number, text in enumerate(texts, start=1)]
