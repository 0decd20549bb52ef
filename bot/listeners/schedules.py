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
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.app_home import publisher_of
from bot.listeners.errors import Redactor, log_failure
from bot.listeners.home import answer_on_home, on_home
from bot.views.errors import build_error_message, refusal_text
from bot.views.failures import build_failure_message
from bot.views.ids import ScheduleActionId
from bot.views.message import Message
from bot.views.schedules import build_schedule_gone, build_schedule_outcome
from orchestration.context import Services
from orchestration.errors import DrbotError
from scheduler.service import approve_schedule, next_fire_times, plan_of, reject_schedule

BUTTON_REJECT_REASON = "rejected in Slack"


def register(app: App, services: Services, redact: Redactor | None = None) -> None:
    redact = redact or Redactor()

    def ack_at_once(ack: Ack) -> None:
        ack()

    app.action(ScheduleActionId.APPROVE.value)(
        ack=ack_at_once, lazy=[_clicked(app, services, redact, _approve)]
    )
    app.action(ScheduleActionId.REJECT.value)(
        ack=ack_at_once, lazy=[_clicked(app, services, redact, _reject)]
    )


Click = Callable[[Services, str, str], tuple[Message, bool, str]]


def _approve(services: Services, schedule_id: str, user: str) -> tuple[Message, bool, str]:
    outcome = approve_schedule(services, schedule_id, user)
    plan = plan_of(services, outcome.schedule)
    message = build_schedule_outcome(outcome, plan, next_fire_times(services, outcome.schedule))
    return message, outcome.changed, outcome.message


def _reject(services: Services, schedule_id: str, user: str) -> tuple[Message, bool, str]:
    outcome = reject_schedule(services, schedule_id, user, BUTTON_REJECT_REASON)
    plan = plan_of(services, outcome.schedule)
    name = plan.plan_name if plan else outcome.schedule.plan_id
    return build_schedule_gone(outcome.schedule, name, outcome.message), outcome.changed, outcome.message


def _clicked(app: App, services: Services, redact: Redactor, click: Click) -> Callable[..., None]:
    """The lazy half of a button: act as the clicker and show what it did (on the Home tab: at
    the top of the clicker's Home, published again)."""

    def run_action(body: dict[str, Any], respond: Respond) -> None:
        try:
            schedule_id = str(body["actions"][0].get("value") or "")
            message, changed, sentence = click(services, schedule_id, body["user"]["id"])
        except DrbotError as error:  # read as every refusal reads (bot/views/errors.py)
            if on_home(body):
                answer_on_home(app, body, refusal_text(error))
                return
            refusal = build_error_message(error)
            if respond.response_url:
                respond(**{**refusal.to_slack(), "response_type": "ephemeral", "replace_original": False})
            return
        except Exception as error:  # answered and logged here: bolt would only log a one-liner
            reference = log_failure("schedule button failed", error, redact, body)
            _tell(
                respond,
                build_failure_message(f"the {body['actions'][0]['action_id']} button", reference).text,
            )
            return
        if changed and (publisher := publisher_of(app)) is not None:  # off every approver's Home
            publisher.refresh_for()
        if on_home(body):
            answer_on_home(app, body, sentence)
        elif not changed:
            _tell(respond, sentence)
        elif respond.response_url:
            # the request was the answer to `/dr schedule add`, posted through its response_url: the
            # click's response_url replaces it, whether it was posted in the channel or ephemerally
            respond(replace_original=True, text=message.text, blocks=message.blocks)

    return run_action


def _tell(respond: Respond, text: str) -> None:
    """`text` to the clicker alone, through the click's response_url (a click with none, which
    Slack never sends, goes unanswered)."""
    if respond.response_url:
        respond(response_type="ephemeral", replace_original=False, text=text)
