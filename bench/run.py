"""The benchmark suite: datalake_nb against s5cmd, rclone, boto3 (and its CRT transfer
manager), the AWS CLI and s3cmd, on loopback and over a simulated network round trip.

    python -m bench                      # every case, loopback and 20 ms RTT (~15 min on 2 cores)
    python -m bench --rtt 20ms           # one profile: everything through a 20 ms round trip
    python -m bench --rtt 0,20ms --bandwidth 1gbit
    python -m bench --quick              # tiny sizes, loopback, no CLI tools: a smoke run
    python -m bench --only query,hashing --no-write

It starts its own S3 server (SeaweedFS's `weed mini` by default, or moto's with
``--server moto``, results then in bench/RESULTS-moto.md), and for a profile with a round
trip puts bench/latency_proxy.py between every contender and the server.  It builds its
data in a temporary folder, runs each case several times in turns with its baselines,
prints one table (median times, ratios, targets; one column group per profile) and writes
it to bench/RESULTS.md.  The command-line tools are installed into their own virtualenv
under /tmp (kept between runs).
"""
from __future__ import annotations

import argparse
import dataclasses
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

from . import sections
from .cases import CASES, FULL, NETWORK_FREE, QUICK, Bench, Goal, Row
from .latency_proxy import parse_duration, parse_rate
from .support import CREDENTIALS, LatencyProxy, MotoServer, SeaweedFS, Tools

NEEDS = {"fetch-large": "push-large", "fetch-many": "push-many"}
SERVERS = {"moto": MotoServer, "seaweedfs": SeaweedFS}
SERVER_NAMES = {"moto": "moto's S3 server", "seaweedfs": "SeaweedFS (weed mini)"}


def profile_name(rtt: str, bandwidth: str | None) -> str:
    seconds = parse_duration(rtt)
    name = "loopback" if not seconds else f"{seconds * 1000:g} ms RTT"
    return name + (f", {bandwidth}" if bandwidth else "")


def table(rows: list[Row], profiles: list[str]) -> str:
    """One line per (case, baseline), one column group per profile."""
    head = "| case | baseline | means | target |" + "".join(
        f" {p}: ours | base | ratio | met |" for p in profiles)
    lines = [head, "|---|---|---|---|" + "---:|---:|---:|---|" * len(profiles)]
    keyed: dict[tuple[str, str], dict[str, Row]] = {}
    for r in rows:
        keyed.setdefault((r.case, r.baseline), {})[r.profile] = r
    for (case, baseline), by_profile in sorted(keyed.items(), key=lambda kv: int(kv[0][0].split(".")[0])):
        first = next(iter(by_profile.values()))
        target = " / ".join(dict.fromkeys(r.target for r in by_profile.values() if r.target))
        cells = ""
        for p in profiles:
            r = by_profile.get(p)
            if r is None:
                cells += " | | | |"
                continue
            met = "" if r.met is None else ("yes" if r.met else "**no**")
            cells += f" {r.ours} | {r.base_value} | {r.ratio:.2f} | {met} |"
        lines.append(f"| {case} | {baseline} | {first.ratio_means} | {target} |{cells}")
    return "\n".join(lines)


