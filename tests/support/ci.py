"""Whether this run is CI's: there a missing S3 server, browser or tool is a failure,
not a skip (``.ci/run`` installs them and sets ``CI=true``)."""
from __future__ import annotations

import os
from typing import Mapping


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """``CI`` set to anything but empty, ``0``, ``false`` or ``no``."""
    value = (os.environ if environ is None else environ).get("CI", "")
    return value.strip().lower() not in ("", "0", "false", "no")
