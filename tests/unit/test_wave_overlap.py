"""A server is in at most one wave of a plan: the pure finder and the error it becomes
(orchestration/wave_overlap.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.views.plan_builder import PlanBuilderId, PlanTarget, errors_for, wave_block
from orchestration.errors import DuplicateServerInPlan, ValidationFailed
from orchestration.wave_overlap import (
    duplicate_group_error,
    duplicate_server_error,
    duplicate_servers,
    waves_text,
)


def test_only_servers_in_two_or_more_waves_are_reported_with_their_waves_sorted() -> None:
    waves = {3: ["s-db", "s-web"], 1: ["s-db", "s-app"], 2: ["s-app", "s-db"], 4: ["s-solo"]}
    assert duplicate_servers(waves) == {"s-app": [1, 2], "s-db": [1, 2, 3]}
    assert duplicate_servers({1: ["s-a"], 2: ["s-b"]}) == {}
    assert duplicate_servers({}) == {}


def test_a_server_listed_twice_in_one_wave_is_not_in_two_waves() -> None:
    assert duplicate_servers({1: ["s-a", "s-a"], 2: iter(["s-b"])}) == {}


@given(
    spread=st.dictionaries(
        st.text(alphabet="0123456789abcdef", min_size=1, max_size=6),
        st.sets(st.integers(min_value=1, max_value=12), min_size=1, max_size=6),
        max_size=15,
    ),
    repeat=st.booleans(),
)
def test_each_server_is_reported_with_exactly_its_waves_when_in_two_or_more(
    spread: dict[str, set[int]], repeat: bool
) -> None:
    # `spread`: server id -> the waves holding it; turned into what the callers pass, wave -> ids
    waves: dict[int, list[str]] = {}
    for server, numbers in spread.items():
        for number in numbers:
            waves.setdefault(number, []).extend([server, server] if repeat else [server])

    found = duplicate_servers(waves)

    assert found == {server: sorted(numbers) for server, numbers in spread.items() if len(numbers) >= 2}
    assert not any(len(spread[server]) == 1 for server in found)


def test_waves_read_as_a_sentence() -> None:
    assert waves_text([2]) == "wave 2"
    assert waves_text([1, 3]) == "waves 1 and 3"
    assert waves_text([1, 2, 4]) == "waves 1, 2 and 4"


def test_one_server_names_its_hostname_its_waves_and_what_to_do() -> None:
    error = duplicate_server_error({"s-1": [1, 3]}, {"s-1": "db-primary-01"})

    assert isinstance(error, ValidationFailed) and error.status == 400
    assert error.code == "DUPLICATE_SERVER_IN_PLAN"
    assert error.message == (
        "db-primary-01 would launch in waves 1 and 3; a server may be in only one wave of a plan: "
        "remove it from all but one wave's protection group."
    )
    assert error.details == {
        "servers": [{"sourceServerId": "s-1", "waveNumbers": [1, 3], "hostname": "db-primary-01"}],
        "serverIds": ["s-1"],
        "waveNumbers": [1, 3],
        "errors": [{"waveNumber": 3, "serverIds": ["s-1"]}],
    }
    assert error.to_body()["error"] == "DUPLICATE_SERVER_IN_PLAN"


def test_many_servers_name_the_first_ten_then_how_many_more_and_the_details_list_all() -> None:
    duplicates = {f"s-{i:02}": [1, 2] for i in range(12)} | {"s-late": [2, 4, 5]}
    hostnames = {f"s-{i:02}": f"app-{i:02}" for i in range(12)}  # s-late has no hostname

    error = duplicate_server_error(duplicates, hostnames)

    assert error.message.startswith(
        "13 servers would launch in more than one wave: app-00 (waves 1 and 2), app-01 (waves 1 and 2), "
    )
    assert "app-09 (waves 1 and 2) and 3 more; a server may be in only one wave of a plan" in error.message
    assert "app-10" not in error.message and "s-late" not in error.message
    assert error.message.endswith("remove each from all but one wave's protection group.")
    assert len(error.details["servers"]) == 13 and error.details["waveNumbers"] == [1, 2, 4, 5]
    assert error.details["servers"][-1] == {"sourceServerId": "s-late", "waveNumbers": [2, 4, 5]}
    assert error.details["errors"] == [
        {"waveNumber": 2, "serverIds": sorted(hostnames)},
        {"waveNumber": 4, "serverIds": ["s-late"]},
        {"waveNumber": 5, "serverIds": ["s-late"]},
    ]


def test_a_server_without_a_hostname_is_named_by_its_id() -> None:
    error = duplicate_server_error({"s-0123456789abcdef0": [2, 1, 5]}, {})
    assert error.message.startswith("s-0123456789abcdef0 would launch in waves 1, 2 and 5;")


def test_a_group_in_two_waves_is_named_when_its_servers_are_not_known() -> None:
    error = duplicate_group_error({"g-1": [2, 4]}, {"g-1": "App tier"})

    assert isinstance(error, DuplicateServerInPlan)
    assert error.message == (
        "Protection group 'App tier' is in waves 2 and 4, so every server it selects would launch in "
        "each; a server may be in only one wave of a plan: keep the group in one wave only."
    )
    assert error.details["groups"] == [
        {"protectionGroupId": "g-1", "groupName": "App tier", "waveNumbers": [2, 4]}
    ]
    assert error.details["errors"] == [{"waveNumber": 4, "protectionGroupIds": ["g-1"]}]


def test_nothing_duplicated_is_not_an_error_to_build() -> None:
    with pytest.raises(ValueError):
        duplicate_server_error({}, {})
    with pytest.raises(ValueError):
        duplicate_group_error({}, {})


def test_the_plan_builder_shows_the_refusal_on_the_group_of_the_wave_that_launches_a_server_again() -> None:
    error = duplicate_server_error({"s-1": [1, 3]}, {"s-1": "db-primary-01"})
    assert errors_for(error, PlanTarget(waves=3, revision=2)) == {
        wave_block(PlanBuilderId.WAVE_GROUP, 3, 2): error.message
    }
