"""`/dr home`: the App Home as a message (the console has no Home tab; in Slack it is the same)."""

from __future__ import annotations

from bot.commands.grammar import Arguments
from bot.commands.registry import Command, CommandContext
from bot.home_contents import home_of
from bot.views.home import build_home_message
from bot.views.message import Message


def _home(ctx: CommandContext, args: Arguments) -> Message:
    return build_home_message(home_of(ctx.services, ctx.invocation.user_id), int(ctx.services.clock.now()))


SUMMARY = "what needs you, what is running, the next drills and each plan's last drill"
COMMANDS = [
    Command(
        noun="home",
        verb=None,
        summary="Your drbot home, as on its Home tab in Slack: run and schedule requests you may "
        "approve (with their buttons), runs in progress, the next scheduled drills, each plan's last drill.",
        handler=_home,
        examples=("/dr home",),
    )
]
