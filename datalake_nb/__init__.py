"""datalake_nb: archive log files with uniform metadata; find and fetch them from Python,
the ``datalake`` command line, or a notebook (``%load_ext datalake_nb``)."""
from __future__ import annotations

from typing import Any

from .core.errors import DamagedFile, DatalakeError, IntegrityError, InvalidInput, NotFound
from .engine.pool import Interrupted
from .lake import Lake
from .core.metadata import Record


def load_ipython_extension(ipython: Any) -> None:
    """%load_ext datalake_nb: register %lake and %%lake (configurable with %config), their
    Tab completion, and the display of record frames (human sizes)."""
    from .notebook import completion, display
    from .notebook.magics import LakeMagics
    magics = LakeMagics(ipython)
    ipython.register_magics(magics)
    completion.register(ipython, magics.completion_names)
    display.register(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """%unload_ext datalake_nb: remove %lake and %%lake, their completion and display."""
    from .notebook import completion, display
    completion.unregister(ipython)
    display.unregister(ipython)
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("lake", None)
    ipython.configurables[:] = [c for c in ipython.configurables
                                if type(c).__name__ != "LakeMagics"]


def __getattr__(name: str) -> Any:
    """``from datalake_nb import LakePicker`` without importing ipywidgets on ``import datalake_nb``."""
    if name == "LakePicker":
        from .notebook.picker import LakePicker
        return LakePicker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Lake", "Record", "DatalakeError", "InvalidInput", "NotFound", "IntegrityError",
           "DamagedFile", "Interrupted"]
__version__ = "0.1.0"
