"""Where DRS gateways come from: the simulator (embedded default) or AWS, per region and account."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from orchestration.aws import AwsSessions
from orchestration.drs.gateway import DrsGateway

if TYPE_CHECKING:
    from orchestration.drs.simulator import DrsSimulator


class DrsClients(Protocol):
    def gateway(self, region: str, account_id: str | None = None) -> DrsGateway: ...

    def close(self) -> None: ...


class SimulatedDrsClients:
    """Every region and account answered by one DRS simulator."""

    def __init__(self, simulator: DrsSimulator) -> None:
        self.simulator = simulator

    def gateway(self, region: str, account_id: str | None = None) -> DrsGateway:
        return DrsGateway(self.simulator.client(region, account_id), region)

    def close(self) -> None:
        self.simulator.close()


class AwsDrsClients:
    """Real DRS: the hub account's credentials, or a target account's assumed role."""

    def __init__(self, sessions: AwsSessions) -> None:
        self._sessions = sessions

    def gateway(self, region: str, account_id: str | None = None) -> DrsGateway:
        return DrsGateway(self._sessions.client("drs", region, account_id), region)

    def close(self) -> None:
        """Nothing to release: boto3 clients close with the process."""
