"""Several processes at once: pushers into one lake lose no record; fetchers into one
cache both succeed and leave one verified copy of each file."""
from __future__ import annotations

import os
import subprocess
import sys

from datalake_nb import Lake
from datalake_nb.engine.hashing import hash_file

from support import figures

PROCESSES, FILES = 8, 50
FETCHERS, FETCHED = 2, 40


def datalake(*args: str, **popen: object) -> subprocess.Popen:
    # 8 files in flight per process (not the default 32): moto is one Python process, and
    # on a loaded 2-core machine 8 x 32 requests at once made some wait past the 5 s read
    # timeout; what is tested is many writers, not many requests per writer.
    env = {**os.environ, "DATALAKE_CONCURRENCY": "8"}
    return subprocess.Popen([sys.executable, "-m", "datalake_nb", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True, **popen)


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
        procs.append(datalake("push", "--storage-url", lake_url, "--what", "app", "--where",
                              f"host{p}", "--start", "2015-03-20T10:00:00Z", "--end",
                              "2015-03-20T11:00:00Z", "--data-version", "1", "--work-id",
                              f"job-{p % 2}", *paths))
    figures.add("concurrent writers", PROCESSES)
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert len(out.splitlines()) == FILES
    lake = Lake(lake_url, progress=False)
    frame = lake.list(what="app")
    figures.add("files lost", PROCESSES * FILES - len(set(frame["id"])))
    assert len(frame) == PROCESSES * FILES
    assert frame["id"].is_unique and frame["hash"].is_unique
    assert lake.catalog() == {"app": [f"host{p}" for p in range(PROCESSES)]}
    assert len(lake.list(work_id="job-0")) == len(lake.list(work_id="job-1")) == PROCESSES * FILES // 2
    from datalake_nb.engine.check import check
    assert check(lake.store).findings == []


def test_parallel_fetchers_share_one_cache(lake_url, tmp_path):
    lake = Lake(lake_url, cache_dir=tmp_path / "pushcache", progress=False)
    sources = []
    for i in range(FETCHED):
        path = tmp_path / "src" / f"f{i}.log"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(os.urandom(1000 * (1 + i % 7) * (1 + 40 * (i % 3 == 0))))
        sources.append(path)
    lake.push_many(sources, what="app", where="h1", start="2015-03-20", data_version="0")
    cache, dest = tmp_path / "shared-cache", tmp_path / "shared-dest"
    procs = [datalake("fetch", "--storage-url", lake_url, "--cache-dir", str(cache), "--what",
                      "app", "--dest", str(dest), "--progress", "off") for _ in range(FETCHERS)]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outputs.append(out.splitlines())
    assert outputs[0] == outputs[1] and len(outputs[0]) == FETCHED
    expected = sorted(hash_file(p)[0] for p in sources)
    cached = sorted(p for p in cache.rglob("*") if p.is_file())
    assert sorted(p.name for p in cached) == expected  # one copy of each, nothing else
    assert all(hash_file(p)[0] == p.name for p in cached)  # each one verified
    fetched = sorted(hash_file(p)[0] for p in dest.rglob("*") if p.is_file())
    figures.add("files lost", len(set(expected) - set(fetched)))
    assert fetched == expected  # no temporary file left behind either
