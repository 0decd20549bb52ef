"""Where DRS gateways come from: the simulator (embedded default) or AWS, per region and account."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Protocol

from orchestration.aws import AwsSessions
from orchestration.drs.gateway import DrsGateway
from orchestration.drs.sim import AWS_SERVICES
from orchestration.errors import ValidationFailed

if TYPE_CHECKING:
    from mypy_boto3_drs import DrsClient

    from orchestration.drs.simulator import DrsSimulator


class DrsClients(Protocol):
    def gateway(self, region: str, account_id: str | None = None) -> DrsGateway: ...

    def close(self) -> None: ...


# what botocore's standard retry mode gives a DRS client on AWS (orchestration.aws.AWS_CLIENT_CONFIG)
SIMULATED_ATTEMPTS = 5


class SimulatedDrsClients:
    """Every region and account answered by one DRS simulator.

    One boto3 client per region and account, built on first use and reused (building one costs
    milliseconds). The simulator's clients make one attempt per call, so the gateways retry what may
    be retried themselves, `attempts` times, without sleeping: the simulator throttles by call, not by
    time. `attempts=1` shows the engine every throttle (the chaos tests use both)."""

    def __init__(self, simulator: DrsSimulator, attempts: int = SIMULATED_ATTEMPTS) -> None:
        self.simulator = simulator
        self.attempts = attempts
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str | None], DrsClient] = {}

    def gateway(self, region: str, account_id: str | None = None) -> DrsGateway:
        key = (region, account_id)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self.simulator.client(region, account_id)
        return DrsGateway(client, region, attempts=self.attempts)

    def aws(self) -> SimulatedAws:
        """EC2, IAM and STS answered by the same simulator (the embedded default's AwsApi)."""
        return SimulatedAws(self.simulator)

    def close(self) -> None:
        self.simulator.close()


class SimulatedAws:
    """The embedded default's EC2, IAM and STS: real boto3 clients answered by the DRS simulator's
    EC2 estate (docs/simulator.md), cached per service, region and account like AwsSessions'."""

    def __init__(self, simulator: DrsSimulator) -> None:
        self.simulator = simulator
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str, str | None], Any] = {}

    def client(self, service: str, region: str, account_id: str | None = None) -> Any:
        if service not in AWS_SERVICES:
            raise ValidationFailed(
                f"{service.upper()} needs AWS: the embedded default simulates DRS, EC2, IAM and STS only; "
                "run drbot with DRBOT_BACKEND=aws and AWS credentials.",
                service=service,
            )
        key = (service, region, account_id)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self.simulator.aws_client(service, region, account_id)
            return client


class AwsDrsClients:
    """Real DRS: the hub account's credentials, or a target account's assumed role."""

    def __init__(self, sessions: AwsSessions) -> None:
        self._sessions = sessions

    def gateway(self, region: str, account_id: str | None = None) -> DrsGateway:
        return DrsGateway(self._sessions.client("drs", region, account_id), region)

    def close(self) -> None:
        """Nothing to release: boto3 clients close with the process."""
