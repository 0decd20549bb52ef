"""The execution views: pure builders over hand-made executions, valid Block Kit, readable as text."""

from __future__ import annotations

import re

from bot.views.executions import (
    action_buttons,
    build_approval_request,
    build_execution_summary,
    build_executions_list,
    build_outcome,
    build_started,
)
from bot.views.ids import ActionId, BlockId
from bot.views.text import render_message
from orchestration.clock import duration_text
from orchestration.models import (
    Approval,
    CleanupRun,
    CleanupStatus,
    EventType,
    Execution,
    ExecutionStatus,
    ExecutionType,
    LaunchStatus,
    ServerRun,
    WaveRun,
    WaveStatus,
)
from orchestration.services.execution_control import ApprovalOutcome, Outcome

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
EXECUTION_ID = "3f2a9c1b-0000-4000-8000-000000000000"


def server(n: int, status: LaunchStatus = LaunchStatus.PENDING) -> ServerRun:
    return ServerRun(source_server_id=f"s-{n:017d}", hostname=f"host-{n}", launch_status=status)


def request(status: ExecutionStatus = ExecutionStatus.PENDING_APPROVAL, **update: object) -> Execution:
    execution = Execution(
        execution_id=EXECUTION_ID,
        plan_id="p-1",
        plan_name="Prod DR",
        execution_type=ExecutionType.RECOVERY,
        status=status,
        initiated_by="alice",
        reason="region outage <INC-1>",
        requested_at=T0,
        expires_at=T0 + 3600,
        required_approvals=2,
        approvals=[Approval(user_id="bob", at=T0 + 60)],
        waves=[
            WaveRun(wave_number=1, wave_name="Database", depends_on_waves=[]),
            WaveRun(wave_number=2, wave_name="Web", depends_on_waves=[1], pause_before=True),
        ],
    ).with_event(
        EventType.REQUESTED,
        T0,
        "alice requested a recovery",
        actor="alice",
        warnings=[{"severity": "warning", "code": "REPLICATION_UNHEALTHY", "message": "host-7 is STALLED"}],
    )
    return execution.model_copy(update=update)


def running(now: int = T0 + 400) -> Execution:
    database = WaveRun(
        wave_number=1,
        wave_name="Database",
        status=WaveStatus.COMPLETED,
        job_id="drsjob-1",
        start_time=T0 + 100,
        end_time=T0 + 250,
        servers=[server(1, LaunchStatus.LAUNCHED), server(2, LaunchStatus.LAUNCHED)],
    )
    web = WaveRun(
        wave_number=2,
        wave_name="Web",
        status=WaveStatus.STARTED,
        job_id="drsjob-2",
        start_time=T0 + 250,
        depends_on_waves=[1],
        servers=[server(3, LaunchStatus.LAUNCHED), server(4, LaunchStatus.IN_PROGRESS), server(5)],
    )
    return request(
        ExecutionStatus.RUNNING,
        start_time=T0 + 100,
        approvals=[Approval(user_id="bob", at=T0 + 60), Approval(user_id="carol", at=T0 + 100)],
        waves=[database, web],
    )


def text_of(message) -> str:
    message.to_slack()  # Block Kit limits hold
    return render_message(message)


def test_approval_request_shows_who_asks_what_and_the_buttons():
    execution = request()
    message = build_approval_request(execution, now=T0 + 600)
    text = text_of(message)
    assert message.response_type == "in_channel"
    assert "Recovery: Prod DR" in text
    assert "alice asks to run a recovery of Prod DR" in text and "two different approvers" in text
    assert "Requested by: alice 2026-01-01 00:00:00 UTC" in text
    assert "Reason: region outage <INC-1>" in text  # escaped for Slack, readable in the console
    assert "Approvals: 1/2 (bob) · expires 2026-01-01 01:00:00 UTC (in 50m 00s)" in text
    assert "REPLICATION_UNHEALTHY host-7 is STALLED" in text
    assert re.search(r"2\s+Web\s+PENDING \(gate\)\s+-\s+-", text)
    assert "[Approve]   [Reject]" in text
    [actions] = [b for b in message.block_dicts() if b["type"] == "actions"]
    assert actions["block_id"] == BlockId.EXECUTION_ACTIONS.value
    assert [(e["action_id"], e["value"], e.get("style")) for e in actions["elements"]] == [
        (ActionId.APPROVE.value, EXECUTION_ID, "primary"),
        (ActionId.REJECT.value, EXECUTION_ID, None),
    ]
    slack = message.to_slack()
    assert "&lt;INC-1&gt;" in str(slack["blocks"])  # user text cannot inject mrkdwn links


