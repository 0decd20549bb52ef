"""The DRS gateway: boto3 `drs` calls in, drbot's own types out, botocore errors translated.

One piece, longer than most modules: every DRS call drbot makes and the one translation of
botocore's errors they share.

Nothing outside `orchestration/drs/` touches a DRS client or a botocore exception.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from orchestration.errors import (
    Conflict,
    DrbotError,
    DrsLimitExceeded,
    DrsOutcomeUnknown,
    DrsUnavailable,
    NotFound,
    ValidationFailed,
)
from orchestration.models import ExecutionType
from orchestration.observability import record_drs_api_error

if TYPE_CHECKING:
    from mypy_boto3_drs import DrsClient

# DRS `dataReplicationState` values (botocore's drs model); CONTINUOUS is healthy
DataReplicationState = Literal[
    "STOPPED",
    "INITIATING",
    "INITIAL_SYNC",
    "BACKLOG",
    "CREATING_SNAPSHOT",
    "CONTINUOUS",
    "PAUSED",
    "RESCAN",
    "STALLED",
    "DISCONNECTED",
]
HEALTHY_REPLICATION_STATE = "CONTINUOUS"
JOB_DONE_STATUS = "COMPLETED"  # DRS job status is PENDING | STARTED | COMPLETED, whatever the servers did
MAX_JOB_IDS_PER_CALL = 1000  # describe_jobs filters.jobIDs (botocore's drs model)
MAX_PAGE_SIZE = 1000  # maxResults DRS's describe_* calls accept: fewer pages for large listings
# describe_source_servers' sourceServerIDs filter and describe_recovery_instances' recoveryInstanceIDs
# filter take at most 200 ids (botocore's drs model); its sourceServerIDs filter has no modelled
# maximum, and batches of the same size keep each request reasonable
MAX_SERVER_IDS_PER_CALL = 200
# error codes that mean "not done, try again": DRS throttling and its own transient failures
_RETRYABLE_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)
_GIB = 1024**3
_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)

R = TypeVar("R")


def parse_iso_duration(text: str | None) -> int | None:
    """`PT1H2M3S` -> 3723 seconds; None for absent or unreadable durations."""
    if not text:
        return None
    match = _DURATION.match(text)
    if not match:
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return int(
        parts.get("days", 0) * 86400
        + parts.get("hours", 0) * 3600
        + parts.get("minutes", 0) * 60
        + parts.get("seconds", 0)
    )


@dataclass(frozen=True)
class SourceServer:
    """A DRS source server as drbot sees it."""

    source_server_id: str
    hostname: str
    region: str
    tags: dict[str, str] = field(default_factory=dict)
    replication_state: str = "UNKNOWN"
    lag_seconds: int | None = None
    last_launch_result: str | None = None
    recovery_instance_id: str | None = None
    cores: int = 0
    ram_gib: float = 0.0
    disk_gib: float = 0.0
    os: str = ""
    recommended_instance_type: str | None = None
    origin_account_id: str | None = None
    origin_region: str | None = None  # where an AWS-hosted source machine runs (its EC2 region)
    aws_instance_id: str | None = None  # identificationHints.awsInstanceID: the source EC2 instance
    arn: str | None = None

    @property
    def healthy(self) -> bool:
        return self.replication_state == HEALTHY_REPLICATION_STATE

    @property
    def lifecycle_state(self) -> str:
        """A one-word readiness summary (the seed contract's `lifecycleState`)."""
        if self.recovery_instance_id:
            return "LAUNCHED"
        if self.healthy:
            return "READY_FOR_LAUNCH"
        if self.replication_state in ("INITIATING", "INITIAL_SYNC", "BACKLOG", "CREATING_SNAPSHOT", "RESCAN"):
            return "SYNCING"
        return "NOT_READY"

    def matches_tags(self, selector: dict[str, str]) -> bool:
        return all(self.tags.get(key) == value for key, value in selector.items())

    @classmethod
    def from_api(cls, item: dict[str, Any], region: str) -> SourceServer:
        props = item.get("sourceProperties", {})
        hints = props.get("identificationHints", {})
        replication = item.get("dataReplicationInfo", {})
        disks = props.get("disks", [])
        return cls(
            source_server_id=item["sourceServerID"],
            hostname=hints.get("hostname") or hints.get("fqdn") or item["sourceServerID"],
            region=region,
            tags=dict(item.get("tags", {})),
            replication_state=replication.get("dataReplicationState", "UNKNOWN"),
            lag_seconds=parse_iso_duration(replication.get("lagDuration")),
            last_launch_result=item.get("lastLaunchResult"),
            recovery_instance_id=item.get("recoveryInstanceId"),
            cores=sum(int(cpu.get("cores", 0)) for cpu in props.get("cpus", [])),
            ram_gib=round(int(props.get("ramBytes", 0)) / _GIB, 1),
            disk_gib=round(sum(int(d.get("bytes", 0)) for d in disks) / _GIB, 1),
            os=props.get("os", {}).get("fullString", ""),
            recommended_instance_type=props.get("recommendedInstanceType"),
            origin_account_id=item.get("sourceCloudProperties", {}).get("originAccountID"),
            origin_region=item.get("sourceCloudProperties", {}).get("originRegion"),
            aws_instance_id=hints.get("awsInstanceID"),
            arn=item.get("arn"),
        )


@dataclass(frozen=True)
class JobServer:
    """One source server of a DRS job (`participatingServers[]`)."""

    source_server_id: str
    launch_status: str
    recovery_instance_id: str | None = None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> JobServer:
        return cls(
            source_server_id=item["sourceServerID"],
            launch_status=item.get("launchStatus", "PENDING"),
            recovery_instance_id=item.get("recoveryInstanceID"),
        )


@dataclass(frozen=True)
class DrsJob:
    """A DRS job: a launch (drill or recovery) or a termination of recovery instances."""

    job_id: str
    status: str  # PENDING | STARTED | COMPLETED
    type: str  # LAUNCH | TERMINATE | CREATE_CONVERTED_SNAPSHOT
    initiated_by: str | None = None  # START_DRILL, START_RECOVERY, TERMINATE_RECOVERY_INSTANCES, ...
    created_at: int | None = None
    ended_at: int | None = None
    servers: list[JobServer] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def is_active(self) -> bool:
        return self.status != JOB_DONE_STATUS

    @property
    def is_drill(self) -> bool | None:
        """True for a drill launch, False for a recovery launch, None for other jobs."""
        return {"START_DRILL": True, "START_RECOVERY": False}.get(self.initiated_by or "")

    @property
    def server_ids(self) -> list[str]:
        return [s.source_server_id for s in self.servers]

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> DrsJob:
        return cls(
            job_id=item["jobID"],
            status=item.get("status", "PENDING"),
            type=item.get("type", "LAUNCH"),
            initiated_by=item.get("initiatedBy"),
            created_at=parse_iso_datetime(item.get("creationDateTime")),
            ended_at=parse_iso_datetime(item.get("endDateTime")),
            servers=[JobServer.from_api(s) for s in item.get("participatingServers", [])],
            tags=dict(item.get("tags", {})),
        )


# A COMPLETED job is parsed once per client (CompletedJobs): at most this many jobs, and servers in them
COMPLETED_JOBS_KEPT = 2_000
COMPLETED_JOB_SERVERS_KEPT = 20_000


class CompletedJobs:
    """The COMPLETED jobs a DRS client listed, parsed, by job id: a finished job never changes, and the
    engine lists every job of its run on every tick, so each is parsed once rather than each time.

    A job listed again is taken from here only when it is still COMPLETED and what identifies its
    content matches (type, initiator, creation and end times, number of servers, tags); anything else
    is parsed afresh. Jobs not completed are parsed every time and not kept. Least recently listed
    jobs go first beyond `max_jobs` jobs or `max_servers` servers. Safe for threads. The DrsJobs
    returned are shared between listings: like every DrsJob, they are read, never changed."""

    def __init__(
        self, max_jobs: int = COMPLETED_JOBS_KEPT, max_servers: int = COMPLETED_JOB_SERVERS_KEPT
    ) -> None:
        self.max_jobs = max_jobs
        self.max_servers = max_servers
        self.hits = 0
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, tuple[tuple[Any, ...], DrsJob]] = OrderedDict()
        self._servers = 0

    def __len__(self) -> int:
        return len(self._jobs)

    def job(self, item: dict[str, Any]) -> DrsJob:
        """The DrsJob of a listed job (`DrsJob.from_api`), parsed once if it is COMPLETED."""
        if item.get("status") != JOB_DONE_STATUS:
            return DrsJob.from_api(item)
        job_id = item["jobID"]
        mark = _completed_mark(item)
        with self._lock:
            found = self._jobs.get(job_id)
            if found is not None and found[0] == mark:
                self._jobs.move_to_end(job_id)
                self.hits += 1
                return found[1]
        job = DrsJob.from_api(item)
        size = len(job.servers)
        if size > self.max_servers:
            return job
        with self._lock:
            replaced = self._jobs.pop(job_id, None)
            if replaced is not None:
                self._servers -= len(replaced[1].servers)
            self._jobs[job_id] = (mark, job)
            self._servers += size
            while len(self._jobs) > self.max_jobs or self._servers > self.max_servers:
                _, (_, dropped) = self._jobs.popitem(last=False)
                self._servers -= len(dropped.servers)
        return job


