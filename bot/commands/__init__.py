"""The `/dr` command layer, shared by Slack and the console: one module per noun.

`build_registry` imports the command modules (and through them the views) when it is called, not
when a module of this package is imported: a Slack click or event, which needs the registry's
types or none of it, does not load every command (bot/listeners/context.py builds the registry on
the first slash command).
"""

from __future__ import annotations

from bot.commands.registry import CommandRegistry, Invocation


def build_registry() -> CommandRegistry:
    """Every `/dr` command, in the order `/dr help` lists them."""
    from bot.commands import (
        digest,
        executions,
        groups,
        home,
        identity,
        plan_history,
        plans,
        report,
        runs,
        schedules,
        servers,
    )
    from bot.commands import help as help_command

    registry = CommandRegistry()
    registry.add(home.SUMMARY, home.COMMANDS)
    registry.add("DRS source servers and their replication health", servers.COMMANDS)
    registry.add("protection groups: the servers recovered together", groups.COMMANDS)
    registry.add(
        "recovery plans: waves of protection groups, their pre-flight check, and runs",
        [*plans.COMMANDS, *plan_history.COMMANDS, *runs.COMMANDS],
    )
    for summary, commands in executions.NOUNS:
        registry.add(summary, commands)
    registry.add(report.SUMMARY, report.COMMANDS)
    registry.add(schedules.SUMMARY, schedules.COMMANDS)
    registry.add(digest.SUMMARY, digest.COMMANDS)
    registry.add("console only: act as another user", identity.COMMANDS)
    registry.add("console only: wait until a run has ended or is paused", [identity.WAIT])
    registry.add("console only: click a button by its number or label", [identity.CLICK])
    registry.add("this help", help_command.commands(registry))
    return registry


__all__ = ["CommandRegistry", "Invocation", "build_registry"]
