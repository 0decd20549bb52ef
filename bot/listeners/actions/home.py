"""The App Home's History button on a plan's line: the plan's history (bot/views/plan_history.py)
and its chart, sent to the clicker in drbot's direct messages (the app's Messages tab), since a
Home tab shows no files; the Home says where it went.

The click is acked at once and the history built lazily (a chart takes a moment). A refusal (the
plan deleted since the Home was drawn) or a failure is told at the top of the clicker's Home.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext, Respond

from bot.listeners.commands import send_to_asker
from bot.listeners.context import Drbot, drbot_of
from bot.listeners.lazy import ack_now, attempt, tell_clicker
from bot.views.ids import HomeActionId
from bot.views.message import Message
from bot.views.mrkdwn import escape_mrkdwn


def register(app: App) -> None:
    app.action(HomeActionId.PLAN_HISTORY.value)(ack=ack_now, lazy=[send_history])


def send_history(body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    """The lazy half of the button: the history and its chart in the clicker's DM with drbot."""
    drbot = drbot_of(context)
    user = str(body["user"]["id"])
    plan_id = str(body["actions"][0].get("value") or "")
    sent = attempt(
        drbot,
        body,
        respond,
        lambda: _send(drbot, user, plan_id, body),
        failed="plan history button failed",
        label="the History button",
    )
    if sent is not None:
        tell_clicker(drbot, body, respond, sent)


def _send(drbot: Drbot, user: str, plan_id: str, body: dict[str, Any]) -> Message:
    from bot.commands.plan_history import plan_history_answer

    plan_name, answer = plan_history_answer(drbot.services, plan_id)
    send_to_asker(drbot.client, user, answer, drbot.redact, body)
    return Message(text=f":bar_chart: {escape_mrkdwn(plan_name)}: sent to you in drbot's Messages tab.")
