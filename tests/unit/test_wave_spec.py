"""The `--wave NAME:GROUP[:after=…][:pause]` parser: pure, every bad spec named."""

import pytest

from bot.wave_spec import WAVE_SPEC_GRAMMAR, WaveSpec, parse_wave_spec, parse_wave_specs
from orchestration.errors import UsageError
from orchestration.models import RecoveryPlan


def test_waves_are_numbered_in_the_order_given_and_sequential_by_default():
    specs = parse_wave_specs(["Database:db tier", "App:app tier", "Web:web tier"])
    assert [(s.number, s.name, s.group, s.depends_on, s.pause_before) for s in specs] == [
        (1, "Database", "db tier", None, False),
        (2, "App", "app tier", None, False),
        (3, "Web", "web tier", None, False),
    ]


def test_after_lists_pause_and_none():
    specs = parse_wave_specs(["Infra:infra", "DB:db:after=none", "App:app:after=2, 1:pause", "Web:web:PAUSE"])
    assert specs[1].depends_on == ()
    assert specs[2].depends_on == (1, 2)
    assert specs[2].pause_before
    assert specs[3].pause_before and specs[3].depends_on is None


def test_blanks_around_parts_are_ignored():
    spec = parse_wave_spec("  Web tier : web servers : after = 1 : pause ", number=2, total=2)
    assert (spec.name, spec.group, spec.depends_on, spec.pause_before) == (
        "Web tier",
        "web servers",
        (1,),
        True,
    )


def test_after_numbers_are_deduplicated_and_sorted():
    assert parse_wave_spec("X:g:after=3,1,3", number=4, total=4).depends_on == (1, 3)


def test_to_wire_omits_depends_on_when_sequential_so_the_model_fills_it():
    first, second, third = parse_wave_specs(["A:g1", "B:g2", "C:g3:after=none:pause"])
    assert "dependsOnWaves" not in second.to_wire("id-2")
    assert third.to_wire("id-3") == {
        "waveNumber": 3,
        "waveName": "C",
        "protectionGroupId": "id-3",
        "pauseBefore": True,
        "dependsOnWaves": [],
    }
    plan = RecoveryPlan.model_validate(
        {"planName": "p", "waves": [s.to_wire(f"id-{s.number}") for s in (first, second, third)]}
    )
    assert [w.depends_on_waves for w in plan.waves] == [[], [1], []]


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ("Database", "needs a name and a protection group"),
        (":db tier", "the wave name is empty"),
        ("Database:", "the protection group is empty"),
        ("Database: :pause", "the protection group is empty"),
        ("Database:db::pause", "empty part between two"),
        ("Database:db:after=x", "`x` in `after=x` is not a wave number"),
        ("Database:db:after=", "needs wave numbers"),
        ("Database:db:after", "`after` needs wave numbers"),
        ("Database:db:after=2", "there is no wave 2"),
        ("Database:db:after=0", "there is no wave 0"),
        ("Database:db:after=1", "cannot wait for itself"),
        ("Database:db:pause:pause", "`pause` is given twice"),
        ("Database:db:later", "`later` is not an option"),
        ("Database:db:pause=yes", "`pause=yes` is not an option"),
        ("Data:base:db tier", "`db tier` is not an option"),
    ],
)
def test_every_malformed_spec_is_a_usage_error_naming_it_and_showing_the_grammar(spec, names):
    with pytest.raises(UsageError) as caught:
        parse_wave_spec(spec, number=1, total=1)
    message = caught.value.message
    assert names in message
    assert f"Wave 1 (`{spec}`)" in message
    assert WAVE_SPEC_GRAMMAR in message


def test_the_error_names_the_wave_it_is_in():
    with pytest.raises(UsageError, match=r"Wave 3 \(`Web:web:after=9`\): there is no wave 9"):
        parse_wave_specs(["DB:db", "App:app", "Web:web:after=9"])


def test_a_cycle_is_left_to_the_model():
    specs = parse_wave_specs(["A:g:after=2", "B:g:after=1"])
    assert [s.depends_on for s in specs] == [(2,), (1,)]


def test_specs_are_plain_values():
    spec = parse_wave_spec("A:g", 1, 1)
    assert spec == WaveSpec(1, "A", "g", None, False, "A:g")
