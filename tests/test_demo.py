"""README's first command, `bash samples/demo.sh`, on a fresh embedded lake: every step
runs and prints what the README says it shows.  A copy of samples/ is used (the script
fetches into ./fetched beside itself), and `datalake` is this package's CLI."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_demo_runs_on_a_fresh_lake(tmp_path, isolated_home):
    samples = tmp_path / "samples"
    shutil.copytree(ROOT / "samples", samples)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    datalake = bin_dir / "datalake"
    datalake.write_text(f'#!/bin/sh\nexec {sys.executable} -m datalake_nb "$@"\n')
    datalake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(["bash", str(samples / "demo.sh")], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    out = done.stdout
    lake = isolated_home / ".local" / "share" / "datalake_nb" / "lake-demo"  # its own
    assert out.splitlines()[0].split()[:2] == ["DATALAKE_STORAGE_URL", str(lake)]
    sections = dict(part.split(" ==\n", 1) for part in out.split("== ")[1:])
    web01 = sections["nginx logs from web01 between 10:30 and 11:30"].splitlines()
    assert web01[-1].startswith("2 file(s)") and all("web01" in line for line in web01[1:-1])
    assert sections["everything with work id demo-boot-1"].splitlines()[-1].startswith("2 file(s)")
    assert sections["catalog"].split() == ["WHAT", "WHERES", "nginx", "web01,web02",
                                           "syslog", "web01,web02"]
    fetched = sections["fetch all nginx logs into ./fetched"].splitlines()
    assert len(fetched) == 5 and all((samples / line).is_file() for line in fetched)
    counts = sections["500 errors per host, with grep on the fetched files"].splitlines()
    per_file = sections["the same without fetching: datalake grep, per file "
                        "(where:what:start:count)"].splitlines()
    assert sorted(int(c.rsplit(":", 1)[1]) for c in counts) == sorted(
        int(c.rsplit(":", 1)[1]) for c in per_file)  # grep on the files == datalake grep
    shown = sections["parsed rows: record the parser once, then read (CSV)"].splitlines()
    assert shown[:2] == ["WHAT   DATA-VERSION  FORMAT", "nginx  combined-1    nginx"]  # format set
    rows = shown[2:]
    assert rows[0].startswith("time,where,what,") and rows[0].endswith(",line_number,id")
    assert len(rows) > 1 and all(",web01,nginx," in row for row in rows[1:])


def _texts(cell: dict) -> list[str]:
    """A code cell's shown text: streams and the plain text of results and displays."""
    shown = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            shown.append("".join(output["text"]))
        elif "data" in output and "text/plain" in output["data"]:
            shown.append("".join(output["data"]["text/plain"]))
        elif output["output_type"] == "error":
            shown.append(f"{output['ename']}: {output['evalue']}")
    return shown


@pytest.mark.slow
@pytest.mark.parametrize("name", ["01-quickstart", "04-read-and-grep"])
def test_a_notebook_after_the_demo_gives_its_stored_outputs(tmp_path, isolated_home,
                                                            monkeypatch, name):
    """Issue 20 item 1: the demo, then a notebook, in one home: the notebook works in a
    lake of its own, so it shows what it stores (01: not every file twice, not 220 per
    hour; 04: not 437 rows instead of 278, and its syslog cell has its format)."""
    import json

    import nbformat
    from nbclient import NotebookClient
    samples = tmp_path / "samples"
    shutil.copytree(ROOT / "samples", samples)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "datalake").write_text(f'#!/bin/sh\nexec {sys.executable} -m datalake_nb "$@"\n')
    (bin_dir / "datalake").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("DATALAKE_PROGRESS", "off")
    done = subprocess.run(["bash", str(samples / "demo.sh")], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    demo_lake = isolated_home / ".local" / "share" / "datalake_nb" / "lake-demo"
    assert len(list((demo_lake / "data").rglob("*~*"))) > 0  # the demo's files are there

    stored = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())
    folder = tmp_path / "notebooks"
    folder.mkdir()
    notebook = nbformat.reads(json.dumps(stored), as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    compared = 0
    for old, new in zip(stored["cells"], notebook.cells):
        if old["cell_type"] != "code" or "%lake config" in "".join(old["source"]):
            continue  # the settings table shows this run's folders, cut at its width
        shown = [text.replace(str(isolated_home), "~") for text in _texts(new)]
        assert shown == _texts(old), "".join(old["source"])
        compared += 1
    assert compared >= 10
