"""The picker's background work: one action at a time on a thread of its own, so a click
is answered at once and the kernel stays free; numbered, so the answer of an action that
was cancelled (a listing hung on the network) is ignored when it comes."""
from __future__ import annotations

import logging
import threading
from typing import Callable

_log = logging.getLogger(__name__)


class Tasks:
    """Runs ``work(cancel)`` for one action at a time.  ``on_busy(action)`` is told when an
    action starts ("" when none runs), ``on_error(action, exc)`` of a current action's
    error, ``on_note(line)`` when a start is refused because another action runs."""

    def __init__(self, on_busy: Callable[[str], None],
                 on_error: Callable[[str, BaseException], None],
                 on_note: Callable[[str], None]):
        self._on_busy, self._on_error, self._on_note = on_busy, on_error, on_note
        self._lock = threading.Lock()  # guards the bookkeeping below
        self._task: tuple[int, str, threading.Event] | None = None  # (number, action, cancel)
        self._started = 0
        self._thread: threading.Thread | None = None

    def start(self, action: str, work: Callable[[threading.Event], None],
              on_error: Callable[[], None] | None = None) -> threading.Thread | None:
        """Run ``work(cancel)`` on a thread of its own; None if another action runs.
        ``on_error`` cleans up before the error is shown."""
        with self._lock:
            running = self._task[1] if self._task is not None else None
            if running is None:
                self._started += 1
                self._task = (self._started, action, threading.Event())
            task = self._task
        if running is not None:
            self._on_note(f"{running} is still running: wait for it, or Cancel it")
            return None
        self._on_busy(action)
        thread = threading.Thread(target=self._run, args=(task, work, on_error), daemon=True,
                                  name=f"LakePicker {action}")
        self._thread = thread
        thread.start()
        return thread

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the running action (not from its own thread)."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def cancel(self, abandon: Callable[[str], bool]) -> str | None:
        """Ask the running action to stop; the action's name, or None if none ran.
        ``abandon(action)``: whether to stop waiting for it at once (a listing that may
        hang) rather than let it end at its next progress report (a fetch)."""
        with self._lock:
            if self._task is None:
                return None
            _, action, cancel = self._task
            cancel.set()
            if not abandon(action):
                return action
            self._task = self._thread = None
        self._on_busy("")
        return action

    def _run(self, task: tuple[int, str, threading.Event],
             work: Callable[[threading.Event], None], on_error: Callable[[], None] | None) -> None:
        number, action, cancel = task
        try:
            work(cancel)
        except Exception as exc:
            if self._current(number):  # an abandoned listing's error is nobody's business
                if on_error is not None:
                    on_error()
                self._on_error(action, exc)
        except BaseException as exc:  # never let the thread die silently
            _log.debug("%s stopped", action, exc_info=exc)
        finally:
            with self._lock:
                current = self._task is not None and self._task[0] == number
                if current:
                    self._task = None
            if current:
                self._on_busy("")

    def _current(self, number: int) -> bool:
        with self._lock:
            return self._task is not None and self._task[0] == number
