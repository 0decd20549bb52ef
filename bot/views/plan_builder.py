"""The plan builder modal: a recovery plan's name, description, RTO and RPO targets, then its waves, each

One piece, longer than most modules: the modal's blocks and the reading of its submitted state are
two halves of the same view and change together.
with a name, a protection group, what it waits for (depends-on) and a pause before it.

"Add wave" and "Remove wave N" answer with views.update: the listener reads every value typed so
far from the view's state (`parse_plan_state`), changes the draft and builds the modal again with
those values as initial values. Slack keeps what was typed into an input whose block id it already
knows and ignores its new initial value, so every rebuild bumps a revision that is part of each
wave's block id (`<kind>.<wave number>.<revision>`): renumbered waves then show their own values.

Block Kit allows 100 blocks in a modal: 4 for the plan, 4 per wave, 1 footer (the Add wave button,
or at the limit a line pointing to the flag form) holds MAX_WAVES = 23 waves.

Depends-on uses the flag form's syntax and meaning (bot/wave_spec.py): blank waits for
the previous wave, `none` starts at once, `1, 3` waits for waves 1 and 3.

Pure builders and parsers; the listeners are bot/listeners/actions/builders.py
(its buttons), bot/listeners/options.py and bot/listeners/views.py (its submission).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    ExternalDataSelectElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.views.common import truncate
from bot.views.form_errors import MAX_ERROR_TEXT, inline_errors
from bot.views.ids import PlanBuilderId
from bot.wave_spec import WAVE_SPEC_GRAMMAR, WaveSpec, parse_wave_spec
from orchestration.errors import DrbotError, UsageError, ValidationFailed
from orchestration.models import ProtectionGroup, RecoveryPlan

MAX_MODAL_BLOCKS = 100
PLAN_BLOCKS = 4  # name, description, RTO target, RPO target
BLOCKS_PER_WAVE = 4  # name, protection group, depends-on, actions (pause, remove)
FOOTER_BLOCKS = 1
MAX_WAVES = (MAX_MODAL_BLOCKS - PLAN_BLOCKS - FOOTER_BLOCKS) // BLOCKS_PER_WAVE
MAX_STATIC_OPTIONS = 100  # a static_select lists at most 100 options; more groups need type-ahead
MAX_LISTED_OPTIONS = 1000  # over all the waves' selects: keeps the view's JSON small
MAX_OPTION_TEXT = 75
AFTER_HINT = "Wave numbers, e.g. 1 or 1, 3; none: starts at once; blank: after the previous wave."
FLAG_FORM = f'/dr plan create "NAME" --wave "{WAVE_SPEC_GRAMMAR}" (one --wave per wave)'
TOO_MANY_WAVES = f"{MAX_WAVES} waves is the most this form holds; for a bigger plan use `{FLAG_FORM}`."
_WAVE_FIELD = re.compile(r"^waves\[(\d+)\](?:\.(\w+))?")
_WAVE_FIELD_BLOCKS = {
    "waveName": PlanBuilderId.WAVE_NAME,
    "protectionGroupId": PlanBuilderId.WAVE_GROUP,
    "dependsOnWaves": PlanBuilderId.WAVE_AFTER,
    "waveNumber": PlanBuilderId.WAVE_NAME,
}
_PLAN_FIELD_BLOCKS = {
    "planName": PlanBuilderId.NAME,
    "description": PlanBuilderId.DESCRIPTION,
    "rtoTargetMinutes": PlanBuilderId.RTO,
    "rpoTargetMinutes": PlanBuilderId.RPO,
}


@dataclass(frozen=True)
class PlanTarget:
    """What the modal edits (a new plan, or a stored one at the version read), where the user asked
    from, how many waves it shows and the revision of its wave blocks."""

    plan_id: str | None = None
    version: int | None = None
    channel_id: str | None = None
    waves: int = 1
    revision: int = 0

    def to_metadata(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_metadata(cls, text: str) -> PlanTarget:
        """The target a form's private_metadata names; ValueError when drbot did not write it."""
        target = cls(**metadata_fields(text, cls)) if text else cls()
        if not (
            valid_target_ids(target.plan_id, target.channel_id, version=target.version)
            and isinstance(target.waves, int)
            and 1 <= target.waves <= MAX_WAVES
            and isinstance(target.revision, int)
            and target.revision >= 0
        ):
            raise ValueError("the form's metadata is not drbot's")
        return target


