"""Each notebook runs (under nbval, and in refresh.py) in a fresh home of its own.

Its kernel starts with an environment made for it: a new temporary home with the XDG data,
cache and config folders (so the embedded default lake starts empty and the real user's
lake is never touched), no DATALAKE_*/AWS_* settings from outside, no /etc/datalake.conf
(see tests/support/isolation.py), and no progress bars (their output varies from run to
run).  An IPython startup file moves the kernel into ``<home>/notebooks``, beside a link to
the samples, so the notebooks' relative paths (``../samples/logs``, ``dest="fetched"``)
work and nothing is written into the checkout.  Each notebook seeds the data it shows, so
it runs alone and in any order.  This process's own environment is changed only while a
kernel starts, and the home is removed when its notebook is done.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from support.isolation import clean_environment  # noqa: E402

TEMP_PREFIX = "datalake-nb-"  # sanitize.cfg replaces paths under it


def notebook_home() -> Path:
    """A new home for one notebook's kernel (the caller removes it)."""
    home = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    (home / "notebooks").mkdir()
    (home / "samples").symlink_to(ROOT / "samples")
    startup = home / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-cwd.py").write_text(f"import os\nos.chdir({str(home / 'notebooks')!r})\n")
    return home


def notebook_environment(home: Path) -> dict[str, str]:
    """The environment a notebook kernel starts with, for the home ``home``."""
    return {**clean_environment(os.environ, home), "XDG_DATA_HOME": f"{home}/data",
            "XDG_CACHE_HOME": f"{home}/cache", "XDG_CONFIG_HOME": f"{home}/config",
            "IPYTHONDIR": f"{home}/ipython", "DATALAKE_PROGRESS": "off"}


@contextlib.contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """os.environ is ``env`` inside the block (for a kernel to copy when it starts)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each notebook's cells in their order, one notebook after another, in the places the
    cells had: a plugin that shuffles tests (pytest-randomly) must not shuffle cells."""
    from nbval.plugin import IPyNbCell
    places = [n for n, item in enumerate(items) if isinstance(item, IPyNbCell)]
    cells = sorted((items[n] for n in places), key=lambda c: (str(c.parent.path), c.cell_num))
    for n, cell in zip(places, cells):
        items[n] = cell


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    """Around the first cell's setup, where nbval starts the notebook's kernel."""
    from nbval.plugin import IPyNbFile
    notebook = item.parent
    if not isinstance(notebook, IPyNbFile) or notebook.kernel is not None:
        yield
        return
    home = notebook_home()
    try:
        with environment(notebook_environment(home)):
            yield
    finally:
        if notebook.kernel is None:  # the kernel did not start: nothing will tear down
            shutil.rmtree(home, ignore_errors=True)
        else:  # when the notebook's last cell is done
            notebook.addfinalizer(lambda: shutil.rmtree(home, ignore_errors=True))
