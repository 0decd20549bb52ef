"""boto3 clients for AWS services other than DRS (EC2, IAM, STS), per region and account.

`AwsSessions` is the real thing: the hub account's credentials, or a registered target account's
role assumed through STS (with its external id), refreshed before it expires. The embedded default
answers them from the DRS simulator (`SimulatedAws`, orchestration/drs/clients.py; docs/simulator.md).
`NoAws` is for a drbot with neither: it answers with an error that says how to get AWS.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config
from botocore.credentials import DeferredRefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError
from botocore.session import Session as BotocoreSession

from orchestration.errors import InternalError, NotFound, PermissionDenied, ValidationFailed

if TYPE_CHECKING:
    from orchestration.store.base import Store

# botocore's standard retry mode backs off with jitter on throttling and transient errors.
AWS_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, user_agent_extra="drbot")

_ACCESS_DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess"}
)
_THROTTLED = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)


class AwsApi(Protocol):
    def client(self, service: str, region: str, account_id: str | None = None) -> Any:
        """A boto3 client for `service` in `region`, in the hub or a target account."""
        ...


@contextmanager
def calling_aws(service: str, action: str) -> Iterator[None]:
    """Translate a botocore failure of an EC2/IAM/STS call into the domain error it means."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "") or "Unknown")
        text = f"{service.upper()} refused to {action}: {error.get('Message') or exc}"
        if code in _ACCESS_DENIED:
            raise PermissionDenied(
                f"{text}. drbot's role needs permission for this call.", awsError=code
            ) from exc
        if code.endswith(".NotFound") or code in ("NoSuchEntity", "NotFoundException"):
            raise NotFound(text, awsError=code) from exc
        if code in _THROTTLED:
            raise InternalError(
                f"{text} (throttled after retries; try again shortly)", awsError=code
            ) from exc
        if code.startswith("Invalid") or code in ("ValidationError", "ValidationException"):
            raise ValidationFailed(text, awsError=code) from exc
        raise InternalError(text, awsError=code) from exc
    except BotoCoreError as exc:
        raise InternalError(f"{service.upper()} could not be reached to {action}: {exc}") from exc


class NoAws:
    """No EC2, IAM or STS: an embedded drbot whose DRS is not the simulator (so nothing simulates them)."""

    def client(self, service: str, region: str, account_id: str | None = None) -> Any:
        raise ValidationFailed(
            f"{service.upper()} queries need AWS: run drbot with DRBOT_BACKEND=aws and AWS credentials, "
            "or on the embedded default with its DRS simulator, which simulates EC2, IAM and STS too.",
            service=service,
        )


class AwsSessions:
    """Sessions per account: the hub's own, or a target account's assumed role.

    Assumed-role sessions are cached by (account id, role ARN, external id) as the store has them
    now, so updating an account's role or external id takes effect on its next client. Clients are
    cached per (service, region, account) for as long as their session is the current one: a warm
    Lambda container builds each client once, not on every call (building one costs milliseconds
    of CPU, and boto3 sessions are not safe to build clients from on several threads at once)."""

    def __init__(self, store: Store, session: boto3.session.Session | None = None) -> None:
        self._store = store
        self._session = session or boto3.session.Session()
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, str, str | None], boto3.session.Session] = {}
        self._clients: dict[tuple[str, str, str | None], tuple[boto3.session.Session, Any]] = {}

    def session(self, account_id: str | None = None) -> boto3.session.Session:
        if account_id is None:
            return self._session
        try:
            account = self._store.get_target_account(account_id)
        except NotFound as exc:
            raise NotFound(
                f"Account {account_id} is not a registered target account: add it with create_target_account "
                "(its role ARN and external id) first.",
                accountId=account_id,
            ) from exc
        key = (account_id, account.role_arn, account.external_id)
        with self._lock:
            cached = self._sessions.get(key)
        if cached is not None:
            return cached
        session = assumed_role_session(self._session, account.role_arn, account.external_id)
        with self._lock:
            # drop the account's sessions for a role it no longer has; keep one made meanwhile
            for stale in [k for k in self._sessions if k[0] == account_id and k != key]:
                del self._sessions[stale]
            return self._sessions.setdefault(key, session)

    def client(self, service: str, region: str, account_id: str | None = None) -> Any:
        session = self.session(account_id)
        key = (service, region, account_id)
        with self._lock:
            cached = self._clients.get(key)
            if cached is not None and cached[0] is session:
                return cached[1]
            client = session.client(service, region_name=region, config=AWS_CLIENT_CONFIG)  # type: ignore[call-overload]
            self._clients[key] = (session, client)
            return client


def assumed_role_session(
    base: boto3.session.Session, role_arn: str, external_id: str | None
) -> boto3.session.Session:
    """A session whose credentials refresh themselves by re-assuming the role before expiry."""
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