@dataclass(frozen=True)
class GroupChoice:
    """A wave's chosen protection group: its id and the text its option shows."""

    group_id: str
    label: str

    @classmethod
    def of(cls, group: ProtectionGroup) -> GroupChoice:
        return cls(group.group_id, group_label(group))

    def option(self) -> Option:
        return Option(value=self.group_id, text=self.label)


@dataclass(frozen=True)
class WaveDraft:
    """One wave as shown or typed: text, checked on submission."""

    name: str = ""
    group: GroupChoice | None = None
    after: str = ""  # depends-on, in the flag form's syntax
    pause: bool = False


@dataclass(frozen=True)
class PlanDraft:
    name: str = ""
    description: str = ""
    rto: str = ""
    waves: tuple[WaveDraft, ...] = (WaveDraft(),)
    rpo: str = ""

    @classmethod
    def of_plan(cls, plan: RecoveryPlan, groups: Mapping[str, ProtectionGroup]) -> PlanDraft:
        """A stored plan, its waves renumbered 1, 2, 3… in their order, dependencies written as
        the flag form would: blank for "the previous wave", none for "at once"."""
        ordered = sorted(plan.waves, key=lambda w: w.wave_number)
        numbers = {wave.wave_number: index for index, wave in enumerate(ordered, start=1)}
        waves: list[WaveDraft] = []
        for index, wave in enumerate(ordered, start=1):
            depends = sorted(numbers[n] for n in wave.depends_on_waves or [] if n in numbers)
            sequential = [] if index == 1 else [index - 1]
            after = "" if depends == sequential else "none" if not depends else ", ".join(map(str, depends))
            group = groups.get(wave.protection_group_id)
            waves.append(
                WaveDraft(
                    name=wave.wave_name,
                    group=GroupChoice.of(group) if group else None,
                    after=after,
                    pause=wave.pause_before,
                )
            )
        rto = "" if plan.rto_target_minutes is None else str(plan.rto_target_minutes)
        rpo = "" if plan.rpo_target_minutes is None else str(plan.rpo_target_minutes)
        return cls(plan.plan_name, plan.description, rto, tuple(waves), rpo)

    def with_wave_added(self) -> PlanDraft:
        if len(self.waves) >= MAX_WAVES:
            raise UsageError(TOO_MANY_WAVES)
        return replace(self, waves=(*self.waves, WaveDraft()))

    def without_wave(self, number: int) -> PlanDraft:
        """The draft without wave `number`: later waves move up one, and every depends-on drops the
        removed wave and counts the later ones one lower (a list left empty waits for the previous
        wave). The last wave stays."""
        if len(self.waves) <= 1 or not 1 <= number <= len(self.waves):
            return self
        kept = [wave for index, wave in enumerate(self.waves, start=1) if index != number]
        return replace(self, waves=tuple(replace(w, after=_renumbered(w.after, number)) for w in kept))


def _renumbered(after: str, removed: int) -> str:
    words = [word for word in re.split(r"[,\s]+", after.strip()) if word]
    if not words or not all(word.isdigit() for word in words):
        return after  # "none", blank or not numbers: as typed
    numbers = [int(word) for word in words]
    shifted = [n - 1 if n > removed else n for n in numbers if n != removed]
    return ", ".join(map(str, shifted))


def group_label(group: ProtectionGroup) -> str:
    """`name · region` within the 75 characters of an option."""
    suffix = f" · {group.region}"
    return truncate(group.group_name, MAX_OPTION_TEXT - len(suffix)) + suffix


def group_options(groups: Iterable[ProtectionGroup], query: str = "") -> list[Option]:
    """The groups whose name holds `query` (case ignored), by name, at most 100."""
    wanted = query.strip().casefold()
    found = sorted(
        (g for g in groups if wanted in g.group_name.casefold()), key=lambda g: g.group_name.casefold()
    )
    return [GroupChoice.of(g).option() for g in found[:MAX_STATIC_OPTIONS]]


def wave_block(kind: PlanBuilderId, number: int, revision: int) -> str:
    return f"{kind.value}.{number}.{revision}"


