"""drbot's App Home (docs/slack.md, "App Home"): what one person sees on drbot's Home tab, and in
the console as `/dr home`.

`home_of(services, viewer)` gathers, fresh from the store at each call, a `Home`
(bot/home_contents.py):

- **needs you**: run requests awaiting approval that the viewer may approve (not their own, not
  approved by them already), drill schedules awaiting approval likewise, and runs held at a pause
  gate that the viewer may resume;
- **running now**: every run that has not ended, with its progress;
- **next drills**: the soonest fires of the active schedules;
- **plans**: each plan's last drill, its result and duration against the plan's RTO target, and its
  data loss against the RPO target.

`HomePublisher` puts it on the Home tab with `views.publish`: when the person opens the tab
(bot/listeners/events.py), after a click on it, and when something on it changes for the people it
concerns (`refresh_for`: a run's requester and everyone who may approve or control runs, among the
role configuration's Slack users, plus whoever opened their Home in this process). Publishing is
best effort: a failure is logged and the next change or opening publishes again.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable

from aws_lambda_powertools import Logger
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.home_contents import Home, NextDrill, PlanLine
from bot.slack_thread_record import thread_of
from bot.views.home import MAX_LISTED, build_home_view
from bot.views.mrkdwn import is_user_id
from orchestration.context import Services
from orchestration.models import Execution, ExecutionStatus, ExecutionType
from orchestration.rbac import ROLE_PERMISSIONS, Permission
from orchestration.services.access import permissions_of
from scheduler.service import next_fire_times
from scheduler.state import ScheduleState, state_of

logger = Logger(service="drbot")

NEXT_DRILLS = 5
MAX_REFRESHED = 25  # people whose Home one change republishes (views.publish is Tier 4)
_ACTIVE_LIMIT = 100


def home_of(services: Services, viewer: str) -> Home:
    """The viewer's Home, read fresh from the store."""
    permissions = permissions_of(services, viewer)
    may_approve = Permission.APPROVE in permissions
    may_control = Permission.CONTROL_EXECUTION in permissions
    active = services.store.list_executions(active_only=True, limit=_ACTIVE_LIMIT)
    plans = services.store.list_plans()
    plan_names = {p.plan_id: p.plan_name for p in plans}

    approvals = [
        e
        for e in active
        if may_approve
        and e.status == ExecutionStatus.PENDING_APPROVAL
        and e.initiated_by != viewer
        and viewer not in {a.user_id for a in e.approvals}
    ]
    gates = [
        e for e in active if may_control and e.status == ExecutionStatus.PAUSED and e.gate_wave is not None
    ]
    running = [e for e in active if not e.status.is_terminal and e.status != ExecutionStatus.PENDING_APPROVAL]
    schedules = services.store.list_schedules()
    requests = [
        (s, plan_names.get(s.plan_id, "(deleted plan)"))
        for s in schedules
        if may_approve and state_of(s) == ScheduleState.AWAITING_APPROVAL and s.created_by != viewer
    ]
    upcoming = sorted(
        (
            NextDrill(moment, s, plan_names.get(s.plan_id, "(deleted plan)"))
            for s in schedules
            if state_of(s) == ScheduleState.ACTIVE
            for moment in next_fire_times(services, s, NEXT_DRILLS)
        ),
        key=lambda drill: drill.at,
    )[:NEXT_DRILLS]
    return Home(
        viewer=viewer,
        approvals=approvals,
        schedule_requests=requests,
        gates=gates,
        running=running,
        channels={
            e.execution_id: thread.channel
            for e in running[:MAX_LISTED]
            if (thread := thread_of(services.store, e.execution_id)) is not None and thread.channel
        },
        next_drills=upcoming,
        plans=[
            PlanLine(p, _last_drill(services, p.plan_id)) for p in sorted(plans, key=lambda p: p.plan_name)
        ],
    )


def _last_drill(services: Services, plan_id: str) -> Execution | None:
    for execution in services.store.list_executions(plan_id=plan_id, limit=20):
        ran = execution.start_time is not None  # not a request that was rejected or expired
        if execution.execution_type == ExecutionType.DRILL and execution.status.is_terminal and ran:
            return execution
    return None


class HomePublisher:
    """Publishes Homes with `views.publish`, remembering who opened theirs in this process."""

    def __init__(self, client: WebClient, services: Services) -> None:
        self.client = client
        self.services = services
        self._lock = threading.Lock()
        self._viewers: set[str] = set()

    def opened(self, user_id: str) -> None:
        with self._lock:
            self._viewers.add(user_id)
        self.publish(user_id)

    def publish(self, user_id: str, notice: str | None = None) -> bool:
        """Put the user's Home on their tab; False when Slack refused (logged)."""
        try:
            view = build_home_view(home_of(self.services, user_id), int(self.services.clock.now()), notice)
            self.client.views_publish(user_id=user_id, view=view)
        except SlackApiError as error:
            logger.warning(
                "the Home tab was not published",
                extra={"slack_user": user_id, "error": str(error.response.get("error", ""))},
            )
            return False
        return True

    def refresh_for(self, execution: Execution | None = None) -> list[str]:
        """Republish the Homes a change concerns: the run's requester, the Slack users who may
        approve or control runs, and whoever opened their Home here; returns who was refreshed."""
        people = set(self._people_with(Permission.APPROVE, Permission.CONTROL_EXECUTION))
        with self._lock:
            people |= self._viewers
        if execution is not None and is_user_id(execution.initiated_by):
            people.add(execution.initiated_by)
        refreshed = sorted(people)[:MAX_REFRESHED]
        for user_id in refreshed:
            self.publish(user_id)
        return refreshed

    def _people_with(self, *wanted: Permission) -> Iterable[str]:
        roles = self.services.settings.roles
        for role, members in roles.members.items():
            if any(p in ROLE_PERMISSIONS[role] for p in wanted):
                yield from (m for m in members if is_user_id(m))


_PUBLISHERS: weakref.WeakKeyDictionary[App, HomePublisher] = weakref.WeakKeyDictionary()


def remember_publisher(app: App, publisher: HomePublisher) -> None:
    """The app's Home publisher (build_app), so that its notifier refreshes the same Homes."""
    _PUBLISHERS[app] = publisher


def publisher_of(app: App) -> HomePublisher | None:
    return _PUBLISHERS.get(app)
