"""The modal the Reject button opens: it asks why (the requester sees the reason), and remembers in
its private_metadata which execution and which message it is about.

Pure builders and parsers; the listeners are bot/listeners/actions/executions.py
(the button) and bot/listeners/views.py (the form).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from slack_sdk.models.blocks import InputBlock, PlainTextInputElement
from slack_sdk.models.views import View

from bot.views.common import section, truncate

MAX_REASON = 500
EMPTY_REASON = "Say why the request is rejected: the requester sees it."
TOO_LONG_REASON = f"Say it in at most {MAX_REASON} characters."
DAMAGED_FORM = "drbot cannot read this form (it may be from an older version): close it and reject again."


class RejectModalId(StrEnum):
    """The modal's callback id and the ids of its reason input."""

    CALLBACK = "execution_reject_modal"
    REASON_BLOCK = "execution_reject_reason"
    REASON_INPUT = "execution_reject_reason_input"


@dataclass(frozen=True)
class RejectTarget:
    """The execution to reject and the message its buttons were on (to update it afterwards)."""

    execution_id: str
    channel_id: str | None = None
    message_ts: str | None = None
    is_ephemeral: bool = False

    @classmethod
    def of_click(cls, body: Mapping[str, Any]) -> RejectTarget:
        """From a block_actions payload: the button's value and its container."""
        container = body.get("container") or {}
        return cls(
            execution_id=str(body["actions"][0].get("value") or ""),
            channel_id=container.get("channel_id"),
            message_ts=container.get("message_ts"),
            is_ephemeral=bool(container.get("is_ephemeral")),
        )

    def to_metadata(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_metadata(cls, text: str) -> RejectTarget:
        """The target a form's private_metadata names; ValueError when drbot did not write it."""
        fields = json.loads(text)
        if not isinstance(fields, dict) or not set(fields) <= {f.name for f in dataclasses.fields(cls)}:
            raise ValueError("the form's metadata is not drbot's")
        target = cls(**fields)
        ids = (target.channel_id, target.message_ts)
        if not (
            isinstance(target.execution_id, str)
            and target.execution_id
            and all(value is None or isinstance(value, str) for value in ids)
            and isinstance(target.is_ephemeral, bool)
        ):
            raise ValueError("the form's metadata is not drbot's")
        return target


def build_reject_modal(target: RejectTarget) -> View:
    """Asks for the reason; its submission is answered with inline errors when it is empty."""
    short = target.execution_id[:8]
    return View(
        type="modal",
        callback_id=RejectModalId.CALLBACK.value,
        title="Reject the run",
        submit="Reject",
        close="Keep it",
        private_metadata=target.to_metadata(),
        blocks=[
            section(f"Reject execution `{short}`: nothing will run, and the requester is told why."),
            InputBlock(
                block_id=RejectModalId.REASON_BLOCK.value,
                label="Reason",
                hint="The requester sees this, e.g. “change freeze until Friday”.",
                element=PlainTextInputElement(
                    action_id=RejectModalId.REASON_INPUT.value, multiline=True, max_length=MAX_REASON
                ),
            ),
        ],
    )


def submitted_reason(view: Mapping[str, Any]) -> str:
    """The reason typed into the modal, stripped ("" when none, or when the state is not a form's)."""
    values = (view.get("state") or {}).get("values") or {}
    block = values.get(RejectModalId.REASON_BLOCK.value) or {}
    state = block.get(RejectModalId.REASON_INPUT.value) if isinstance(block, Mapping) else None
    value = state.get("value") if isinstance(state, Mapping) else None
    return value.strip() if isinstance(value, str) else ""


def reason_errors(reason: str) -> dict[str, str] | None:
    """The inline errors of a submission (`response_action: errors`), or None when it is fine: a
    reason is required, and at most MAX_REASON characters (the input says so; a forged or older
    form may not)."""
    if not reason:
        return {RejectModalId.REASON_BLOCK.value: truncate(EMPTY_REASON, 150)}
    if len(reason) > MAX_REASON:
        return {RejectModalId.REASON_BLOCK.value: TOO_LONG_REASON}
    return None