def _completed_mark(item: dict[str, Any]) -> tuple[Any, ...]:
    """What tells a completed job's content apart, cheaply (not every server of it)."""
    return (
        item.get("type"),
        item.get("initiatedBy"),
        item.get("creationDateTime"),
        item.get("endDateTime"),
        len(item.get("participatingServers", ())),
        dict(item.get("tags", {})),
    )


# one CompletedJobs per DRS client (a region and account), for as long as the client lives
_COMPLETED_JOB_CACHES: weakref.WeakKeyDictionary[Any, CompletedJobs] = weakref.WeakKeyDictionary()
_completed_lock = threading.Lock()


def completed_jobs_of(client: object) -> CompletedJobs:
    """The CompletedJobs of `client` (a new one, kept for no one, if it cannot be weakly referenced)."""
    with _completed_lock:
        try:
            found = _COMPLETED_JOB_CACHES.get(client)
            if found is None:
                found = _COMPLETED_JOB_CACHES[client] = CompletedJobs()
        except TypeError:
            return CompletedJobs()
    return found


@dataclass(frozen=True)
class RecoveryInstance:
    """An EC2 instance DRS launched for a source server (drill or recovery)."""

    recovery_instance_id: str
    ec2_instance_id: str | None
    source_server_id: str | None
    is_drill: bool
    job_id: str | None
    state: str | None  # EC2 state as DRS reports it: RUNNING, SHUTTING-DOWN, ...
    point_in_time: int | None  # the snapshot it was launched from (for RPO)
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> RecoveryInstance:
        return cls(
            recovery_instance_id=item["recoveryInstanceID"],
            ec2_instance_id=item.get("ec2InstanceID"),
            source_server_id=item.get("sourceServerID"),
            is_drill=bool(item.get("isDrill", False)),
            job_id=item.get("jobID"),
            state=item.get("ec2InstanceState"),
            point_in_time=parse_iso_datetime(item.get("pointInTimeSnapshotDateTime")),
            tags=dict(item.get("tags", {})),
        )


