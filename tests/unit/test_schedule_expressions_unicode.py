"""Numbers in schedule expressions are ASCII digits only: a superscript, Arabic-Indic or fullwidth
digit in any numeric field (rate value, every cron field and its steps, L-n, nW, #n, nL, every part
of at()) is the project's InvalidScheduleExpression, never a ValueError from int(); any text at all
in those places either parses or is that error."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestration.errors import InvalidScheduleExpression
from orchestration.schedule_expressions import parse

# each template has one numeric slot, {}; with "7" (3 after #) every one is a valid expression
TEMPLATES = (
    "rate({} days)",
    "rate({} minutes)",
    "cron({} 12 * * ? *)",
    "cron(0 {} * * ? *)",
    "cron(0 12 {} * ? *)",
    "cron(0 12 ? {} * *)",
    "cron(0 12 ? * {} *)",
    "cron(0 12 * * ? 202{})",
    "cron(0/{} * * * ? *)",
    "cron(0 1-{} * * ? *)",
    "cron(0 12 1,{} * ? *)",
    "cron(0 12 L-{} * ? *)",
    "cron(0 12 {}W * ? *)",
    "cron(0 12 ? * 2#{} *)",
    "cron(0 12 ? * {}L *)",
    "at(202{}-01-01T00:00:00)",
    "at(2027-0{}-01T00:00:00)",
    "at(2027-01-0{}T00:00:00)",
    "at(2027-01-01T0{}:00:00)",
    "at(2027-01-01T00:0{}:00)",
    "at(2027-01-01T00:00:0{})",
)

# a character that is not ASCII and not a blank (a blank splits the field instead)
NON_ASCII = st.characters(min_codepoint=0x80, exclude_categories=("Zs", "Zl", "Zp", "Cc", "Cs"))
UNICODE_DIGITS = st.characters(min_codepoint=0x80, categories=("Nd", "No", "Nl"))
ASCII_DIGITS = st.text(alphabet="0123456789", max_size=2)


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_parses_with_an_ascii_number(template: str) -> None:
    parse(template.format("3" if "#" in template else "7"))


REPORTED = (
    "rate(\u00b2 days)",  # superscript two: isdigit() is true, int() refuses it
    "rate(\u0663 days)",  # Arabic-Indic three: int() takes it, EventBridge does not
    "cron(0/\u00b2 * * * ? *)",
    "cron(0 12 ? * \u017fUN *)",  # long s: upper() makes it SUN
    "at(\uff12027-01-01T00:00:00)",  # fullwidth two
)


@pytest.mark.parametrize("text", REPORTED)
def test_the_reported_inputs_are_invalid_expressions(text: str) -> None:
    with pytest.raises(InvalidScheduleExpression):
        parse(text)


@given(
    template=st.sampled_from(TEMPLATES),
    before=ASCII_DIGITS,
    odd=st.one_of(UNICODE_DIGITS, NON_ASCII),
    after=ASCII_DIGITS,
)
def test_a_non_ascii_character_in_a_number_is_an_invalid_expression(
    template: str, before: str, odd: str, after: str
) -> None:
    with pytest.raises(InvalidScheduleExpression):
        parse(template.format(before + odd + after))


@given(template=st.sampled_from(TEMPLATES), value=st.text(max_size=8))
def test_any_text_in_a_number_parses_or_is_an_invalid_expression(template: str, value: str) -> None:
    with contextlib.suppress(InvalidScheduleExpression):
        parse(template.format(value))


@given(text=st.text(max_size=40))
def test_any_text_parses_or_is_an_invalid_expression(text: str) -> None:
    for candidate in (text, f"rate({text})", f"cron({text})", f"at({text})"):
        with contextlib.suppress(InvalidScheduleExpression):
            parse(candidate)
