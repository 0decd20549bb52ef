"""`/dr servers`: DRS source servers with replication health."""

from __future__ import annotations

from bot.commands.grammar import Arguments, Flag
from bot.commands.registry import Command, CommandContext
from bot.views.message import Message
from bot.views.servers import build_servers_message
from orchestration.errors import UsageError
from orchestration.services.servers import REPLICATION_STATES, list_source_servers


def parse_tag_filters(values: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for value in values:
        key, sep, tag_value = value.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"`--tag {value}` must look like Key=Value, e.g. --tag Tier=database.")
        tags[key.strip()] = tag_value.strip()
    return tags


def _list_servers(ctx: CommandContext, args: Arguments) -> Message:
    listing = list_source_servers(
        ctx.services,
        region=args.get("region"),
        account_id=args.get("account"),
        replication_state=args.get("state"),
        tags=parse_tag_filters(args.all("tag")),
    )
    return build_servers_message(listing)


COMMANDS = [
    Command(
        noun="servers",
        verb=None,
        summary="DRS source servers with replication health and their protection group.",
        handler=_list_servers,
        flags=(
            Flag("region", "AWS region (default: the configured region)", value="REGION"),
            Flag("account", "target account id (default: this account)", value="ACCOUNT"),
            Flag(
                "state", "only servers in this replication state", value="STATE", choices=REPLICATION_STATES
            ),
            Flag("tag", "only servers with this tag", value="KEY=VALUE", repeatable=True),
        ),
        examples=("/dr servers", "/dr servers --region us-west-2", "/dr servers --state STALLED"),
    )
]
