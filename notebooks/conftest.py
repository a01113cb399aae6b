"""Notebooks run (under nbval, and in refresh.py) against a fresh embedded lake.

The kernel inherits this environment: a new temporary XDG data/cache/config
home (so the real user's lake is never touched and every run starts empty;
the notebooks of one run share that lake, in file-name order, as refresh.py runs them),
no DATALAKE_*/AWS_* settings from outside, and no progress bars (their
output varies from run to run).
"""
from __future__ import annotations

import os
import tempfile

TEMP_PREFIX = "datalake-nb-"  # sanitize.cfg replaces paths under it


def notebook_environment() -> None:
    for name in list(os.environ):
        if name.startswith(("DATALAKE_", "AWS_")):
            del os.environ[name]
    home = tempfile.mkdtemp(prefix=TEMP_PREFIX)
    os.environ.update(XDG_DATA_HOME=f"{home}/data", XDG_CACHE_HOME=f"{home}/cache",
                      XDG_CONFIG_HOME=f"{home}/config", DATALAKE_PROGRESS="off")


notebook_environment()
