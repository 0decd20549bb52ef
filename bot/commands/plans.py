"""`/dr plan create|list|show|edit|delete|check`: recovery plans from the command line.

A plan's waves are written one `--wave` each (bot/wave_spec.py); each wave's group is
named by name or id and resolved here, so a typo names the wave it is in. Given no flags, create and
edit open the plan builder modal (bot/views/plan_builder.py) where Slack can show one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from bot.commands.grammar import Arguments, Flag, Positional
from bot.commands.groups import require_configurer
from bot.commands.registry import Answer, Command, CommandContext, ModalAnswer
from bot.commands.servers import parse_positive_int
from bot.views import plan_builder
from bot.views.groups import build_deleted, plural
from bot.views.message import Message
from bot.views.mrkdwn import escape_mrkdwn, mention
from bot.views.plans import build_plan_check, build_plan_message, build_plans_list
from bot.wave_spec import WAVE_SPEC_GRAMMAR, WAVE_SPEC_HELP, WaveSpec, parse_wave_specs
from orchestration.context import Services
from orchestration.errors import CircularDependency, NotFound, UsageError
from orchestration.models import ExecutionType, ProtectionGroup
from orchestration.requests import CreateRecoveryPlan, UpdateRecoveryPlan
from orchestration.services.groups import find_group, list_protection_groups
from orchestration.services.plans import (
    PlanView,
    create_recovery_plan,
    delete_recovery_plan,
    find_plan,
    get_recovery_plan,
    list_recovery_plans,
    update_recovery_plan,
)
from orchestration.services.preflight import check_recovery_plan
from orchestration.validation import parse_model

_CHANNEL_MENTION = re.compile(r"^<#([A-Z0-9]+)(?:\|[^>]*)?>$")  # how Slack escapes a typed #channel


def clears(value: str) -> bool:
    """`--rto none`, `--rpo none`, `--channel none`: the optional field is cleared."""
    return value.strip().casefold() == "none"


def parse_channel(value: str) -> str:
    """A channel id from `C0123…` or `<#C0123…|name>` (Slack's escaped channel mention)."""
    text = value.strip()
    mention = _CHANNEL_MENTION.match(text)
    return mention.group(1) if mention else text


def resolve_waves(services: Services, specs: Sequence[WaveSpec]) -> list[dict[str, Any]]:
    """The waves of a request, each group resolved by name or id; every unknown group is named
    with the wave that uses it."""
    group_ids: dict[str, str] = {}
    missing: list[WaveSpec] = []
    for spec in specs:
        if spec.group.casefold() in group_ids:
            continue
        try:
            group_ids[spec.group.casefold()] = find_group(services, spec.group).group_id
        except NotFound:
            missing.append(spec)
    if missing:
        listed = "; ".join(f"wave {s.number} (`{s.text}`) names '{s.group}'" for s in missing)
        raise NotFound(
            f"No protection group with that name or id: {listed}. `/dr group list` shows the groups.",
            resourceType="group",
            resourceIds=[s.group for s in missing],
        )
    return [spec.to_wire(group_ids[spec.group.casefold()]) for spec in specs]


@contextmanager
def cycles_named(waves: Sequence[dict[str, Any]] | None) -> Iterator[None]:
    """Name the waves of a dependency cycle the model found, as the person typed them."""
    try:
        yield
    except CircularDependency as error:
        cycle = error.details.get("cycle")
        if not waves or not cycle:
            raise
        names = {w["waveNumber"]: w["waveName"] for w in waves}
        path = " → ".join(f"{n} ({names.get(n, '?')})" for n in cycle)
        raise CircularDependency(
            f"The waves wait for each other in a cycle: {path}. Change an after= so one of them can start.",
            **{k: v for k, v in error.details.items() if k != "errors"},
        ) from error


def _fields(ctx: CommandContext, args: Arguments) -> dict[str, Any]:
    """The request fields the flags give (camelCase); `none` clears the RTO or RPO target or channel."""
    fields: dict[str, Any] = {}
    for flag, field in (("name", "planName"), ("description", "description")):
        if (value := args.get(flag)) is not None:
            fields[field] = value
    if (rto := args.get("rto")) is not None:
        fields["rtoTargetMinutes"] = None if clears(rto) else parse_positive_int(rto, "rto")
    if (rpo := args.get("rpo")) is not None:
        fields["rpoTargetMinutes"] = None if clears(rpo) else parse_positive_int(rpo, "rpo")
    if (channel := args.get("channel")) is not None:
        fields["notificationChannel"] = None if clears(channel) else parse_channel(channel)
    if args.all("wave"):
        fields["waves"] = resolve_waves(ctx.services, parse_wave_specs(args.all("wave")))
    return fields


def _headline(verb: str, name: str, waves: int, actor: str) -> str:
    what = f"recovery plan *{escape_mrkdwn(name)}* with {plural(waves, 'wave')}"
    return f":white_check_mark: {verb} {what} (by {mention(actor)})."


_NO_WAVES = f"A plan needs at least one wave: `--wave {WAVE_SPEC_GRAMMAR}`, once per wave."
_FORM = "In Slack, `/dr plan {verb}` with no options opens a form."


def saved_message(view: PlanView, verb: str, actor: str) -> Message:
    """What a create or an edit answers (flags or form): the plan and its waves, in the channel."""
    headline = _headline(verb, view.plan.plan_name, len(view.waves), actor)
    return replace(build_plan_message(view, headline=headline), response_type="in_channel")


def _create(ctx: CommandContext, args: Arguments) -> Message:
    name = args.positionals["name"]
    if not args.all("wave"):
        raise UsageError(_NO_WAVES)
    request = parse_model(CreateRecoveryPlan, {**_fields(ctx, args), "planName": name})
    with cycles_named(request.to_wire()["waves"]):
        view = create_recovery_plan(ctx.services, request, ctx.invocation.user_id)
    return saved_message(view, "Created", ctx.invocation.user_id)


def _groups_for_waves(services: Services) -> list[ProtectionGroup]:
    groups = list_protection_groups(services)
    if not groups:
        raise NotFound(
            "There is no protection group yet, and each wave recovers one: create one first "
            "(`/dr group create`).",
            resourceType="group",
        )
    return groups


def _create_form(ctx: CommandContext, args: Arguments) -> Answer:
    """`/dr plan create [name]` alone: the plan builder with one empty wave."""
    if ctx.invocation.trigger_id is None:
        raise UsageError(f"{_NO_WAVES} {_FORM.format(verb='create')}")
    require_configurer(ctx)
    groups = _groups_for_waves(ctx.services)
    draft = plan_builder.PlanDraft(name=args.positionals.get("name", ""))
    target = plan_builder.PlanTarget(channel_id=ctx.invocation.channel_id)
    return ModalAnswer(plan_builder.build_plan_modal(draft, target, groups))


def _list(ctx: CommandContext, args: Arguments) -> Message:
    names = {g.group_id: g.group_name for g in list_protection_groups(ctx.services)}
    return build_plans_list(list_recovery_plans(ctx.services), names)


def _show(ctx: CommandContext, args: Arguments) -> Message:
    return build_plan_message(get_recovery_plan(ctx.services, args.positionals["plan"]))


def _edit(ctx: CommandContext, args: Arguments) -> Message:
    version = parse_positive_int(args.get("version"), "version")
    changes = _fields(ctx, args)
    if not changes:
        raise UsageError(
            "Nothing to change: give `--name`, `--description`, `--rto`, `--rpo`, `--channel` or the new "
            "`--wave`s."
        )
    plan = find_plan(ctx.services, args.positionals["plan"])
    request = parse_model(UpdateRecoveryPlan, {**changes, **({"version": version} if version else {})})
    with cycles_named(changes.get("waves")):
        view = update_recovery_plan(ctx.services, plan.plan_id, request, ctx.invocation.user_id)
    return saved_message(view, "Updated", ctx.invocation.user_id)


def _edit_form(ctx: CommandContext, args: Arguments) -> Answer:
    """`/dr plan edit <plan>` alone: the plan builder filled with the plan as stored now."""
    ref = args.positionals.get("plan")
    if ref is None:
        raise UsageError(f"Missing <plan>: {_PLAN.help}.")
    if ctx.invocation.trigger_id is None:
        raise UsageError(
            "Nothing to change: give `--name`, `--description`, `--rto`, `--rpo`, `--channel` or the new "
            "`--wave`s. " + _FORM.format(verb="edit <plan>")
        )
    require_configurer(ctx)
    plan = find_plan(ctx.services, ref)
    groups = _groups_for_waves(ctx.services)
    draft = plan_builder.PlanDraft.of_plan(plan, {g.group_id: g for g in groups})
    target = plan_builder.PlanTarget(plan.plan_id, plan.version, ctx.invocation.channel_id)
    return ModalAnswer(plan_builder.build_plan_modal(draft, target, groups))


def _delete(ctx: CommandContext, args: Arguments) -> Message:
    expected = parse_positive_int(args.get("version"), "version")
    plan = find_plan(ctx.services, args.positionals["plan"])
    deleted = delete_recovery_plan(ctx.services, plan.plan_id, ctx.invocation.user_id, expected)
    return build_deleted("recovery plan", deleted.plan_name, deleted.plan_id, ctx.invocation.user_id)


def _check(ctx: CommandContext, args: Arguments) -> Message:
    kind = ExecutionType.RECOVERY if args.has("recovery") else ExecutionType.DRILL
    check = check_recovery_plan(ctx.services, args.positionals["plan"], kind)
    return build_plan_check(check, ctx.services.settings.drs_limits, kind)


_PLAN = Positional("plan", "a recovery plan's name or id (`/dr plan list` shows them)")
_WAVE = Flag("wave", WAVE_SPEC_HELP, value="NAME:GROUP[:after=N,…|:after=none][:pause]", repeatable=True)
_DESCRIPTION = Flag("description", "what the plan recovers", value="TEXT")
_VERSION = Flag("version", "the version you read; refused if someone changed it since", value="N")
_WAVE_EXAMPLES = (
    '/dr plan create "Prod DR" --wave "Database:DB tier" --wave "App:App tier" '
    '--wave "Web:Web tier:pause" --rto 60 --rpo 15',
    '/dr plan create "Parallel DR" --wave "Infra:Infra tier" --wave "DB:DB tier:after=none" '
    '--wave "App:App tier:after=1,2"',
)

COMMANDS = [
    Command(
        noun="plan",
        verb="create",
        summary=(
            f"Create a recovery plan, one `--wave {WAVE_SPEC_GRAMMAR}` per wave. Waves are numbered "
            "1, 2, 3… in the order given; without after= a wave waits for the previous one, after=none "
            "starts it at once, after=1,3 waits for waves 1 and 3; pause asks for a go-ahead first. "
            "In Slack, with no options, a form that adds and removes waves."
        ),
        handler=_create,
        modal=_create_form,
        positionals=(Positional("name", "the new plan's name (quote it if it has spaces)"),),
        flags=(
            _WAVE,
            _DESCRIPTION,
            Flag("rto", "recovery time objective in minutes", value="MINUTES"),
            Flag("rpo", "recovery point objective: the most data loss allowed, in minutes", value="MINUTES"),
            Flag("channel", "Slack channel for run notifications", value="CHANNEL"),
        ),
        examples=_WAVE_EXAMPLES,
    ),
    Command(
        noun="plan",
        verb="list",
        summary="Every recovery plan: waves, protection groups, RTO and RPO targets.",
        handler=_list,
        examples=("/dr plan list",),
    ),
    Command(
        noun="plan",
        verb="show",
        summary="One plan: each wave with its group, dependencies, servers and pause, and warnings.",
        handler=_show,
        positionals=(_PLAN,),
        examples=('/dr plan show "Prod DR"',),
    ),
    Command(
        noun="plan",
        verb="edit",
        summary=(
            "Change a plan's name, description, RTO or RPO target or channel (`none` clears a target or "
            "the channel); "
            "`--wave` given replaces all the waves; in Slack, with no options, a form filled with the plan."
        ),
        handler=_edit,
        modal=_edit_form,
        positionals=(_PLAN,),
        flags=(
            Flag("name", "the new name", value="NAME"),
            _WAVE,
            _DESCRIPTION,
            Flag("rto", "recovery time objective in minutes, or none", value="MINUTES"),
            Flag(
                "rpo",
                "recovery point objective (most data loss allowed) in minutes, or none",
                value="MINUTES",
            ),
            Flag("channel", "Slack channel for run notifications, or none", value="CHANNEL"),
            _VERSION,
        ),
        examples=(
            '/dr plan edit "Prod DR" --rto 45 --description "orders stack"',
            '/dr plan edit "Prod DR" --wave "Database:DB tier" --wave "Web:Web tier:pause"',
        ),
    ),
    Command(
        noun="plan",
        verb="delete",
        summary="Delete a recovery plan that is not running.",
        handler=_delete,
        positionals=(_PLAN,),
        flags=(_VERSION,),
        examples=('/dr plan delete "Prod DR"',),
    ),
    Command(
        noun="plan",
        verb="check",
        summary=(
            "Dry-run every pre-flight rule (wave sizes, DRS quotas, server conflicts, replication "
            "health) without launching anything."
        ),
        handler=_check,
        positionals=(_PLAN,),
        flags=(Flag("recovery", "check it as a real recovery rather than a drill"),),
        examples=('/dr plan check "Prod DR"', '/dr plan check "Prod DR" --recovery'),
    ),
]