# -- building -----------------------------------------------------------------------------------


def _text_input(
    block_id: str,
    action_id: str,
    label: str,
    value: str,
    *,
    optional: bool = False,
    hint: str | None = None,
    max_length: int | None = None,
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=optional,
        hint=hint,
        element=PlainTextInputElement(
            action_id=action_id, initial_value=value or None, max_length=max_length
        ),
    )


def lists_groups(groups: int, waves: int) -> bool:
    """Whether each wave's group select lists every group (a static select) rather than asking the
    app as the user types (an external select): at most 100 options each, 1000 in all."""
    return groups <= MAX_STATIC_OPTIONS and groups * waves <= MAX_LISTED_OPTIONS


def _group_select(
    wave: WaveDraft, groups: Sequence[ProtectionGroup], listed: bool
) -> StaticSelectElement | ExternalDataSelectElement:
    action = PlanBuilderId.GROUP_SELECT.value
    placeholder = "Choose a protection group"
    if not listed:
        initial = wave.group.option() if wave.group else None
        return ExternalDataSelectElement(
            action_id=action, placeholder=placeholder, min_query_length=0, initial_option=initial
        )
    options = group_options(groups)
    current = next((o for o in options if wave.group and o.value == wave.group.group_id), None)
    return StaticSelectElement(
        action_id=action, placeholder=placeholder, options=options, initial_option=current
    )


def _wave_blocks(
    number: int, wave: WaveDraft, total: int, revision: int, groups: Sequence[ProtectionGroup]
) -> list[Block]:
    pause = Option(value="pause", text=f"Pause before wave {number}")
    elements: list[CheckboxesElement | ButtonElement] = [
        CheckboxesElement(
            action_id=PlanBuilderId.PAUSE.value,
            options=[pause],
            initial_options=[pause] if wave.pause else None,
        )
    ]
    if total > 1:
        elements.append(
            ButtonElement(
                action_id=PlanBuilderId.REMOVE_WAVE.value, text=f"Remove wave {number}", value=str(number)
            )
        )
    return [
        _text_input(
            wave_block(PlanBuilderId.WAVE_NAME, number, revision),
            PlanBuilderId.WAVE_NAME.value,
            f"Wave {number}",
            wave.name,
            max_length=128,
        ),
        InputBlock(
            block_id=wave_block(PlanBuilderId.WAVE_GROUP, number, revision),
            label=f"Wave {number}: protection group",
            element=_group_select(wave, groups, lists_groups(len(groups), total)),
        ),
        _text_input(
            wave_block(PlanBuilderId.WAVE_AFTER, number, revision),
            PlanBuilderId.WAVE_AFTER.value,
            f"Wave {number}: waits for",
            wave.after,
            optional=True,
            hint=AFTER_HINT,
            max_length=200,
        ),
        ActionsBlock(block_id=wave_block(PlanBuilderId.WAVE_ACTIONS, number, revision), elements=elements),
    ]


def _footer(total: int) -> Block:
    if total >= MAX_WAVES:
        return ContextBlock(
            block_id=PlanBuilderId.FOOTER.value, elements=[MarkdownTextObject(text=TOO_MANY_WAVES)]
        )
    return ActionsBlock(
        block_id=PlanBuilderId.FOOTER.value,
        elements=[ButtonElement(action_id=PlanBuilderId.ADD_WAVE.value, text="Add wave", value="add")],
    )


