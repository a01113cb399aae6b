"""In a Python process a test started: read the system config file the test named
(``DLTEST_ETC_FILE``) instead of /etc/datalake.conf (see support/isolation.py).

``datalake_nb.config`` is patched right after it is first imported, not imported here, so a
fresh interpreter stays fresh (test_imports)."""
import importlib.abc
import importlib.util
import os
import sys
from pathlib import Path

_NAME = "datalake_nb.config"


class _PatchEtcFile(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != _NAME:
            return None
        sys.meta_path.remove(self)  # the real finders find it; this one only wraps its loader
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            module.ETC_FILE = Path(os.environ["DLTEST_ETC_FILE"])

        spec.loader.exec_module = exec_module
        return spec


if os.environ.get("DLTEST_ETC_FILE") and _NAME not in sys.modules:
    sys.meta_path.insert(0, _PatchEtcFile())
