"""The group and plan builder modals through the real path: signed slash commands, block_suggestion,
block_actions and view_submission requests into `app.dispatch`, the modal opened and updated in
the loopback Slack stub (views.open, views.update, chat.postEphemeral, chat.postMessage), the
groups and plans read back from the store.

One piece, longer than most: both builders share the signed-request plumbing and the stub's checks.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.app import build_app
from bot.commands import build_registry
from bot.commands.registry import Invocation
from bot.views.group_builder import EITHER_SERVERS_OR_TAGS
from bot.views.ids import GroupBuilderId, PlanBuilderId
from bot.views.plan_builder import wave_block
from bot.views.text import render_message
from tests.integration.conftest import SLACK_SIGNING_SECRET
from tests.integration.test_slack_app import lambda_entry  # noqa: F401 - the Lambda entry fixture
from tests.slack_requests import (
    CHANNEL_ID,
    USER_ID,
    LambdaContext,
    StubbedLambda,
    slash_command,
    view_block_actions,
    view_block_suggestion,
    view_state,
    view_submission,
)
from tests.slack_stub import RESPONSE_URL, SlackStub
from tests.support import ok

Values = dict[str, dict[str, dict[str, Any]]]


@pytest.fixture
def app(slack_services: Any) -> Any:
    return build_app(slack_services)


@pytest.fixture
def dr(slack_services: Any) -> Any:
    """The flag form, as the console or automation sends it."""
    registry = build_registry()

    def run(text: str) -> Any:
        return registry.dispatch(
            slack_services, Invocation(text=text, user_id=USER_ID, channel_id=CHANNEL_ID)
        )

    return run


@pytest.fixture
def tiers(dr: Any) -> None:
    ok(dr('/dr group create "DB tier" --server db-primary-01,db-replica-01'))
    ok(dr('/dr group create "App tier" --server app-orders-01'))
    ok(dr('/dr group create "Web tier" --tag Tier=web'))


def command(app: Any, stub: SlackStub, text: str) -> Any:
    response_url = stub.new_response_url()
    return app.dispatch(slash_command(SLACK_SIGNING_SECRET, text, response_url=response_url).bolt())


def opened(app: Any, stub: SlackStub, text: str, count: int = 1) -> dict[str, Any]:
    """The modal `/dr <text>` opens, as Slack then holds it (with an id and a hash)."""
    response = command(app, stub, text)
    assert (response.status, response.body) == (200, "")  # acked empty: the form is the answer
    call = stub.wait_for("views.open", count=count)[-1]
    assert call.args["trigger_id"]
    return {**call.args["view"], "id": f"V{count:04d}", "hash": f"{count}.hash"}


def text_value(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def option(value: str, text: str = "") -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}


def submit(app: Any, view: dict[str, Any], typed: Values | None = None) -> Any:
    request = view_submission(
        SLACK_SIGNING_SECRET,
        view["callback_id"],
        view_state(view, typed),
        private_metadata=view["private_metadata"],
        view_id=view["id"],
        blocks=view["blocks"],
    )
    return app.dispatch(request.bolt())


def errors_of(response: Any) -> dict[str, str]:
    assert response.status == 200
    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    errors: dict[str, str] = body["errors"]
    return errors


def blocks_by_id(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {block["block_id"]: block for block in view["blocks"]}


# -- group builder ------------------------------------------------------------------------------


def test_group_create_without_options_opens_the_builder_and_nothing_else(
    app: Any, slack_stub: SlackStub, slack_services: Any
) -> None:
    view = opened(app, slack_stub, 'group create "Web tier"')

    assert view["callback_id"] == GroupBuilderId.CALLBACK.value
    blocks = blocks_by_id(view)
    assert blocks[GroupBuilderId.NAME]["element"]["initial_value"] == "Web tier"
    assert blocks[GroupBuilderId.REGION]["element"]["initial_value"] == slack_services.settings.region
    assert blocks[GroupBuilderId.SERVERS]["element"]["type"] == "multi_external_select"
    assert json.loads(view["private_metadata"])["channel_id"] == CHANNEL_ID
    assert slack_stub.calls(RESPONSE_URL) == []  # the flag path did not run as well
    assert slack_stub.violations == []


def test_without_slack_the_same_command_shows_the_flag_form(dr: Any, slack_services: Any) -> None:
    group = render_message(dr("/dr group create"))
    assert "Say which servers the group holds: --server HOST|ID" in group
    assert "/dr group create <name> [--region REGION]" in group
    plan = render_message(dr("/dr plan edit nothing-here"))
    assert "Nothing to change" in plan and "/dr plan edit <plan> [--name NAME] [--wave NAME:GROUP" in plan
    assert slack_services.store.list_groups() == []


def test_server_type_ahead_lists_the_typed_regions_servers_matching_the_query(
    app: Any, slack_stub: SlackStub
) -> None:
    view = opened(app, slack_stub, "group create")

    def suggest(query: str, typed: Values | None = None) -> list[dict[str, Any]]:
        request = view_block_suggestion(
            SLACK_SIGNING_SECRET,
            view,
            GroupBuilderId.SERVERS.value,
            query,
            block_id=GroupBuilderId.SERVERS.value,
            values=view_state(view, typed),
        )
        response = app.dispatch(request.bolt())
        assert response.status == 200
        options: list[dict[str, Any]] = json.loads(response.body)["options"]
        return options

    db = suggest("DB-")
    assert [o["text"]["text"].split(" ")[0] for o in db] == [
        "db-payments-01",
        "db-primary-01",
        "db-replica-01",
        "db-reporting-01",
    ]
    assert all(len(o["text"]["text"]) <= 75 and o["value"].startswith("s-") for o in db)
    assert len(suggest("")) == 15  # every us-east-1 server
    west = {GroupBuilderId.REGION.value: {GroupBuilderId.REGION.value: text_value("us-west-2")}}
    assert {o["text"]["text"].split(" ")[0] for o in suggest("", west)} == {
        "dwh-db-01",
        "etl-worker-01",
        "etl-worker-02",
        "bi-web-01",
    }
    half_typed = {GroupBuilderId.REGION.value: {GroupBuilderId.REGION.value: text_value("us-we")}}
    assert suggest("", half_typed) == []


def test_a_group_submission_without_servers_or_tags_is_refused_on_the_servers_field(
    app: Any, slack_stub: SlackStub, slack_services: Any
) -> None:
    view = opened(app, slack_stub, 'group create "Web tier"')

    errors = errors_of(submit(app, view))

    assert errors == {GroupBuilderId.SERVERS.value: EITHER_SERVERS_OR_TAGS}
    assert slack_services.store.list_groups() == []
    assert slack_stub.calls("chat.postEphemeral") == []


def test_a_valid_group_submission_creates_it_and_tells_the_user_in_the_channel(
    app: Any, slack_stub: SlackStub, slack_services: Any, simulator: Any
) -> None:
    view = opened(app, slack_stub, "group create")
    chosen = [simulator.server_id("web-frontend-01"), simulator.server_id("web-frontend-02")]
    typed = {
        GroupBuilderId.NAME.value: {GroupBuilderId.NAME.value: text_value("Web tier")},
        GroupBuilderId.SERVERS.value: {
            GroupBuilderId.SERVERS.value: {
                "type": "multi_external_select",
                "selected_options": [option(sid) for sid in chosen],
            }
        },
    }

    response = submit(app, view, typed)

    assert (response.status, response.body) == (200, "")  # the modal closes
    [group] = slack_services.store.list_groups()
    assert (group.group_name, group.source_server_ids, group.created_by) == ("Web tier", chosen, USER_ID)
    (told,) = slack_stub.wait_for("chat.postEphemeral")
    assert (told.args["channel"], told.args["user"]) == (CHANNEL_ID, USER_ID)
    assert "Created protection group *Web tier* with 2 servers" in json.dumps(told.args["blocks"])
    assert slack_stub.violations == []


def test_service_refusals_come_back_inline_and_change_nothing(
    app: Any, slack_stub: SlackStub, slack_services: Any, simulator: Any, tiers: None
) -> None:
    before = slack_services.store.list_groups()
    view = opened(app, slack_stub, "group create")
    taken = simulator.server_id("db-primary-01")

    def attempt(name: str, tags: str = "", server: str = "") -> dict[str, str]:
        typed: Values = {GroupBuilderId.NAME.value: {GroupBuilderId.NAME.value: text_value(name)}}
        if tags:
            typed[GroupBuilderId.TAGS.value] = {GroupBuilderId.TAGS.value: text_value(tags)}
        if server:
            selected = {"type": "multi_external_select", "selected_options": [option(server)]}
            typed[GroupBuilderId.SERVERS.value] = {GroupBuilderId.SERVERS.value: selected}
        return errors_of(submit(app, view, typed))

    duplicate = attempt("db TIER", tags="Tier=cache")
    assert list(duplicate) == [GroupBuilderId.NAME.value]
    assert "already exists" in duplicate[GroupBuilderId.NAME.value]
    conflict = attempt("Other", server=taken)
    assert list(conflict) == [GroupBuilderId.SERVERS.value]
    assert (
        "already assigned" in conflict[GroupBuilderId.SERVERS.value]
        and "'DB tier'" in conflict["group_builder_servers"]
    )
    both = attempt("Other", tags="Tier=app", server=taken)
    assert list(both) == [GroupBuilderId.TAGS.value]
    bad_tag = attempt("Other", tags="Tier=app, oops")
    assert "`oops` is not Key=Value" in bad_tag[GroupBuilderId.TAGS.value]
    assert slack_services.store.list_groups() == before
    assert slack_stub.calls("chat.postEphemeral") == []


def test_group_edit_opens_prefilled_and_saves_at_the_version_read(
    app: Any, slack_stub: SlackStub, slack_services: Any, simulator: Any, tiers: None
) -> None:
    view = opened(app, slack_stub, 'group edit "db tier"')
    blocks = blocks_by_id(view)
    assert view["title"]["text"] == "Edit protection group"
    assert blocks[GroupBuilderId.NAME]["element"]["initial_value"] == "DB tier"
    initial = blocks[GroupBuilderId.SERVERS]["element"]["initial_options"]
    assert [o["text"]["text"].split(" ")[0] for o in initial] == ["db-primary-01", "db-replica-01"]
    metadata = json.loads(view["private_metadata"])
    stored = slack_services.store.find_group_by_name("DB tier")
    assert (metadata["group_id"], metadata["version"]) == (stored.group_id, stored.version)

    renamed = {GroupBuilderId.NAME.value: {GroupBuilderId.NAME.value: text_value("Databases")}}
    response = submit(app, view, renamed)

    assert (response.status, response.body) == (200, "")
    saved = slack_services.store.get_group(stored.group_id)
    assert (saved.group_name, saved.source_server_ids, saved.version) == (
        "Databases",
        stored.source_server_ids,
        stored.version + 1,
    )
    (told,) = slack_stub.wait_for("chat.postEphemeral")
    assert "Updated protection group *Databases* with 2 servers" in json.dumps(told.args["blocks"])


def test_a_stale_group_edit_is_refused_inline(
    app: Any, slack_stub: SlackStub, slack_services: Any, dr: Any, tiers: None
) -> None:
    view = opened(app, slack_stub, 'group edit "App tier"')
    ok(dr('/dr group edit "App tier" --description "changed meanwhile"'))  # someone else saves first
    current = slack_services.store.find_group_by_name("App tier")

    errors = errors_of(
        submit(app, view, {GroupBuilderId.NAME.value: {GroupBuilderId.NAME.value: text_value("Apps")}})
    )

    assert list(errors) == [GroupBuilderId.NAME.value]
    assert "changed by someone else" in errors[GroupBuilderId.NAME.value]
    assert slack_services.store.find_group_by_name("App tier") == current


def test_an_unknown_group_is_answered_by_the_ack_without_a_modal(app: Any, slack_stub: SlackStub) -> None:
    response = command(app, slack_stub, 'group edit "No such tier"')

    assert response.status == 200
    body = json.loads(response.body)
    assert body["response_type"] == "ephemeral"
    assert "No protection group with id or name 'No such tier'" in body["text"]
    assert slack_stub.calls("views.open") == []


@pytest.mark.parametrize(
    "text", ["group create", 'group edit "DB tier"', "plan create", 'plan edit "Prod DR"']
)
def test_a_form_is_not_opened_for_someone_who_may_not_save_it(
    app: Any, slack_stub: SlackStub, dr: Any, tiers: None, text: str
) -> None:
    ok(dr('/dr plan create "Prod DR" --wave "Database:DB tier"'))
    response_url = slack_stub.new_response_url()
    request = slash_command(SLACK_SIGNING_SECRET, text, response_url=response_url, user_id="bob")
    response = app.dispatch(request.bolt())

    assert response.status == 200
    body = json.loads(response.body)  # the ack says why, to bob alone
    assert body["response_type"] == "ephemeral"
    assert "bob may not manage configuration: that needs the role admin, operator" in body["text"]
    assert slack_stub.calls("views.open") == []


def test_slack_refusing_to_open_the_form_is_told_through_the_response_url(
    app: Any, slack_stub: SlackStub
) -> None:
    slack_stub.fail("views.open", "expired_trigger_id")
    response_url = slack_stub.new_response_url()

    app.dispatch(slash_command(SLACK_SIGNING_SECRET, "group create", response_url=response_url).bolt())

    answer = slack_stub.answer_at(response_url)
    assert "Slack did not open the form" in answer.args["text"]


# -- plan builder -------------------------------------------------------------------------------


def group_id(services: Any, name: str) -> str:
    group: Any = services.store.find_group_by_name(name)
    return str(group.group_id)


def choose(services: Any, block: str, name: str) -> Values:
    gid = group_id(services, name)
    return {
        block: {
            PlanBuilderId.GROUP_SELECT.value: {"type": "static_select", "selected_option": option(gid, name)}
        }
    }


def typed_wave(
    services: Any,
    number: int,
    *,
    revision: int,
    name: str,
    group: str | None,
    after: str = "",
    pause: bool = False,
) -> Values:
    pause_option = option("pause", f"Pause before wave {number}")
    typed: Values = {
        wave_block(PlanBuilderId.WAVE_NAME, number, revision): {
            PlanBuilderId.WAVE_NAME.value: text_value(name)
        },
        wave_block(PlanBuilderId.WAVE_AFTER, number, revision): {
            PlanBuilderId.WAVE_AFTER.value: text_value(after)
        },
        wave_block(PlanBuilderId.WAVE_ACTIONS, number, revision): {
            PlanBuilderId.PAUSE.value: {
                "type": "checkboxes",
                "selected_options": [pause_option] if pause else [],
            }
        },
    }
    if group is not None:
        typed.update(choose(services, wave_block(PlanBuilderId.WAVE_GROUP, number, revision), group))
    return typed


def click(
    app: Any, view: dict[str, Any], action: PlanBuilderId, *, block_id: str, values: Values, value: str = ""
) -> None:
    request = view_block_actions(
        SLACK_SIGNING_SECRET, view, action.value, block_id=block_id, value=value, values=values
    )
    response = app.dispatch(request.bolt())
    assert (response.status, response.body) == (200, "")


def updated(stub: SlackStub, count: int) -> dict[str, Any]:
    call = stub.wait_for("views.update", count=count)[-1]
    assert call.args["view_id"] and call.args["hash"]
    return {**call.args["view"], "id": call.args["view_id"], "hash": f"{count}.updated"}


def test_plan_create_opens_the_builder_with_one_wave_listing_the_groups(
    app: Any, slack_stub: SlackStub, tiers: None
) -> None:
    view = opened(app, slack_stub, 'plan create "Prod DR"')

    assert view["callback_id"] == PlanBuilderId.CALLBACK.value
    blocks = blocks_by_id(view)
    select = blocks[wave_block(PlanBuilderId.WAVE_GROUP, 1, 0)]["element"]
    assert select["type"] == "static_select"
    assert [o["text"]["text"] for o in select["options"]] == [
        "App tier · us-east-1",
        "DB tier · us-east-1",
        "Web tier · us-east-1",
    ]
    assert blocks[PlanBuilderId.FOOTER]["elements"][0]["action_id"] == PlanBuilderId.ADD_WAVE.value
    assert slack_stub.violations == []


def test_group_type_ahead_answers_the_groups_whose_name_matches(
    app: Any, slack_stub: SlackStub, tiers: None
) -> None:
    view = opened(app, slack_stub, "plan create")
    block = wave_block(PlanBuilderId.WAVE_GROUP, 1, 0)

    request = view_block_suggestion(
        SLACK_SIGNING_SECRET, view, PlanBuilderId.GROUP_SELECT.value, "TIER", block_id=block
    )
    response = app.dispatch(request.bolt())

    assert [o["text"]["text"] for o in json.loads(response.body)["options"]] == [
        "App tier · us-east-1",
        "DB tier · us-east-1",
        "Web tier · us-east-1",
    ]
    narrowed = view_block_suggestion(
        SLACK_SIGNING_SECRET, view, PlanBuilderId.GROUP_SELECT.value, "we", block_id=block
    )
    assert [o["text"]["text"] for o in json.loads(app.dispatch(narrowed.bolt()).body)["options"]] == [
        "Web tier · us-east-1"
    ]


def test_plan_create_without_any_group_says_to_create_one_first(app: Any, slack_stub: SlackStub) -> None:
    response = command(app, slack_stub, "plan create")

    assert "create one first" in json.loads(response.body)["text"]
    assert slack_stub.calls("views.open") == []


def test_add_and_remove_wave_update_the_modal_keeping_every_value_typed(
    app: Any, slack_stub: SlackStub, slack_services: Any, tiers: None
) -> None:
    view = opened(app, slack_stub, "plan create")
    typed: Values = {PlanBuilderId.NAME.value: {PlanBuilderId.NAME.value: text_value("Prod DR")}}
    typed |= typed_wave(slack_services, 1, revision=0, name="Database", group="DB tier", pause=True)

    click(
        app, view, PlanBuilderId.ADD_WAVE, block_id=PlanBuilderId.FOOTER.value, values=view_state(view, typed)
    )

    two = updated(slack_stub, 1)
    assert two["callback_id"] == PlanBuilderId.CALLBACK.value
    blocks = blocks_by_id(two)
    assert blocks[PlanBuilderId.NAME]["element"]["initial_value"] == "Prod DR"
    assert blocks[wave_block(PlanBuilderId.WAVE_NAME, 1, 1)]["element"]["initial_value"] == "Database"
    first_group = blocks[wave_block(PlanBuilderId.WAVE_GROUP, 1, 1)]["element"]["initial_option"]
    assert first_group["value"] == group_id(slack_services, "DB tier")
    assert blocks[wave_block(PlanBuilderId.WAVE_ACTIONS, 1, 1)]["elements"][0]["initial_options"]
    assert "initial_value" not in blocks[wave_block(PlanBuilderId.WAVE_NAME, 2, 1)]["element"]
    assert json.loads(two["private_metadata"])["waves"] == 2

    # three waves typed, then the first removed: the others move up with what was typed in them
    typed = typed_wave(slack_services, 1, revision=1, name="Database", group="DB tier")
    typed |= typed_wave(slack_services, 2, revision=1, name="App", group="App tier", after="1")
    click(
        app, two, PlanBuilderId.ADD_WAVE, block_id=PlanBuilderId.FOOTER.value, values=view_state(two, typed)
    )
    three = updated(slack_stub, 2)
    typed = typed_wave(slack_services, 1, revision=2, name="Database", group="DB tier")
    typed |= typed_wave(slack_services, 2, revision=2, name="App", group="App tier", after="none")
    typed |= typed_wave(slack_services, 3, revision=2, name="Web", group="Web tier", after="1, 2", pause=True)
    remove = wave_block(PlanBuilderId.WAVE_ACTIONS, 1, 2)
    click(app, three, PlanBuilderId.REMOVE_WAVE, block_id=remove, values=view_state(three, typed), value="1")

    after = blocks_by_id(updated(slack_stub, 3))
    names = [after[wave_block(PlanBuilderId.WAVE_NAME, n, 3)]["element"]["initial_value"] for n in (1, 2)]
    assert names == ["App", "Web"]
    assert after[wave_block(PlanBuilderId.WAVE_AFTER, 1, 3)]["element"]["initial_value"] == "none"
    assert after[wave_block(PlanBuilderId.WAVE_AFTER, 2, 3)]["element"]["initial_value"] == "1"
    web_group = after[wave_block(PlanBuilderId.WAVE_GROUP, 2, 3)]["element"]["initial_option"]
    assert web_group["value"] == group_id(slack_services, "Web tier")
    assert after[wave_block(PlanBuilderId.WAVE_ACTIONS, 2, 3)]["elements"][0]["initial_options"]
    assert wave_block(PlanBuilderId.WAVE_NAME, 3, 3) not in after
    assert slack_services.store.list_plans() == []  # nothing saved until submitted
    assert slack_stub.violations == []


def test_the_add_wave_button_stops_at_the_forms_limit_pointing_to_the_flag_form(
    app: Any, slack_stub: SlackStub, slack_services: Any, dr: Any, tiers: None
) -> None:
    for n in range(1, 23):  # a server is in one wave of a plan: one group (selecting nothing yet) per wave
        ok(dr(f'/dr group create "Slot {n}" --tag Slot={n}'))
    waves = " ".join(f'--wave "W{n}:Slot {n}:after=none"' for n in range(1, 23))
    ok(dr(f'/dr plan create "Wide" {waves}'))
    view = opened(app, slack_stub, "plan edit Wide")
    assert len(view["blocks"]) == 4 + 4 * 22 + 1

    click(app, view, PlanBuilderId.ADD_WAVE, block_id=PlanBuilderId.FOOTER.value, values=view_state(view))

    full = updated(slack_stub, 1)
    assert len(full["blocks"]) == 4 + 4 * 23 + 1  # 23 waves: one more would need 101 blocks
    assert full["blocks"][-1]["type"] == "context" and "--wave" in full["blocks"][-1]["elements"][0]["text"]


def test_plan_submission_errors_land_on_the_wave_they_are_about(
    app: Any, slack_stub: SlackStub, slack_services: Any, tiers: None
) -> None:
    view = opened(app, slack_stub, "plan create")
    click(app, view, PlanBuilderId.ADD_WAVE, block_id=PlanBuilderId.FOOTER.value, values=view_state(view))
    two = updated(slack_stub, 1)
    typed: Values = {PlanBuilderId.NAME.value: {PlanBuilderId.NAME.value: text_value("Prod DR")}}
    typed |= typed_wave(slack_services, 1, revision=1, name="Database", group=None)
    typed |= typed_wave(slack_services, 2, revision=1, name="App", group="App tier", after="3")

    errors = errors_of(submit(app, two, typed))

    assert set(errors) == {
        wave_block(PlanBuilderId.WAVE_GROUP, 1, 1),
        wave_block(PlanBuilderId.WAVE_AFTER, 2, 1),
    }
    # a cycle is the model's rule: on the depends-on of the first wave in it
    typed |= typed_wave(slack_services, 1, revision=1, name="Database", group="DB tier", after="2")
    typed |= typed_wave(slack_services, 2, revision=1, name="App", group="App tier", after="1")
    cycle = errors_of(submit(app, two, typed))
    assert list(cycle) == [wave_block(PlanBuilderId.WAVE_AFTER, 1, 1)]
    assert "cycle" in cycle[wave_block(PlanBuilderId.WAVE_AFTER, 1, 1)]
    assert slack_services.store.list_plans() == []


def test_a_valid_plan_submission_creates_it_as_the_flag_form_would(
    app: Any, slack_stub: SlackStub, slack_services: Any, tiers: None
) -> None:
    view = opened(app, slack_stub, "plan create")
    click(app, view, PlanBuilderId.ADD_WAVE, block_id=PlanBuilderId.FOOTER.value, values=view_state(view))
    two = updated(slack_stub, 1)
    click(app, two, PlanBuilderId.ADD_WAVE, block_id=PlanBuilderId.FOOTER.value, values=view_state(two))
    three = updated(slack_stub, 2)
    typed: Values = {
        PlanBuilderId.NAME.value: {PlanBuilderId.NAME.value: text_value("Prod DR")},
        PlanBuilderId.RTO.value: {PlanBuilderId.RTO.value: text_value("60")},
    }
    typed |= typed_wave(slack_services, 1, revision=2, name="Database", group="DB tier")
    typed |= typed_wave(slack_services, 2, revision=2, name="App", group="App tier", after="none")
    typed |= typed_wave(slack_services, 3, revision=2, name="Web", group="Web tier", after="1,2", pause=True)

    response = submit(app, three, typed)

    assert (response.status, response.body) == (200, "")
    [plan] = slack_services.store.list_plans()
    assert (plan.plan_name, plan.rto_target_minutes, plan.created_by) == ("Prod DR", 60, USER_ID)
    assert [(w.wave_number, w.wave_name, w.depends_on_waves, w.pause_before) for w in plan.waves] == [
        (1, "Database", [], False),
        (2, "App", [], False),
        (3, "Web", [1, 2], True),
    ]
    assert [w.protection_group_id for w in plan.waves] == [
        group_id(slack_services, name) for name in ("DB tier", "App tier", "Web tier")
    ]
    (told,) = slack_stub.wait_for("chat.postEphemeral")
    assert "Created recovery plan *Prod DR* with 3 waves" in json.dumps(told.args["blocks"])
    assert slack_stub.violations == []


def test_plan_edit_opens_prefilled_saves_and_refuses_a_stale_version(
    app: Any, slack_stub: SlackStub, slack_services: Any, dr: Any, tiers: None
) -> None:
    ok(dr('/dr plan create "Prod DR" --wave "Database:DB tier" --wave "App:App tier:pause" --rto 45'))
    view = opened(app, slack_stub, 'plan edit "prod dr"')
    blocks = blocks_by_id(view)
    assert blocks[PlanBuilderId.RTO]["element"]["initial_value"] == "45"
    assert blocks[wave_block(PlanBuilderId.WAVE_NAME, 2, 0)]["element"]["initial_value"] == "App"
    assert blocks[wave_block(PlanBuilderId.WAVE_ACTIONS, 2, 0)]["elements"][0]["initial_options"]
    stale_view = opened(app, slack_stub, 'plan edit "prod dr"', count=2)

    renamed = {PlanBuilderId.NAME.value: {PlanBuilderId.NAME.value: text_value("Prod DR v2")}}
    assert (submit(app, view, renamed).body) == ""
    [plan] = slack_services.store.list_plans()
    assert (plan.plan_name, plan.version, plan.rto_target_minutes, len(plan.waves)) == (
        "Prod DR v2",
        2,
        45,
        2,
    )
    assert plan.waves[1].pause_before is True

    errors = errors_of(
        submit(
            app,
            stale_view,
            {PlanBuilderId.DESCRIPTION.value: {PlanBuilderId.DESCRIPTION.value: text_value("x")}},
        )
    )
    assert list(errors) == [PlanBuilderId.NAME.value]
    assert "changed by someone else" in errors[PlanBuilderId.NAME.value]
    assert slack_services.store.list_plans() == [plan]


def test_without_a_channel_the_result_goes_to_the_users_dm(
    app: Any, slack_stub: SlackStub, slack_services: Any, tiers: None
) -> None:
    slack_stub.fail("chat.postEphemeral", "channel_not_found")  # the bot is not in that channel
    view = opened(app, slack_stub, 'group edit "Web tier"')

    assert submit(app, view).body == ""

    (dm,) = slack_stub.wait_for("chat.postMessage")
    assert dm.args["channel"] == USER_ID
    assert "Updated protection group *Web tier*" in json.dumps(dm.args["blocks"])


# -- on Lambda: everything in the ack, no self-invocation -----------------------------------------


def test_on_lambda_the_form_opens_and_saves_within_the_ack(
    lambda_entry: StubbedLambda,  # noqa: F811 - the fixture imported above
    slack_stub: SlackStub,
    slack_services: Any,
    simulator: Any,
) -> None:
    from bot.lambda_function import handler

    response_url = slack_stub.new_response_url()
    request = slash_command(SLACK_SIGNING_SECRET, 'group create "Web tier"', response_url=response_url)
    response = handler(request.apigw_event(), LambdaContext())

    assert (response["statusCode"], response["body"]) == (200, "")
    (call,) = slack_stub.calls("views.open")  # already made when the ack left
    view = {**call.args["view"], "id": "V0001", "hash": "1.hash"}
    admin = option(simulator.server_id("web-admin-01"))
    chosen = {"type": "multi_external_select", "selected_options": [admin]}
    submission = view_submission(
        SLACK_SIGNING_SECRET,
        view["callback_id"],
        view_state(view, {GroupBuilderId.SERVERS.value: {GroupBuilderId.SERVERS.value: chosen}}),
        private_metadata=view["private_metadata"],
        blocks=view["blocks"],
    )

    saved = handler(submission.apigw_event(), LambdaContext())

    assert (saved["statusCode"], saved["body"]) == (200, "")
    assert [g.group_name for g in slack_services.store.list_groups()] == ["Web tier"]
    assert len(slack_stub.calls("chat.postEphemeral")) == 1
    assert lambda_entry.invocations == []  # nothing was handed to a lazy run
    assert slack_stub.violations == []
