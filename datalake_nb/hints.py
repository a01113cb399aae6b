"""Why an answer is empty, told to a Python user in IPython or Jupyter.

``Lake.list`` and ``Lake.read`` keep the hint in ``frame.attrs["hint"]`` (a typo'd what:
"no what 'ngnix' in this lake; did you mean 'nginx'?").  A script reads it there; in
IPython, where a person looks at the answer, it is also shown, as a ``NothingFound``
warning under the cell.  The CLI and ``%lake`` say it their own way (a line on stderr, a
remark under the value), so while they run a command (``told_by_face``) nothing is warned.
"""
from __future__ import annotations

import contextlib
import contextvars
import sys
import threading
import warnings
from typing import Iterator

_FACE = contextvars.ContextVar("datalake_face_tells", default=False)


class NothingFound(UserWarning):
    """An answer is empty, and the lake knows a likely reason (a name it does not hold)."""


@contextlib.contextmanager
def told_by_face() -> Iterator[None]:
    """The CLI or ``%lake`` is running a command: it shows the hint itself."""
    token = _FACE.set(True)
    try:
        yield
    finally:
        _FACE.reset(token)


def in_ipython() -> bool:
    """Running under IPython (a terminal or a Jupyter kernel), never importing it."""
    ipython = sys.modules.get("IPython")
    return ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None


def tell(hint: str | None, where: str, stacklevel: int = 2) -> None:
    """Warn ``where: hint`` (``lake.list: no what ...``) in IPython, unless a face runs;
    only a call from the main thread, a cell's (a widget's background work, as the
    picker's, shows the hint itself)."""
    if hint and not _FACE.get() and in_ipython() \
            and threading.current_thread() is threading.main_thread():
        warnings.warn(NothingFound(f"{where}: {hint}"), stacklevel=stacklevel + 1)
