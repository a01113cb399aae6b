"""The notebook display of %lake list, grep and read in JupyterLab, in headless Chromium
(issue 20 items 11-13): what the user saw is what the test measures in the page.

- list: the readable columns only, no cell wraps onto a second line, nothing runs off the
  right edge, the machine columns behind a closed <details>, '-' for no work id, the totals;
- grep: each matched line whole (the status and the path at its end are on the page),
  wrapped inside its cell rather than running off the edge;
- read --sort time: the table leads with time, where, what, and the hosts interleave.

Screenshots go to ``$DATALAKE_SCREENSHOT_DIR`` (default: the test's temporary folder):
list.png, grep.png, read.png.  Skipped as test_browser.py is without its pieces.
"""
from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import sys
import time

import pytest

from test_browser import (RUN_ALL_OVER, SAMPLES, SERVER_WAIT_S, WAIT_MS, Lab, _free_port,
                          _lab_environment, _stop, _tail, page, screenshots,  # noqa: F401
                          sync_api)

pytestmark = pytest.mark.browser

CELLS = [
    "%load_ext datalake_nb\n"
    "import os\n"
    "from pathlib import Path\n"
    "os.environ['DATALAKE_STORAGE_URL'] = os.path.abspath('lake')\n"
    "from datalake_nb import Lake\n"
    "lake = Lake()\n"
    "for path in sorted(Path('../samples/logs').glob('*_nginx_*.log')):\n"
    "    host, what, hour = path.stem.split('_')\n"
    "    lake.push(path, what=what, where=host, start=f'{hour}:00:00Z',\n"
    "              end=f'{hour}:59:59.999Z', data_version='1', format='nginx',\n"
    "              work_id='nightly-1' if host == 'web02' else None)",
    "%lake list --what nginx",
    "%lake grep '\" 500 ' --what nginx --where web01 --end 2026-11-01T09:59Z",
    "%lake read --what nginx --start 2026-11-01T11:30Z --end 2026-11-01T11:31:30Z --sort time",
]


def _notebook() -> dict:
    return {"cells": [{"cell_type": "code", "execution_count": None, "id": f"c{n}",
                       "metadata": {}, "outputs": [], "source": source}
                      for n, source in enumerate(CELLS)],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture
def lab(sync_api, tmp_path):  # noqa: F811
    """JupyterLab on 127.0.0.1 serving a small notebook of %lake list / grep / read."""
    root = tmp_path / "lab"
    notebooks = root / "notebooks"
    notebooks.mkdir(parents=True)
    (notebooks / "display.ipynb").write_text(json.dumps(_notebook()))
    shutil.copytree(SAMPLES, root / "samples")
    env = _lab_environment(tmp_path / "state")
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp_path / "jupyter-lab.log"
    lab = Lab(f"http://127.0.0.1:{port}", token, notebooks, root, log)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--allow-root", "--ip=127.0.0.1",
             f"--port={port}", "--port-retries=0", "--no-browser",
             f"--ServerApp.token={token}", f"--ServerApp.root_dir={notebooks}"],
            cwd=notebooks, env=env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_WAIT_S
        while True:
            try:
                json.loads(lab.request("/api/status", timeout=2))
                break
            except (OSError, ValueError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not start:\n{_tail(log)}", pytrace=False)
                time.sleep(0.2)
        yield lab
    finally:
        _stop(proc, lab)


# Measures of one output table: does any cell wrap (taller than one line of its text), does
# the table run past the output area's right edge, and the header's texts.
MEASURE = r"""output => {
    const table = output.querySelector('table');
    const area = output.getBoundingClientRect();
    const box = table.getBoundingClientRect();
    const cells = [...table.querySelectorAll('td')];
    const tall = cells.filter(td => {
        const style = getComputedStyle(td);
        const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.3;
        return td.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom)
            > 1.6 * line;
    }).map(td => td.textContent);
    return {tall, overflow: box.right - area.right,
            header: [...table.querySelectorAll('thead th')].map(th => th.textContent),
            text: output.innerText};
}"""


def _run_all(expect, page, lab: Lab) -> list:
    page.goto(f"{lab.base}/lab/tree/display.ipynb?token={lab.token}")
    idle = page.locator("#jp-main-statusbar .jp-StatusBar-TextItem").filter(
        has_text=re.compile(r"\|\s*Idle\s*$"))
    expect(idle).to_be_visible(timeout=WAIT_MS)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    page.locator(".lm-MenuBar-itemLabel").filter(has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel").filter(has_text=re.compile(r"^Run All Cells$")).click()
    page.wait_for_function(RUN_ALL_OVER, timeout=WAIT_MS)
    outputs = page.locator(".jp-Notebook .jp-CodeCell .jp-OutputArea")
    return [outputs.nth(n) for n in range(len(CELLS))]


def test_list_grep_and_read_read_well_in_jupyterlab(sync_api, lab, page, screenshots):  # noqa: F811
    try:
        cells = _run_all(sync_api.expect, page, lab)
    except BaseException:
        page.screenshot(path=str(screenshots / "display-failed.png"))
        print(f"jupyter lab log (tail):\n{_tail(lab.log)}")
        raise
    shown = {}
    for name, n in (("list", 1), ("grep", 2), ("read", 3)):
        cells[n].scroll_into_view_if_needed()
        cells[n].screenshot(path=str(screenshots / f"{name}.png"))
        table = cells[n].locator("table").first
        table.wait_for(timeout=WAIT_MS)
        shown[name] = cells[n].locator(".jp-OutputArea-output").last.evaluate(MEASURE)
    print({name: {k: v for k, v in m.items() if k != "text"} for name, m in shown.items()})

    listed = shown["list"]
    assert listed["header"] == ["", "start", "end", "what", "where", "data-version", "size",
                                "work_id"]
    assert listed["tall"] == [] and listed["overflow"] <= 0, listed
    assert "5 file(s), 54.9 KiB" in listed["text"] and "None" not in listed["text"]
    assert re.search(r"\bweb01\s+1\s+11\.2 KiB\s+-", listed["text"]), listed["text"]
    details = cells[1].locator("details")
    assert details.count() == 1 and not details.evaluate("d => d.open")
    assert not details.locator("table").is_visible()  # the hash and url: one click away
    details.locator("summary").click()
    assert details.locator("table").is_visible()

    grepped = shown["grep"]
    assert grepped["overflow"] <= 0, grepped  # wrapped inside its cell, not off the edge
    assert '"GET /static/app.js HTTP/1.1" 500 2134 "-" "python-requests/2.32"' in grepped["text"]

    read = shown["read"]
    assert read["header"][1:4] == ["time", "where", "what"]
    wheres = re.findall(r"\b(web0[12])\b", read["text"])
    assert wheres[:6] == ["web01", "web01", "web02", "web02", "web01", "web01"], read["text"]
