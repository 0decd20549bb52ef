"""The pieces of the Slack approval flow that need no Slack: configuration, the Slack thread's wire
format, the approvals channel's copy, the user groups a role configuration names, and the notifier
factory DRBOT_NOTIFIER names."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from bot.slack_directory import usergroups_named
from bot.slack_notifier import SlackNotifier, notifier_from_settings
from bot.slack_thread_record import SlackThread
from bot.views.executions import build_approval_copy
from bot.views.ids import ActionId
from bot.views.text import render_message
from orchestration.clock import Clock, FakeClock
from orchestration.config import DEFAULT_USERGROUP_CACHE_SECONDS, Settings
from orchestration.errors import ValidationFailed
from orchestration.handlers.runtime import load_notifier
from orchestration.models import Approval, EventType, Execution, ExecutionStatus, ExecutionType
from orchestration.ports import RecordingNotifier
from orchestration.rbac import RoleConfig

T0 = 1_767_225_600
PERMALINK = "https://drbot-test.slack.com/archives/C0DRILLS/p1767225600000100"
BUILT: list[tuple[Settings, Clock]] = []


def recording_factory(settings: Settings, clock: Clock) -> RecordingNotifier:
    """A notifier factory as DRBOT_NOTIFIER names one (this test module's)."""
    BUILT.append((settings, clock))
    return RecordingNotifier()


NOT_A_FUNCTION = 42


# -- configuration ----------------------------------------------------------------------------------


def test_the_approval_flow_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "DRBOT_APPROVAL_CHANNEL": "C0APPROVALS",
            "DRBOT_USERGROUP_CACHE_SECONDS": "60",
            "DRBOT_NOTIFIER": "bot.slack_notifier:notifier_from_settings",
        }
    )
    assert settings.approval_channel == "C0APPROVALS"
    assert settings.usergroup_cache_seconds == 60
    assert settings.notifier == "bot.slack_notifier:notifier_from_settings"
    defaults = Settings.from_env({})
    assert (defaults.approval_channel, defaults.notifier) == (None, None)
    assert defaults.usergroup_cache_seconds == DEFAULT_USERGROUP_CACHE_SECONDS == 300


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("DRBOT_USERGROUP_CACHE_SECONDS", "5m", "DRBOT_USERGROUP_CACHE_SECONDS must be a whole number"),
        ("DRBOT_NOTIFIER", "bot.slack_notifier.notifier_from_settings", "`module:function`"),
    ],
)
def test_bad_values_are_refused_by_name(name: str, value: str, words: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        Settings.from_env({name: value})
    assert words in refused.value.message and value in refused.value.message


# -- the Slack thread on the wire --------------------------------------------------------------------


def test_a_thread_stored_before_the_approval_copy_still_reads() -> None:
    old = SlackThread.from_wire({"channel": "C0DRILLS", "threadTs": "1767225600.000100"})
    assert (old.approval_channel, old.approval_ts, old.permalink) == (None, None, None)
    assert (old.posted_through, old.shown_through, old.updated_at) == (0, 0, None)


def test_the_thread_state_is_camel_case_on_the_wire() -> None:
    thread = SlackThread(
        channel="C0DRILLS",
        thread_ts="1.1",
        permalink=PERMALINK,
        approval_channel="C0APPROVALS",
        approval_ts="1.2",
        posted_through=3,
        shown_through=2,
        updated_at=T0,
        reported=True,
    )
    wire = thread.to_wire()
    assert wire == {
        "channel": "C0DRILLS",
        "threadTs": "1.1",
        "permalink": PERMALINK,
        "approvalChannel": "C0APPROVALS",
        "approvalTs": "1.2",
        "postedThrough": 3,
        "shownThrough": 2,
        "updatedAt": T0,
        "reported": True,
        "version": 1,
    }
    assert SlackThread.from_wire(wire) == thread


def test_an_execution_stored_with_its_thread_on_it_still_loads_without_it() -> None:
    """Executions saved before the thread became the bot's own record carry it as "slack": the
    domain ignores it (the run goes on; its messages continue in a new thread only if it is a
    scheduled drill's, docs/slack.md)."""
    made = request()
    wire = made.to_wire() | {"slack": {"channel": "C0DRILLS", "threadTs": "1.1", "postedThrough": 1}}
    assert Execution.from_wire(wire) == made
    assert "slack" not in Execution.from_wire(wire).to_wire()


# -- the approvals channel's copy --------------------------------------------------------------------


THREAD = SlackThread(channel="C0DRILLS", thread_ts="1.1", permalink=PERMALINK)


def request(status: ExecutionStatus = ExecutionStatus.PENDING_APPROVAL, **update: Any) -> Execution:
    fields: dict[str, Any] = {
        "plan_id": "p-1",
        "plan_name": "Prod <DR>",
        "execution_type": ExecutionType.DRILL,
        "status": status,
        "initiated_by": "U0ALICE01",
        "requested_at": T0,
        "expires_at": T0 + 3600,
        "required_approvals": 1,
    }
    return Execution(**(fields | update)).with_event(
        EventType.REQUESTED, T0, "U0ALICE01 requested a drill", actor="U0ALICE01"
    )


def actions(blocks: list[Any]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_the_copy_links_to_the_thread_and_has_the_approval_buttons() -> None:
    message = build_approval_copy(request(), T0 + 60, thread=THREAD)

    blocks = [block.to_dict() for block in message.blocks]
    text = str(blocks)
    assert f"<{PERMALINK}|open the thread>" in text and "<#C0DRILLS>" in text
    assert "Prod &lt;DR&gt;" in text  # user text escaped
    assert actions(blocks) == [ActionId.APPROVE.value, ActionId.REJECT.value]
    assert message.response_type == "in_channel"
    assert "open the thread" in render_message(message)


def test_the_copy_of_a_decided_request_has_no_buttons() -> None:
    approved = request(
        ExecutionStatus.PENDING, approvals=[Approval(user_id="U0BOB0001", at=T0 + 60)], expires_at=None
    )
    blocks = [block.to_dict() for block in build_approval_copy(approved, T0 + 60, thread=THREAD).blocks]
    assert actions(blocks) == []
    assert "Approvals:* 1/1 (<@U0BOB0001>)" in str(blocks)


# -- user groups ------------------------------------------------------------------------------------


def test_only_user_group_ids_of_the_role_configuration_are_read() -> None:
    roles = RoleConfig.from_mapping(
        {
            "admin": ["U0ADMIN", "S0ADMINS"],
            "approver": ["S0APPROVERS", "bob"],
            "viewer": ["arn:aws:iam::1:user/x"],
        }
    )
    assert usergroups_named(roles) == {"S0ADMINS", "S0APPROVERS"}


# -- DRBOT_NOTIFIER ---------------------------------------------------------------------------------


def test_the_notifier_factory_is_loaded_by_its_path_and_given_the_settings_and_clock() -> None:
    settings = Settings.from_env({"DRBOT_NOTIFIER": f"{__name__}:recording_factory"})
    clock = FakeClock()
    BUILT.clear()

    notifier = load_notifier(settings, clock)

    assert isinstance(notifier, RecordingNotifier)
    assert [(settings, clock)] == BUILT
    assert load_notifier(Settings.from_env({}), clock) is None


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("no_such_module_anywhere:factory", "cannot be loaded (ModuleNotFoundError"),
        (f"{__name__}:missing_factory", "cannot be loaded (AttributeError"),
        (f"{__name__}:NOT_A_FUNCTION", "which is not a function"),
    ],
)
def test_a_notifier_path_that_does_not_name_a_function_is_refused(path: str, words: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        load_notifier(Settings.from_env({"DRBOT_NOTIFIER": path}), FakeClock())
    assert f"DRBOT_NOTIFIER names `{path}`" in refused.value.message
    assert words in refused.value.message


def test_the_slack_notifier_factory_needs_a_bot_token() -> None:
    assert notifier_from_settings(Settings.from_env({}), FakeClock()) is None
    settings = Settings.from_env(
        {}, slack_bot_token=SecretStr("xoxb-1"), slack_api_url="http://127.0.0.1:9/api"
    )
    notifier = notifier_from_settings(settings, FakeClock())
    assert isinstance(notifier, SlackNotifier)
    assert notifier.client.base_url == "http://127.0.0.1:9/api/"
    assert notifier.client.token == "xoxb-1"