def test_running_summary_counts_servers_and_elapsed_time():
    message = build_execution_summary(running(), now=T0 + 400)
    text = text_of(message)
    assert "Status: ▶ RUNNING" in text
    assert "Approvals: 2/2 (bob, carol)" in text and "expires" not in text
    assert re.search(r"1\s+Database\s+COMPLETED\s+2/2\s+2m 30s", text)
    assert re.search(r"2\s+Web\s+STARTED\s+1/3\s+2m 30s", text)
    assert "Result" not in text
    assert [a for a, _ in _buttons(message)] == [ActionId.PAUSE.value, ActionId.CANCEL.value]
    assert message.text == "Recovery of Prod DR: RUNNING · 1/2 waves · 3/5 servers launched"
    # pure: the same input gives the same message
    assert build_execution_summary(running(), now=T0 + 400) == message


def test_final_result_with_durations_failures_and_cleanup():
    execution = running()
    web = execution.waves[1].model_copy(
        update={"status": WaveStatus.FAILED, "end_time": T0 + 500, "error": "1 of 3 server(s) did not launch"}
    )
    ended = execution.replace_wave(web).model_copy(
        update={
            "status": ExecutionStatus.FAILED,
            "end_time": T0 + 500,
            "status_reason": "Failed: wave 2 (Web) failed",
            "execution_type": ExecutionType.DRILL,
            "cleanup": CleanupRun(
                status=CleanupStatus.COMPLETED, due_at=T0 + 500, recovery_instance_ids=["a", "b"]
            ),
        }
    )
    text = text_of(build_execution_summary(ended, now=T0 + 9999))
    assert "Drill: Prod DR" in text
    assert "Status: ✘ FAILED — Failed: wave 2 (Web) failed" in text
    assert "Result: ✘ FAILED after 6m 40s: 3 of 5 server(s) launched, 1 of 2 wave(s) completed" in text
    assert "Started 2026-01-01 00:01:40 UTC · ended 2026-01-01 00:08:20 UTC" in text
    assert "• Wave 2 (Web): 1 of 3 server(s) did not launch" in text
    assert "Cleanup: 2 drill instances terminated" in text
    assert re.search(r"2\s+Web\s+FAILED\s+1/3\s+4m 10s", text)  # elapsed stops at the wave's end
    assert _buttons(build_execution_summary(ended, now=T0)) == []


def test_rejected_and_expired_requests_launched_nothing():
    rejected = request(ExecutionStatus.REJECTED, status_reason="Rejected by bob: freeze", end_time=T0 + 60)
    text = text_of(build_execution_summary(rejected, now=T0 + 60))
    assert "Result: ✘ REJECTED — nothing was launched" in text
    assert "Status: ✘ REJECTED — Rejected by bob: freeze" in text


def test_buttons_follow_the_status():
    assert [b.action_id for b in action_buttons(request(ExecutionStatus.PAUSED)).elements] == [
        ActionId.RESUME.value,
        ActionId.CANCEL.value,
    ]
    [cancel] = action_buttons(request(ExecutionStatus.PENDING)).elements
    assert cancel.confirm is not None and cancel.style == "danger"
    assert action_buttons(request(ExecutionStatus.COMPLETED)) is None
    assert action_buttons(request(ExecutionStatus.CANCELLING)) is None


