"""Progress of long work, told to a callback the caller passes in (like fsspec's ``callback=``).

The engine only reports: first how much there is to do, then bytes as they move and
files as they finish.  What shows it is the caller's choice: the CLI passes a tqdm bar,
``%lake`` a ``tqdm.auto`` bar, the picker a callback that moves its ``IntProgress``.
Nothing here looks at which front end is running.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator, Union

from ..core.errors import InvalidInput

BAR_MIN_BYTES, BAR_MIN_FILES = 8 << 20, 20  # smaller work finishes before a bar is worth showing
DELAY_S = 1.0  # a bar shows only once work has taken this long
MANY_FILES, SMALL_AVERAGE = 100, 256 << 10  # then the bar counts files, not bytes


class Progress:
    """Receives the progress of one operation; this base class shows nothing.

    ``advance`` and ``file_done`` are called from worker threads.
    """

    def start(self, total_bytes: int, files: int, desc: str) -> None:
        """The work ahead: ``total_bytes`` in ``files`` files (``desc``: push or fetch)."""

    def more(self, total_bytes: int, files: int) -> None:
        """More work found after ``start`` (a fetch by query whose listing is still
        running): ``total_bytes`` in ``files`` more files."""

    def advance(self, nbytes: int) -> None:
        """``nbytes`` more bytes moved."""

    def file_done(self) -> None:
        """One more file finished."""

    def close(self) -> None:
        """The operation ended (done or failed)."""

    def interrupted(self) -> None:
        """The operation was interrupted (``close`` follows): show what was done."""


class TqdmProgress(Progress):
    """A bar for long work: ``tqdm.auto`` (terminal or notebook widget) unless another tqdm
    class is given.  Short work (under 8 MiB and 20 files) shows no bar, and a bar appears
    only after ``delay`` seconds (``DELAY_S``), so work done within a second leaves none
    behind.  Many small files (``MANY_FILES`` or more, under ``SMALL_AVERAGE`` each on
    average) are counted in files, since their bytes fly by too fast to read."""

    def __init__(self, tqdm_class: Any = None, **tqdm_options: Any):
        self.tqdm_class, self.options, self.bar = tqdm_class, tqdm_options, None
        self.by_files = False
        self.desc, self.total_bytes, self.files = "", 0, 0
        self.files_done = 0

    def start(self, total_bytes: int, files: int, desc: str) -> None:
        self.desc, self.total_bytes, self.files = desc, total_bytes, files
        self._open()

    def more(self, total_bytes: int, files: int) -> None:
        """A total that grows: the bar appears once ``MANY_FILES`` files or
        ``BAR_MIN_BYTES`` are known (enough to choose files or bytes), then its total
        follows."""
        self.total_bytes += total_bytes
        self.files += files
        if self.bar is not None:
            self.bar.total = self.files if self.by_files else self.total_bytes
        elif self.files >= MANY_FILES or self.total_bytes >= BAR_MIN_BYTES:
            self._open()

    def _open(self) -> None:
        total_bytes, files, desc = self.total_bytes, self.files, self.desc
        if total_bytes < BAR_MIN_BYTES and files < BAR_MIN_FILES:
            return
        if self.tqdm_class is None:
            from tqdm.auto import tqdm
            self.tqdm_class = tqdm
        options = {"delay": DELAY_S, **self.options} if _takes_delay(self.tqdm_class) else self.options
        self.by_files = files >= MANY_FILES and total_bytes < files * SMALL_AVERAGE
        if self.by_files:
            self.bar = self.tqdm_class(total=files, desc=desc, unit="file", **options)
        else:
            self.bar = self.tqdm_class(total=total_bytes, desc=desc, unit="B", unit_scale=True,
                                       unit_divisor=1024, **options)

    def advance(self, nbytes: int) -> None:
        if self.bar is not None and not self.by_files:
            self.bar.update(nbytes)

    def file_done(self) -> None:
        self.files_done += 1
        if self.bar is not None and self.by_files:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def interrupted(self) -> None:
        """The bar ends at the files finished ("fetch interrupted: 2/4 files"), not at the
        bytes in flight when it stopped, and a notebook bar turns orange, not red (red is
        tqdm's colour for an error)."""
        bar = self.bar
        if bar is None:
            return
        bar.unit, bar.unit_scale = "file", False
        bar.total, bar.n = self.files, self.files_done
        bar.set_description(f"{self.desc} interrupted", refresh=False)
        bar.refresh()
        self.close()
        if hasattr(bar, "container"):  # tqdm.notebook: close() made it red (n < total)
            bar.disp(bar_style="warning", check_delay=False)


def _takes_delay(tqdm_class: Any) -> bool:
    """tqdm's classes (and subclasses) take ``delay``; a stand-in class (a test's) may not."""
    return any(getattr(c, "__module__", "").startswith("tqdm")
               for c in getattr(tqdm_class, "__mro__", ()))


class FileCounter(Progress):
    """Counts finished files under a lock and calls ``on_change(done, total)`` (a widget's bar)."""

    def __init__(self, on_change: Any):
        self.on_change, self.done, self.total = on_change, 0, 0
        self._lock = threading.Lock()

    def start(self, total_bytes: int, files: int, desc: str) -> None:
        self.done, self.total = 0, files
        self.on_change(0, files)

    def more(self, total_bytes: int, files: int) -> None:
        with self._lock:
            self.total += files
            self.on_change(self.done, self.total)

    def file_done(self) -> None:
        with self._lock:
            self.done += 1
            self.on_change(self.done, self.total)


class TransferCounter(Progress):
    """Counts bytes and files under a lock for a widget's bar: ``on_change(done_bytes,
    total_bytes, done_files, files)`` at the start, at each finished file, and when the
    bytes have moved by ``steps``-th of the total (not on every chunk: each call is a
    message to the browser)."""

    def __init__(self, on_change: Any, steps: int = 200):
        self.on_change, self.steps = on_change, steps
        self.done_bytes = self.total_bytes = self.done = self.files = 0
        self._told = 0
        self._lock = threading.Lock()

    def _tell(self) -> None:
        self._told = self.done_bytes
        self.on_change(self.done_bytes, self.total_bytes, self.done, self.files)

    def start(self, total_bytes: int, files: int, desc: str) -> None:
        with self._lock:
            self.done_bytes, self.total_bytes, self.done, self.files = 0, total_bytes, 0, files
            self._tell()

    def more(self, total_bytes: int, files: int) -> None:
        with self._lock:
            self.total_bytes += total_bytes
            self.files += files
            self._tell()

    def advance(self, nbytes: int) -> None:
        with self._lock:
            self.done_bytes += nbytes
            if self.done_bytes - self._told >= max(self.total_bytes // self.steps, 1):
                self._tell()

    def file_done(self) -> None:
        with self._lock:
            self.done += 1
            self._tell()


ProgressArg = Union[Progress, bool, None]


def as_progress(value: ProgressArg) -> Progress:
    """A Progress from what callers pass: one as is, True for a tqdm.auto bar, else none."""
    if isinstance(value, Progress):
        return value
    if value is True:
        return TqdmProgress()
    if value in (None, False):
        return Progress()
    raise InvalidInput("progress", f"got {value!r}; allowed: True (a tqdm.auto bar), False, "
                                   "or a datalake_nb.engine.progress.Progress")


@contextlib.contextmanager
def opened(value: ProgressArg, total_bytes: int, files: int, desc: str) -> Iterator[Progress]:
    """``as_progress(value)``, started with the work ahead and closed at the end."""
    bar = as_progress(value)
    bar.start(total_bytes, files, desc)
    try:
        yield bar
    except KeyboardInterrupt:
        bar.interrupted()
        raise
    finally:
        bar.close()
