"""The benchmark suite still runs end to end (tiny sizes, no CLI tools).  It reports
speed; this test only checks that every case ran and made its rows: no timing is asserted."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # every case of the bench, tiny, twice: about 30 s
def test_bench_quick_run_writes_every_case(tmp_path):
    out = tmp_path / "RESULTS.md"
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--repeat", "2", "--out",
                           str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    for case in range(1, 8):
        assert f"| {case}. " in text, f"case {case} has no row"
    assert "requests per file" in text and "store calls per query" in text
    assert "Medians of 2 runs per transfer case and 2 per quick case" in text  # --repeat


def test_the_emulators_rows_survive_a_rewrite_of_the_results(tmp_path):
    """python -m bench.emulators writes its section; python -m bench keeps it (kept_section)."""
    from bench import emulators
    out = tmp_path / "RESULTS.md"
    out.write_text("# Benchmark results\n\nold\n")
    section = f"{emulators.BEGIN}\n| Azurite | 1 |\n{emulators.END}"
    emulators.write_section(out, section)
    assert out.read_text().endswith(section + "\n") and "old" in out.read_text()
    emulators.write_section(out, section.replace("| 1 |", "| 2 |"))
    assert out.read_text().count(emulators.BEGIN) == 1 and "| 2 |" in out.read_text()
    assert emulators.kept_section(out) == section.replace("| 1 |", "| 2 |")


def test_every_separate_bench_section_survives_a_rewrite(tmp_path):
    """bench.time_range and bench.import_archive write marked sections (bench/sections.py)
    beside the emulators'; python -m bench keeps them all (sections.kept), each rewritten
    in place by its own bench."""
    from bench import emulators, sections
    out = tmp_path / "RESULTS.md"
    out.write_text("# Benchmark results\n\nold\n")
    emulators.write_section(out, f"{emulators.BEGIN}\n| Azurite | 1 |\n{emulators.END}")
    for name in ("time-range", "import-archive"):
        sections.write(out, name, f"{sections.begin(name, 'python -m bench.x')}\n| {name} | 1 |\n"
                                  f"{sections.end(name)}")
    sections.write(out, "time-range", f"{sections.begin('time-range', 'python -m bench.x')}\n"
                                      f"| time-range | 2 |\n{sections.end('time-range')}")
    kept = sections.kept(out)
    assert kept.count("<!-- /") == 3 and "| Azurite | 1 |" in kept
    assert "| time-range | 2 |" in kept and "| time-range | 1 |" not in kept
    assert kept.index("Azurite") < kept.index("time-range") < kept.index("import-archive")


@pytest.mark.seaweedfs
def test_the_server_cpu_comes_from_its_process():
    """bench.fetch_query tells a contender's own CPU from the server's: the server's is
    read from weed's process, and it grows with the requests served."""
    import boto3

    from bench.support import CREDENTIALS, SeaweedFS
    server = SeaweedFS()
    try:
        before = server.cpu_seconds()
        client = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1",
                              aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                              aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
        client.create_bucket(Bucket="cpu-seconds")
        for i in range(300):
            client.put_object(Bucket="cpu-seconds", Key=f"k{i}", Body=b"x")
        assert before is not None and server.cpu_seconds() > before
    finally:
        server.stop()
