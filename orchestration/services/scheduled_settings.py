"""What the tag sync's and the monthly digest's settings share: settings with an optional recurring
schedule, changed by a request, checked, saved version-checked, and then registered with the
scheduler (orchestration/recurring.py). Each kind keeps its own rules about its expression
(orchestration/services/tag_sync_schedule.py, digest_schedule.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from orchestration.context import Services
from orchestration.errors import InternalError, ValidationFailed

# (expression, time zone) as requested -> (canonical expression or None, time zone), or refused
ScheduleCheck = Callable[[str | None, str | None], tuple[str | None, str]]


class ScheduledSettings(Protocol):
    @property
    def schedule_expression(self) -> str | None: ...
    @property
    def schedule_timezone(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def last_modified_date(self) -> int: ...
    @property
    def version(self) -> int: ...


def merged_settings(
    services: Services,
    current: Mapping[str, Any],
    changes: Mapping[str, Any],
    *,
    version: int | None,
    actor: str,
    check: ScheduleCheck,
) -> dict[str, Any]:
    """The wire form of the settings after `changes` (the fields a request set) over `current`,
    stamped with who and when, their schedule checked by `check` before anything is saved."""
    if not changes:
        raise ValidationFailed("Nothing to update: give at least one field to change.")
    merged = {
        **current,
        **changes,
        "version": version or current["version"],
        "lastModifiedBy": actor,
        "lastModifiedDate": int(services.clock.now()),
    }
    merged["scheduleExpression"], merged["scheduleTimezone"] = check(
        merged.get("scheduleExpression"), merged.get("scheduleTimezone")
    )
    return {key: value for key, value in merged.items() if value is not None}


def register_schedule(
    what: str,
    settings: ScheduledSettings,
    put: Callable[..., None],
    remove: Callable[[], None],
) -> None:
    """Tell the scheduler what the saved `settings` say: `put` when there is an expression,
    `remove` when there is none. Called after the save: a refusal says the settings were saved."""
    try:
        if settings.schedule_expression:
            put(
                settings.schedule_expression,
                settings.schedule_timezone,
                settings.enabled,
                since=settings.last_modified_date,
            )
        else:
            remove()
    except Exception as error:
        raise InternalError(
            f"The {what} settings were saved (version {settings.version}), but the scheduler refused "
            f"the change ({type(error).__name__}: {error}); save them again to retry. A fire does "
            "what the saved settings say, whatever the scheduler still holds.",
            version=settings.version,
        ) from error
