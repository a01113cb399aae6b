"""Small-file push and fetch on each cloud storage emulator (Azurite, fake-gcs-server),
through the API, for regressions in the gs:// and az:// stores: not a comparison of
clouds (an emulator's speed is not its cloud's), nor of the emulators with each other.

    python -m bench.emulators [--files 500] [--repeat 3] [--no-write]

Writes its rows into bench/RESULTS.md between its markers (``python -m bench`` keeps them).
"""
from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

from datalake_nb import Lake

from tests.support import emulators

RESULTS = Path(__file__).with_name("RESULTS.md")
BEGIN, END = "<!-- emulators: python -m bench.emulators -->", "<!-- /emulators -->"


def one_run(url: str, paths: list[Path], work: Path) -> tuple[float, float]:
    """(push wall s, fetch wall s) of ``paths`` into a fresh lake at ``url``."""
    lake = Lake(url, cache_dir=work / "cache", progress=False)
    started = time.perf_counter()
    records = lake.push_many(paths, what="bench", where="small", start=1_420_070_400_000,
                             data_version="0")
    pushed = time.perf_counter() - started
    started = time.perf_counter()
    fetched = lake.fetch(records, dest=work / "out")
    took = time.perf_counter() - started
    assert len(fetched) == len(paths)
    shutil.rmtree(work / "cache", ignore_errors=True)
    shutil.rmtree(work / "out", ignore_errors=True)
    return pushed, took


def measure(name: str, new_url: Callable[[], str], paths: list[Path], work: Path,
            repeat: int) -> str:
    runs = [one_run(new_url(), paths, work) for _ in range(repeat)]
    push = statistics.median(r[0] for r in runs)
    fetch = statistics.median(r[1] for r in runs)
    n = len(paths)
    return (f"| {name} | {n} x 4 KiB | {n / push:.0f} files/s ({push:.2f} s) "
            f"| {n / fetch:.0f} files/s ({fetch:.2f} s) |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.emulators")
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    load_before = "/".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench-emulators-") as tmp:
        work = Path(tmp)
        paths = []
        for i in range(args.files):
            path = work / "in" / f"{i:05d}.log"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(os.urandom(4096))
            paths.append(path)
        with emulators.azurite() as azure:
            os.environ.update(azure.env)
            rows.append(measure("Azurite (az://)", lambda: f"az://{azure.new_container()}/b",
                                paths, work, args.repeat))
        with emulators.fake_gcs() as gcs:
            os.environ.update(gcs.env)
            rows.append(measure("fake-gcs-server (gs://)", lambda: f"gs://{gcs.new_bucket()}/b",
                                paths, work, args.repeat))
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = (f"{BEGIN}\n## Cloud storage emulators (regressions only)\n\n"
               f"Run on {stamp} by `python -m bench.emulators --files {args.files} --repeat "
               f"{args.repeat}`: medians, one `push_many` and one `fetch` of the files through "
               "the API, 32 files in flight, each emulator on 127.0.0.1; load average "
               f"(1/5/15 min) {load_before} before (the machine is shared). For regressions in "
               "the gs:// and az:// stores only: an emulator's speed says nothing of its "
               "cloud's.\n\n| emulator | files | push | fetch (verified) |\n|---|---|---:|---:|\n"
               + "\n".join(rows) + f"\n{END}")
    print(section)
    if not args.no_write:
        write_section(RESULTS, section)
    return 0


def write_section(path: Path, section: str) -> None:
    """Replace the emulators' section of ``path`` (or add it at the end)."""
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def kept_section(path: Path) -> str:
    """The emulators' section of ``path``, for ``python -m bench`` to keep when it rewrites."""
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        return text[text.index(BEGIN):text.index(END) + len(END)]
    return ""


if __name__ == "__main__":
    raise SystemExit(main())
