"""Several processes pushing into one lake at once lose no record."""
from __future__ import annotations

import os
import subprocess
import sys

from datalake_nb import Lake

PROCESSES, FILES = 4, 15


def test_parallel_pushers_lose_nothing(lake_url, tmp_path):
    procs = []
    for p in range(PROCESSES):
        folder = tmp_path / f"host{p}"
        folder.mkdir()
        paths = []
        for i in range(FILES):
            path = folder / f"app-{i}.log"
            path.write_text(f"process {p} file {i}\n")
            paths.append(str(path))
        cmd = [sys.executable, "-m", "datalake_nb", "push", "--storage-url", lake_url,
               "--what", "app", "--where", f"host{p}", "--start", "2015-03-20T10:00:00Z",
               "--end", "2015-03-20T11:00:00Z", "--data-version", "1", *paths]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      env=os.environ.copy(), text=True))
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert len(out.splitlines()) == FILES
    frame = Lake(lake_url, progress=False).list(what="app")
    assert len(frame) == PROCESSES * FILES
    assert frame["id"].is_unique and frame["hash"].is_unique
    assert Lake(lake_url, progress=False).catalog() == {"app": [f"host{p}" for p in range(PROCESSES)]}
