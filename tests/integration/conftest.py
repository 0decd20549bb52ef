"""Integration fixtures beyond tests/conftest.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.slack_stub import SlackStub


# -- slack: the loopback Web API stub and Services configured to use it ----------------------------

SLACK_BOT_TOKEN = "xoxb-0000-test-bot-token-never-logged"
SLACK_SIGNING_SECRET = "test-signing-secret-never-logged-8f2c"


@pytest.fixture
def slack_stub(no_network: None) -> Iterator[SlackStub]:
    """A running loopback Slack (tests/slack_stub.py); only loopback connections are allowed."""
    from tests.slack_stub import running_stub

    with running_stub() as stub:
        yield stub


@pytest.fixture
def slack_services(sqlite_services: Any, slack_stub: SlackStub) -> Any:
    """The SQLite services with Slack configured as the environment would: token, signing secret
    and SLACK_API_URL pointing at the stub."""
    from pydantic import SecretStr

    settings = dataclasses.replace(
        sqlite_services.settings,
        slack_bot_token=SecretStr(SLACK_BOT_TOKEN),
        slack_signing_secret=SecretStr(SLACK_SIGNING_SECRET),
        slack_api_url=slack_stub.api_url,
    )
    return dataclasses.replace(sqlite_services, settings=settings)


def with_roles(slack_services: Any, roles: dict[str, Any], **settings: Any) -> Any:
    """A copy of the Slack-configured services with these roles (and any other settings), driven by
    hand (ManualDriver: the test ticks the engine, as Step Functions would)."""
    from orchestration.ports import ManualDriver
    from orchestration.rbac import RoleConfig

    changed = dataclasses.replace(slack_services.settings, roles=RoleConfig.from_mapping(roles), **settings)
    services = dataclasses.replace(slack_services, settings=changed)
    services.driver = ManualDriver()
    return services


@pytest.fixture
def svc(services: Any) -> Any:
    """Services on each store with a recording notifier and a driver the test drives by hand."""
    from orchestration.ports import ManualDriver, RecordingNotifier

    services.notifier = RecordingNotifier()
    services.driver = ManualDriver()
    return services
