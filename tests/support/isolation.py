"""One clean environment for every test and notebook kernel, whatever the machine has.

No ``DATALAKE_*``, ``AWS_*``, ``AZURE_*`` or ``GOOGLE_*`` setting and no XDG folder from outside, HOME in a temporary
folder, and the machine's /etc/datalake.conf replaced by a file there (absent unless a test
writes it): in this process (``datalake_nb.config.ETC_FILE``) and in the Python processes
the test starts (the CLI, a notebook kernel), through ``site/sitecustomize.py``, which
PYTHONPATH puts first.  So a run of one file and a run of the whole suite see the same.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

PREFIXES = ("DATALAKE_", "AWS_", "AZURE_", "GOOGLE_")
XDG = ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME")
ETC_VARIABLE = "DLTEST_ETC_FILE"  # read by site/sitecustomize.py (not a DATALAKE_ name: no setting)
SITE = Path(__file__).parent / "site"
OUTSIDE = dict(os.environ)  # as the run started (the conftest imports this first)


def clean_environment(environ: Mapping[str, str], home: Path) -> dict[str, str]:
    """``environ`` without outside settings, with HOME at ``home`` and the system config
    file at ``home/etc/datalake.conf``."""
    env = {k: v for k, v in environ.items() if not k.startswith(PREFIXES) and k not in XDG}
    paths = [str(SITE), *(p for p in environ.get("PYTHONPATH", "").split(os.pathsep)
                          if p and p != str(SITE))]
    env.update(HOME=str(home), PYTHONPATH=os.pathsep.join(paths),
               **{ETC_VARIABLE: str(home / "etc" / "datalake.conf")})
    return env


def etc_file() -> Path | None:
    """The system config file this environment names, if any."""
    return Path(os.environ[ETC_VARIABLE]) if os.environ.get(ETC_VARIABLE) else None
