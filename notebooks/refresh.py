"""Re-run the example notebooks in place, so their stored outputs are current.

    python notebooks/refresh.py [NOTEBOOK ...]

Each notebook runs alone, in the environment the nbval run gives it (see conftest.py).  nbconvert stores the
widgets' state in the notebook's metadata (``widgets`` /
``application/vnd.jupyter.widget-state+json``), so GitHub, nbviewer and Voila draw the
picker as it was at the end of the run.  The stored outputs and that state are then
sanitized with the rules nbval compares with (sanitize.cfg): the run's temporary home
shows as ``~/.local/share`` etc., the local S3 server's port as ``PORT``, so no test path
is committed.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from conftest import environment, notebook_environment, notebook_home  # noqa: E402

RULES = re.findall(r"^regex: (.*)$\n^replace: (.*)$", (HERE / "sanitize.cfg").read_text(),
                   flags=re.MULTILINE)  # parsed as nbval parses it


def sanitized(value: Any) -> Any:
    """``value`` (JSON) with every rule applied to every string in it."""
    if isinstance(value, str):
        for regex, replace in RULES:
            value = re.sub(regex, replace, value)
        return value
    if isinstance(value, list):
        return [sanitized(item) for item in value]
    if isinstance(value, dict):
        return {key: sanitized(item) for key, item in value.items()}
    return value


def sanitize_notebook(path: Path) -> None:
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if "outputs" in cell:
            cell["outputs"] = sanitized(cell["outputs"])
    widgets = notebook["metadata"].get("widgets")
    if widgets:
        notebook["metadata"]["widgets"] = sanitized(widgets)
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")


def refresh(path: Path) -> None:
    home = notebook_home()
    try:
        with environment(notebook_environment(home)):
            subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook",
                            "--execute", "--inplace", str(path)], check=True, timeout=600)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    sanitize_notebook(path)


if __name__ == "__main__":
    for name in sys.argv[1:] or sorted(str(p) for p in HERE.glob("*.ipynb")):
        refresh(Path(name).resolve())
