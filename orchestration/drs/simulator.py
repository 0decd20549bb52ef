"""The DRS simulator: a real boto3 `drs` client answered in-process (docs/simulator.md).

One piece, longer than most modules: the simulator's public face (clients, fault switches, events,
truth for tests) over one store and one lock.

    sim = DrsSimulator(db_path="drbot.db", clock=FakeClock(), launch_seconds=20)
    drs = sim.client("us-east-1")                 # a genuine botocore client; no network, no AWS
    job = drs.start_recovery(sourceServers=[{"sourceServerID": sid}], isDrill=True)["job"]

The simulator hooks the client's `before-send.drs` event (as moto does), so botocore serializes
every request and parses every answer exactly as it would for AWS. State lives in SQLite tables
prefixed `sim_` (in memory, or in drbot's own database file); time comes only from the clock.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import boto3
import botocore.session
from botocore import xform_name
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError
from botocore.loaders import create_loader
from botocore.model import ServiceModel

from orchestration.clock import Clock, SystemClock
from orchestration.config import Settings
from orchestration.drs.inventory import Inventory, load_inventory
from orchestration.drs.sim import AWS_SERVICES
from orchestration.drs.sim import faults as sim_faults
from orchestration.drs.sim.api import SimApiError
from orchestration.drs.sim.aws_api import AwsCall, call_aws
from orchestration.drs.sim.aws_state import IAM_REGION, INSTANCE, load_aws, tag_dict, tag_list
from orchestration.drs.sim.aws_wire import (
    AwsQueryError,
    parse_query_request,
    render_query_error,
    render_query_response,
    xml_response,
)
from orchestration.drs.sim.context import Scope, SimLimits, SimTiming
from orchestration.drs.sim.events import Delivery, EventFaults, deliveries, job_events
from orchestration.drs.sim.faults import SimFaults, set_throttle_rate
from orchestration.drs.sim.format import arn, source_server_id
from orchestration.drs.sim.http import error_response, parse_request, success_response
from orchestration.drs.sim.launches import settle
from orchestration.drs.sim.operations import SimService
from orchestration.drs.sim.queries import instances_shutting_down
from orchestration.drs.sim.render import origin_instance_id
from orchestration.drs.sim.replication import NOT_REPLICATING
from orchestration.drs.sim.store import SimStore, SimTx, SourceServerRow
from orchestration.errors import ValidationFailed

if TYPE_CHECKING:
    from mypy_boto3_drs import DrsClient

# botocore's service-model loader, shared by every simulator's session: it keeps the models it parsed,
# so a client costs about 10 ms instead of the 130 ms of a session parsing them again
_LOADER = create_loader()

__all__ = ["DrsSimulator", "SimFaults", "SimLimits", "simulator_from_settings"]

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT_ID = "111122223333"
_LOADED = "inventory_loaded_at"
_AWS_LOADED = "aws_loaded_at"
# the simulator never reaches a network, but if a request ever escaped it must not reach AWS
_ENDPOINT = "https://drs.{region}.simulator.invalid"
_AWS_ENDPOINT = "https://{service}.{region}.simulator.invalid"
_CLIENT_CONFIG = Config(retries={"total_max_attempts": 1}, user_agent_extra="drbot-drs-simulator")


class DrsSimulator:
    """AWS Elastic Disaster Recovery, simulated for one or more accounts and regions."""

    def __init__(  # noqa: PLR0917 - the signature drbot's composition root and tests share
        self,
        db_path: Path | str | None = None,
        clock: Clock | None = None,
        inventory: Inventory | None = None,
        launch_seconds: float = 20.0,
        account_id: str = DEFAULT_ACCOUNT_ID,
        limits: SimLimits | None = None,
    ) -> None:
        if launch_seconds < 0:
            raise ValueError("launch_seconds cannot be negative")
        self.account_id = account_id
        self.clock: Clock = clock or SystemClock()
        self.limits = limits or SimLimits()
        self.timing = SimTiming.from_launch_seconds(launch_seconds)
        if inventory is not None:
            _check_source_server_quota(inventory, account_id, self.limits)
        self._inventory = inventory
        self._store = SimStore(db_path)
        self._service = SimService(self.clock, self.limits, self.timing)
        self._ready = False
        self._lock = threading.Lock()
        self._boto_session: boto3.session.Session | None = None
        self._service_model: ServiceModel | None = None

    # clients ------------------------------------------------------------------------------------
    def client(self, region: str = "us-east-1", account_id: str | None = None) -> DrsClient:
        """A boto3 `drs` client of `account_id` (default: the simulator's) in `region`, answered here."""
        with self._lock:
            client = self._session().client(
                "drs", region_name=region, endpoint_url=_ENDPOINT.format(region=region), config=_CLIENT_CONFIG
            )
        self.attach(client, account_id)
        return client

    def aws_client(self, service: str, region: str = "us-east-1", account_id: str | None = None) -> Any:
        """A boto3 `ec2`, `iam` or `sts` client of `account_id` in `region`, answered by the simulated
        EC2 estate (the operations drbot calls; docs/simulator.md)."""
        if service not in AWS_SERVICES:
            raise ValueError(f"the simulator answers {', '.join(AWS_SERVICES)} clients, not {service}")
        with self._lock:
            client = self._session().client(
                service,  # type: ignore[call-overload]
                region_name=region,
                endpoint_url=_AWS_ENDPOINT.format(service=service, region=region),
                config=_CLIENT_CONFIG,
            )
        account = account_id or self.account_id
        scope_region = IAM_REGION if service == "iam" else region
        service_model = client.meta.service_model

        def answer(request: AWSPreparedRequest, event_name: str, **_: Any) -> Any:
            return self._answer_aws(account, scope_region, service_model, request, event_name)

        client.meta.events.register(
            f"before-send.{service}", answer, unique_id=f"drbot-aws-simulator-{id(self)}"
        )
        return client

    def _session(self) -> boto3.session.Session:
        """The simulator's boto3 session (call with the lock held)."""
        if self._boto_session is None:
            # fake credentials, and no profile from the environment that could be missing or real
            core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
            core.register_component("data_loader", _LOADER)
            self._boto_session = boto3.session.Session(
                botocore_session=core,
                aws_access_key_id="ASIASIMULATEDDRS0000",
                aws_secret_access_key="simulated",
            )
        return self._boto_session

    def attach(self, client: DrsClient | BaseClient, account_id: str | None = None) -> None:
        """Answer this existing botocore/boto3 `drs` client from the simulator instead of AWS."""
        meta = client.meta
        if meta.service_model.service_name != "drs":
            raise ValueError(
                f"the DRS simulator only answers drs clients, not {meta.service_model.service_name}"
            )
        scope = Scope(account_id or self.account_id, meta.region_name)
        service_model = meta.service_model

        # returns the AWSResponse (botocore-stubs type event handlers as returning None)
        def answer(request: AWSPreparedRequest, event_name: str, **_: Any) -> Any:
            return self._answer(scope, service_model, request, event_name)

        meta.events.register("before-send.drs", answer, unique_id=f"drbot-drs-simulator-{id(self)}")

    def _answer(
        self, scope: Scope, service_model: ServiceModel, request: AWSPreparedRequest, event_name: str
    ) -> AWSResponse:
        operation = service_model.operation_model(event_name.rsplit(".", 1)[-1])
        request_id = str(uuid.uuid4())
        try:
            params = parse_request(operation, request)
            with self._transaction() as tx:
                try:
                    output = self._service.call(tx, scope, operation.name, params)
                except SimApiError as error:
                    # caught inside the transaction: a throttled call still used up its throttle
                    return error_response(service_model, request, error, request_id)
                lost = sim_faults.consume_lost_response(tx, operation.name)
            if not lost:
                return success_response(operation, request, output, request_id)
        except SimApiError as error:
            return error_response(service_model, request, error, request_id)
        except Exception as exc:
            # a simulator bug surfaces as DRS would surface one: a 500 the caller can see and retry
            log.exception("DRS simulator failed on %s", operation.name)
            return error_response(
                service_model,
                request,
                SimApiError("InternalServerException", f"simulator error: {exc}"),
                request_id,
            )
        # the call took effect (committed above), but its answer never reaches the caller
        log.debug("DRS simulator lost the answer of %s (lose_responses)", operation.name)
        raise ReadTimeoutError(endpoint_url=request.url)

    def _answer_aws(
        self,
        account_id: str,
        region: str,
        service_model: ServiceModel,
        request: AWSPreparedRequest,
        event_name: str,
    ) -> AWSResponse:
        operation = service_model.operation_model(event_name.rsplit(".", 1)[-1])
        request_id = str(uuid.uuid4())
        try:
            params = parse_query_request(operation, request)
            with self._transaction() as tx:
                output = call_aws(
                    AwsCall(tx, account_id, region), service_model.service_name, operation.name, params
                )
            body = render_query_response(operation, output, request_id)
            return xml_response(request, 200, body, request_id)
        except AwsQueryError as error:
            body = render_query_error(service_model, error, request_id)
            return xml_response(request, error.status, body, request_id)
        except Exception as exc:
            log.exception("AWS simulator failed on %s", operation.name)
            failure = AwsQueryError("InternalError", f"simulator error: {exc}", 500)
            return xml_response(
                request, 500, render_query_error(service_model, failure, request_id), request_id
            )

    # fault switches -----------------------------------------------------------------------------
    def throttle_next(self, count: int, operations: Iterable[str] | None = None) -> None:
        """Refuse the next `count` calls (of each of `operations`, or of any) with ThrottlingException."""
        if count < 0:
            raise ValueError("count cannot be negative")
        targets = [self._operation_name(op) for op in operations] if operations else [sim_faults.ANY]
        with self._transaction() as tx:
            for target in targets:
                if count == 0:
                    tx.delete_fault(sim_faults.THROTTLE_NEXT, target)
                else:
                    tx.put_fault(sim_faults.THROTTLE_NEXT, target, str(count))

    def set_throttle(self, rate: float, seed: int = 0) -> None:
        """Throttle this share of calls (0 stops it); which calls is fixed by `seed`, so runs repeat."""
        if not 0 <= rate <= 1:
            raise ValueError("rate is a share of calls between 0 and 1")
        with self._transaction() as tx:
            set_throttle_rate(tx, rate, seed)

    def lose_responses(self, rate: float, operations: Iterable[str] | None = None, seed: int = 0) -> None:
        """This share of successful calls (of `operations`, or of any) takes effect in DRS but the caller
        gets botocore's ReadTimeoutError; which calls is fixed by `seed`, so runs repeat (0 stops it)."""
        if not 0 <= rate <= 1:
            raise ValueError("rate is a share of calls between 0 and 1")
        names = [self._operation_name(op) for op in operations] if operations else None
        with self._transaction() as tx:
            sim_faults.set_lost_response_rate(tx, rate, names, seed)

    def fail_servers(self, servers: Iterable[str]) -> list[str]:
        """Launches of these servers (ids or hostnames) started from now on end FAILED; returns the ids."""
        with self._transaction() as tx:
            ids = _resolve(tx, servers)
            for sid in ids:
                tx.put_fault(sim_faults.FAIL, sid, "")
        return ids

    def stall_replication(self, servers: Iterable[str]) -> list[str]:
        """Replication of these servers stalls now: STALLED, with a lag that keeps growing."""
        now = self.clock.now()
        with self._transaction() as tx:
            ids = _resolve(tx, servers)
            stalled = SimFaults.from_rows(tx.faults()).stalled_servers
            for sid in ids:
                tx.put_fault(sim_faults.STALL, sid, repr(stalled.get(sid, now)))
        return ids

    def slow_launches(self, servers: Iterable[str] | Literal["all"], factor: float) -> list[str]:
        """Multiply the launch time of these servers (or "all") in jobs started from now on."""
        if factor <= 0:
            raise ValueError("factor must be positive")
        with self._transaction() as tx:
            ids = [sim_faults.ANY] if servers == "all" else _resolve(tx, servers)
            for target in ids:
                if factor == 1:
                    tx.delete_fault(sim_faults.SLOW, target)
                else:
                    tx.put_fault(sim_faults.SLOW, target, repr(factor))
        return ids

    def set_event_faults(self, faults: EventFaults) -> None:
        """Deliver the events DRS sends to EventBridge late, twice, out of order or not at all
        (orchestration/drs/sim/events.py); `EventFaults()` delivers each once, on time."""
        with self._transaction() as tx:
            if faults.any:
                tx.put_fault(sim_faults.EVENTS, sim_faults.ANY, faults.to_json())
            else:
                tx.delete_fault(sim_faults.EVENTS)

    def clear_faults(self) -> None:
        """Every fault switch off: no throttling, failures, stalls, slow launches or lost answers."""
        with self._transaction() as tx:
            tx.clear_faults()
            set_throttle_rate(tx, 0, 0)
            sim_faults.set_lost_response_rate(tx, 0, None, 0)

    def faults(self) -> SimFaults:
        with self._transaction() as tx:
            return SimFaults.from_rows(tx.faults())

    # events: what DRS (and EC2) send to EventBridge --------------------------------------------
    def events_due(self, since: float, until: float) -> list[dict[str, Any]]:
        """The events EventBridge delivers in (since, until], by delivery time, faults applied: a
        lost event is never due, a duplicate is due twice (orchestration/drs/sim/events.py)."""
        return [d.event for d in self._deliveries(since, until) if since < d.due_at <= until]

    def next_event_at(self, after: float) -> float | None:
        """When the next event after `after` is delivered, if any job still has one to deliver."""
        due = [d.due_at for d in self._deliveries(after, float("inf")) if d.due_at > after]
        return min(due, default=None)

    def _deliveries(self, since: float, until: float) -> list[Delivery]:
        with self._transaction() as tx:
            faults = SimFaults.from_rows(tx.faults()).events
            jobs = tx.jobs_overlapping(since - faults.latest_shift, until)
        return deliveries((pair for job in jobs for pair in job_events(job)), faults)

    # truth for tests: the simulator's own tables, not what an API call shows ---------------------
    def launch_counts(self, region: str | None = None, account_id: str | None = None) -> dict[str, int]:
        """Source server id -> how many LAUNCH jobs (drills or recoveries) included it; None: any."""
        with self._settled(self.clock.now()) as tx:
            return tx.launch_counts(account_id, region)

    def running_instances(
        self, region: str | None = None, account_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Recovery instances that exist (not terminated yet), by launch time; None: any region/account."""
        now = self.clock.now()
        with self._settled(now) as tx:
            instances = tx.all_instances(account_id, region)
            job_arns = {
                i.recovery_instance_id: arn(i.region, i.account_id, f"job/{i.job_id}") for i in instances
            }
            tags = tx.tags_of(set(job_arns.values()))
            shutting_down = instances_shutting_down(tx, now, account_id, region)
        return [
            {
                "recoveryInstanceID": i.recovery_instance_id,
                "sourceServerID": i.source_server_id,
                "jobID": i.job_id,
                "isDrill": i.is_drill,
                "tags": tags[job_arns[i.recovery_instance_id]],
                "ec2InstanceState": "SHUTTING-DOWN" if i.recovery_instance_id in shutting_down else "RUNNING",
                "region": i.region,
                "accountID": i.account_id,
            }
            for i in instances
        ]

    def jobs_by_tag(self, key: str, value: str) -> list[dict[str, Any]]:
        """Jobs of any region and account tagged `key`=`value`, oldest first."""
        now = self.clock.now()
        with self._settled(now) as tx:
            jobs = tx.jobs_tagged(key, value)
        return [
            {
                "jobID": job.job_id,
                "type": job.type,
                "status": job.status(now),
                "isDrill": job.is_drill,
                "sourceServerIDs": [s.source_server_id for s in job.servers],
                "region": job.region,
                "accountID": job.account_id,
            }
            for job in jobs
        ]

    def points_in_time(self, key: str, value: str) -> dict[str, float]:
        """Source server id -> the point in time (epoch seconds) it was recovered from, in the LAUNCH
        jobs tagged `key`=`value` where it has launched by now (a later job's launch wins)."""
        now = self.clock.now()
        with self._settled(now) as tx:
            jobs = tx.jobs_tagged(key, value)
        return {
            s.source_server_id: s.point_in_time
            for job in jobs
            if job.type == "LAUNCH"
            for s in job.servers
            if s.outcome == "LAUNCHED" and s.finish_at <= now and s.point_in_time is not None
        }

    # EC2: the origin instances of AWS-hosted source servers -------------------------------------
    def ec2_instance(
        self, hostname: str, region: str = "us-east-1", account_id: str | None = None
    ) -> dict[str, Any]:
        """The EC2 instance `hostname` (a source server in `region`) replicates, as EC2 describes it."""
        sid = self.server_id(hostname, region, account_id)
        with self._transaction() as tx:
            server = tx.server(sid)
            instance_id = origin_instance_id(server) if server is not None else None
            row = tx.ec2_resource(INSTANCE, instance_id) if instance_id else None
        if row is None:
            raise KeyError(f"source server '{hostname}' in {region} does not run on EC2")
        return row.body

    def tag_ec2_instance(
        self, instance_id: str, tags: dict[str, str], remove: Iterable[str] = ()
    ) -> dict[str, str]:
        """Set (and remove) tags of an EC2 instance, as a person would in the EC2 console; its tags."""
        with self._transaction() as tx:
            row = tx.ec2_resource(INSTANCE, instance_id)
            if row is None:
                raise KeyError(f"no EC2 instance {instance_id}")
            current = {k: v for k, v in tag_dict(row.body).items() if k not in set(remove)}
            current.update(tags)
            tx.put_ec2([replace(row, body={**row.body, "Tags": tag_list(current)})])
        return current

    # inventory ----------------------------------------------------------------------------------
    def server_id(self, hostname: str, region: str = "us-east-1", account_id: str | None = None) -> str:
        """The source server id of `hostname` in `region`."""
        account = account_id or self.account_id
        with self._transaction() as tx:
            for row in tx.servers(account, region):
                if row.hostname.lower() == hostname.lower():
                    return row.source_server_id
        raise KeyError(f"no source server '{hostname}' in {region} (account {account})")

    def reset(self, inventory: Inventory | None = None) -> None:
        """Forget every job, instance, tag and fault, and load the inventory again."""
        if inventory is not None:
            self._inventory = inventory
        with self._lock:
            self._ready = False
        with self._store.transaction() as tx:
            tx.wipe()

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> DrsSimulator:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # internals ----------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[SimTx]:
        self._ensure_loaded()
        with self._store.transaction() as tx:
            yield tx

    @contextmanager
    def _settled(self, now: float) -> Iterator[SimTx]:
        """A transaction in which work finished by `now` is stored first, as every API call does."""
        with self._transaction() as tx:
            settle(tx, now)
            yield tx

    def _ensure_loaded(self) -> None:
        with self._lock:
            if self._ready:
                return
            with self._store.transaction() as tx:
                inventory = None
                if tx.meta(_LOADED) is None:
                    inventory = self._inventory or load_inventory()
                    _load(tx, inventory, self.account_id, self.limits, self.clock.now())
                if tx.meta(_AWS_LOADED) is None:
                    # also for a database whose DRS estate was loaded before EC2 was simulated
                    inventory = inventory or self._inventory or load_inventory()
                    now = self.clock.now()
                    load_aws(tx, inventory, tx.all_servers(), self.account_id, now)
                    tx.set_meta(_AWS_LOADED, repr(now))
            self._ready = True

    def _operation_name(self, name: str) -> str:
        if self._service_model is None:
            self._service_model = botocore.session.get_session().get_service_model("drs")
        names = {xform_name(op): op for op in self._service_model.operation_names}
        resolved = names.get(name, name)
        if resolved not in self._service_model.operation_names:
            raise ValueError(f"'{name}' is not a DRS operation")
        return resolved


def simulator_from_settings(settings: Settings, clock: Clock | None = None) -> DrsSimulator:
    """The embedded default's DRS: state in settings.db_path, inventory from DRBOT_SIM_INVENTORY."""
    inventory = load_inventory(settings.sim_inventory) if settings.sim_inventory else None
    return DrsSimulator(
        db_path=settings.db_path,
        clock=clock,
        inventory=inventory,
        launch_seconds=settings.sim_launch_seconds,
    )


def _check_source_server_quota(inventory: Inventory, default_account: str, limits: SimLimits) -> None:
    per_region: dict[tuple[str, str], int] = {}
    for server in inventory.servers:
        scope = (server.account_id or default_account, server.region)
        per_region[scope] = per_region.get(scope, 0) + 1
    for (account, region), count in per_region.items():
        if count > limits.max_source_servers:
            raise ValidationFailed(
                f"simulator inventory has {count} source servers in {region} (account {account}); "
                f"DRS allows {limits.max_source_servers}"
            )


def _load(tx: SimTx, inventory: Inventory, default_account: str, limits: SimLimits, now: float) -> None:
    _check_source_server_quota(inventory, default_account, limits)
    for server in inventory.servers:
        account = server.account_id or default_account
        sid = server.source_server_id or source_server_id(account, server.region, server.hostname)
        lag = server.replication.lag_seconds
        tx.insert_server(
            SourceServerRow(
                source_server_id=sid,
                account_id=account,
                region=server.region,
                hostname=server.hostname,
                added_at=now - server.added_days_ago * 86_400,
                stalled_since=now - lag if server.replication.state in NOT_REPLICATING else None,
                spec=server,
            )
        )
        tx.add_region(account, server.region)
        if server.tags:
            tx.put_tags(arn(server.region, account, f"source-server/{sid}"), dict(server.tags))
    for region in inventory.initialized_regions:
        tx.add_region(default_account, region)
    tx.set_meta(_LOADED, repr(now))


def _resolve(tx: SimTx, servers: Iterable[str]) -> list[str]:
    """Source server ids for ids or hostnames (a hostname must be unique across regions)."""
    if isinstance(servers, str):
        servers = [servers]
    rows = tx.all_servers()
    by_id = {r.source_server_id: r for r in rows}
    by_host: dict[str, list[SourceServerRow]] = {}
    for row in rows:
        by_host.setdefault(row.hostname.lower(), []).append(row)
    ids: list[str] = []
    for name in servers:
        if name in by_id:
            ids.append(name)
            continue
        matches = by_host.get(name.lower(), [])
        if len(matches) != 1:
            where = ", ".join(f"{r.source_server_id} in {r.region}" for r in matches)
            raise ValueError(
                f"'{name}' names {len(matches)} source servers{': ' + where if where else ''}; use an id"
            )
        ids.append(matches[0].source_server_id)
    return ids
