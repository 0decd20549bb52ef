"""`/dr help [noun]`."""

from __future__ import annotations

from bot.commands.grammar import Arguments, Positional
from bot.commands.registry import Command, CommandContext, CommandRegistry
from bot.views.help import HelpEntry, build_help_for_noun, build_help_overview
from bot.views.message import Message
from orchestration.errors import UsageError


def commands(registry: CommandRegistry) -> list[Command]:
    def show_help(ctx: CommandContext, args: Arguments) -> Message:
        noun = (args.get("noun") or "").lower()
        if not noun:
            return build_help_overview([(n, registry.noun_summaries[n]) for n in registry.nouns()])
        if noun not in registry.noun_summaries:
            raise UsageError(f"There is no `/dr {noun}`; nouns are: {', '.join(registry.nouns())}.")
        entries = [HelpEntry(c.usage(), c.summary, c.examples) for c in registry.of_noun(noun)]
        return build_help_for_noun(noun, registry.noun_summaries[noun], entries)

    return [
        Command(
            noun="help",
            verb=None,
            summary="Show the commands, or every command of one noun with its options.",
            handler=show_help,
            positionals=(Positional("noun", "a command noun such as servers or plan", required=False),),
            examples=("/dr help", "/dr help servers"),
        )
    ]