def _id_filters(key: str, ids: Sequence[str] | None) -> Iterator[dict[str, Any]]:
    """No filter for None (everything), else one filter per batch of at most 200 ids."""
    if ids is None:
        yield {}
        return
    for batch in batches(ids, MAX_SERVER_IDS_PER_CALL):
        yield {key: batch}


def batches(ids: Sequence[str], size: int) -> Iterator[list[str]]:
    """`ids` without repeats, in chunks of at most `size` (DRS's per-call limits)."""
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


def parse_iso_datetime(text: str | None) -> int | None:
    """`2026-01-01T00:00:00.000000+00:00` (or `Z`, or no zone meaning UTC) -> epoch seconds; None if
    absent or unreadable."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def is_retryable(exc: ClientError | BotoCoreError, changes_something: bool = False) -> bool:
    """Whether a failed call may simply be made again: throttling always (DRS did nothing); a
    timeout, a lost response or a 5xx only for calls that change nothing (a launch or termination
    that got no answer may have happened: the engine reconciles instead)."""
    if isinstance(exc, ParamValidationError):
        return False
    if isinstance(exc, BotoCoreError):
        return not changes_something
    if _error_code(exc) in _RETRYABLE_CODES:
        return True
    return _http_status(exc) >= 500 and not changes_something


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _http_status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def translate_client_error(
    exc: ClientError | BotoCoreError, action: str, changes_something: bool = False
) -> DrbotError:
    """A botocore failure as the domain error that says what it means to a DRS user. For a call
    that `changes_something`, a failure that leaves its outcome unknown (no answer, a 5xx) is
    DrsOutcomeUnknown."""
    code_seen = _error_code(exc) if isinstance(exc, ClientError) else ""
    record_drs_api_error(str(code_seen))
    if isinstance(exc, ParamValidationError):
        return ValidationFailed(f"DRS would not accept the request to {action}: {exc}")
    if isinstance(exc, BotoCoreError):
        if changes_something:
            return DrsOutcomeUnknown(
                f"DRS did not answer the request to {action} (it may have taken effect): {exc}"
            )
        return DrsUnavailable(f"DRS could not be reached while trying to {action}: {exc}")
    if changes_something and _http_status(exc) >= 500:
        return DrsOutcomeUnknown(
            f"DRS failed while trying to {action} (it may have taken effect): {exc}",
            drsError=_error_code(exc) or "Unknown",
        )
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    message = error.get("Message") or str(exc)
    text = f"DRS refused to {action}: {message}"
    if code == "ResourceNotFoundException":
        return NotFound(text, drsError=code)
    if code == "ConflictException":
        return Conflict(text, drsError=code)
    if code == "ServiceQuotaExceededException":
        return DrsLimitExceeded(text, drsError=code)
    if code in ("ValidationException", "UninitializedAccountException", "AccessDeniedException"):
        return ValidationFailed(text, drsError=code)
    return DrsUnavailable(text, drsError=code or "Unknown")


class DrsGateway:
    """DRS operations for one region (and account) through a boto3 client.

    `attempts` > 1 retries what may be retried (`is_retryable`) within the call, after
    `sleep(backoff)`: on AWS botocore's standard retry mode does this already (attempts=1 here); the
    simulator's clients make one attempt each, so its gateways retry here, without sleeping, as
    botocore would against DRS."""

    def __init__(
        self,
        client: DrsClient,
        region: str,
        attempts: int = 1,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._client = client
        self.region = region
        self._attempts = max(1, attempts)
        self._sleep = sleep
        # source server id -> ARN, from listings this gateway made: tagging needs the ARN, and a
        # caller that lists then tags (tag sync) should not describe every server again
        self._arns: dict[str, str] = {}
        # COMPLETED jobs this gateway's client listed, parsed: shared by the client's gateways
        self._completed = completed_jobs_of(client)

    def _call(self, action: str, fn: Callable[[], R], changes_something: bool = False) -> R:
        for attempt in range(1, self._attempts + 1):
            try:
                return fn()
            except (ClientError, BotoCoreError) as exc:
                if attempt == self._attempts or not is_retryable(exc, changes_something):
                    raise translate_client_error(exc, action, changes_something) from exc
                record_drs_api_error(_error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__)
                if self._sleep is not None:
                    self._sleep(min(20.0, 0.1 * 2**attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _all_pages(self, operation: str, action: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Every page of a read, retried whole: a listing is complete or it is an error."""
        paginator: Any = self._client.get_paginator(operation)  # type: ignore[call-overload]
        config = {"PageSize": MAX_PAGE_SIZE}
        return self._call(action, lambda: list(paginator.paginate(**kwargs, PaginationConfig=config)))

    def source_servers(self, ids: Sequence[str] | None = None) -> list[SourceServer]:
        """Every source server of the region, or just `ids` (≤200 per filtered call, as DRS allows)."""
        servers: list[SourceServer] = []
        for filters in _id_filters("sourceServerIDs", ids):
            for page in self._all_pages("describe_source_servers", "list source servers", filters=filters):
                servers.extend(SourceServer.from_api(item, self.region) for item in page.get("items", []))
        self._arns.update({s.source_server_id: s.arn for s in servers if s.arn})
        return servers

    def jobs(self, job_ids: Sequence[str] | None = None) -> list[DrsJob]:
        """Every job of the region, or just `job_ids` (≤1000 ids per paginated call, as DRS allows)."""
        if job_ids is None:
            return self._describe_jobs({})
        jobs: list[DrsJob] = []
        for batch in batches(job_ids, MAX_JOB_IDS_PER_CALL):
            jobs.extend(self._describe_jobs({"jobIDs": batch}))
        return jobs

    def _describe_jobs(self, filters: dict[str, Any]) -> list[DrsJob]:
        jobs: list[DrsJob] = []
        for page in self._all_pages("describe_jobs", "list jobs", filters=filters):
            jobs.extend(self._completed.job(item) for item in page.get("items", []))
        return jobs

    def active_jobs(self) -> list[DrsJob]:
        """Jobs not COMPLETED yet: they hold their servers and count against the job quotas."""
        return [job for job in self.jobs() if job.is_active]

    def recovery_instances(self, source_server_ids: Sequence[str] | None = None) -> list[RecoveryInstance]:
        """Every recovery instance of the region, or those of `source_server_ids`."""
        if source_server_ids is None:
            return self._describe_recovery_instances({})
        instances: list[RecoveryInstance] = []
        for batch in batches(source_server_ids, MAX_SERVER_IDS_PER_CALL):
            instances.extend(self._describe_recovery_instances({"sourceServerIDs": batch}))
        return instances

    def _describe_recovery_instances(self, filters: dict[str, Any]) -> list[RecoveryInstance]:
        instances: list[RecoveryInstance] = []
        for page in self._all_pages(
            "describe_recovery_instances", "list recovery instances", filters=filters
        ):
            instances.extend(RecoveryInstance.from_api(item) for item in page.get("items", []))
        return instances

    def recovery_instances_of(
        self, source_server_ids: Sequence[str]
    ) -> tuple[list[RecoveryInstance], DrbotError | None]:
        """The recovery instances of these servers, batch by batch (200 ids per call, every page),
        with the first error met: what the batches that answered returned is kept, so a caller can act
        on it, but with an error the list is not the whole truth."""
        instances: list[RecoveryInstance] = []
        error: DrbotError | None = None
        for batch in batches(source_server_ids, MAX_SERVER_IDS_PER_CALL):
            try:
                instances.extend(self._describe_recovery_instances({"sourceServerIDs": batch}))
            except DrbotError as exc:
                error = error or exc
        return instances, error

    def tag_source_server(self, server_id: str, tags: dict[str, str]) -> None:
        """Add or overwrite these tags on a source server (other tags stay as they are)."""
        if not tags:
            return
        arn = self._arns.get(server_id)
        if arn is None:
            found = self.source_servers([server_id])
            if not found or not found[0].arn:
                raise NotFound(
                    f"No DRS source server {server_id} in {self.region}",
                    resourceType="sourceServer",
                    resourceId=server_id,
                )
            arn = found[0].arn
        self._call(
            f"tag source server {server_id}",
            lambda: self._client.tag_resource(resourceArn=arn, tags=tags),
        )

    # -- launching and terminating (the engine's actions) ----------------------------------------

    def start_recovery(self, server_ids: Sequence[str], is_drill: bool, tags: dict[str, str]) -> DrsJob:
        """One DRS job launching `server_ids` (a drill or a real recovery), tagged so that it can be
        found again if the caller crashes before recording its id."""
        kind = (ExecutionType.DRILL if is_drill else ExecutionType.RECOVERY).word
        response = self._call(
            f"start a {kind} of {len(server_ids)} server(s)",
            lambda: self._client.start_recovery(
                sourceServers=[{"sourceServerID": sid} for sid in server_ids], isDrill=is_drill, tags=tags
            ),
            changes_something=True,
        )
        return DrsJob.from_api(dict(response["job"]))

    def jobs_since(self, since: int) -> list[DrsJob]:
        """Jobs created at or after `since` (epoch seconds), via describe_jobs' fromDate filter."""
        from_date = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self._describe_jobs({"fromDate": from_date})

    def terminate_recovery_instances(self, recovery_instance_ids: Sequence[str]) -> list[DrsJob]:
        """Terminate recovery instances (≤200 per call, as DRS allows); the TERMINATE jobs."""
        jobs: list[DrsJob] = []
        for batch in batches(recovery_instance_ids, MAX_SERVER_IDS_PER_CALL):
            response = self._call(
                f"terminate {len(batch)} recovery instance(s)",
                lambda batch=batch: self._client.terminate_recovery_instances(recoveryInstanceIDs=batch),  # type: ignore[misc]
                changes_something=True,
            )
            jobs.append(DrsJob.from_api(dict(response["job"])))
        return jobs

    def recovery_instances_by_id(self, recovery_instance_ids: Sequence[str]) -> list[RecoveryInstance]:
        """The recovery instances among `recovery_instance_ids` that still exist (200 ids per call)."""
        instances: list[RecoveryInstance] = []
        for batch in batches(recovery_instance_ids, MAX_SERVER_IDS_PER_CALL):
            instances.extend(self._describe_recovery_instances({"recoveryInstanceIDs": batch}))
        return instances
