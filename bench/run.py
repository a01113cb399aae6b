"""The benchmark suite: datalake_nb against raw boto3, the AWS CLI and s3cmd.

    python -m bench                 # every case at full size (a few minutes on 2 cores)
    python -m bench --quick         # tiny sizes, no CLI tools: a smoke run
    python -m bench --only query,hashing --no-write

It starts its own S3 server (moto's, a separate process on 127.0.0.1; or SeaweedFS's
`weed mini` with ``--server seaweedfs``, results then in bench/RESULTS-seaweedfs.md), builds its data in
a temporary folder, runs each case several times in turns with its baselines, prints one
table (median times, ratios, targets) and writes it to bench/RESULTS.md.  The AWS CLI and
s3cmd are installed into their own virtualenv under /tmp (kept between runs).
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import moto

from .cases import CASES, FULL, QUICK, Bench, Row
from .support import CREDENTIALS, MotoServer, SeaweedFS, Tools

NEEDS = {"fetch-large": "push-large", "fetch-many": "push-many"}
SERVERS = {"moto": MotoServer, "seaweedfs": SeaweedFS}
SERVER_NAMES = {"moto": "moto's S3 server", "seaweedfs": "SeaweedFS (weed mini)"}


def table(rows: list[Row]) -> str:
    lines = ["| case | ours | baseline | baseline's | ratio | means | target | met |",
             "|---|---:|---|---:|---:|---|---|---|"]
    for r in sorted(rows, key=lambda r: int(r.case.split(".")[0])):
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(f"| {r.case} | {r.ours} | {r.baseline} | {r.base_value} | {r.ratio:.2f} "
                     f"| {r.ratio_means} | {r.target} | {met} |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())[1]
    except (OSError, TypeError):
        pass
    memory = ""
    try:
        memory = f", {int(Path('/proc/meminfo').read_text().split()[1]) / (1 << 20):.0f} GiB memory"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores{memory}; "
            f"Python {platform.python_version()}")


def weed_version() -> str:
    done = subprocess.run(["weed", "version"], capture_output=True, text=True)
    return "SeaweedFS " + (done.stdout.split() or ["?", "?", "?"])[2]


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and no CLI tools (smoke run)")
    parser.add_argument("--only", help="comma-separated cases: " + ",".join(CASES))
    parser.add_argument("--no-tools", action="store_true", help="skip the AWS CLI and s3cmd baselines")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--server", choices=SERVERS, default="moto", help="the S3 server to run")
    parser.add_argument("--out", type=Path, help="where to write the results (default: "
                        "bench/RESULTS.md, or bench/RESULTS-seaweedfs.md)")
    args = parser.parse_args(argv)
    chosen = list(CASES) if not args.only else args.only.split(",")
    unknown = [c for c in chosen if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    chosen = [c for c in CASES if c in chosen or c in {NEEDS.get(x) for x in chosen}]
    sizes = QUICK if args.quick else FULL

    load_before = load()
    os.environ.update(CREDENTIALS)
    os.environ.pop("AWS_PROFILE", None)
    began = time.perf_counter()
    server = SERVERS[args.server]()
    os.environ["AWS_ENDPOINT_URL"] = server.url
    try:
        with tempfile.TemporaryDirectory(prefix="datalake-bench-") as tmp:
            work = Path(tmp)
            tools = None if args.quick or args.no_tools else Tools(server.url, work)
            bench = Bench(server.url, tools, work, sizes, args.server)
            for name in chosen:
                start = time.perf_counter()
                print(f"bench: {name} ...", file=sys.stderr, flush=True)
                CASES[name](bench)
                print(f"bench: {name} took {time.perf_counter() - start:.0f} s", file=sys.stderr)
    finally:
        server.stop()
    took = time.perf_counter() - began

    versions = (f"boto3 {boto3.__version__}"
                + (f", moto {moto.__version__}" if args.server == "moto" else f", {weed_version()}")
                + (f"; {tools.version(tools.aws)}; {tools.version(tools.s3cmd)}" if tools else ""))
    text = table(bench.rows)
    print(text)
    print("\n".join(f"- {note}" for note in bench.notes))
    if not args.no_write:
        out = args.out or Path(__file__).with_name(
            "RESULTS.md" if args.server == "moto" else f"RESULTS-{args.server}.md")
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        out.write_text(
            "# Benchmark results\n\n"
            f"Run on {stamp} by `python -m bench{' --quick' if args.quick else ''}"
            f"{'' if args.server == 'moto' else ' --server ' + args.server}` "
            f"in {took / 60:.1f} minutes.\n\n"
            f"- Machine: {machine()}; load average (1/5/15 min) {load_before} before the run, "
            f"{load()} after.\n- Server: {SERVER_NAMES[args.server]} on 127.0.0.1 (a separate "
            f"process); {versions}.\n- Medians of {sizes.repeat} runs per transfer case and "
            f"{sizes.repeat_fast} per quick case, contenders in turns. Concurrency 8 for ours "
            "and the boto3 baselines; the CLIs at their defaults.\n\n"
            f"{text}\n\n## Notes\n\n" + "\n".join(f"- {note}" for note in bench.notes) + "\n")
        print(f"bench: wrote {out}", file=sys.stderr)
    return 0