def goals_table(goals: list[Goal], profiles: list[str]) -> str:
    """Issue 12's targets, measured: one line per target, one column per profile."""
    lines = ["| target | " + " | ".join(profiles) + " |", "|---|" + "---|" * len(profiles)]
    keyed: dict[str, dict[str, Goal]] = {}
    for g in goals:
        keyed.setdefault(g.goal, {})[g.profile] = g
    for goal, by_profile in keyed.items():
        cells = []
        for p in profiles:
            g = by_profile.get(p)
            cells.append("" if g is None else f"{g.value}: {'met' if g.met else '**missed**'}")
        lines.append(f"| {goal} | " + " | ".join(cells) + " |")
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
    parser.add_argument("--no-tools", action="store_true", help="skip the command-line baselines")
    parser.add_argument("--tools", action="store_true", help="with --quick: run the command-line "
                        "baselines too")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--server", choices=SERVERS, default="seaweedfs", help="the S3 server to run")
    parser.add_argument("--rtt", help="comma-separated round-trip times, one profile each "
                        "(0 = loopback, no proxy); default 0,20ms (with --quick: 0)")
    parser.add_argument("--bandwidth", help="e.g. 1gbit: also limit each direction's rate in "
                        "the profiles with a round trip")
    parser.add_argument("--repeat", type=int, metavar="N", help="runs of every case, ours and "
                        "the baselines in turns, the median reported (default: 3 per transfer "
                        "case and 9 per quick case; 1 and 3 with --quick)")
    parser.add_argument("--out", type=Path, help="where to write the results (default: "
                        "bench/RESULTS.md, or bench/RESULTS-moto.md)")
    args = parser.parse_args(argv)
    chosen = list(CASES) if not args.only else args.only.split(",")
    unknown = [c for c in chosen if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    chosen = [c for c in CASES if c in chosen or c in {NEEDS.get(x) for x in chosen}]
    sizes = QUICK if args.quick else FULL
    if args.repeat is not None:
        if args.repeat < 1:
            parser.error("--repeat: give a whole number of runs, 1 or more")
        sizes = dataclasses.replace(sizes, repeat=args.repeat, repeat_fast=args.repeat)
    rtts = (args.rtt or ("0" if args.quick else "0,20ms")).split(",")
    try:
        seconds = [parse_duration(r) for r in rtts]
        if args.bandwidth:
            parse_rate(args.bandwidth)
    except ValueError as exc:
        parser.error(str(exc))
    profiles = [(profile_name(r, args.bandwidth if s else None), r, s) for r, s in zip(rtts, seconds)]

    load_before = load()
    os.environ.update(CREDENTIALS)
    os.environ.pop("AWS_PROFILE", None)
    began = time.perf_counter()
    server = SERVERS[args.server]()
    os.environ["AWS_ENDPOINT_URL"] = server.url
    rows, goals, notes, state = [], [], [], {}
    done: list[str] = []
    out = None if args.no_write else (args.out or Path(__file__).with_name(
        "RESULTS.md" if args.server == "seaweedfs" else f"RESULTS-{args.server}.md"))
    command = " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]).strip()

    def report(tools: Tools | None, final: bool) -> None:
        """Print the tables and (re)write the results file: after every profile, so a
        run cut short still leaves the profiles it finished."""
        versions = (f"boto3 {boto3.__version__}"
                    + (f", moto {moto.__version__}" if args.server == "moto" else f", {weed_version()}")
                    + (f"; {tools.versions()}" if tools else ""))
        text, targets = table(rows, done), goals_table(goals, done)
        if final:
            print(text + "\n\n" + targets)
            print("\n".join(f"- {note}" for note in notes))
        if out is None:
            return
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        took = (time.perf_counter() - began) / 60
        status = "" if final else (f" **Partial: profiles still to run: "
                                   f"{', '.join(p[0] for p in profiles if p[0] not in done)}.**")
        kept = sections.kept(out)  # the separate benches' sections (emulators, time_range, ...)
        out.write_text(
            "# Benchmark results\n\n"
            f"Run on {stamp} by `{command}` in {took:.1f} minutes.{status}\n\n"
            f"- Machine: {machine()}; load average (1/5/15 min) {load_before} before the run, "
            f"{load()} after (the machine is shared: compare ratios within a profile, measured "
            f"in turns, not absolute times across runs).\n"
            f"- Server: {SERVER_NAMES[args.server]} on 127.0.0.1 (a separate "
            f"process); {versions}.\n"
            f"- Profiles: {', '.join(p[0] for p in profiles)}. A round trip is added by "
            "bench/latency_proxy.py (a separate process between every contender and the server: "
            "half the RTT each way, one RTT per new connection).\n"
            f"- Medians of {sizes.repeat} runs per transfer case and "
            f"{sizes.repeat_fast} per quick case, contenders in turns. Ours at its defaults "
            "(32 files and 8 parts in flight; 8 and 64 files where named), the boto3 baselines "
            "with 8 threads; s5cmd, the AWS CLI and s3cmd at their defaults, rclone with the "
            "flags in bench/support.py.\n"
            "- Separate benches, not run by `python -m bench` (each takes minutes and has a "
            "target of its own), write their sections at the end, which this run keeps: "
            "`python -m bench.emulators`, `python -m bench.time_range --size-mib 1024` and "
            "`python -m bench.import_archive --objects 2000 --size-kib 64` (issue 19).\n\n"
            f"## Issue 12's targets\n\n{targets}\n\n## All cases\n\n{text}\n\n## Notes\n\n"
            + "\n".join(f"- {note}" for note in notes) + "\n"
            + (f"\n{kept}\n" if kept else ""))
        print(f"bench: wrote {out}", file=sys.stderr)

    tools = None
    try:
        with tempfile.TemporaryDirectory(prefix="datalake-bench-") as tmp:
            work = Path(tmp)
            for number, (name, rtt, rtt_seconds) in enumerate(profiles):
                proxy = LatencyProxy(server.url, rtt, args.bandwidth) if rtt_seconds else None
                endpoint = proxy.url if proxy else server.url
                try:
                    tools = (None if args.no_tools or (args.quick and not args.tools)
                             else Tools(endpoint, work))
                    bench = Bench(endpoint, tools, work, sizes, args.server, profile=name,
                                  rtt=rtt_seconds, direct=server.url, rows=rows, goals=goals,
                                  notes=notes, state=state)
                    for case in chosen:
                        if number and case in NETWORK_FREE:
                            continue
                        start = time.perf_counter()
                        print(f"bench: [{name}] {case} ...", file=sys.stderr, flush=True)
                        CASES[case](bench)
                        print(f"bench: [{name}] {case} took {time.perf_counter() - start:.0f} s "
                              f"(load {load()})", file=sys.stderr)
                finally:
                    if proxy:
                        proxy.stop()
                done.append(name)
                report(tools, final=len(done) == len(profiles))
    finally:
        server.stop()
    return 0