def build_plan_modal(draft: PlanDraft, target: PlanTarget, groups: Sequence[ProtectionGroup]) -> View:
    """The plan builder filled with `draft`; `target.waves` is set to the draft's count here.
    `groups` are the protection groups a wave may use (listed when there are at most 100)."""
    if len(draft.waves) > MAX_WAVES:
        raise UsageError(
            f"This plan has {len(draft.waves)} waves and the form holds at most {MAX_WAVES}: "
            "change it with `/dr plan edit PLAN --wave …` (one --wave per wave)."
        )
    target = replace(target, waves=len(draft.waves))
    blocks: list[Block] = [
        _text_input(
            PlanBuilderId.NAME.value, PlanBuilderId.NAME.value, "Plan name", draft.name, max_length=128
        ),
        _text_input(
            PlanBuilderId.DESCRIPTION.value,
            PlanBuilderId.DESCRIPTION.value,
            "Description",
            draft.description,
            optional=True,
            max_length=1024,
        ),
        _text_input(
            PlanBuilderId.RTO.value,
            PlanBuilderId.RTO.value,
            "RTO target (minutes)",
            draft.rto,
            optional=True,
            hint="How long a recovery may take, in whole minutes; blank: no target.",
            max_length=5,
        ),
        _text_input(
            PlanBuilderId.RPO.value,
            PlanBuilderId.RPO.value,
            "RPO target (minutes)",
            draft.rpo,
            optional=True,
            hint="How much data a recovery may lose (the age of the point in time recovered), in whole "
            "minutes; blank: no target.",
            max_length=5,
        ),
    ]
    for number, wave in enumerate(draft.waves, start=1):
        blocks.extend(_wave_blocks(number, wave, len(draft.waves), target.revision, groups))
    blocks.append(_footer(len(draft.waves)))
    editing = target.plan_id is not None
    return View(
        type="modal",
        callback_id=PlanBuilderId.CALLBACK.value,
        title="Edit recovery plan" if editing else "New recovery plan",
        submit="Save" if editing else "Create",
        close="Cancel",
        private_metadata=target.to_metadata(),
        blocks=blocks,
    )


# -- reading the modal --------------------------------------------------------------------------


def _element(values: Mapping[str, Any], block_id: str, action_id: str) -> Mapping[str, Any]:
    element: Mapping[str, Any] = (values.get(block_id) or {}).get(action_id) or {}
    return element


def _text(values: Mapping[str, Any], block_id: str, action_id: str) -> str:
    return str(_element(values, block_id, action_id).get("value") or "").strip()


def _wave(values: Mapping[str, Any], number: int, revision: int) -> WaveDraft:
    chosen = _element(
        values, wave_block(PlanBuilderId.WAVE_GROUP, number, revision), PlanBuilderId.GROUP_SELECT
    )
    option = chosen.get("selected_option") or {}
    value = str(option.get("value") or "")
    group = GroupChoice(value, str((option.get("text") or {}).get("text") or value)) if value else None
    pause = _element(values, wave_block(PlanBuilderId.WAVE_ACTIONS, number, revision), PlanBuilderId.PAUSE)
    return WaveDraft(
        name=_text(values, wave_block(PlanBuilderId.WAVE_NAME, number, revision), PlanBuilderId.WAVE_NAME),
        group=group,
        after=_text(values, wave_block(PlanBuilderId.WAVE_AFTER, number, revision), PlanBuilderId.WAVE_AFTER),
        pause=bool(pause.get("selected_options")),
    )


def parse_plan_state(view: Mapping[str, Any]) -> tuple[PlanDraft, PlanTarget]:
    """What was typed and chosen in the modal (`view` is the payload's view, with its state), and
    what the modal edits (its private_metadata)."""
    target = PlanTarget.from_metadata(str(view.get("private_metadata") or ""))
    values: Mapping[str, Any] = (view.get("state") or {}).get("values") or {}
    draft = PlanDraft(
        name=_text(values, PlanBuilderId.NAME, PlanBuilderId.NAME),
        description=_text(values, PlanBuilderId.DESCRIPTION, PlanBuilderId.DESCRIPTION),
        rto=_text(values, PlanBuilderId.RTO, PlanBuilderId.RTO),
        rpo=_text(values, PlanBuilderId.RPO, PlanBuilderId.RPO),
        waves=tuple(_wave(values, n, target.revision) for n in range(1, target.waves + 1)),
    )
    return draft, target


def _depends_on(after: str, number: int, total: int) -> tuple[int, ...] | None:
    """Depends-on by the flag form's own parser (`after=` of a wave spec)."""
    if not after:
        return None
    problem = f"Write wave numbers between 1 and {total} other than {number}, e.g. 1 or 1, 3; or none."
    if ":" in after:
        raise ValueError(problem)
    try:
        return parse_wave_spec(f"w:g:after={after}", number, total).depends_on
    except UsageError:
        raise ValueError(problem) from None


