"""The console's stdout is its conversation: drbot's JSON log lines go to stderr, warnings and up
unless the log level is asked for; on Lambda they stay JSON on stdout."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest
from aws_lambda_powertools import Logger

from bot.cli import console_logging
from orchestration.observability import SERVICE


@pytest.fixture
def drbot_logger() -> Iterator[logging.Logger]:
    """The std logger behind every Logger(service="drbot"), given back as it was."""
    Logger(service=SERVICE)  # configured (as importing any drbot module does)
    logger = logging.getLogger(SERVICE)
    streams = [(h, h.stream) for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    level = logger.level
    yield logger
    for handler, stream in streams:
        handler.setStream(stream)
    logger.setLevel(level)


def test_the_console_logs_warnings_to_stderr_and_keeps_info_off_stdout(drbot_logger, capsys):
    err = io.StringIO()
    console_logging(err, {})
    log = Logger(service=SERVICE)
    log.info("picked up executions", extra={"count": 1})
    log.warning("DRS unavailable; backing off", extra={"execution_id": "e-1"})

    [line] = err.getvalue().splitlines()
    entry = json.loads(line)  # still structured
    assert (entry["level"], entry["message"], entry["execution_id"]) == (
        "WARNING",
        "DRS unavailable; backing off",
        "e-1",
    )
    assert "picked up executions" not in capsys.readouterr().out


def test_a_log_level_asked_for_is_kept(drbot_logger):
    drbot_logger.setLevel(logging.DEBUG)
    console_logging(io.StringIO(), {"POWERTOOLS_LOG_LEVEL": "DEBUG"})
    assert drbot_logger.level == logging.DEBUG


def test_lambda_logs_stay_json_on_stdout(drbot_logger):
    handlers = [h for h in drbot_logger.handlers if type(h) is logging.StreamHandler]
    assert handlers and all(h.stream in (sys.stdout, sys.__stdout__) for h in handlers)
