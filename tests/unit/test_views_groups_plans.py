"""Group and plan builders: valid Block Kit within Slack's limits, readable as console text."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import SectionBlock

from bot.views.common import MAX_BLOCKS_PER_MESSAGE, MAX_SECTION_TEXT, MAX_TABLE_ROWS
from bot.views.groups import (
    build_deleted,
    build_group_message,
    build_groups_list,
    bullet_sections,
    selection_text,
)
from bot.views.plans import build_plan_check, build_plan_message, build_plans_list
from bot.views.text import render_message
from orchestration.drs.gateway import SourceServer
from orchestration.drs.limits import DrsLimits
from orchestration.models import ExecutionType, ProtectionGroup, RecoveryPlan
from orchestration.services.groups import GroupView
from orchestration.services.plans import PlanView, WaveView
from orchestration.services.preflight import DrsUsage, Finding, PlanCheck


def server(n: int, state: str = "CONTINUOUS", tier: str = "app") -> SourceServer:
    return SourceServer(
        source_server_id=f"s-{n:017x}",
        hostname=f"host-{n:03d}",
        region="us-east-1",
        tags={"Tier": tier},
        replication_state=state,
        lag_seconds=5,
    )


def group(name: str = "App tier", servers: list[SourceServer] | None = None, **extra: Any) -> ProtectionGroup:
    ids = [s.source_server_id for s in servers] if servers is not None else None
    fields: dict[str, Any] = {"group_name": name, "region": "us-east-1", "created_by": "alice", **extra}
    if "server_selection_tags" not in extra:
        fields["source_server_ids"] = ids or ["s-00000000000000001"]
    return ProtectionGroup(**fields)


def plan_view(waves: int, servers_per_wave: int, unhealthy_every: int = 0) -> PlanView:
    wave_views: list[WaveView] = []
    n = 0
    for number in range(1, waves + 1):
        members = []
        for _ in range(servers_per_wave):
            n += 1
            bad = unhealthy_every and n % unhealthy_every == 0
            members.append(server(n, "STALLED" if bad else "CONTINUOUS"))
        wave_views.append(
            WaveView(
                number,
                f"Wave {number}",
                group(f"Group {number}", members),
                members,
                [number - 1] if number > 1 else [],
                number % 5 == 0,
            )
        )
    plan = RecoveryPlan.model_validate(
        {
            "planName": "Prod DR",
            "description": "orders stack",
            "rtoTargetMinutes": 60,
            "rpoTargetMinutes": 15,
            "notificationChannel": "C0123ABCD",
            "createdBy": "alice",
            "waves": [
                {"waveNumber": w.wave_number, "waveName": w.wave_name, "protectionGroupId": w.group.group_id}
                for w in wave_views
            ],
        }
    )
    return PlanView(plan, wave_views)


def assert_fits(payload: list[dict[str, Any]]) -> None:
    assert len(payload) <= MAX_BLOCKS_PER_MESSAGE
    assert sum(1 for b in payload if b["type"] == "table") <= 1  # one table per message
    for block in payload:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
        if block["type"] == "table":
            assert len(block["rows"]) <= MAX_TABLE_ROWS
            assert all(cell["text"] for row in block["rows"] for cell in row)  # no empty raw_text


def table_rows(payload: list[dict[str, Any]]) -> list[list[str]]:
    [table] = [b for b in payload if b["type"] == "table"]
    return [[cell["text"] for cell in row] for row in table["rows"]]


# -- groups ----------------------------------------------------------------------------------------


def test_group_message_names_unhealthy_servers_and_the_plans_using_it():
    members = [server(1), server(2, "STALLED"), server(3, "BACKLOG")]
    view = GroupView(group("App tier", members, description="orders <app> & co"), members)
    plan = plan_view(1, 1).plan
    message = build_group_message(view, plans=[plan], headline=":white_check_mark: Created")
    payload = message.to_slack()["blocks"]
    assert_fits(payload)
    assert table_rows(payload)[0] == ["Hostname", "Server ID", "Replication", "Lag", "Tier"]
    assert ["host-002", "s-00000000000000002", "STALLED", "5s", "app"] in table_rows(payload)
    text = render_message(message)
    assert "Protection group: App tier" in text
    assert "Created" in text
    assert "orders <app> & co" in text  # escaped for Slack, plain in the console
    assert "host-002 (s-00000000000000002) is not replicating continuously (STALLED)" in text
    assert "host-003" in text and "BACKLOG" in text
    assert "Used by plans: Prod DR" in text
    assert "3 servers now" in text and "2 not" in text
    assert message.text == "Protection group App tier: 3 servers in us-east-1, 2 not replicating"


def test_group_by_tags_with_no_match_says_so():
    view = GroupView(group("Web", server_selection_tags={"Tier": "web"}), [])
    text = render_message(build_group_message(view, plans=[]))
    assert "source servers tagged Tier=web" in text
    assert "matches no source server right now" in text
    assert "Used by plans: none" in text
    assert_fits(build_group_message(view).block_dicts())


def test_group_names_servers_that_left_drs():
    members = [server(1)]
    g = group("DB", members).model_copy(
        update={"source_server_ids": ["s-00000000000000001", "s-0000000000000abcd"]}
    )
    text = render_message(build_group_message(GroupView(g, members)))
    assert "Not found in DRS any more: s-0000000000000abcd" in text


def test_group_with_150_servers_is_trimmed_and_says_so():
    members = [server(n, "STALLED" if n % 2 else "CONTINUOUS") for n in range(1, 151)]
    view = GroupView(group("Big", members), members)
    message = build_group_message(view, plans=[])
    payload = message.block_dicts()
    assert_fits(payload)
    assert len(table_rows(payload)) == MAX_TABLE_ROWS
    text = render_message(message)
    assert "Showing 99 of 150 servers" in text
    assert "and 7" in text or "more." in text  # 75 warnings do not fit in the sections: counted


def test_groups_list_table_and_empty_list():
    groups = [
        group("App tier", [server(1), server(2)], description="x" * 300),
        group("Web", server_selection_tags={"Tier": "web", "Env": "prod"}, account_id="123456789012"),
    ]
    message = build_groups_list(groups)
    payload = message.block_dicts()
    assert_fits(payload)
    rows = table_rows(payload)
    assert rows[0] == ["Name", "Region", "Account", "Selection", "Description"]
    assert rows[1][:4] == ["App tier", "us-east-1", "this account", "2 servers"]
    assert len(rows[1][4]) <= 60
    assert rows[2][2:4] == ["123456789012", "tags Env=prod, Tier=web"]
    empty = render_message(build_groups_list([]))
    assert "No protection groups yet" in empty and "/dr group create" in empty


def test_groups_list_of_150_is_trimmed():
    groups = [group(f"G{n}", [server(n)]) for n in range(150)]
    message = build_groups_list(groups)
    assert_fits(message.block_dicts())
    assert "Showing 99 of 150" in render_message(message)


def test_selection_text():
    assert selection_text(group("a", [server(1)])) == "1 server"
    assert selection_text(group("a", server_selection_tags={"Tier": "db"})) == "tags Tier=db"


def test_bullet_sections_stay_within_limits_and_count_the_rest():
    blocks = bullet_sections("*Warnings*", ["w" * 500] * 40, max_sections=2)
    assert len(blocks) == 2
    texts = [b.text.text for b in blocks if isinstance(b, SectionBlock) and b.text is not None]
    assert all(len(t) <= MAX_SECTION_TEXT for t in texts)
    assert texts[-1].endswith("more.")


def test_deleted_message():
    message = build_deleted("protection group", "Web <tier>", "gid-1", "alice")
    assert message.response_type == "in_channel"
    text = render_message(message)
    assert "Deleted protection group Web <tier>." in text and "gid-1" in text and "alice" in text


# -- plans -----------------------------------------------------------------------------------------


def test_plan_message_shows_waves_with_group_dependencies_servers_and_pause():
    view = plan_view(5, 3, unhealthy_every=4)
    message = build_plan_message(view)
    payload = message.to_slack()["blocks"]
    assert_fits(payload)
    rows = table_rows(payload)
    assert rows[0] == ["#", "Wave", "Protection group", "Depends on", "Servers", "Pause before"]
    assert rows[1] == ["1", "Wave 1", "Group 1", "- (starts at once)", "3", "-"]
    assert rows[2] == ["2", "Wave 2", "Group 2", "1", "3 (1 not replicating)", "-"]
    assert rows[5][5] == "yes"
    text = render_message(message)
    assert "Recovery plan: Prod DR" in text
    assert (
        "5 waves · 15 servers now · RTO target: 60 min · RPO target: 15 min · Notifications: #C0123ABCD"
        in text
    )
    assert "Wave 2: host-004 (s-00000000000000004) is not replicating continuously" in text
    assert message.text == "Recovery plan Prod DR: 5 waves, 15 servers, 3 warnings"


def test_a_plan_with_25_waves_and_150_servers_fits_one_message():
    view = plan_view(25, 6, unhealthy_every=1)  # every server unhealthy: 150 warnings
    message = build_plan_message(view, headline="created")
    payload = message.block_dicts()
    assert_fits(payload)
    assert len(table_rows(payload)) == 26
    assert "more." in render_message(message)


def test_a_plan_with_100_waves_is_trimmed_and_says_so():
    message = build_plan_message(plan_view(100, 1))
    assert_fits(message.block_dicts())
    assert "Showing waves 1 to 99 of 100" in render_message(message)


def test_plans_list_uses_group_names():
    view = plan_view(3, 1)
    names = {w.group.group_id: w.group.group_name for w in view.waves}
    message = build_plans_list([view.plan], names)
    payload = message.block_dicts()
    assert_fits(payload)
    rows = table_rows(payload)
    assert rows[0] == [
        "Name",
        "Waves",
        "Protection groups",
        "RTO target",
        "RPO target",
        "Channel",
        "Description",
    ]
    assert rows[1] == [
        "Prod DR",
        "3",
        "Group 1, Group 2, Group 3",
        "60 min",
        "15 min",
        "C0123ABCD",
        "orders stack",
    ]
    without_names = table_rows(build_plans_list([view.plan]).block_dicts())
    assert view.waves[0].group.group_id in without_names[1][2]
    assert "No recovery plans yet" in render_message(build_plans_list([]))


# -- pre-flight check ------------------------------------------------------------------------------

USAGE = [DrsUsage("us-east-1", None, 2, 12, 30), DrsUsage("us-west-2", "123456789012", 0, 0, 0)]


def test_a_ready_plan_says_so_with_usage_against_the_quotas():
    check = PlanCheck(plan_view(3, 2), [], USAGE)
    message = build_plan_check(check, DrsLimits())
    assert not message.is_error
    assert_fits(message.block_dicts())
    text = render_message(message)
    assert "Pre-flight check: Prod DR" in text
    assert "Ready to run as a drill (3 waves, 6 servers): every pre-flight rule passes." in text
    assert (
        "DRS in us-east-1 now: 2/20 active jobs · 12/500 servers in jobs · 30/4000 recovery instances" in text
    )
    assert "DRS in us-west-2 (account 123456789012) now: 0/20 active jobs" in text
    assert "Nothing was launched" in text
    assert [row[-1] for row in table_rows(message.block_dicts())] == ["Check", "ok", "ok", "ok"]


def test_findings_are_listed_errors_first_and_attributed_to_waves():
    view = plan_view(3, 2)
    conflict = view.waves[2].servers[0].source_server_id
    findings = [
        Finding("warning", "REPLICATION_UNHEALTHY", "Wave 1: host-001 is STALLED", wave_number=1),
        Finding("error", "SERVER_CONFLICT", "host-005 is in execution e-1", server_ids=(conflict,)),
        Finding("error", "DRS_LIMIT_EXCEEDED", "DRS runs at most 20 jobs <at once>"),
    ]
    message = build_plan_check(PlanCheck(view, findings, USAGE), None, ExecutionType.RECOVERY)
    assert message.is_error
    assert message.text == "Pre-flight check of Prod DR: not ready, 2 errors, 1 warning"
    text = render_message(message)
    assert "Not ready to run as a recovery (3 waves, 6 servers): 2 errors, 1 warning." in text
    assert text.index("SERVER_CONFLICT") < text.index("REPLICATION_UNHEALTHY")
    assert "DRS runs at most 20 jobs <at once>" in text
    assert "DRS in us-east-1 now: 2 active jobs · 12 servers in jobs" in text  # no limits given
    assert [row[-1] for row in table_rows(message.block_dicts())] == ["Check", "1 warning", "ok", "1 error"]


def test_a_check_of_25_waves_with_a_finding_per_server_fits_one_message():
    view = plan_view(25, 6, unhealthy_every=1)
    findings = [
        Finding(
            "warning",
            "REPLICATION_UNHEALTHY",
            f"Wave {w.wave_number}: {s.hostname} " + "x" * 200,
            w.wave_number,
        )
        for w in view.waves
        for s in w.servers
    ] + [
        Finding("error", "SERVER_CONFLICT", "y" * 400, server_ids=(s.source_server_id,))
        for s in view.waves[0].servers
    ]
    message = build_plan_check(PlanCheck(view, findings, USAGE * 30), DrsLimits())
    payload = message.block_dicts()
    assert_fits(payload)
    assert len(table_rows(payload)) == 26
    assert "more." in render_message(message)


def test_typed_text_and_tags_are_shown_as_typed_and_the_creator_is_a_mention():
    tagged = group(
        name="web_tier",
        description="serves *all* of a_b_c ~x~ `x` &lt;",
        created_by="U0OPER0001",
        server_selection_tags={"Tier": "web_*"},
    )
    message = build_group_message(GroupView(tagged, []))
    mrkdwn = json.dumps(message.block_dicts())
    assert "created by <@U0OPER0001>" in mrkdwn
    assert "`Tier=web_*`" in mrkdwn  # a value: inline code, where nothing is formatted
    text = render_message(message)
    assert "Description: serves *all* of a_b_c ~x~ `x` &lt;" in text
    assert "source servers tagged Tier=web_* (resolved" in text
