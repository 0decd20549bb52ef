"""The one shape every command answers with: Block Kit blocks plus a plain-text fallback.

Slack gets `to_slack()`; the console renders the same blocks as text (bot/views/text.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from slack_sdk.models.blocks import Block

ResponseType = Literal["ephemeral", "in_channel"]


@dataclass(frozen=True)
class Message:
    text: str  # notification / fallback text; also what screen readers announce
    blocks: list[Block] = field(default_factory=list)
    response_type: ResponseType = "ephemeral"
    is_error: bool = False

    def to_slack(self) -> dict[str, Any]:
        """The chat.postMessage / response_url payload (validates Block Kit limits)."""
        return {
            "text": self.text,
            "blocks": [block.to_dict() for block in self.blocks],
            "response_type": self.response_type,
        }

    def block_dicts(self) -> list[dict[str, Any]]:
        return [block.to_dict() for block in self.blocks]
