"""Speed and memory of the content-times pass a push makes when no --start/--end is given
(``ingest.content_times.content_range``: ``rows.formats.time_range`` with the nginx
parser), on an nginx access log made on the fly, against baselines run in turns with it
in the same minutes: Python reading the file in 2 MiB chunks (what the pass reads) and
``wc -l``.  Issue 19's target: at least 100 MB/s on 1 GiB, memory flat.

    python -m bench.time_range [--size-mib 1024] [--runs 5] [--no-write]

The file sits in the page cache (it was just written), so this is the parser's speed, not
a disk's.  Memory: the pass alone in a child process, its peak RSS (``VmHWM``) minus its
RSS after the imports the pass needs.  Writes its section into bench/RESULTS.md between its
markers (``python -m bench`` keeps it) unless --no-write.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import sections

NAME = "time-range"
LINE = ('10.0.{}.{} - - [{:02d}/Nov/2026:{:02d}:{:02d}:{:02d} +0000] "GET /api/orders?id={}&page={} '
        'HTTP/1.1" {} {} "https://shop.example.com/cart" "Mozilla/5.0 (X11; Linux x86_64; '
        'rv:128.0) Gecko/20100101 Firefox/128.0"\n')
CHUNK = 2 << 20

CHILD = r"""
import json, sys, time
from datalake_nb.ingest import content_times
import pandas, pyarrow, pyarrow.compute  # what the pass loads, loaded before the baseline
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS:"))
fmt = content_times.format_for("nginx")
before = rss()
started = time.perf_counter()
low, high, lines, name = content_times.content_range(sys.argv[1], fmt)
took = time.perf_counter() - started
peak = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status")
            if l.startswith("VmHWM:"))  # ru_maxrss would keep the forking parent's
print(json.dumps({"grew": peak - before, "before": before, "lines": lines, "seconds": took,
                  "earliest": str(low), "latest": str(high)}))
"""


def make_log(path: Path, size: int, per_second: int | None = None) -> int:
    """An nginx log of at least ``size`` bytes over one day (1 November 2026), slightly out
    of order (the earliest line is not the first); its size.  ``per_second``: lines per
    second of the day; by default as many as spread the file over the day, as a busy
    server's daily log (1 GiB is ~65 lines a second); 0 gives every line a second of its
    own (the parser's worst case: no two times alike within a chunk)."""
    sample = LINE.format(1, 1, 1, 0, 0, 0, 0, 0, 200, 512)
    if per_second is None:
        per_second = max(1, size // len(sample) // 86400 + 1)
    written, second, n = 0, 1, 0
    with open(path, "wb") as out:
        while written < size:
            lines = []
            for _ in range(4096):
                s = second % 86400
                lines.append(LINE.format(n % 7, n % 250, 1 + second // 86400, s // 3600,
                                         s // 60 % 60, s % 60, n, n % 13,
                                         (200, 200, 304, 404)[n % 4], 512 + n % 9000))
                n += 1
                if per_second == 0 or n % per_second == 0:
                    second += 1
            if written == 0:  # the day's first line comes after others
                lines.insert(5, LINE.format(0, 1, 1, 0, 0, 0, 0, 0, 200, 1))
            block = "".join(lines).encode()
            out.write(block)
            written += len(block)
    return path.stat().st_size


def the_pass(path: Path) -> int:
    from datalake_nb.ingest import content_times
    _, _, lines, _ = content_times.content_range(path, content_times.format_for("nginx"))
    return lines


def read_chunks(path: Path) -> int:
    n = 0
    with open(path, "rb") as stream:
        while block := stream.read(CHUNK):
            n += len(block)
    return n


def wc_l(path: Path) -> int:
    return int(subprocess.run(["wc", "-l", str(path)], capture_output=True, text=True,
                              check=True).stdout.split()[0])


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.time_range",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=128,
                        help="size of the log (default 128; issue 19's target is on 1024)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    load_before = load()
    worst_mib = min(args.size_mib, 128)
    with tempfile.TemporaryDirectory(prefix="bench-time-range-") as tmp:
        path, worst = Path(tmp) / "access.log", Path(tmp) / "worst.log"
        size = make_log(path, args.size_mib << 20)
        worst_size = make_log(worst, worst_mib << 20, per_second=0)
        contenders = {  # name: (call, its file's size)
            "time_range (nginx)": (lambda: the_pass(path), size),
            "Python read, 2 MiB chunks": (lambda: read_chunks(path), size),
            "wc -l": (lambda: wc_l(path), size),
            f"time_range, every line its own second ({worst_mib} MiB)":
                (lambda: the_pass(worst), worst_size)}
        the_pass(worst)  # imports and the first parse outside the timing
        seconds: dict[str, list[float]] = {name: [] for name in contenders}
        names = list(contenders)
        for turn in range(args.runs):
            for name in names[turn % len(names):] + names[:turn % len(names)]:
                started = time.perf_counter()
                contenders[name][0]()
                seconds[name].append(time.perf_counter() - started)
                print(f"run {turn} {name}: {seconds[name][-1]:.2f} s", file=sys.stderr)
        child = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                               text=True, cwd=Path(__file__).parents[1])
        if child.returncode:
            raise SystemExit(f"bench: the memory child failed:\n{child.stderr[-2000:]}")
        memory = json.loads(child.stdout)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    ours = median["time_range (nginx)"]
    speed = size / ours / 1e6
    rows = []
    for name, took in median.items():
        mb_s = contenders[name][1] / took / 1e6
        ratio = "" if name.startswith("time_range") else f"{speed / mb_s:.3f}"
        rows.append(f"| {name} | {took:.2f} s | {mb_s:.0f} MB/s | {ratio} |")
    grew = memory["grew"] / (1 << 20)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    met = lambda ok: "met" if ok else "**missed**"  # noqa: E731
    section = (
        f"{sections.begin(NAME, 'python -m bench.time_range')}\n"
        "## Content times: `time_range` of an nginx log (issue 19)\n\n"
        f"Run on {stamp} by `python -m bench.time_range --size-mib {args.size_mib} --runs "
        f"{args.runs}`: an nginx access log of {size / 1e6:.0f} MB ({size >> 20} MiB, "
        f"{memory['lines']:,} lines over one day, as a busy server's, in the page cache), "
        f"medians of {args.runs} runs, contenders in turns; load average (1/5/15 min) "
        f"{load_before} before, {load()} after (2 cores shared with other work: read the "
        "ratios, not the times).\n\n"
        "| contender | time | speed | time_range's speed / its |\n|---|---:|---:|---:|\n"
        + "\n".join(rows) + "\n\n"
        f"- Target >= 100 MB/s: {speed:.0f} MB/s, {met(speed >= 100)}.\n"
        f"- Target memory flat: the pass alone in a child process grew its peak RSS by "
        f"{grew:.0f} MiB over its {memory['before'] / (1 << 20):.0f} MiB after imports, for "
        f"a {size >> 20} MiB file: {met(grew < 100)} (a 2 MiB chunk, its lines as Arrow "
        "strings and their parse: it does not grow with the file).\n"
        "- The worst case row: each distinct time string is parsed once per chunk, so a log "
        "with a new second on every line (no two alike) is parsed slower than one whose "
        "seconds repeat.\n"
        f"{sections.end(NAME)}")
    print(section)
    if not args.no_write:
        sections.write(sections.RESULTS, NAME, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
