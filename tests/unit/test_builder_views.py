"""The group and plan builder modals as pure functions: valid Block Kit within Slack's limits (100
blocks, 75-character options, 100 options), what Slack would report as their state read back into
the same draft, a draft turned into the request the flag form sends, and errors placed on the
block of the field they are about.

One piece, longer than most: the two builders share the round-trip and limit checks.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.views.group_builder import (
    EITHER_SERVERS_OR_TAGS,
    NOT_BOTH,
    GroupDraft,
    GroupTarget,
    ServerChoice,
    build_group_modal,
    group_fields,
    parse_group_state,
    place_of,
    server_label,
    server_options,
)
from bot.views.group_builder import errors_for as group_errors
from bot.views.ids import GroupBuilderId, PlanBuilderId
from bot.views.plan_builder import (
    MAX_WAVES,
    TOO_MANY_WAVES,
    GroupChoice,
    PlanDraft,
    PlanTarget,
    WaveDraft,
    build_plan_modal,
    group_options,
    parse_plan_state,
    plan_fields,
    wave_block,
)
from bot.views.plan_builder import errors_for as plan_errors
from orchestration.drs.gateway import SourceServer
from orchestration.errors import (
    CircularDependency,
    DuplicateName,
    ServersNotFound,
    StaleVersion,
    UsageError,
    ValidationFailed,
    WaveSizeLimitExceeded,
)
from orchestration.models import ProtectionGroup, RecoveryPlan, Wave
from orchestration.requests import CreateProtectionGroup, CreateRecoveryPlan
from orchestration.services.groups import GroupView
from orchestration.validation import parse_model
from tests.slack_requests import view_state

SERVER_IDS = [f"s-{n:017x}" for n in range(1, 4)]


def server(n: int, hostname: str | None = None, name_tag: str | None = None) -> SourceServer:
    tags = {"Tier": "web"} | ({"Name": name_tag} if name_tag else {})
    return SourceServer(
        source_server_id=f"s-{n:017x}", hostname=hostname or f"web-{n:02d}", region="us-east-1", tags=tags
    )


def groups(count: int) -> list[ProtectionGroup]:
    return [
        ProtectionGroup(group_name=f"Tier {n:03d}", region="us-east-1", source_server_ids=[f"s-{n:017x}"])
        for n in range(1, count + 1)
    ]


def shown(view: View, view_id: str = "V1") -> dict[str, Any]:
    """The view as Slack holds it once opened: validated by slack_sdk, with an id."""
    return {**view.to_dict(), "id": view_id}


def submitted(view: View, typed: dict[str, dict[str, dict[str, Any]]] | None = None) -> dict[str, Any]:
    opened = shown(view)
    return {**opened, "state": {"values": view_state(opened, typed)}}


def typed_text(block: str, action: str, value: str) -> dict[str, dict[str, dict[str, Any]]]:
    return {block: {action: {"type": "plain_text_input", "value": value}}}


# -- group builder ------------------------------------------------------------------------------


def test_the_empty_group_builder_has_every_field_and_valid_blocks() -> None:
    view = build_group_modal(GroupDraft(region="us-east-1"), GroupTarget(channel_id="C1")).to_dict()

    assert view["callback_id"] == GroupBuilderId.CALLBACK.value
    assert view["title"]["text"] == "New protection group"
    assert [b["block_id"] for b in view["blocks"]] == [
        GroupBuilderId.NAME,
        GroupBuilderId.DESCRIPTION,
        GroupBuilderId.REGION,
        GroupBuilderId.ACCOUNT,
        GroupBuilderId.SERVERS,
        GroupBuilderId.TAGS,
    ]
    servers = view["blocks"][4]["element"]
    assert servers["type"] == "multi_external_select"
    assert servers["min_query_length"] == 0
    assert view["blocks"][2]["element"]["initial_value"] == "us-east-1"
    assert json.loads(view["private_metadata"]) == {"group_id": None, "version": None, "channel_id": "C1"}


def test_a_stored_group_opens_prefilled_and_reads_back_unchanged() -> None:
    members = [server(1, name_tag="Front door"), server(2)]
    group = ProtectionGroup(
        group_name="Web tier",
        description="public web",
        region="us-west-2",
        account_id="111122223333",
        source_server_ids=[*(s.source_server_id for s in members), SERVER_IDS[2]],
        version=4,
    )
    draft = GroupDraft.of_group(GroupView(group, members))
    view = build_group_modal(draft, GroupTarget(group.group_id, 4, "C1"))

    assert view.title is not None and view.title.text == "Edit protection group"
    initial = view.to_dict()["blocks"][4]["element"]["initial_options"]
    assert [o["text"]["text"] for o in initial] == [
        f"web-01 · Front door ({SERVER_IDS[0]})",
        f"web-02 ({SERVER_IDS[1]})",
        SERVER_IDS[2],  # no longer in DRS: its id
    ]
    assert parse_group_state(submitted(view)) == draft
    assert GroupTarget.from_metadata(str(view.private_metadata)) == GroupTarget(group.group_id, 4, "C1")


def test_server_options_match_hostname_id_or_name_tag_at_most_100_within_75_characters() -> None:
    fleet = [server(n) for n in range(1, 151)] + [server(900, hostname="x" * 200, name_tag="Billing")]

    assert len(server_options(fleet, "")) == 100
    assert [o.value for o in server_options(fleet, "WEB-07")] == [f"s-{7:017x}"]
    assert [o.value for o in server_options(fleet, f"{900:017x}")] == [f"s-{900:017x}"]
    assert [o.value for o in server_options(fleet, "billing")] == [f"s-{900:017x}"]
    long_label = server_label(fleet[-1])
    assert len(long_label) == 75 and long_label.endswith(f"({fleet[-1].source_server_id})")
    for option in server_options(fleet, "x"):
        option.to_dict()  # slack_sdk checks the 75-character limit


def test_group_fields_are_the_flag_forms_request() -> None:
    by_servers = GroupDraft(
        name="Web",
        region="us-east-1",
        servers=(ServerChoice(SERVER_IDS[0], "a"), ServerChoice(SERVER_IDS[1], "b")),
    )
    fields = group_fields(by_servers)
    assert fields == {
        "groupName": "Web",
        "description": "",
        "region": "us-east-1",
        "accountId": None,
        "sourceServerIds": SERVER_IDS[:2],
        "serverSelectionTags": None,
    }
    parse_model(CreateProtectionGroup, {k: v for k, v in fields.items() if v is not None})

    by_tags = group_fields(
        GroupDraft(name="Web", region="us-east-1", account_id="111122223333", tags="Tier=web, Env = Prod")
    )
    assert by_tags["serverSelectionTags"] == {"Tier": "web", "Env": "Prod"}
    assert by_tags["sourceServerIds"] is None
    assert by_tags["accountId"] == "111122223333"


@pytest.mark.parametrize(
    ("draft", "block", "says"),
    [
        (GroupDraft(name="G", region="us-east-1"), GroupBuilderId.SERVERS, EITHER_SERVERS_OR_TAGS),
        (
            GroupDraft(
                name="G", region="us-east-1", servers=(ServerChoice(SERVER_IDS[0], "a"),), tags="Tier=web"
            ),
            GroupBuilderId.TAGS,
            NOT_BOTH,
        ),
        (
            GroupDraft(name="G", region="us-east-1", tags="Tier=web, Tier"),
            GroupBuilderId.TAGS,
            "`Tier` is not Key=Value",
        ),
        (
            GroupDraft(name="G", region="us-east", tags="Tier=web"),
            GroupBuilderId.REGION,
            "`us-east` is not an AWS region",
        ),
        (GroupDraft(name="G", region="", tags="Tier=web"), GroupBuilderId.REGION, "Give the AWS region"),
        (
            GroupDraft(name="G", region="us-east-1", account_id="12", tags="Tier=web"),
            GroupBuilderId.ACCOUNT,
            "`12` is not an AWS account id",
        ),
    ],
)
def test_group_form_problems_land_on_their_block(draft: GroupDraft, block: GroupBuilderId, says: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        group_fields(draft)

    errors = group_errors(refused.value)
    assert list(errors) == [block.value]
    assert says in errors[block.value]


def test_service_and_model_errors_land_on_their_block() -> None:
    with pytest.raises(ValidationFailed) as too_long:
        parse_model(
            CreateProtectionGroup,
            {"groupName": "n" * 200, "region": "us-east-1", "serverSelectionTags": {"a": "b"}},
        )
    assert list(group_errors(too_long.value)) == [GroupBuilderId.NAME.value]

    missing = ServersNotFound("1 source server(s) do not exist in DRS in us-east-1: s-1", serverIds=["s-1"])
    assert group_errors(missing) == {GroupBuilderId.SERVERS.value: missing.message}
    duplicate = DuplicateName("A protection group named 'Web' already exists (names ignore case).")
    assert group_errors(duplicate) == {GroupBuilderId.NAME.value: duplicate.message}
    stale = StaleVersion("The group 'x' was changed by someone else after version 1 was read")
    assert list(group_errors(stale)) == [GroupBuilderId.NAME.value]
    assert len(group_errors(ValidationFailed("x" * 1000))[GroupBuilderId.NAME.value]) <= 300


def test_every_group_form_problem_is_shown_at_once_each_on_its_block() -> None:
    draft = GroupDraft(name="G", region="mars", account_id="abc", tags="foo")
    with pytest.raises(ValidationFailed) as refused:
        group_fields(draft)

    errors = group_errors(refused.value)
    assert list(errors) == [
        GroupBuilderId.REGION.value,
        GroupBuilderId.ACCOUNT.value,
        GroupBuilderId.TAGS.value,
    ]
    assert "`mars` is not an AWS region" in errors[GroupBuilderId.REGION.value]
    assert "`abc` is not an AWS account id" in errors[GroupBuilderId.ACCOUNT.value]
    assert "`foo` is not Key=Value" in errors[GroupBuilderId.TAGS.value]
    assert refused.value.message.endswith("(and 2 more)")


def test_drs_refusing_the_place_lands_on_the_account_given_else_the_region() -> None:
    text = "DRS refused to list source servers: Elastic Disaster Recovery is not initialized"
    refused = ValidationFailed(text, drsError="UninitializedAccountException")
    in_account = GroupDraft(region="us-east-1", account_id="123456789012")
    assert group_errors(refused, in_account) == {GroupBuilderId.ACCOUNT.value: text}
    assert group_errors(refused, GroupDraft(region="us-east-1")) == {GroupBuilderId.REGION.value: text}


def test_type_ahead_reads_the_region_and_account_typed_so_far() -> None:
    view = build_group_modal(GroupDraft(region="us-east-1"), GroupTarget())
    assert place_of(submitted(view), "eu-west-1") == ("us-east-1", None)
    typed = typed_text(GroupBuilderId.ACCOUNT, GroupBuilderId.ACCOUNT, "111122223333")
    assert place_of(submitted(view, typed), "eu-west-1") == ("us-east-1", "111122223333")
    blank = typed_text(GroupBuilderId.REGION, GroupBuilderId.REGION, "")
    assert place_of(submitted(view, blank), "eu-west-1") == ("eu-west-1", None)
    half = typed_text(GroupBuilderId.REGION, GroupBuilderId.REGION, "us-ea")
    assert place_of(submitted(view, half), "eu-west-1") is None


# -- plan builder -------------------------------------------------------------------------------


def full_plan(waves: int, pool: list[ProtectionGroup]) -> PlanDraft:
    return PlanDraft(
        name="Big DR",
        description="everything",
        rto="90",
        rpo="20",
        waves=tuple(
            WaveDraft(
                name=f"Wave {n}",
                group=GroupChoice.of(pool[(n - 1) % len(pool)]),
                after="none" if n % 5 == 0 else "1, 2" if n == 7 else "",
                pause=n % 3 == 0,
            )
            for n in range(1, waves + 1)
        ),
    )


def test_the_most_waves_the_form_holds_fit_in_100_blocks() -> None:
    assert MAX_WAVES >= 23  # 4 blocks for the plan (name, description, RTO and RPO targets)
    pool = groups(5)
    view = build_plan_modal(full_plan(MAX_WAVES, pool), PlanTarget(), pool).to_dict()  # validates

    assert len(view["blocks"]) <= 100
    assert view["blocks"][-1]["type"] == "context"  # no Add wave button, the flag form instead
    assert "--wave" in view["blocks"][-1]["elements"][0]["text"]
    with pytest.raises(UsageError, match=f"at most {MAX_WAVES}"):
        build_plan_modal(full_plan(MAX_WAVES + 1, pool), PlanTarget(), pool)
    with pytest.raises(UsageError) as refused:
        full_plan(MAX_WAVES, pool).with_wave_added()
    assert refused.value.message == TOO_MANY_WAVES


def test_twenty_waves_leave_room_to_add_more() -> None:
    pool = groups(3)
    view = build_plan_modal(full_plan(20, pool), PlanTarget(), pool).to_dict()

    assert len(view["blocks"]) == 4 + 4 * 20 + 1
    footer = view["blocks"][-1]
    assert [e["action_id"] for e in footer["elements"]] == [PlanBuilderId.ADD_WAVE.value]
    removes = [
        e["value"]
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["type"] == "button"
    ]
    assert removes[:-1] == [str(n) for n in range(1, 21)]


def test_the_plan_state_reads_back_into_the_same_draft_and_request() -> None:
    pool = groups(4)
    draft = full_plan(8, pool)
    view = build_plan_modal(draft, PlanTarget(channel_id="C1", revision=3), pool)

    read, target = parse_plan_state(submitted(view))

    assert read == draft
    assert target == PlanTarget(channel_id="C1", waves=8, revision=3)
    fields = plan_fields(read)
    assert (fields["rtoTargetMinutes"], fields["rpoTargetMinutes"]) == (90, 20)
    waves = fields["waves"]
    assert waves[0] == {
        "waveNumber": 1,
        "waveName": "Wave 1",
        "protectionGroupId": pool[0].group_id,
        "pauseBefore": False,
    }
    assert waves[4]["dependsOnWaves"] == []  # none
    assert waves[6]["dependsOnWaves"] == [1, 2]
    assert "dependsOnWaves" not in waves[7]  # blank: after the previous wave, as in the flag form
    assert [w["pauseBefore"] for w in waves] == [n % 3 == 0 for n in range(1, 9)]
    parse_model(CreateRecoveryPlan, {k: v for k, v in fields.items() if v is not None})


def test_a_stored_plan_opens_prefilled_with_its_dependencies_as_the_flag_form_writes_them() -> None:
    pool = groups(3)
    plan = RecoveryPlan(
        plan_name="Prod DR",
        rto_target_minutes=60,
        rpo_target_minutes=15,
        waves=[
            Wave(wave_number=10, wave_name="DB", protection_group_id=pool[0].group_id),
            Wave(wave_number=20, wave_name="App", protection_group_id=pool[1].group_id, depends_on_waves=[]),
            Wave(
                wave_number=30,
                wave_name="Web",
                protection_group_id=pool[2].group_id,
                depends_on_waves=[10, 20],
                pause_before=True,
            ),
            Wave(wave_number=40, wave_name="Edge", protection_group_id=pool[2].group_id),
        ],
    )
    draft = PlanDraft.of_plan(plan, {g.group_id: g for g in pool})

    assert (draft.rto, draft.rpo) == ("60", "15")
    assert [(w.name, w.after, w.pause) for w in draft.waves] == [
        ("DB", "", False),
        ("App", "none", False),
        ("Web", "1, 2", True),
        ("Edge", "", False),
    ]
    view = build_plan_modal(draft, PlanTarget(plan.plan_id, plan.version), pool).to_dict()
    group_block = view["blocks"][5]
    assert group_block["element"]["initial_option"]["value"] == pool[0].group_id
    assert view["title"]["text"] == "Edit recovery plan"


def test_removing_a_wave_renumbers_the_others_and_their_dependencies() -> None:
    pool = groups(4)
    draft = PlanDraft(
        name="P",
        waves=tuple(
            WaveDraft(name=name, group=GroupChoice.of(pool[i]), after=after)
            for i, (name, after) in enumerate([("A", ""), ("B", "none"), ("C", "1, 2"), ("D", "3")])
        ),
    )

    fewer = draft.without_wave(2)

    assert [(w.name, w.after) for w in fewer.waves] == [("A", ""), ("C", "1"), ("D", "2")]
    last = fewer.without_wave(1).without_wave(1).without_wave(1)
    assert [(w.name, w.after) for w in last.waves] == [("D", "")]  # the last wave stays
    assert draft.without_wave(9) == draft


def test_every_wave_problem_is_reported_on_its_own_block() -> None:
    pool = groups(2)
    draft = PlanDraft(
        name="P",
        rto="an hour",
        rpo="15 min",
        waves=(
            WaveDraft(name="", group=GroupChoice.of(pool[0])),
            WaveDraft(name="B", group=None),
            WaveDraft(name="C", group=GroupChoice.of(pool[1]), after="5"),
            WaveDraft(name="D", group=GroupChoice.of(pool[1]), after="1:pause"),
        ),
    )
    target = PlanTarget(waves=4, revision=2)

    with pytest.raises(ValidationFailed) as refused:
        plan_fields(draft)
    errors = plan_errors(refused.value, target)

    assert errors == {
        wave_block(PlanBuilderId.WAVE_NAME, 1, 2): "Give wave 1 a name.",
        wave_block(PlanBuilderId.WAVE_GROUP, 2, 2): "Choose the wave's protection group.",
        wave_block(PlanBuilderId.WAVE_AFTER, 3, 2): errors[wave_block(PlanBuilderId.WAVE_AFTER, 3, 2)],
        wave_block(PlanBuilderId.WAVE_AFTER, 4, 2): errors[wave_block(PlanBuilderId.WAVE_AFTER, 4, 2)],
        PlanBuilderId.RTO.value: "Give the RTO target in whole minutes, e.g. 60.",
        PlanBuilderId.RPO.value: "Give the RPO target in whole minutes, e.g. 15.",
    }
    assert "between 1 and 4 other than 3" in errors[wave_block(PlanBuilderId.WAVE_AFTER, 3, 2)]


def test_plan_service_errors_land_on_the_wave_they_are_about() -> None:
    target = PlanTarget(waves=3, revision=1)
    cycle = CircularDependency(
        "The waves wait for each other in a cycle: 1 (A) → 3 (C) → 1 (A).", cycle=[1, 3, 1]
    )
    assert plan_errors(cycle, target) == {wave_block(PlanBuilderId.WAVE_AFTER, 1, 1): cycle.message}
    big = WaveSizeLimitExceeded(
        "Wave 2 has 120 servers, max is 100", errors=[{"waveNumber": 2, "serverCount": 120}]
    )
    assert plan_errors(big, target) == {wave_block(PlanBuilderId.WAVE_GROUP, 2, 1): big.message}
    missing = ValidationFailed(
        "x", errors=[{"field": "waves[2].protectionGroupId", "message": "no such protection group"}]
    )
    assert plan_errors(missing, target) == {
        wave_block(PlanBuilderId.WAVE_GROUP, 3, 1): "No such protection group"
    }
    stale = StaleVersion("The plan 'p' was changed by someone else after version 2 was read")
    assert plan_errors(stale, target) == {PlanBuilderId.NAME.value: stale.message}


def test_group_options_filter_by_name_at_most_100() -> None:
    pool = groups(150)
    assert len(group_options(pool)) == 100
    assert [o.value for o in group_options(pool, "tier 042")] == [pool[41].group_id]


def test_many_groups_are_offered_by_type_ahead_instead_of_a_list() -> None:
    pool = groups(101)
    draft = PlanDraft(name="P", waves=(WaveDraft(name="A", group=GroupChoice.of(pool[0])),))
    element = build_plan_modal(draft, PlanTarget(), pool).to_dict()["blocks"][5]["element"]

    assert element["type"] == "external_select"
    assert element["initial_option"]["value"] == pool[0].group_id
    assert element["action_id"] == PlanBuilderId.GROUP_SELECT.value
