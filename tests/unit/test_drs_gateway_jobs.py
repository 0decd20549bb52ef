"""How the DRS gateway turns `describe_jobs` listings into DrsJobs: a COMPLETED job never changes, so
each is parsed once per client and reused when a later listing shows it COMPLETED again; jobs still
running are parsed from every listing (orchestration/drs/gateway.py `CompletedJobs`)."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration.drs import gateway as gateway_module
from orchestration.drs.gateway import CompletedJobs, DrsGateway, DrsJob, JobServer

REGION = "us-east-1"


class ListingClient:
    """A stand-in DRS client whose `describe_jobs` pages are whatever `items` holds at the time."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.listings = 0

    def get_paginator(self, operation: str) -> ListingClient:
        assert operation == "describe_jobs"
        return self

    def paginate(self, **_: Any) -> list[dict[str, Any]]:
        self.listings += 1
        return [{"items": [dict(item) for item in self.items]}]


def job_item(job: str, status: str, servers: int, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "jobID": job,
        "type": "LAUNCH",
        "initiatedBy": "START_DRILL",
        "creationDateTime": "2026-01-01T00:00:00.000000+00:00",
        "status": status,
        "participatingServers": [
            {
                "sourceServerID": f"s-{job[-3:]}{n:03d}6789abcdef0",
                "launchStatus": "LAUNCHED" if status == "COMPLETED" else "IN_PROGRESS",
                **(
                    {"recoveryInstanceID": f"i-{job[-3:]}{n:03d}456789abcdef"}
                    if status == "COMPLETED"
                    else {}
                ),
            }
            for n in range(servers)
        ],
        "tags": {"drbot:execution": "e1"},
    }
    if status == "COMPLETED":
        item["endDateTime"] = "2026-01-01T00:05:00.000000+00:00"
    return item | extra


@pytest.fixture
def parsed_servers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The source server ids JobServer.from_api parsed, in order."""
    seen: list[str] = []
    original = JobServer.from_api.__func__  # type: ignore[attr-defined]

    def counting(cls: type[JobServer], item: dict[str, Any]) -> JobServer:
        seen.append(item["sourceServerID"])
        return original(cls, item)  # type: ignore[no-any-return]

    monkeypatch.setattr(JobServer, "from_api", classmethod(counting))
    return seen


def test_a_completed_job_is_parsed_once_across_listings_and_a_running_one_every_time(
    parsed_servers: list[str],
) -> None:
    done, running = (
        job_item("drsjob-0000000000000a001", "COMPLETED", 3),
        job_item("drsjob-0000000000000a002", "STARTED", 2),
    )
    client = ListingClient([done, running])
    gateway = DrsGateway(client, REGION)  # type: ignore[arg-type]

    first = gateway.jobs()
    assert len(parsed_servers) == 3 + 2
    second = gateway.jobs()

    assert len(parsed_servers) == 3 + 2 + 2  # the running job again, the completed one not
    assert client.listings == 2
    assert first == second == [DrsJob.from_api(done), DrsJob.from_api(running)]
    assert second[0] is first[0]
    assert second[1] is not first[1]
    # another gateway of the same client (the engine makes one per tick) finds it parsed too
    parsed_servers.clear()
    assert DrsGateway(client, REGION).jobs() == second  # type: ignore[arg-type]
    assert len(parsed_servers) == 2
    assert [job.job_id for job in gateway.active_jobs()] == [running["jobID"]]


def test_a_job_is_kept_once_it_is_completed(parsed_servers: list[str]) -> None:
    job = "drsjob-0000000000000b001"
    client = ListingClient([job_item(job, "PENDING", 4)])
    gateway = DrsGateway(client, REGION)  # type: ignore[arg-type]
    gateway.jobs()
    client.items = [job_item(job, "STARTED", 4)]
    started = gateway.jobs()
    client.items = [job_item(job, "COMPLETED", 4)]
    completed = gateway.jobs()
    again = gateway.jobs()

    assert len(parsed_servers) == 4 * 3
    assert started[0].is_active and not completed[0].is_active
    assert again[0] is completed[0]
    assert [s.launch_status for s in again[0].servers] == ["LAUNCHED"] * 4
    assert [s.recovery_instance_id for s in again[0].servers] == [
        s["recoveryInstanceID"] for s in job_item(job, "COMPLETED", 4)["participatingServers"]
    ]


def test_a_completed_job_listed_with_other_content_is_parsed_again(parsed_servers: list[str]) -> None:
    job = "drsjob-0000000000000c001"
    client = ListingClient([job_item(job, "COMPLETED", 2)])
    gateway = DrsGateway(client, REGION)  # type: ignore[arg-type]
    first = gateway.jobs()

    client.items = [job_item(job, "COMPLETED", 2, tags={"drbot:execution": "e1", "team": "payments"})]
    retagged = gateway.jobs()
    client.items = [job_item(job, "COMPLETED", 3)]
    more_servers = gateway.jobs()

    assert len(parsed_servers) == 2 + 2 + 3
    assert retagged[0] is not first[0] and retagged[0].tags["team"] == "payments"
    assert len(more_servers[0].servers) == 3


def test_each_client_has_its_own_completed_jobs() -> None:
    done = job_item("drsjob-0000000000000d001", "COMPLETED", 1)
    one, other = ListingClient([done]), ListingClient([done])

    first = DrsGateway(one, REGION).jobs()  # type: ignore[arg-type]

    assert DrsGateway(other, REGION).jobs()[0] is not first[0]  # type: ignore[arg-type]
    assert DrsGateway(one, REGION).jobs()[0] is first[0]  # type: ignore[arg-type]
    assert gateway_module.completed_jobs_of(one) is not gateway_module.completed_jobs_of(other)


def test_completed_jobs_are_bounded_least_recently_listed_first(parsed_servers: list[str]) -> None:
    jobs = CompletedJobs(max_jobs=2, max_servers=5)
    a, b, c = (job_item(f"drsjob-0000000000000e00{n}", "COMPLETED", 2) for n in range(3))
    parsed_a = jobs.job(a)
    jobs.job(b)
    assert jobs.job(a) is parsed_a  # a listed again: b is now the least recent

    jobs.job(c)  # 3 jobs: b goes

    assert len(jobs) == 2
    assert jobs.job(a) is parsed_a
    parsed_servers.clear()
    jobs.job(b)
    assert len(parsed_servers) == 2  # parsed again
    big = job_item("drsjob-0000000000000e009", "COMPLETED", 6)  # more servers than it keeps: not kept
    assert jobs.job(big) is not jobs.job(big)
