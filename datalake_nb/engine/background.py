"""A query's listings running in the background, their records handed over as pages arrive,
so a fetch by query starts downloading on the first page instead of after the last."""
from __future__ import annotations

import concurrent.futures
import queue
import threading
import time
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..core.metadata import Record

_END = object()  # one listing finished


class BackgroundListing:
    """The records of ``listings`` (run in parallel, up to ``concurrency`` at a time) that
    pass ``keep``, in no particular order.  Iterating waits for the next one; a listing's
    error is raised there; a set ``cancel`` ends the iteration early.  ``close`` stops the
    listings at their next record (a request in flight still ends)."""

    def __init__(self, listings: Sequence[Callable[[], Iterable[Record]]],
                 keep: Callable[[Record], bool], concurrency: int,
                 cancel: threading.Event | None = None):
        self._found: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._running = len(listings)
        self.taken = 0  # records handed to the one iterating (or on their way to it)
        self._keep, self._cancel = keep, cancel
        self._pool = concurrent.futures.ThreadPoolExecutor(max(1, min(len(listings), concurrency)))
        for listing in listings:
            self._pool.submit(self._run, listing)

    def _run(self, listing: Callable[[], Iterable[Record]]) -> None:
        try:
            for rec in listing():
                if self._stop.is_set():
                    return
                if self._keep(rec):
                    self._found.put(rec)
        except BaseException as exc:  # noqa: BLE001 - raised to the one iterating
            self._found.put(exc)
        finally:
            self._found.put(_END)

    def __iter__(self) -> Iterator[Record]:
        while self._running:
            try:
                item = self._found.get(timeout=0.1)  # Ctrl-C and ``cancel`` are seen meanwhile
            except queue.Empty:
                if self._cancel is not None and self._cancel.is_set():
                    return
                continue
            if item is _END:
                self._running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                self.taken += 1
                yield item

    def total(self, deadline: float) -> int | None:
        """After an interrupt: how many records the listings find in all (those handed
        over included), if they end before ``deadline`` (``time.monotonic()``); else None."""
        count = self.taken
        while self._running:
            try:
                item = self._found.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if item is _END:
                self._running -= 1
            elif isinstance(item, BaseException):
                return None
            else:
                count += 1
        return count

    def close(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> "BackgroundListing":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
