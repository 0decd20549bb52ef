"""Ctrl-C ends a console session: the main thread gets its KeyboardInterrupt wherever it waits.

Python runs signal handlers in the main thread only, when it next checks for them. A thread waiting
at a terminal prompt checks only when its `select` is interrupted (CPython's readline module), and
GNU readline shows the prompt before that `select` starts: a SIGINT arriving in between (the user
presses Ctrl-C as the prompt appears, or the machine is busy) has already been taken when `select`
begins, and the prompt would wait for ever. A process-directed SIGINT may also be taken by any other
thread, which interrupts nothing in the main thread.

So every SIGINT also wakes a watcher thread (`signal.set_wakeup_fd`), which sends SIGINT to the main
thread itself (`signal.pthread_kill`) until the session's handler has run there. Its first run
raises KeyboardInterrupt and later ones do nothing: one Ctrl-C ends the session once, and the
shutdown that follows is not interrupted again (by a forwarded copy or another Ctrl-C).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

_SIGINT_BYTE = bytes([signal.SIGINT])
Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class CtrlC:
    """While entered (in the main thread, on POSIX): SIGINT raises KeyboardInterrupt in the main
    thread, once. Elsewhere it changes nothing."""

    def __init__(self) -> None:
        self.interrupted = False  # the handler has run: the session ends
        self._forwarding = threading.Event()
        self._main = threading.main_thread().ident
        self._write = -1
        self._watcher: threading.Thread | None = None
        self._previous_handler: Handler = None
        self._previous_wakeup = -1

    def __enter__(self) -> CtrlC:
        if not hasattr(signal, "pthread_kill") or threading.current_thread() is not threading.main_thread():
            return self
        read, self._write = os.pipe()
        os.set_blocking(self._write, False)  # set_wakeup_fd's requirement: a signal handler never blocks
        self._forwarding.set()
        self._watcher = threading.Thread(target=self._watch, args=(read,), name="ctrl-c", daemon=True)
        self._watcher.start()
        self._previous_handler = signal.signal(signal.SIGINT, self._interrupt)
        self._previous_wakeup = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._watcher is None:
            return
        self._forwarding.clear()
        signal.set_wakeup_fd(self._previous_wakeup)
        os.close(self._write)  # the watcher reads the end of its pipe and returns
        self._watcher.join()
        self._watcher = None
        if not self.interrupted:  # else the handler that does nothing stays, for the rest of the exit
            signal.signal(signal.SIGINT, self._previous_handler)

    def _interrupt(self, signum: int, frame: FrameType | None) -> None:
        """The session's SIGINT handler (main thread): the first one ends the session."""
        if self.interrupted:
            return
        self.interrupted = True
        self._forwarding.clear()
        raise KeyboardInterrupt

    def _watch(self, read: int) -> None:
        """Forward each SIGINT to the main thread until its handler has run there."""
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # taken by the main thread only
        try:
            while data := os.read(read, 64):
                if _SIGINT_BYTE in data and self._forwarding.is_set() and self._main is not None:
                    # each forwarded SIGINT writes a byte here again: the forwarding goes on until
                    # the main thread has run the handler, however late it reaches its `select`
                    signal.pthread_kill(self._main, signal.SIGINT)
        finally:
            os.close(read)
