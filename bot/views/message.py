"""The one shape every command answers with: Block Kit blocks plus a plain-text fallback, and the
two kinds of it that Slack posts in a channel besides answering (ThreadRoot, ApprovalRequest).

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


@dataclass(frozen=True)
class ThreadRoot(Message):
    """An answer that opens an execution's thread: Slack posts it in the channel and records it on
    the execution (bot/slack_threads.py); the console shows it like any message."""

    execution_id: str = ""


@dataclass(frozen=True)
class ApprovalRequest(Message):
    """An answer that asks approvers for a decision other than a run's (a drill schedule): Slack
    also posts a copy in DRBOT_APPROVAL_CHANNEL (bot/slack_threads.py); the console shows it once."""

    subject: str = ""  # what is asked for, e.g. "drill schedule 1a2b3c4d"


@dataclass(frozen=True)
class FileToShare:
    """A file an answer shares (files_upload_v2, bot/slack_files.py): its name, bytes and title."""

    filename: str
    content: bytes
    title: str
    comment: str | None = None


@dataclass(frozen=True)
class WithFiles(Message):
    """An answer that also shares files in the channel it was asked in (in `thread_ts` when set):
    the `/dr` listener uploads them after answering; the console saves each and prints its path."""

    files: tuple[FileToShare, ...] = ()
    thread_ts: str | None = None
    # True: the files go to the asker alone, in their direct messages with drbot (the Messages tab),
    # not to the channel, whose members may not all be meant to see them (an evidence report)
    to_asker: bool = False
