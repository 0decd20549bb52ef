"""Reading executions: one by id or id prefix, pages of them, and what a run has done so far.

Reading an approval request whose time is up marks it EXPIRED on the way (docs/engine.md), so every
reader sees the same status. Pages are read newest first, filtered by plan, status or dates; a page's
`next_token` says where the next one starts.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestration.approval_expiry import expire, is_expired
from orchestration.context import Services
from orchestration.errors import Action, ValidationFailed
from orchestration.models import EventType, Execution, ExecutionStatus, LaunchStatus, WaveStatus
from orchestration.services.execution_saving import Step, apply_step, now_of
from orchestration.services.id_prefix import find_by_id_prefix
from orchestration.store.base import ExecutionKey, execution_key
from orchestration.validation import clip

PREFIX_SEARCH_LIMIT = 1000  # newest executions searched for a prefix
DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 1000
LIST_ROUNDS = 10  # store pages read for one filtered page of list_executions


def get_execution(services: Services, execution_id: str) -> Execution:
    """One execution by id; an approval request whose time is up is marked EXPIRED on the way."""
    execution = services.store.get_execution(execution_id)
    if not is_expired(execution, now_of(services)):
        return execution

    def evaluate(current: Execution, now: int) -> Step:
        if not is_expired(current, now):
            return Step(current, False, "")
        return Step(expire(current, now), True, "", "execution.expire")

    return apply_step(services, execution_id, "drbot", evaluate)[0]


def find_execution(services: Services, ref: str) -> Execution:
    """An execution by its id or a unique prefix of it (at least MIN_PREFIX characters), among the
    newest PREFIX_SEARCH_LIMIT."""
    return find_by_id_prefix(
        ref,
        "execution",
        lambda execution_id: get_execution(services, execution_id),
        lambda: (e.execution_id for e in services.store.list_executions(limit=PREFIX_SEARCH_LIMIT)),
        Action.LIST_EXECUTIONS,
    )


def list_executions(
    services: Services,
    plan_id: str | None = None,
    status: ExecutionStatus | str | None = None,
    limit: int = DEFAULT_LIST_LIMIT,
    active_only: bool = False,
) -> list[Execution]:
    """Executions newest first: of one plan, in one status, or only those that have not ended."""
    return list_execution_page(
        services, plan_id=plan_id, status=status, limit=limit, active_only=active_only
    ).executions


@dataclass(frozen=True)
class ExecutionPage:
    executions: list[Execution]
    next_token: str | None  # where the next page starts; None when this one is the last


def _encode_token(key: ExecutionKey) -> str:
    return base64.urlsafe_b64encode(json.dumps([key[0], key[1]]).encode()).decode().rstrip("=")


def _decode_token(token: str) -> ExecutionKey:
    try:
        at, execution_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if type(at) is int and at >= 0 and isinstance(execution_id, str) and execution_id:
            return (at, execution_id)
    except (ValueError, TypeError):
        pass
    raise ValidationFailed("nextToken: not a token list_executions returned", field="nextToken")


def parse_date(value: str | int | None, field: str) -> int | None:
    """A date given as epoch seconds or ISO-8601 (a time without a zone is UTC), in epoch seconds."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            f"{field}: must be epoch seconds or an ISO-8601 date, not '{clip(text)}'", field=field
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(int(moment.timestamp()), 0)


def list_execution_page(
    services: Services,
    *,
    plan_id: str | None = None,
    status: ExecutionStatus | str | None = None,
    limit: int = DEFAULT_LIST_LIMIT,
    active_only: bool = False,
    next_token: str | None = None,
    from_date: int | None = None,
    to_date: int | None = None,
) -> ExecutionPage:
    """One page of executions newest first: of one plan, in one status, only those that have not
    ended, requested between from_date and to_date (epoch seconds, both included), after the page
    `next_token` came with."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIST_LIMIT}, not {limit}", field="limit")
    wanted: ExecutionStatus | None = None
    if status is not None:
        try:
            wanted = ExecutionStatus(str(status).upper())
        except ValueError:
            raise ValidationFailed(
                f"status must be one of {', '.join(s.value for s in ExecutionStatus)}, not '{status}'",
                field="status",
            ) from None
    if from_date is not None and to_date is not None and from_date > to_date:
        raise ValidationFailed("fromDate must not be after toDate", field="fromDate")
    after = None if next_token is None else _decode_token(next_token)
    only_active = active_only or (wanted is not None and not wanted.is_terminal)

    def keep(e: Execution) -> bool:
        return (not active_only or not e.is_terminal) and (wanted is None or e.status == wanted)

    filtered = wanted is not None or active_only
    fetch = MAX_LIST_LIMIT if filtered else limit + 1
    found: list[Execution] = []
    for _ in range(LIST_ROUNDS):
        batch = services.store.list_executions(
            plan_id=plan_id,
            active_only=only_active,
            limit=fetch,
            after=after,
            newest=to_date,
            oldest=from_date,
        )
        found.extend(e for e in batch if keep(e))
        if len(found) > limit:
            return ExecutionPage(found[:limit], _encode_token(execution_key(found[limit - 1])))
        if len(batch) < fetch:
            return ExecutionPage(found, None)
        after = execution_key(batch[-1])
    # a short page: the rest is read from where this reading stopped
    return ExecutionPage(found, None if after is None else _encode_token(after))


def active_executions(services: Services, limit: int = 20) -> list[Execution]:
    """The executions that have not ended, newest first."""
    return list_executions(services, active_only=True, limit=limit)


def preflight_warnings(execution: Execution) -> list[dict[str, Any]]:
    """The pre-flight warnings recorded when the execution was requested (each a Finding's wire)."""
    for event in execution.events:
        if event.type == EventType.REQUESTED:
            return list(event.details.get("warnings", []))
    return []


def progress(execution: Execution) -> dict[str, int]:
    servers = [s for w in execution.waves for s in w.servers]
    return {
        "wavesCompleted": sum(1 for w in execution.waves if w.status == WaveStatus.COMPLETED),
        "wavesTotal": len(execution.waves),
        "serversLaunched": sum(1 for s in servers if s.launch_status == LaunchStatus.LAUNCHED),
        "serversTotal": len(servers),
    }
