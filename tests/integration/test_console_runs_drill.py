"""The console as `make run` builds it: the local runner drives a drill while `/dr wait` waits,
events print as they happen (thread replies of the run's Slack message); and the seed's Example 6
polling loop, through the handlers."""

from __future__ import annotations

import io
from typing import Any

from bot.commands import build_registry
from bot.console import Console
from orchestration.bootstrap import build_running_services
from orchestration.config import Settings
from orchestration.handlers import data_management, execution, query, runtime


def running(tmp_path: Any, clock: Any) -> Any:
    return build_running_services(Settings.from_env({}, db_path=tmp_path / "drbot.db"), clock=clock)


def test_wait_returns_at_a_pause_gate_instead_of_waiting_for_ever(tmp_path, clock):
    out = io.StringIO()
    services = running(tmp_path, clock)
    waited: list[float] = []

    def let_time_pass(seconds: float) -> None:  # instead of sleeping: move the clock, tick what is due
        waited.append(seconds)
        assert len(waited) < 500, "/dr wait never returned"
        clock.advance(5)
        services.driver.run_pending()

    story = [
        '/dr group create "DB" --server db-primary-01',
        '/dr group create "Web" --tag Tier=web',
        '/dr plan create "DR" --wave "db:DB" --wave "web:Web:pause"',
        '/dr plan run "DR" --drill',
        "/dr as bob",
        "/dr click Approve",
        "/dr as alice",
        "/dr wait",
    ]
    console = Console(services, build_registry(), "alice", out, sleep=let_time_pass)
    try:
        assert console.run(story, echo=True) == 0
        [paused] = services.store.list_executions()
        assert paused.status == "PAUSED"
        after_wait = out.getvalue().split("drbot> /dr wait\n", 1)[1]
        assert "Status: ‖ PAUSED" in after_wait and "/dr resume" in after_wait
        assert console.run([f"/dr resume {paused.execution_id[:8]}", "/dr wait"], echo=True) == 0
        assert services.store.get_execution(paused.execution_id).status == "COMPLETED"
    finally:
        console.close()
        services.close()


def test_a_piped_session_runs_a_whole_drill_with_wait(tmp_path, clock):
    out = io.StringIO()
    services = running(tmp_path, clock)

    def let_time_pass(_: float) -> None:  # instead of sleeping: move the clock, tick what is due
        clock.advance(5)
        services.driver.run_pending()

    console = Console(services, build_registry(), "alice", out, sleep=let_time_pass)
    try:
        assert (
            console.run(
                [
                    '/dr group create "DB" --server db-primary-01',
                    '/dr group create "App" --tag Tier=app --tag Application=orders',
                    '/dr group create "Web" --tag Tier=web',
                    '/dr plan create "DR" --wave "db:DB" --wave "app:App:after=none" '
                    '--wave "web:Web:after=1,2"',
                ],
                echo=True,
            )
            == 0
        )
        assert console.run(['/dr plan run "DR" --drill'], echo=True) == 0
        execution_id = services.store.list_executions(limit=1)[0].execution_id
        assert console.run(["/dr wait"], echo=True) == 1  # refused: it waits for approval
        assert "waiting for approval" in out.getvalue()
        assert (
            console.run(
                ["/dr as bob", f"/dr approve {execution_id[:8]}", f"/dr wait {execution_id[:8]}"], echo=True
            )
            == 0
        )
    finally:
        console.close()
        services.close()
    text = out.getvalue()
    for line in (
        "Wave 1 (db) launching 1 server(s): db-primary-01",
        "Wave 2 (app) launching 2 server(s)",
        "Wave 3 (web) launching 3 server(s)",
        "Drill completed after",
        "Cleanup done: 6 drill instance(s) terminated",
    ):
        assert f"  │ » {line}" in text or f"  │ ✔ {line}" in text or f"  │ ~ {line}" in text, line
    assert "(also sent to the channel)" in text.split("Drill completed after", 1)[1].split("\n", 2)[1]
    assert text.index("Wave 3 (web) launching") > text.index("Wave 2 (app) completed")
    assert "Status: ✔ COMPLETED" in text


def test_seed_example_6_polls_until_completed_while_the_runner_drives(tmp_path, clock, simulator):
    services = running(tmp_path, clock)
    runtime.use(services)
    try:

        def invoke(handler: Any, operation: str, body: Any = None, query_params: Any = None) -> Any:
            payload: dict[str, Any] = {"operation": operation}
            if body:
                payload["body"] = body
            if query_params:
                payload["queryParams"] = query_params
            return handler.lambda_handler(payload, None)

        servers = invoke(query, "get_drs_source_servers", query_params={"region": "us-east-1"})
        healthy = [s["sourceServerID"] for s in servers["servers"] if s["healthy"]][:5]
        group = invoke(
            data_management,
            "create_protection_group",
            {"groupName": "Automated Protection Group", "region": "us-east-1", "sourceServerIds": healthy},
        )
        plan = invoke(
            data_management,
            "create_recovery_plan",
            {
                "planName": "Automated Recovery Plan",
                "waves": [
                    {"waveNumber": 1, "waveName": "Primary Wave", "protectionGroupId": group["groupId"]}
                ],
            },
        )
        started = invoke(
            execution,
            "execute_recovery_plan",
            {"planId": plan["planId"], "executionType": "DRILL", "initiatedBy": "automation-script"},
        )
        assert started["status"] == "PENDING"
        for _ in range(60):  # the seed polls every 30 s; here the clock moves instead of sleeping
            clock.advance(30)
            services.driver.run_pending()
            status = invoke(execution, "get_execution_details", {"executionId": started["executionId"]})
            if status["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
                break
        assert status["status"] == "COMPLETED"
        assert [w["status"] for w in status["waves"]] == ["COMPLETED"]
    finally:
        runtime.use(None)
        services.close()
