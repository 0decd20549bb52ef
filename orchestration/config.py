"""Every environment variable drbot reads, in one place (README.md, "Configuration").

Explicit keyword arguments beat the environment; the environment beats the defaults. Secrets are
`SecretStr`, so printing or logging a Settings object never shows them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_data_dir
from pydantic import SecretStr

from orchestration.drs.limits import DrsLimits
from orchestration.errors import ValidationFailed
from orchestration.rbac import DEMO_ROLES, RoleConfig

Backend = Literal["embedded", "aws"]

# names of the seed contract, then drbot's own
ENV_PROTECTION_GROUPS_TABLE = "PROTECTION_GROUPS_TABLE"
ENV_RECOVERY_PLANS_TABLE = "RECOVERY_PLANS_TABLE"
ENV_EXECUTION_HISTORY_TABLE = "EXECUTION_HISTORY_TABLE"
ENV_TARGET_ACCOUNTS_TABLE = "TARGET_ACCOUNTS_TABLE"
ENV_TAG_SYNC_CONFIG_TABLE = "TAG_SYNC_CONFIG_TABLE"
ENV_SCHEDULES_TABLE = "DRBOT_SCHEDULES_TABLE"
ENV_AUDIT_TABLE = "DRBOT_AUDIT_TABLE"
ENV_EXECUTION_PARTS_TABLE = "DRBOT_EXECUTION_PARTS_TABLE"
ENV_STATE_MACHINE_ARN = "STEP_FUNCTIONS_STATE_MACHINE_ARN"
ENV_BACKEND = "DRBOT_BACKEND"
ENV_DB_PATH = "DRBOT_DB_PATH"
ENV_REGION = "DRBOT_REGION"
ENV_SIM_INVENTORY = "DRBOT_SIM_INVENTORY"
ENV_SIM_LAUNCH_SECONDS = "DRBOT_SIM_LAUNCH_SECONDS"
ENV_SLACK_BOT_TOKEN = "SLACK_BOT_TOKEN"
ENV_SLACK_SIGNING_SECRET = "SLACK_SIGNING_SECRET"
ENV_SLACK_APP_TOKEN = "SLACK_APP_TOKEN"
ENV_SLACK_API_URL = "SLACK_API_URL"
ENV_SLACK_SECRET_ARN = "SLACK_SECRET_ARN"  # Secrets Manager JSON: bot_token, signing_secret
ENV_ROLES = "DRBOT_ROLES"
ENV_ROLES_FILE = "DRBOT_ROLES_FILE"
ENV_APPROVAL_EXPIRY_MINUTES = "DRBOT_APPROVAL_EXPIRY_MINUTES"
ENV_REQUIRE_API_APPROVAL = "DRBOT_REQUIRE_API_APPROVAL"
ENV_DIRECT_ACTOR = "DRBOT_DIRECT_ACTOR"  # who a direct Lambda invocation acts as (IAM authorised it)
ENV_APPROVAL_CHANNEL = "DRBOT_APPROVAL_CHANNEL"  # a Slack channel id that gets a copy of every request
ENV_USERGROUP_CACHE_SECONDS = "DRBOT_USERGROUP_CACHE_SECONDS"
ENV_NOTIFIER = "DRBOT_NOTIFIER"  # `module:function`, a notifier factory (Settings, Clock) -> Notifier | None
# drill schedules: EventBridge Scheduler (AWS) and the embedded backend's missed-fire grace
ENV_SCHEDULE_GROUP = "DRBOT_SCHEDULE_GROUP"
ENV_SCHEDULER_ROLE_ARN = "DRBOT_SCHEDULER_ROLE_ARN"
ENV_SCHEDULED_DRILL_FUNCTION_ARN = "DRBOT_SCHEDULED_DRILL_FUNCTION_ARN"
ENV_SCHEDULE_DLQ_ARN = "DRBOT_SCHEDULE_DLQ_ARN"
ENV_MISSED_FIRE_GRACE_MINUTES = "DRBOT_MISSED_FIRE_GRACE_MINUTES"
# one-time wake-ups of executions (EventBridge Scheduler at() schedules on AWS; docs/engine.md)
ENV_WAKE_UP_GROUP = "DRBOT_WAKE_UP_GROUP"
ENV_WAKE_UP_FUNCTION_ARN = "DRBOT_WAKE_UP_FUNCTION_ARN"
ENV_CLEANUP_DEADLINE_MINUTES = "DRBOT_CLEANUP_DEADLINE_MINUTES"
ENV_IDEMPOTENCY_TABLE = "DRBOT_IDEMPOTENCY_TABLE"

DEFAULT_SIM_LAUNCH_SECONDS = 20.0
DEFAULT_DIRECT_ACTOR = "direct-invocation"
DEFAULT_APPROVAL_EXPIRY_MINUTES = 60
DEFAULT_USERGROUP_CACHE_SECONDS = 300
DEFAULT_SCHEDULE_GROUP = "drbot"
DEFAULT_WAKE_UP_GROUP = "drbot-wake-ups"
DEFAULT_MISSED_FIRE_GRACE_MINUTES = 60
DEFAULT_CLEANUP_DEADLINE_MINUTES = 120  # a drill's cleanup keeps looking this long, then names survivors


def default_db_path() -> Path:
    return Path(user_data_dir("drbot", appauthor=False)) / "drbot.db"


@dataclass(frozen=True)
class TableNames:
    protection_groups: str = "drbot-protection-groups"
    recovery_plans: str = "drbot-recovery-plans"
    executions: str = "drbot-execution-history"
    target_accounts: str = "drbot-target-accounts"
    tag_sync_config: str = "drbot-tag-sync-config"
    schedules: str = "drbot-schedules"
    audit: str = "drbot-audit"
    # an execution's servers and events, beside its head in `executions` (orchestration/store/parts.py)
    execution_parts: str = "drbot-execution-parts"


@dataclass(frozen=True)
class Settings:
    backend: Backend = "embedded"
    db_path: Path = field(default_factory=default_db_path)
    region: str = "us-east-1"
    tables: TableNames = field(default_factory=TableNames)
    state_machine_arn: str | None = None
    sim_inventory: Path | None = None
    sim_launch_seconds: float = DEFAULT_SIM_LAUNCH_SECONDS
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str | None = None
    slack_secret_arn: str | None = None  # on AWS the Slack secrets live here (bot/slack_secrets.py)
    drs_limits: DrsLimits = field(default_factory=DrsLimits)
    roles: RoleConfig = field(default_factory=RoleConfig)
    approval_expiry_minutes: int = DEFAULT_APPROVAL_EXPIRY_MINUTES  # an unapproved run request expires
    require_api_approval: bool = False  # direct/REST execute_recovery_plan waits for approvers too
    direct_actor: str = DEFAULT_DIRECT_ACTOR  # the principal of every direct invocation (docs/api.md)
    approval_channel: str | None = None  # Slack channel id that gets a copy of every approval request
    usergroup_cache_seconds: float = DEFAULT_USERGROUP_CACHE_SECONDS  # Slack user-group members cached
    notifier: str | None = None  # dotted path of the notifier factory the Lambda runtime loads
    schedule_group: str = DEFAULT_SCHEDULE_GROUP  # EventBridge Scheduler group of drbot's schedules
    scheduler_role_arn: str | None = None  # the role EventBridge Scheduler assumes to invoke the target
    scheduled_drill_function_arn: str | None = None  # the target: scheduler.handler.lambda_handler
    schedule_dlq_arn: str | None = None  # SQS queue for fires EventBridge Scheduler could not deliver
    wake_up_group: str = DEFAULT_WAKE_UP_GROUP  # EventBridge Scheduler group of executions' wake-ups
    wake_up_function_arn: str | None = None  # what a wake-up invokes (the execution function); None: none
    missed_fire_grace_minutes: int = DEFAULT_MISSED_FIRE_GRACE_MINUTES  # embedded: a late fire still runs
    idempotency_table: str | None = None  # powertools idempotency records of the scheduled-drill function
    cleanup_deadline_minutes: int = DEFAULT_CLEANUP_DEADLINE_MINUTES  # then a drill's cleanup gives up

    @property
    def data_dir(self) -> Path | None:
        """The folder the embedded database lives in (files drbot keeps go beside it); None for an
        in-memory database."""
        return None if str(self.db_path) == ":memory:" else self.db_path.parent

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read the environment (default `os.environ`); keyword arguments win over it."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name)
            return value if value not in (None, "") else None

        backend = get(ENV_BACKEND) or "embedded"
        if backend not in ("embedded", "aws"):
            raise ValidationFailed(f"{ENV_BACKEND} must be 'embedded' or 'aws', not '{backend}'")
        defaults = TableNames()
        tables = TableNames(
            protection_groups=get(ENV_PROTECTION_GROUPS_TABLE) or defaults.protection_groups,
            recovery_plans=get(ENV_RECOVERY_PLANS_TABLE) or defaults.recovery_plans,
            executions=get(ENV_EXECUTION_HISTORY_TABLE) or defaults.executions,
            target_accounts=get(ENV_TARGET_ACCOUNTS_TABLE) or defaults.target_accounts,
            tag_sync_config=get(ENV_TAG_SYNC_CONFIG_TABLE) or defaults.tag_sync_config,
            schedules=get(ENV_SCHEDULES_TABLE) or defaults.schedules,
            audit=get(ENV_AUDIT_TABLE) or defaults.audit,
            execution_parts=get(ENV_EXECUTION_PARTS_TABLE) or defaults.execution_parts,
        )
        launch = get(ENV_SIM_LAUNCH_SECONDS)
        try:
            launch_seconds = float(launch) if launch else DEFAULT_SIM_LAUNCH_SECONDS
        except ValueError as exc:
            raise ValidationFailed(
                f"{ENV_SIM_LAUNCH_SECONDS} must be a number of seconds, not '{launch}'"
            ) from exc
        if launch_seconds < 0:
            raise ValidationFailed(f"{ENV_SIM_LAUNCH_SECONDS} cannot be negative")

        def secret(name: str) -> SecretStr | None:
            value = get(name)
            return SecretStr(value) if value else None

        roles_inline, roles_file = get(ENV_ROLES), get(ENV_ROLES_FILE)
        if roles_inline and roles_file:
            raise ValidationFailed(f"Set {ENV_ROLES} or {ENV_ROLES_FILE}, not both")
        if roles_inline:
            roles = RoleConfig.from_json(roles_inline)
        elif roles_file:
            roles = RoleConfig.from_file(Path(roles_file).expanduser())
        elif (overrides.get("backend") or backend) == "embedded":
            roles = DEMO_ROLES  # alice requests, bob and carol approve: the story works out of the box
        else:
            roles = RoleConfig()

        expiry = get(ENV_APPROVAL_EXPIRY_MINUTES)
        if expiry is not None and (not expiry.isdigit() or int(expiry) < 1):
            raise ValidationFailed(
                f"{ENV_APPROVAL_EXPIRY_MINUTES} must be a whole number of minutes, at least 1, not '{expiry}'"
            )
        api_approval = (get(ENV_REQUIRE_API_APPROVAL) or "false").lower()
        if api_approval not in ("true", "false", "1", "0", "yes", "no"):
            raise ValidationFailed(f"{ENV_REQUIRE_API_APPROVAL} must be true or false, not '{api_approval}'")

        grace = get(ENV_MISSED_FIRE_GRACE_MINUTES)
        if grace is not None and not grace.isdigit():
            raise ValidationFailed(
                f"{ENV_MISSED_FIRE_GRACE_MINUTES} must be a whole number of minutes (0: never run late), "
                f"not '{grace}'"
            )

        deadline = get(ENV_CLEANUP_DEADLINE_MINUTES)
        if deadline is not None and (not deadline.isascii() or not deadline.isdigit() or int(deadline) < 1):
            raise ValidationFailed(
                f"{ENV_CLEANUP_DEADLINE_MINUTES} must be a whole number of minutes, at least 1, "
                f"not '{deadline}'"
            )

        inventory = get(ENV_SIM_INVENTORY)
        db_path = get(ENV_DB_PATH)
        settings = cls(
            backend=backend,  # type: ignore[arg-type]  # checked above
            db_path=Path(db_path).expanduser() if db_path else default_db_path(),
            region=get(ENV_REGION) or get("AWS_REGION") or get("AWS_DEFAULT_REGION") or "us-east-1",
            tables=tables,
            state_machine_arn=get(ENV_STATE_MACHINE_ARN),
            sim_inventory=Path(inventory).expanduser() if inventory else None,
            sim_launch_seconds=launch_seconds,
            slack_bot_token=secret(ENV_SLACK_BOT_TOKEN),
            slack_signing_secret=secret(ENV_SLACK_SIGNING_SECRET),
            slack_app_token=secret(ENV_SLACK_APP_TOKEN),
            slack_api_url=get(ENV_SLACK_API_URL),
            slack_secret_arn=get(ENV_SLACK_SECRET_ARN),
            roles=roles,
            approval_expiry_minutes=int(expiry) if expiry else DEFAULT_APPROVAL_EXPIRY_MINUTES,
            require_api_approval=api_approval in ("true", "1", "yes"),
            direct_actor=_principal(ENV_DIRECT_ACTOR, get(ENV_DIRECT_ACTOR) or DEFAULT_DIRECT_ACTOR),
            approval_channel=get(ENV_APPROVAL_CHANNEL),
            usergroup_cache_seconds=_whole_seconds(
                ENV_USERGROUP_CACHE_SECONDS, get(ENV_USERGROUP_CACHE_SECONDS), DEFAULT_USERGROUP_CACHE_SECONDS
            ),
            notifier=_function_path(ENV_NOTIFIER, get(ENV_NOTIFIER)),
            schedule_group=get(ENV_SCHEDULE_GROUP) or DEFAULT_SCHEDULE_GROUP,
            scheduler_role_arn=get(ENV_SCHEDULER_ROLE_ARN),
            scheduled_drill_function_arn=get(ENV_SCHEDULED_DRILL_FUNCTION_ARN),
            schedule_dlq_arn=get(ENV_SCHEDULE_DLQ_ARN),
            wake_up_group=get(ENV_WAKE_UP_GROUP) or DEFAULT_WAKE_UP_GROUP,
            wake_up_function_arn=get(ENV_WAKE_UP_FUNCTION_ARN),
            missed_fire_grace_minutes=int(grace) if grace else DEFAULT_MISSED_FIRE_GRACE_MINUTES,
            idempotency_table=get(ENV_IDEMPOTENCY_TABLE),
            cleanup_deadline_minutes=int(deadline) if deadline else DEFAULT_CLEANUP_DEADLINE_MINUTES,
        )
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        return replace(settings, **overrides)


def _principal(name: str, value: str) -> str:
    """A principal's name as the role configuration lists it: at most 256 characters, unpadded."""
    if len(value) > 256 or value != value.strip():
        raise ValidationFailed(f"{name} must be a name of at most 256 characters with no surrounding spaces")
    return value


def _whole_seconds(name: str, value: str | None, default: int) -> int:
    if value is None:
        return default
    if not value.isdigit():
        raise ValidationFailed(f"{name} must be a whole number of seconds, not '{value}'")
    return int(value)


def _function_path(name: str, value: str | None) -> str | None:
    """A `module:function` path (resolved where it is used, with pkgutil.resolve_name)."""
    if value is not None and ":" not in value:
        raise ValidationFailed(
            f"{name} must name a function as `module:function`, e.g. "
            f"`bot.slack_notifier:notifier_from_settings`, not '{value}'"
        )
    return value
