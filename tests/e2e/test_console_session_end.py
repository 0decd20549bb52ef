"""How a console session ends and starts again, as a user sees it: Ctrl-C ends it quietly with
status 130 (piped, and at the prompt of a terminal session), and a console started after another
one takes the runs that one left without a warning."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from typing import Any

from bot.console import INTERRUPTED
from tests.support import run_drbot

WAIT_SECONDS = 60.0  # for drbot's first output on a busy machine


def _read_until(fd: int, marker: bytes, deadline: float) -> bytes:
    """Bytes from `fd` until `marker` shows (select: no sleeping), or the deadline passes."""
    seen = b""
    while marker not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {marker!r} in {seen[-500:]!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            assert chunk, f"drbot ended before {marker!r}: {seen[-500:]!r}"
            seen += chunk
    return seen


def test_ctrl_c_ends_a_piped_session_quietly_with_130(env: dict[str, str]) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    process.stdin.write(b"/dr help\n")
    process.stdin.flush()  # stdin stays open: the session waits for more
    _read_until(process.stdout.fileno(), b"In this console", time.monotonic() + WAIT_SECONDS)

    process.send_signal(signal.SIGINT)

    assert process.wait(timeout=WAIT_SECONDS) == INTERRUPTED
    assert b"Traceback" not in process.stderr.read()


# drbot on a terminal as a terminal emulator starts it: a new session whose controlling terminal is
# the pty on its stdin (so the ^C typed there is a SIGINT to drbot's process group), then drbot
_ON_A_TERMINAL = (
    "import fcntl, os, sys, termios; os.setsid(); fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.executable, [sys.executable, '-m', 'bot.cli'])"
)


def test_ctrl_c_at_the_prompt_of_a_terminal_session_ends_it_with_130(env: dict[str, str]) -> None:
    """The ^C is typed the moment the prompt shows: a SIGINT arriving before readline waits for a key
    must still end the session (bot/interrupt.py)."""
    controller, terminal = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", _ON_A_TERMINAL],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**env, "TERM": "dumb", "COLUMNS": "100"},
    )
    os.close(terminal)
    try:
        _read_until(controller, b"drbot> ", time.monotonic() + WAIT_SECONDS)

        os.write(controller, b"\x03")  # Ctrl-C, as the terminal sends it
        output = _drain(controller, time.monotonic() + WAIT_SECONDS)

        assert process.wait(timeout=WAIT_SECONDS) == INTERRUPTED, output[-500:]
    finally:
        os.close(controller)
        if process.poll() is None:  # it hung: end it, the assertion has said why
            process.kill()
            process.wait()
    assert b"Traceback" not in output and b"Exception" not in output, output[-2000:]


def _drain(fd: int, deadline: float) -> bytes:
    """Everything `fd` gives until the other side closes (the pty's EIO) or the deadline."""
    output = b""
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # every process on the terminal has ended
            break
        if not chunk:
            break
        output += chunk
    return output


def test_a_console_started_again_takes_the_runs_of_the_last_one_without_warnings(env: dict[str, str]) -> None:
    first = run_drbot(
        '/dr group create "DB" --server db-primary-01\n/dr plan create "DR" --wave "db:DB"\n'
        '/dr plan run "DR" --drill\n/dr executions\n',
        env,
    )
    assert first.returncode == 0, first.stdout + first.stderr
    [execution] = re.findall(r"^\s*([0-9a-f]{8})\s+DR\s", first.stdout, flags=re.MULTILINE)

    # the approval updates the request message the first console posted, and replies in its thread
    again: Any = run_drbot(f"/dr as bob\n/dr approve {execution}\n", env)

    assert again.returncode == 0, again.stdout + again.stderr
    assert "↻" in again.stdout  # the earlier console's request message, updated
    assert "refused" not in again.stdout + again.stderr
    assert "WARNING" not in again.stderr
