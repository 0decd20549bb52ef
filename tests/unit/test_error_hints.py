"""Services say what is wrong; bot/views/errors.py adds what to type about it (the `/dr` hint)."""

from __future__ import annotations

import pytest

from bot.views.errors import build_error_message, explain, hint, refusal_text
from bot.views.text import render_message
from orchestration.errors import Action, InUse, NotFound, Remedy

EXECUTION_ID = "3f2a9c1e-0000-4000-8000-000000000001"
SCHEDULE_ID = "9b8c7d6e-0000-4000-8000-000000000002"


@pytest.mark.parametrize("action", list(Action))
def test_every_remedy_is_worded_as_a_dr_command(action: Action) -> None:
    text = hint(Remedy(action, SCHEDULE_ID))
    assert "`/dr " in text and text.endswith(".")


def test_the_hint_follows_the_sentence_in_slack_and_the_console_but_not_on_the_wire() -> None:
    error = InUse(
        f"Recovery plan 'DR' already has a RUNNING drill ({EXECUTION_ID}): wait for it to end or cancel it.",
        remedy=Remedy(Action.CANCEL_EXECUTION, EXECUTION_ID),
        executionId=EXECUTION_ID,
    )
    assert explain(error) == f"{error.message} `/dr cancel {EXECUTION_ID}` cancels it."
    assert refusal_text(error) == f"RESOURCE_IN_USE: {explain(error)}"
    assert f"/dr cancel {EXECUTION_ID}" in render_message(build_error_message(error))
    assert error.to_body() == {
        "error": "RESOURCE_IN_USE",
        "message": error.message,
        "executionId": EXECUTION_ID,
    }


def test_schedule_hints_name_the_schedule_by_its_short_id() -> None:
    error = NotFound("Schedule gone.", remedy=Remedy(Action.DELETE_SCHEDULE, SCHEDULE_ID))
    assert explain(error) == "Schedule gone. `/dr schedule delete 9b8c7d6e` removes it."


def test_an_error_without_a_remedy_reads_as_its_sentence() -> None:
    error = NotFound("No such thing.")
    assert (error.remedy, hint(None), explain(error)) == (None, "", "No such thing.")
