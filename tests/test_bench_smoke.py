"""The benchmark suite still runs end to end (tiny sizes, no CLI tools).  It reports
speed; this test only checks that every case ran and made its rows: no timing is asserted."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # every case of the bench, tiny: about 15 s
def test_bench_quick_run_writes_every_case(tmp_path):
    out = tmp_path / "RESULTS.md"
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    for case in range(1, 8):
        assert f"| {case}. " in text, f"case {case} has no row"
    assert "requests per file" in text and "store calls per query" in text