def test_outcomes_say_what_happened():
    started = ApprovalOutcome(
        running(), True, "carol approved the recovery (2 of 2): it starts now.", started=True
    )
    message = build_outcome(started, now=T0 + 400)
    text = text_of(message)
    assert message.response_type == "in_channel"
    assert text.startswith("Recovery: Prod DR") and "» carol approved the recovery (2 of 2)" in text
    no_op = build_outcome(Outcome(request(), False, "You already approved this recovery"), now=T0)
    assert no_op.response_type == "ephemeral"
    assert "✔ You already approved this recovery" in text_of(no_op)
    assert "Recovery of Prod DR started" in build_started(running(), now=T0).text


def test_executions_list():
    text = text_of(build_executions_list([running(), request()], title="Active executions"))
    assert "2 executions, newest first" in text
    rows = [line for line in text.splitlines() if line.startswith("3f2a9c1b")]
    assert len(rows) == 2
    assert re.search(
        r"3f2a9c1b\s+Prod DR\s+Recovery\s+RUNNING\s+alice\s+2026-01-01 00:00:00 UTC\s+1/2\s+3/5", text
    )
    empty = text_of(build_executions_list([], empty="Nothing is running."))
    assert "Nothing is running. /dr plan run <plan> starts one" in empty


def test_long_plans_are_trimmed_to_the_table_limit():
    waves = [WaveRun(wave_number=n, wave_name=f"W{n}") for n in range(1, 101)]
    message = build_execution_summary(request(waves=waves), now=T0)
    assert "Showing waves 1 to 99 of 100." in text_of(message)


def test_duration():
    assert [duration_text(s) for s in (0, 59, 60, 3599, 3600, 7322)] == [
        "0s",
        "59s",
        "1m 00s",
        "59m 59s",
        "1h 00m",
        "2h 02m",
    ]


def _buttons(message) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e["value"])
        for block in message.block_dicts()
        if block["type"] == "actions"
        for e in block["elements"]
    ]


def test_people_are_mentions_and_typed_text_is_shown_as_typed():
    """Slack shows names only for mentions; what was typed (a plan name, a reason) loses nothing."""
    execution = request(
        initiated_by="U0OPER0001",
        plan_name="db_tier *prod* ~eu~",
        reason="cron(0 3 * * *) & <!channel>",
        approvals=[Approval(user_id="U0APPROV01", at=T0 + 60)],
    )
    message = build_approval_request(execution, T0 + 120)
    mrkdwn = "\n".join(str(b) for b in message.block_dicts())
    assert "<@U0OPER0001> asks to run a recovery of" in mrkdwn
    assert "*Requested by:* <@U0OPER0001>" in mrkdwn
    assert "*Approvals:* 1/2 (<@U0APPROV01>)" in mrkdwn
    assert "<!channel>" not in mrkdwn and "&lt;!channel&gt;" in mrkdwn
    assert message.text.startswith(":lock: <@U0OPER0001> asks to run a recovery of db_tier *prod* ~eu~")
    names = {"U0OPER0001": "alice", "U0APPROV01": "bob"}
    text = render_message(message, names=names)
    assert "@alice asks to run a recovery of db_tier *prod* ~eu~" in text
    assert "Requested by: @alice" in text and "Approvals: 1/2 (@bob)" in text
    assert "Reason: cron(0 3 * * *) & <!channel>" in text
    rows = [b for b in message.block_dicts() if b["type"] == "table"]
    assert rows  # the waves table: raw text cells take any text


def test_the_list_names_the_requester_with_a_mention_cell():
    listed = build_executions_list([request(initiated_by="U0OPER0001")])
    (table,) = [b for b in listed.block_dicts() if b["type"] == "table"]
    cell = table["rows"][1][4]
    assert cell["type"] == "rich_text"
    assert cell["elements"][0]["elements"] == [{"type": "user", "user_id": "U0OPER0001"}]
    assert re.search(
        r"Recovery\s+PENDING_APPROVAL\s+@alice\s", render_message(listed, names={"U0OPER0001": "alice"})
    )
