"""The one runner behind push, fetch, list and check: work on a thread pool, results in
order, with Ctrl-C (or a Cancel button) and the first error stopping it cleanly."""
from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any, Callable, Iterable, Sequence

from .cache import remove_temp_files
from .progress import Progress

GRACE_S = 2.0  # after Ctrl-C, how long transfers in flight get to abort and clean up


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or the kernel's Interrupt) stopped a push or fetch; the message says what
    was finished.  Queued work was not started, transfers in flight were abandoned.
    ``paths``: the files a fetch placed before it stopped (each whole and verified)."""

    paths: list[Any] = []

    def _render_traceback_(self) -> list[str]:
        """IPython and Jupyter show the one line, not the traceback through the library."""
        where = " (their paths: sys.last_value.paths)" if self.paths else ""
        return [f"{self}{where}"]


class Cancelled(Exception):
    """Raised inside a worker, from its progress callback, once the user interrupted."""


NOT_STARTED = object()  # what ``each`` gives for an item skipped after another one failed


def _ignore(n: int) -> None:
    pass


class Pool:
    """Runs work ``concurrency`` items at a time (a new thread pool per call: a call's
    threads never outlive it, bar those stuck on the network after an interrupt)."""

    def __init__(self, concurrency: int):
        self.concurrency = concurrency

    def map(self, work: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """``work(item)`` for every item; the results in order (listings and lookups)."""
        return self.each(lambda item, _: work(item), items, _ignore, "listings done")

    def each(self, work: Callable[[Any, Callable[[int], None]], Any], items: Iterable[Any],
             advance: Callable[[int], None], done: str,
             cancel: threading.Event | None = None,
             total: Callable[[float], int | None] | None = None) -> list[Any]:
        """``work(item, progress)`` for every item; the results in order.

        ``items`` may be an iterator (a listing still running): each item is queued as it
        comes, and after an interrupt ``total(deadline)`` says how many it gives in all
        (None: unknown by then; it gets GRACE_S of its own).  Ctrl-C (or setting
        ``cancel``) stops it: queued items are cancelled, and work in flight stops at its
        next progress report (an upload is abandoned, a download discarded), with GRACE_S
        to clean up; threads stuck on the network are not waited for.  The first error
        stops it too (also one raised by ``items``): items not started are cancelled,
        those in flight end (what they finished stays), and that error is raised.
        ``done`` names what a finished item is, for the interrupt's message.
        """
        cancelled = cancel if cancel is not None else threading.Event()

        def progress(n: int) -> None:
            if cancelled.is_set():
                raise Cancelled()
            advance(n)

        failed = threading.Event()  # once set, no worker starts another item
        # Items queued and not ended, and an event set when that reaches 0 or one fails:
        # the main thread waits on one event, not on every future (each such wait costs
        # a lock per pending future: ~5 ms for 2,000, ten times a second).
        # ``finished`` counts the items whose work returned: an interrupt can come while
        # an item is being submitted, before its future is in ``futures``.
        count_lock, settled = threading.Lock(), threading.Event()
        outstanding = finished = 0

        def run(item: Any) -> Any:
            nonlocal outstanding, finished
            ended = False
            try:
                if failed.is_set():
                    return NOT_STARTED
                result = progress(0) or work(item, progress)
                ended = True
                return result
            except BaseException:
                failed.set()
                raise
            finally:
                with count_lock:
                    outstanding -= 1
                    finished += ended
                    if outstanding == 0 or failed.is_set():
                        settled.set()

        pool = concurrent.futures.ThreadPoolExecutor(self.concurrency)
        futures: list[concurrent.futures.Future[Any]] = []
        source = iter(items)
        try:
            # inside the try: Ctrl-C may come while work is being queued
            while not (failed.is_set() or cancelled.is_set()):
                try:
                    item = next(source)
                except StopIteration:
                    break
                with count_lock:
                    outstanding += 1
                futures.append(pool.submit(run, item))
            while not cancelled.is_set():  # a set ``cancel`` is seen within 0.1 s
                settled.clear()
                with count_lock:
                    if outstanding == 0 or failed.is_set():
                        break
                settled.wait(0.1)
            if cancelled.is_set():
                raise KeyboardInterrupt  # cancelled: stopped as Ctrl-C stops it
            for future in futures:
                future.cancel()  # after an error: those not started yet
            concurrent.futures.wait(futures)
        except KeyboardInterrupt:
            cancelled.set()
            pool.shutdown(wait=False, cancel_futures=True)  # also one submitted meanwhile

            def running() -> int:
                with count_lock:
                    settled.clear()
                    return outstanding - sum(f.cancelled() for f in futures)
            _wait_for_work_in_flight(running, settled)
            remove_temp_files()  # of transfers still running: they are not waited for
            if isinstance(items, Sequence):
                count = str(len(items))
            else:
                found = total(time.monotonic() + GRACE_S) if total is not None else len(futures)
                count = str(found) if found is not None else f"at least {len(futures)}"
            raise Interrupted(f"interrupted: {finished} of {count} {done}; "
                              "nothing else was written") from None
        except BaseException:  # ``items`` failed (a listing): the work in flight ends first
            failed.set()
            for future in futures:
                future.cancel()
            concurrent.futures.wait(futures)
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        for future in futures:
            if not future.cancelled() and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        return [future.result() for future in futures]


def _wait_for_work_in_flight(running: Callable[[], int], settled: threading.Event) -> None:
    """After an interrupt: wait up to GRACE_S for the work that is running to end (an
    upload that completed gets its index entries; the others stop at their next report)."""
    deadline = time.monotonic() + GRACE_S
    while running() > 0 and time.monotonic() < deadline:
        settled.wait(min(0.05, max(0.0, deadline - time.monotonic())))


def counted(bar: Progress, result: Any) -> Any:
    """``result`` of one finished file, after telling ``bar``."""
    bar.file_done()
    return result
