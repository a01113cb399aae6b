"""``to_dask`` on a LocalCluster as issue 23 measures it: 8 cached nginx logs of ~60k lines,
``groupby("status").size()``, 2 worker processes vs 1, and 1 worker vs ``lake.read`` in
this process, each as a first compute (a fresh cluster: the workers import and open the
lake) and warm (the same cluster again).  ``read`` parses a file per core; "read, one
file at a time" is the same work on one core, as one worker does it.  Medians of
alternating runs.

    python -m bench.dask_scaling --runs 5
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from datalake_nb import Lake

from .reading import make_logs


def timed(func: Callable[[], Any]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dask_scaling",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--mib", type=int, default=51, help="total size (51: ~60k lines a file)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    from dask.distributed import Client, LocalCluster

    with tempfile.TemporaryDirectory(prefix="datalake-dask-") as tmp:
        work = Path(tmp)
        lake = Lake(str(work / "lake"), cache_dir=work / "cache", progress=False)
        records = [lake.push(path, what="nginx", where=path.name.split("_")[0],
                             start="2026-11-01T00:00:00Z", data_version="1")
                   for path in make_logs(work / "logs", args.mib, args.files)]
        lake.fetch(records, dest=work / "out")  # every contender reads the cached files
        lines = len(lake.read(records[:1], format="lines"))

        def read() -> Any:
            return lake.read(records, format="nginx").groupby("status").size()

        def read_serially() -> Any:
            return pd.concat([lake.read([rec], format="nginx") for rec in records]
                             ).groupby("status").size()

        expected = read()
        seconds: dict[str, list[float]] = {}

        def note(name: str, value: float) -> None:
            seconds.setdefault(name, []).append(value)
            print(f"{name}: {value:.3f} s", file=sys.stderr)

        def on_cluster(workers: int) -> None:
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, Client(cluster):
                got: list[Any] = []

                def compute() -> None:
                    got.append(lake.to_dask(records, format="nginx")
                               .groupby("status").size().compute())
                note(f"dask {workers} first", timed(compute))
                note(f"dask {workers} warm", statistics.median(timed(compute) for _ in range(3)))
                for frame in got:  # the same answer as read's
                    if not frame.sort_index().equals(expected.sort_index()):
                        raise SystemExit(f"bench: dask with {workers} worker(s) counted "
                                         f"{frame.to_dict()}, read {expected.to_dict()}")

        turns: list[Callable[[], None]] = [
            lambda: on_cluster(1), lambda: on_cluster(2), lambda: note("read", timed(read)),
            lambda: note("read serially", timed(read_serially))]
        for run in range(args.runs):
            for turn in turns[run % len(turns):] + turns[:run % len(turns)]:
                turn()
    m = {name: statistics.median(values) for name, values in seconds.items()}
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"to_dask of {args.files} cached nginx logs x {lines:,} lines, groupby('status').size(); "
          f"medians of {args.runs} alternating runs (warm: of 3 computes each); load {load}")
    print("| case | time | vs | ratio | goal |\n|---|---:|---:|---:|---|")
    for kind, goal in (("first", ">= 1.4"), ("warm", ">= 1.6")):
        one, two = m[f"dask 1 {kind}"], m[f"dask 2 {kind}"]
        print(f"| 2 workers vs 1, {kind} compute (speed-up) | {two:.3f} s | {one:.3f} s | "
              f"{one / two:.2f} | {goal} |")
    for kind, goal in (("first", ""), ("warm", "<= 1.5")):
        one = m[f"dask 1 {kind}"]
        print(f"| 1 worker vs `lake.read` in-process (a file per core), {kind} compute | "
              f"{one:.3f} s | {m['read']:.3f} s | {one / m['read']:.2f} | {goal} |")
        print(f"| 1 worker vs `lake.read` of one file at a time (one core), {kind} compute | "
              f"{one:.3f} s | {m['read serially']:.3f} s | {one / m['read serially']:.2f} | |")
    print(f"| 2 workers vs `lake.read` in-process (a file per core), warm compute | "
          f"{m['dask 2 warm']:.3f} s | {m['read']:.3f} s | {m['dask 2 warm'] / m['read']:.2f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
