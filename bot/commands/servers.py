"""`/dr servers`: DRS source servers with replication health."""

from __future__ import annotations

from bot.commands.grammar import Arguments, Flag
from bot.commands.registry import Command, CommandContext
from bot.tag_filters import parse_tag_filters
from bot.views.message import Message
from bot.views.servers import PAGE_SIZE, ServerQuery, build_servers_message, page_count
from orchestration.context import Services
from orchestration.errors import UsageError
from orchestration.services.servers import REPLICATION_STATES, list_source_servers


def parse_positive_int(value: str | None, flag: str) -> int | None:
    """`--flag N` as a whole number ≥ 1 (None when the flag was not given)."""
    if value is None:
        return None
    if not value.strip().isdigit() or int(value) < 1:
        raise UsageError(f"`--{flag}` takes a whole number of at least 1, not `{value}`.")
    return int(value)


def servers_page(services: Services, query: ServerQuery, page: int) -> Message:
    """Page `page` of the servers `query` selects; a page past the last is refused."""
    listing = list_source_servers(
        services,
        region=query.region,
        account_id=query.account,
        replication_state=query.state,
        tags=query.tags,
    )
    pages = page_count(len(listing.servers))
    if page > pages:
        raise UsageError(
            f"There {'is' if pages == 1 else 'are'} {pages} page{'' if pages == 1 else 's'} of "
            f"{len(listing.servers)} servers; `--page` takes 1 to {pages}, not {page}."
        )
    return build_servers_message(listing, page, query)


def _list_servers(ctx: CommandContext, args: Arguments) -> Message:
    query = ServerQuery(
        region=args.get("region"),
        account=args.get("account"),
        state=args.get("state"),
        tags=parse_tag_filters(args.all("tag")),
    )
    return servers_page(ctx.services, query, parse_positive_int(args.get("page"), "page") or 1)


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
            Flag("page", f"which page of {PAGE_SIZE} servers (default: the first)", value="N"),
        ),
        examples=(
            "/dr servers",
            "/dr servers --region us-west-2",
            "/dr servers --state STALLED",
            "/dr servers --page 2",
        ),
    )
]