def plan_fields(draft: PlanDraft) -> dict[str, Any]:
    """The request fields (camelCase) of a submission; `rtoTargetMinutes` and `rpoTargetMinutes` are
    None when blank.

    Raises ValidationFailed listing every wave problem (`errors[].field` = `waves[i].…`)."""
    problems: list[dict[str, str]] = []
    waves: list[dict[str, Any]] = []
    total = len(draft.waves)
    for index, wave in enumerate(draft.waves):
        number = index + 1
        if not wave.name:
            problems.append({"field": f"waves[{index}].waveName", "message": f"Give wave {number} a name."})
        if wave.group is None:
            problems.append(
                {
                    "field": f"waves[{index}].protectionGroupId",
                    "message": "Choose the wave's protection group.",
                }
            )
        try:
            depends_on = _depends_on(wave.after, number, total)
        except ValueError as error:
            problems.append({"field": f"waves[{index}].dependsOnWaves", "message": str(error)})
            continue
        if wave.group is not None:
            spec = WaveSpec(number, wave.name, wave.group.group_id, depends_on, wave.pause, wave.name)
            waves.append(spec.to_wire(wave.group.group_id))
    rto = _minutes(draft.rto, "rtoTargetMinutes", "Give the RTO target in whole minutes, e.g. 60.", problems)
    rpo = _minutes(draft.rpo, "rpoTargetMinutes", "Give the RPO target in whole minutes, e.g. 15.", problems)
    if problems:
        first = problems[0]["message"]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValidationFailed(first + more, errors=problems)
    return {
        "planName": draft.name,
        "description": draft.description,
        "rtoTargetMinutes": rto,
        "rpoTargetMinutes": rpo,
        "waves": waves,
    }


def _minutes(text: str, field: str, problem: str, problems: list[dict[str, str]]) -> int | None:
    """A target typed in whole minutes (None when blank); a problem on `field` when it is not."""
    if not text:
        return None
    if not text.isdigit():
        problems.append({"field": field, "message": problem})
        return None
    return int(text)


# -- errors on the right block ------------------------------------------------------------------


def errors_for(error: DrbotError, target: PlanTarget) -> dict[str, str]:
    """The `response_action: errors` of a refused submission, each problem on its field's block:
    a wave's problems on that wave's blocks, a cycle on the depends-on of its first wave, a wave
    too big for one DRS job on its group."""

    def block_of(path: str) -> str | None:
        wave = _WAVE_FIELD.match(path)
        if wave is not None:
            number = int(wave.group(1)) + 1
            if not 1 <= number <= target.waves:
                return None
            kind = _WAVE_FIELD_BLOCKS.get(wave.group(2) or "", PlanBuilderId.WAVE_NAME)
            return wave_block(kind, number, target.revision)
        plan_block = _PLAN_FIELD_BLOCKS.get(path)
        return None if plan_block is None else plan_block.value

    cycle = error.details.get("cycle")
    if isinstance(cycle, list) and cycle and isinstance(cycle[0], int) and 1 <= cycle[0] <= target.waves:
        block = wave_block(PlanBuilderId.WAVE_AFTER, cycle[0], target.revision)
        return {block: truncate(error.message, MAX_ERROR_TEXT)}
    sized = [p for p in error.details.get("errors") or [] if isinstance(p, Mapping) and "waveNumber" in p]
    if sized and 1 <= int(sized[0]["waveNumber"]) <= target.waves:
        block = wave_block(PlanBuilderId.WAVE_GROUP, int(sized[0]["waveNumber"]), target.revision)
        return {block: truncate(error.message, MAX_ERROR_TEXT)}
    return inline_errors(error, block_of, PlanBuilderId.NAME.value)


def metadata_fields(text: str, target: type[Any]) -> dict[str, Any]:
    """The fields of a dataclass `target` that a form's private_metadata holds (JSON written by
    its `to_metadata`); ValueError for anything else."""
    fields = json.loads(text)
    names = {field.name for field in dataclasses.fields(target)}
    if not isinstance(fields, dict) or not set(fields) <= names:
        raise ValueError("the form's metadata is not drbot's")
    return fields


def valid_target_ids(*ids: Any, version: Any) -> bool:
    """Ids that are text or None and a version that is a whole number or None (form metadata)."""
    texts = all(value is None or isinstance(value, str) for value in ids)
    return texts and (version is None or (isinstance(version, int) and not isinstance(version, bool)))
