"""`Key=Value` tag filters, read the same by `--tag` flags and the group form: pure, bad pairs named."""

import pytest

from bot.tag_filters import parse_tag_filters
from orchestration.errors import UsageError


def test_pairs_become_a_dict_with_keys_and_values_trimmed_and_a_later_key_winning():
    assert parse_tag_filters([" Tier = database", "Env=prod", "Tier=web", "Empty="]) == {
        "Tier": "web",
        "Env": "prod",
        "Empty": "",
    }


@pytest.mark.parametrize("pair", ["Tier", "=database", "  =x"])
def test_a_pair_without_an_equals_sign_or_a_key_is_refused_by_name(pair):
    with pytest.raises(UsageError) as caught:
        parse_tag_filters(["Env=prod", pair])
    assert f"`--tag {pair}` must look like Key=Value" in str(caught.value)
