"""The buttons of a drill schedule's approval request: Approve and Reject.

As with the execution buttons, every click is acked at once and the service call runs lazily; the
clicker is `body["user"]["id"]` and the schedule services decide who may do what (an approver, never
the schedule's requester). A refusal is told to the clicker alone, ephemerally, and changes nothing;
a change replaces the request with the schedule as it now is; a no-op (a double click, a Slack
retry) only tells the clicker it was already done. Reject asks for confirmation in Slack itself and
records "rejected in Slack" as the reason (`/dr schedule reject <id> --reason …` says more).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltContext, Respond

from bot.listeners.context import Drbot, drbot_of
from bot.listeners.lazy import ack_now, answer_on_home, answer_privately, attempt, on_home
from bot.views.ids import ScheduleActionId
from bot.views.message import Message
from orchestration.context import Services

if TYPE_CHECKING:  # the scheduler's modules load with the first schedule click (Drbot.schedules)
    from scheduler.backends.port import ScheduleBackend

    Click = Callable[[Services, ScheduleBackend, str, str], tuple[Message, bool, str]]

BUTTON_REJECT_REASON = "rejected in Slack"


def register(app: App) -> None:
    app.action(ScheduleActionId.APPROVE.value)(ack=ack_now, lazy=[approve_clicked])
    app.action(ScheduleActionId.REJECT.value)(ack=ack_now, lazy=[reject_clicked])


def approve_clicked(body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    _clicked(drbot_of(context), body, respond, _approve)


def reject_clicked(body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    _clicked(drbot_of(context), body, respond, _reject)


def _approve(
    services: Services, schedules: ScheduleBackend, schedule_id: str, user: str
) -> tuple[Message, bool, str]:
    from bot.views.schedules import build_schedule_outcome
    from scheduler.service import approve_schedule, next_fire_times, plan_of

    outcome = approve_schedule(services, schedule_id, user, schedules)
    plan = plan_of(services, outcome.schedule)
    message = build_schedule_outcome(outcome, plan, next_fire_times(services, outcome.schedule))
    return message, outcome.changed, outcome.message


def _reject(
    services: Services, _schedules: ScheduleBackend, schedule_id: str, user: str
) -> tuple[Message, bool, str]:
    from bot.views.schedules import build_schedule_gone
    from scheduler.service import plan_of, reject_schedule

    outcome = reject_schedule(services, schedule_id, user, BUTTON_REJECT_REASON)
    plan = plan_of(services, outcome.schedule)
    name = plan.plan_name if plan else outcome.schedule.plan_id
    return build_schedule_gone(outcome.schedule, name, outcome.message), outcome.changed, outcome.message


def _clicked(drbot: Drbot, body: dict[str, Any], respond: Respond, click: Click) -> None:
    """The lazy half of a button: act as the clicker and show what it did (on the Home tab: at
    the top of the clicker's Home, published again). A refusal reads as every refusal reads
    (bot/views/errors.py)."""
    done = attempt(
        drbot,
        body,
        respond,
        lambda: click(
            drbot.services, drbot.schedules, str(body["actions"][0].get("value") or ""), body["user"]["id"]
        ),
        failed="schedule button failed",
    )
    if done is None:
        return
    message, changed, sentence = done
    if changed:  # off every approver's Home
        drbot.publisher.refresh_for()
    if on_home(body):
        answer_on_home(drbot.publisher, body, sentence)
    elif not changed:
        answer_privately(respond, Message(text=sentence))
    elif respond.response_url:
        # the request was the answer to `/dr schedule add`, posted through its response_url: the
        # click's response_url replaces it, whether it was posted in the channel or ephemerally
        respond(replace_original=True, text=message.text, blocks=message.blocks)
