"""Where DRS clients come from: the simulator (embedded default) or AWS, with cross-account roles.

A DrsClients hands out one gateway per (region, account); the AWS variant assumes the target
account's role (with its external id) through STS and reuses the session until it expires.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config

from orchestration.drs.gateway import DrsGateway
from orchestration.errors import NotFound

if TYPE_CHECKING:
    from orchestration.drs.simulator import DrsSimulator
    from orchestration.store.base import Store

# DRS throttles bursts; botocore's standard retry mode backs off with jitter on throttling.
AWS_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, user_agent_extra="drbot")


class DrsClients(Protocol):
    def gateway(self, region: str, account_id: str | None = None) -> DrsGateway: ...


class SimulatedDrsClients:
    """Every region and account answered by one DRS simulator."""

    def __init__(self, simulator: DrsSimulator) -> None:
        self.simulator = simulator

    def gateway(self, region: str, account_id: str | None = None) -> DrsGateway:
        return DrsGateway(self.simulator.client(region, account_id), region)


class AwsDrsClients:
    """Real DRS: the hub account's credentials, or a target account's assumed role."""

    def __init__(self, store: Store, session: boto3.session.Session | None = None) -> None:
        self._store = store
        self._session = session or boto3.session.Session()
        self._lock = threading.Lock()
        self._sessions: dict[str, boto3.session.Session] = {}

    def _session_for(self, account_id: str | None) -> boto3.session.Session:
        if account_id is None:
            return self._session
        with self._lock:
            cached = self._sessions.get(account_id)
        if cached is not None:
            return cached
        try:
            account = self._store.get_target_account(account_id)
        except NotFound as exc:
            raise NotFound(
                f"Account {account_id} is not a registered target account: add it with create_target_account "
                "(its role ARN and external id) first.",
                accountId=account_id,
            ) from exc
        session = _assumed_role_session(self._session, account.role_arn, account.external_id)
        with self._lock:
            self._sessions[account_id] = session
        return session

    def gateway(self, region: str, account_id: str | None = None) -> DrsGateway:
        client = self._session_for(account_id).client("drs", region_name=region, config=AWS_CLIENT_CONFIG)
        return DrsGateway(client, region)


def _assumed_role_session(
    base: boto3.session.Session, role_arn: str, external_id: str | None
) -> boto3.session.Session:
    """A session whose credentials refresh themselves by re-assuming the role before expiry."""
    from botocore.credentials import DeferredRefreshableCredentials
    from botocore.session import Session as BotocoreSession

    sts = base.client("sts", config=AWS_CLIENT_CONFIG)

    def refresh() -> dict[str, Any]:
        params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": "drbot"}
        if external_id:
            params["ExternalId"] = external_id
        creds = sts.assume_role(**params)["Credentials"]
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),
        }

    botocore_session = BotocoreSession()
    # botocore's own assume-role provider installs refreshable credentials the same way
    botocore_session._credentials = DeferredRefreshableCredentials(  # type: ignore[attr-defined]
        refresh_using=refresh, method="sts-assume-role"
    )
    return boto3.session.Session(botocore_session=botocore_session, region_name=base.region_name)
