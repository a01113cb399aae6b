"""Re-run the example notebooks in place, so their stored outputs are current.

    python notebooks/refresh.py [NOTEBOOK ...]

Uses the same environment as the nbval run (see conftest.py).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from conftest import notebook_environment  # noqa: E402

notebook_environment()
notebooks = sys.argv[1:] or sorted(str(p) for p in HERE.glob("*.ipynb"))
subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                "--inplace", *notebooks], check=True)
