"""`/dr as <user>`: who is typing, in the console.

The console has one keyboard and many people in the approval story (alice requests, bob and carol
approve), so it lets the typist switch who they are; `switch_user` is what the console calls. In
Slack everyone is who Slack says they are: the registered command only says so.
"""

from __future__ import annotations

from bot.commands.grammar import Arguments, Positional, parse_arguments, tokenize
from bot.commands.registry import Command, CommandContext
from bot.views.common import context, section
from bot.views.errors import build_error_message
from bot.views.ids import SLASH
from bot.views.message import Message
from bot.views.mrkdwn import mention
from orchestration.context import Services
from orchestration.errors import UsageError
from orchestration.services.access import permissions_of, roles_of

NOUN = "as"
_USER = Positional("user", "who to be from now on: a user of the role configuration, e.g. bob")


def _slack_refusal(ctx: CommandContext, args: Arguments) -> Message:
    raise UsageError(
        "`/dr as` only works in the drbot console, where one person plays several users; "
        "in Slack you are always yourself."
    )


COMMAND = Command(
    noun=NOUN,
    verb=None,
    summary="Console only: act as another user from now on (to try the approval story).",
    handler=_slack_refusal,
    positionals=(_USER,),
    examples=("/dr as bob", "/dr as alice"),
)
COMMANDS = [COMMAND]


def _console_only(ctx: CommandContext, args: Arguments) -> Message:
    raise UsageError(
        f"`/dr {ctx.invocation.text.split()[0] if ctx.invocation.text.split() else ''}` only works in "
        "the drbot console; in Slack, the buttons and the live summary do the same."
    )


# the console's own verbs (bot/console.py answers them before the app sees them): registered so
# that `/dr help` names them and Slack says where they work
WAIT = Command(
    noun="wait",
    verb=None,
    summary="Console only: wait until a run has ended or is paused, printing its progress meanwhile "
    "(default: the newest run still going), so a piped session can run a whole drill.",
    handler=_console_only,
    positionals=(Positional("execution", "an execution id, or its first 6+ characters", required=False),),
    examples=("/dr wait", "/dr wait 3f2a9c1b"),
)
CLICK = Command(
    noun="click",
    verb=None,
    summary="Console only: click the button shown as [n], or the newest button with this label; "
    "typing n alone does the same.",
    handler=_console_only,
    positionals=(Positional("button", "a button's number, or its label", required=True),),
    examples=("/dr click 3", "/dr click Approve", "3"),
)


def build_user_switched(services: Services, user: str) -> Message:
    """Who the typist is now, with the roles and permissions that gives them."""
    role_names = ", ".join(sorted(r.value for r in roles_of(services, user))) or "none"
    permissions = sorted(p.value.replace("_", " ") for p in permissions_of(services, user))
    allowed = ", ".join(permissions) or "nothing"
    text = f"You are now {user} (roles: {role_names})."
    blocks = [
        section(f":white_check_mark: You are now *{mention(user)}* (roles: {role_names})."),
        context(f"{mention(user)} may: {allowed}"),
    ]
    return Message(text=text, blocks=blocks)


def switch_user(services: Services, text: str) -> tuple[str | None, Message] | None:
    """For the console: None unless `text` is `/dr as …`; then the new user and the answer, or
    (None, the error) when it is malformed."""
    stripped = text.strip()
    if stripped == SLASH or stripped.startswith(SLASH + " "):
        stripped = stripped[len(SLASH) :]
    try:
        tokens = tokenize(stripped)
    except UsageError:
        return None  # not ours to answer: the dispatcher says what is wrong with the quotes
    if not tokens or tokens[0].lower() != NOUN:
        return None
    try:
        user = parse_arguments(tokens[1:], COMMAND.positionals, COMMAND.flags).positionals["user"].strip()
        if not user:
            raise UsageError("Say who to be: `/dr as bob`.")
    except UsageError as error:
        return None, build_error_message(error, usage=COMMAND.usage())
    return user, build_user_switched(services, user)
