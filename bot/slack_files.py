"""Sharing a file in a Slack channel or thread: `share_file`, the one way drbot uploads.

Slack's files_upload_v2 (files.getUploadURLExternal, the bytes posted to the upload URL it gives,
then files.completeUploadExternal with the channel, the thread and a comment) needs the `files:write`
bot scope (manifest.yaml). The console's Slack (bot/console_slack.py) takes the same calls and saves
each shared file under the data directory.
"""

from __future__ import annotations

from slack_sdk import WebClient


def share_file(
    client: WebClient,
    channel: str,
    thread_ts: str | None,
    *,
    filename: str,
    content: bytes | str,
    title: str,
    comment: str | None = None,
) -> str:
    """Upload `content` as `filename` and share it in `channel` (in the thread of `thread_ts` when
    given), with `comment` above it; the shared file's id. Slack's errors propagate
    (slack_sdk.errors.SlackApiError, SlackRequestError): the caller decides what a failed share means."""
    response = client.files_upload_v2(
        channel=channel,
        thread_ts=thread_ts,
        filename=filename,
        content=content,
        title=title,
        initial_comment=comment,
    )
    shared = response.get("file") or {}
    return str(shared.get("id", ""))
