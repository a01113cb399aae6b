"""The uploader: pushes what is in the spool, in parallel, and keeps what it could not.

A spool entry leaves the queue only after its push is confirmed (data object and index
entries written), so a kill at any moment loses nothing; pushes are idempotent (the same
bytes and metadata are the same keys), so the entry pushed again after a kill is still
one record.  A failure that may pass (the network, the server, throttling) keeps the entry
and tries it again after a capped exponential backoff with jitter; one that cannot (the
bytes changed since enqueue, a record the lake refuses, the bytes gone) moves it to
``failed/`` with its reason, once.  Each file's outcome is one log line.

The long-running mode finds new entries by listing ``queue/`` every ``rescan`` seconds:
one ``readdir`` of a small folder, cheaper than it sounds and never missing an event (an
inotify watch would save at most that interval's latency on files that waited hours for
their rotation, and would need a rescan beside it anyway).
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime
import json
import random
import threading
import time
from typing import Any, Callable, TextIO

from ..core.errors import DatalakeError, InvalidInput
from ..core.metadata import Record
from ..output import human_size
from ..stores.base import Store
from .pool import Cancelled
from .push import Cataloged, Changed, checked_fields, push_one
from .spool import Entry, Spool

BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 300.0


@dataclasses.dataclass
class Outcome:
    """What one try of one entry came to: ``pushed``, ``retry`` (kept, tried again
    later), ``failed`` (moved to failed/), ``busy`` (another uploader holds it) or
    ``stopped`` (abandoned at shutdown, kept)."""
    event: str
    entry: str
    source: str = ""
    record: str | None = None
    size: int | None = None
    seconds: float | None = None
    attempt: int = 1
    retry_in: float | None = None
    error: str | None = None


class Log:
    """One line per outcome on ``out``: words for people, or JSON (``json``) for journald
    and collectors."""

    def __init__(self, out: TextIO, json_lines: bool = False):
        self.out, self.json_lines = out, json_lines
        self.lock = threading.Lock()

    def __call__(self, outcome: Outcome) -> None:
        if outcome.event == "busy":
            return
        with self.lock:
            self.out.write(self.line(outcome) + "\n")
            self.out.flush()

    def line(self, o: Outcome) -> str:
        if self.json_lines:
            stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
            return json.dumps({"time": stamp.replace("+00:00", "Z"),
                               **{k: v for k, v in dataclasses.asdict(o).items() if v is not None}})
        if o.event == "pushed":
            return (f"pushed {o.source} as {o.record} ({human_size(o.size or 0)}, "
                    f"{o.seconds:.2f} s)")
        if o.event == "retry":
            return (f"retry {o.source} in {o.retry_in:.1f} s (attempt {o.attempt}): {o.error}")
        if o.event == "failed":
            return f"failed {o.source}: moved to failed/{o.entry}: {o.error}"
        return f"{o.event} {o.source}: {o.error or 'kept in the queue'}"


def backoff(attempt: int, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S,
            rand: Callable[[], float] = random.random) -> float:
    """Seconds before try ``attempt + 1``: base * 2^(attempt-1), capped, then half of it
    plus a random share of the other half (so uploaders that failed together spread out)."""
    ceiling = min(cap, base * 2 ** min(attempt - 1, 30))
    return ceiling / 2 + rand() * ceiling / 2


class Uploader:
    """Pushes ``spool``'s entries to ``store``, ``concurrency`` at a time."""

    def __init__(self, spool: Spool, store: Store, concurrency: int,
                 log: Callable[[Outcome], None], base: float = BACKOFF_BASE_S,
                 cap: float = BACKOFF_CAP_S,
                 on_pushed: Callable[[Record, Entry], None] | None = None):
        self.spool, self.store, self.concurrency, self.log = spool, store, concurrency, log
        self.on_pushed = on_pushed
        self.base, self.cap = base, cap
        self.attempts: dict[str, int] = {}
        self.next_try: dict[str, float] = {}
        self.abandon = threading.Event()  # set at the end of a shutdown's grace

    # -- one entry --------------------------------------------------------------------

    def push_entry(self, entry: Entry, cataloged: Cataloged) -> Outcome:
        """Try one entry once: pushed and removed, kept for a retry, or moved to failed/."""
        source = str(entry.record.get("source", entry.id))
        with self.spool.claim(entry) as held:
            if not held:
                return Outcome("busy", entry.id, source)
            attempt = self.attempts.get(entry.id, 0) + 1
            began = time.monotonic()
            try:
                if entry.record.get("damaged"):
                    raise InvalidInput("record", "its record.json does not read")
                fields = checked_fields(entry.fields)
                rec = push_one(self.store, entry.data, fields, cataloged, self._advance,
                               expected_hash=entry.record["hash"])
            except Cancelled:
                return Outcome("stopped", entry.id, source, attempt=attempt,
                               error="abandoned at shutdown; kept in the queue")
            except (Changed, InvalidInput, FileNotFoundError, KeyError) as exc:
                reason = _reason(exc)
                self.spool.fail(entry, reason)
                self._forget(entry.id)
                return Outcome("failed", entry.id, source, attempt=attempt, error=reason)
            except (DatalakeError, OSError) as exc:
                self.attempts[entry.id] = attempt
                wait = backoff(attempt, self.base, self.cap)
                self.next_try[entry.id] = time.monotonic() + wait
                return Outcome("retry", entry.id, source, attempt=attempt, retry_in=wait,
                               error=str(exc))
            if self.on_pushed is not None:
                self.on_pushed(rec, entry)  # before done: a failure here keeps the entry
            self.spool.done(entry)  # only now: the push is confirmed
            self._forget(entry.id)
            return Outcome("pushed", entry.id, source, rec.id, rec.size,
                           time.monotonic() - began, attempt)

    def _advance(self, n: int) -> None:
        if self.abandon.is_set():
            raise Cancelled()

    def _forget(self, entry_id: str) -> None:
        self.attempts.pop(entry_id, None)
        self.next_try.pop(entry_id, None)

    def due(self, names: list[str]) -> list[str]:
        """The ids whose backoff is over (or that never failed)."""
        now = time.monotonic()
        return [n for n in names if self.next_try.get(n, 0.0) <= now]

    # -- the two modes ------------------------------------------------------------------

    def run_once(self) -> list[Outcome]:
        """Every queued entry tried once (with the store's own request retries)."""
        self.spool.clean_tmp()
        cataloged = Cataloged()
        entries = self.spool.entries()
        with concurrent.futures.ThreadPoolExecutor(self.concurrency) as pool:
            outcomes = list(pool.map(lambda e: self._logged(e, cataloged), entries))
        return outcomes

    def run(self, stop: threading.Event, rescan: float = 1.0, grace: float = 20.0) -> None:
        """Until ``stop`` is set: push what is due, look at the queue again every
        ``rescan`` seconds or when a push ends.  Then new work stops, pushes in flight get
        ``grace`` seconds to finish, and the rest are abandoned (kept in the queue)."""
        self.spool.clean_tmp()
        pool = concurrent.futures.ThreadPoolExecutor(self.concurrency)
        in_flight: dict[str, concurrent.futures.Future[Outcome]] = {}
        woken = threading.Event()
        cataloged, since = Cataloged(), time.monotonic()
        try:
            while not stop.is_set():
                if time.monotonic() - since > rescan * 60:  # a repair elsewhere may drop one
                    cataloged, since = Cataloged(), time.monotonic()
                for entry_id in [i for i, f in in_flight.items() if f.done()]:
                    del in_flight[entry_id]
                free = self.concurrency - len(in_flight)
                waiting = self.due([n for n in self.spool.names() if n not in in_flight])
                for entry in self.spool.entries(names=waiting[:max(free, 0)]):  # records read
                    future = pool.submit(self._logged, entry, cataloged)      # only for these
                    future.add_done_callback(lambda _: woken.set())
                    in_flight[entry.id] = future
                woken.wait(rescan)
                woken.clear()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            running = [f for f in in_flight.values() if not f.cancelled()]
            _, late = concurrent.futures.wait(running, timeout=grace)
            if late:
                self.abandon.set()  # uploads in flight stop at their next progress report
                concurrent.futures.wait(late, timeout=5)

    def _logged(self, entry: Entry, cataloged: Cataloged) -> Outcome:
        try:
            outcome = self.push_entry(entry, cataloged)
        except Exception as exc:  # a bug or the spool's own disk: kept, said, tried again
            self.attempts[entry.id] = attempt = self.attempts.get(entry.id, 0) + 1
            wait = backoff(attempt, self.base, self.cap)
            self.next_try[entry.id] = time.monotonic() + wait
            outcome = Outcome("retry", entry.id, str(entry.record.get("source", "")),
                              attempt=attempt, retry_in=wait,
                              error=f"{type(exc).__name__}: {exc}")
        self.log(outcome)
        return outcome


def _reason(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"its bytes are gone from the spool ({exc.filename})"
    if isinstance(exc, KeyError):
        return f"its record lacks {exc}"
    return str(exc)


def stayed(outcomes: list[Outcome]) -> int:
    """How many entries of a run_once are still queued or failed now."""
    return sum(o.event in ("retry", "failed", "stopped") for o in outcomes)


__all__ = ["Outcome", "Log", "Uploader", "backoff", "stayed"]
