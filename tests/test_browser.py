"""End to end: the picker notebook in JupyterLab, driven by headless Chromium.

A JupyterLab server on 127.0.0.1 serves a temporary copy of
``notebooks/03-picker.ipynb`` (and of ``samples/``, which it pushes from), with
a fresh HOME, XDG and Jupyter folders so no user state leaks in.  Chromium
(Debian's ``/usr/bin/chromium``, driven by the Python ``playwright`` package)
opens the notebook and checks that the picker is drawn from the widget state
saved in it (as GitHub, nbviewer and Voila draw it) before anything runs; then
runs all cells, picks a what, lists, checks that Fetch with nothing selected asks
before fetching every listed file (and fetches nothing), that the table of files
is the one list that selects (a row per file, data-version and ext columns, columns that
line up) and stays in its box with the labels, selects the first row, fetches it, checks
that the local path shows in the picker and the file is on disk, and draws the timeline
tab.  Screenshots go to ``$DATALAKE_SCREENSHOT_DIR/picker.png`` and ``picker-timeline.png``
(default: the test's temporary folder), or ``picker-failed.png`` when a step fails.

Without Chromium, playwright or JupyterLab the test is skipped, saying what is
missing — except under CI (``CI`` set), where ``.ci/run`` installs them and a
missing piece is a failure.
"""
from __future__ import annotations

import html.parser
import importlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from support.ci import in_ci

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "03-picker.ipynb"
SAMPLES = REPO / "samples"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
# Its "receive official Jupyter news?" toast would cover the page.
ANNOUNCEMENTS = "@jupyterlab/apputils-extension:announcements"
WAIT_MS = 120_000       # bound of any one wait in the browser
SERVER_WAIT_S = 120     # bound of the server's start
SHUTDOWN_WAIT_S = 30    # bound of each step of the server's shutdown
SCREENSHOT_DIR = os.environ.get("DATALAKE_SCREENSHOT_DIR")  # read before a test clears DATALAKE_*


@pytest.fixture(scope="module")
def sync_api():
    """``playwright.sync_api``, once Chromium, playwright and JupyterLab are all here."""
    needed = {"playwright": "the Python playwright package (test extras)",
              "jupyterlab": "jupyterlab",
              "jupyterlab_widgets": "jupyterlab_widgets (ipywidgets' JupyterLab extension)",
              "ipykernel": "ipykernel"}
    if in_ci():  # .ci/run installs everything: a missing piece is CI's failure, not a skip
        missing = [what for module, what in needed.items()
                   if importlib.util.find_spec(module) is None]
        if not os.access(CHROMIUM, os.X_OK):
            missing.insert(0, f"{CHROMIUM} (Debian's chromium; .ci/install-browser.sh installs it)")
        if missing:
            pytest.fail("CI is set but the browser test lacks " + ", ".join(missing), pytrace=False)
        return importlib.import_module("playwright.sync_api")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"browser test needs {CHROMIUM} (Debian's chromium: "
                    "run .ci/install-browser.sh, or apt-get install chromium)")
    for module, what in needed.items():
        pytest.importorskip(module, reason=f"browser test needs {what}")
    return pytest.importorskip("playwright.sync_api",
                               reason="browser test needs the Python playwright package")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


class _ConfigData(html.parser.HTMLParser):
    """The JSON of JupyterLab's ``<script id="jupyter-config-data">`` (its page config)."""

    def __init__(self) -> None:
        super().__init__()
        self._inside = False
        self.text = ""

    def handle_starttag(self, tag, attrs):
        self._inside = tag == "script" and ("id", "jupyter-config-data") in attrs

    def handle_endtag(self, tag):
        self._inside = False

    def handle_data(self, data):
        if self._inside:
            self.text += data


class Lab:
    """A running JupyterLab server: its URL, token, folders and log."""

    def __init__(self, base: str, token: str, notebooks: Path, root: Path, log: Path):
        self.base, self.token, self.notebooks, self.root, self.log = base, token, notebooks, root, log

    def request(self, path: str, method: str = "GET", timeout: float = 5) -> bytes:
        req = urllib.request.Request(self.base + path, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.read()


def _lab_environment(state: Path) -> dict[str, str]:
    """The server's (and so the kernel's) environment: nothing of the user's state."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("DATALAKE_", "AWS_", "JUPYTER", "JPY_", "XDG_", "IPYTHON"))}
    folders = {"HOME": "home", "XDG_DATA_HOME": "xdg-data", "XDG_CACHE_HOME": "xdg-cache",
               "XDG_CONFIG_HOME": "xdg-config", "XDG_RUNTIME_DIR": "xdg-runtime",
               "JUPYTER_CONFIG_DIR": "jupyter-config", "JUPYTER_DATA_DIR": "jupyter-data",
               "JUPYTER_RUNTIME_DIR": "jupyter-runtime"}
    for name, folder in folders.items():
        (state / folder).mkdir(parents=True, mode=0o700)
        env[name] = str(state / folder)
    # Plugins listed here are not loaded; the server merges this into the page config.
    labconfig = state / "jupyter-config" / "labconfig"
    labconfig.mkdir()
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {ANNOUNCEMENTS: True}}))
    return env


def _stop(proc: subprocess.Popen, lab: Lab) -> None:
    """Shut the server down (it stops its kernels), then kill whatever is left of its group."""
    try:
        lab.request("/api/shutdown", method="POST")
    except OSError:
        pass
    try:
        proc.wait(timeout=SHUTDOWN_WAIT_S)
    except subprocess.TimeoutExpired:
        pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)  # the group of start_new_session: the server's own
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=SHUTDOWN_WAIT_S)
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture
def lab(sync_api, tmp_path):
    """JupyterLab on 127.0.0.1 serving copies of the picker notebook and the samples."""
    if not NOTEBOOK.is_file():
        pytest.fail(f"{NOTEBOOK.relative_to(REPO)} is missing", pytrace=False)
    root = tmp_path / "lab"
    notebooks = root / "notebooks"  # the notebook pushes from ../samples/logs
    notebooks.mkdir(parents=True)
    shutil.copy2(NOTEBOOK, notebooks / NOTEBOOK.name)
    shutil.copytree(SAMPLES, root / "samples")
    env = _lab_environment(tmp_path / "state")
    # Trusted, as a notebook you ran yourself is: JupyterLab draws widgets from the saved
    # state only in a trusted notebook (an untrusted one shows their text form).
    subprocess.run([sys.executable, "-m", "jupyter", "trust", str(notebooks / NOTEBOOK.name)],
                   env=env, check=True, capture_output=True, timeout=SERVER_WAIT_S)
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
                if proc.poll() is not None:
                    pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{_tail(log)}",
                                pytrace=False)
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer within {SERVER_WAIT_S} s:\n"
                                f"{_tail(log)}", pytrace=False)
                time.sleep(0.2)
        page = _ConfigData()
        page.feed(lab.request(f"/lab?token={token}", timeout=30).decode())
        disabled = json.loads(page.text).get("disabledExtensions", [])
        assert ANNOUNCEMENTS in disabled, f"announcements plugin not disabled: {disabled}"
        yield lab
    finally:
        _stop(proc, lab)


@pytest.fixture
def page(sync_api):
    """A page of headless Debian Chromium; the browser is closed afterwards, whatever happens."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS,
                                             headless=True, timeout=WAIT_MS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1200})
            page = context.new_page()
            page.set_default_timeout(WAIT_MS)
            page.set_default_navigation_timeout(WAIT_MS)
            yield page
        finally:
            browser.close()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = Path(SCREENSHOT_DIR or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_picker_lists_and_fetches_in_jupyterlab(sync_api, lab, page, screenshots):
    try:
        _pick_list_fetch(sync_api.expect, lab, page)
    except BaseException:
        failed = screenshots / "picker-failed.png"
        try:
            page.screenshot(path=str(failed), timeout=30_000)
            print(f"screenshot of the failure: {failed}")
        except Exception as exc:  # the first error matters more
            print(f"no screenshot of the failure: {exc}")
        print(f"jupyter lab log (tail):\n{_tail(lab.log)}")
        raise
    shot = screenshots / "picker.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 0
    _timeline_tab(sync_api.expect, page.locator(".datalake-picker"), screenshots)


# True once Run All Cells is over: the first code cell has its number and none is pending
# ("[*]"); a cell that fails makes the kernel abort the rest, which then show "[ ]".
RUN_ALL_OVER = r"""() => {
    const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
        .map(prompt => prompt.textContent);
    return prompts.length > 0 && /\[\d+\]/.test(prompts[0]) && !prompts.some(t => t.includes('*'));
}"""

# Watches a picker button: the picker disables it while its action runs and enables it at the
# end, after updating the controls, so seeing both means the click's results are on the page
# (and not the picker's earlier state, which the notebook's own cells may have left there).
WATCH_BUTTON = """button => {
    window.datalakeActions = window.datalakeActions || new Map();
    const seen = {disabled: false, over: false};
    window.datalakeActions.set(button, seen);
    new MutationObserver((records, observer) => {
        // oldValue null: the attribute was absent, so this record is the button being disabled
        if (records.some(record => record.oldValue === null)) seen.disabled = true;
        if (seen.disabled && !button.disabled) { seen.over = true; observer.disconnect(); }
    }).observe(button, {attributes: true, attributeFilter: ['disabled'], attributeOldValue: true});
}"""
ACTION_OVER = "button => window.datalakeActions.get(button).over"


def _click_and_wait(page, selector: str) -> None:
    """Click a picker button and wait until the action it starts (in the kernel) is over."""
    button = page.locator(selector)
    handle = button.element_handle()
    handle.evaluate(WATCH_BUTTON)
    button.click()
    try:
        page.wait_for_function(ACTION_OVER, arg=handle, timeout=WAIT_MS)
    except Exception as exc:
        raise AssertionError(f"{selector}: no action started and ended within {WAIT_MS} ms "
                             f"of the click (the button was not disabled, then enabled)") from exc


def _pick_list_fetch(expect, lab: Lab, page) -> None:
    notebook = json.loads((lab.notebooks / NOTEBOOK.name).read_text())
    code_cells = sum(cell["cell_type"] == "code" for cell in notebook["cells"])
    page.goto(f"{lab.base}/lab/tree/{NOTEBOOK.name}?token={lab.token}")

    # The kernel's status in the status bar: "Python 3 (ipykernel) | Idle".
    idle = page.locator("#jp-main-statusbar .jp-StatusBar-TextItem").filter(
        has_text=re.compile(r"\|\s*Idle\s*$"))
    expect(idle).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".jp-Notebook .jp-Cell").first).to_be_visible()
    expect(page.locator(".Toastify__toast")).to_have_count(0)  # nothing covers the page
    _drawn_from_saved_state(expect, page, notebook)

    # Clear the saved outputs first, so the prompts' numbers below can only come from this run.
    page.locator(".lm-MenuBar-itemLabel").filter(has_text=re.compile(r"^Edit$")).click()
    page.locator(".lm-Menu-itemLabel").filter(
        has_text=re.compile(r"^Clear Outputs of All Cells$")).click()
    expect(page.locator(".datalake-picker")).to_have_count(0)
    page.locator(".lm-MenuBar-itemLabel").filter(has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel").filter(has_text=re.compile(r"^Run All Cells$")).click()
    prompt = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt")
    try:
        page.wait_for_function(RUN_ALL_OVER, timeout=WAIT_MS)
    except Exception as exc:
        raise AssertionError(f"Run All Cells not over within {WAIT_MS} ms: prompts "
                             f"{prompt.all_inner_texts()}") from exc
    prompts = prompt.all_text_contents()  # cells scrolled away have no innerText
    stderr = page.locator('.jp-Notebook [data-mime-type="application/vnd.jupyter.stderr"]')
    assert len(prompts) == code_cells and all(re.search(r"\[\d+\]", p) for p in prompts), (
        f"not all {code_cells} code cells ran: prompts {prompts}\n"
        + "\n".join(stderr.all_inner_texts())[-3000:])
    expect(idle).to_be_visible(timeout=WAIT_MS)

    # Whats come from the lake's catalog: choose the first one offered.
    picker = page.locator(".datalake-picker")
    expect(picker).to_have_count(1)
    what_select = picker.locator(".datalake-what select")
    whats = what_select.locator("option").evaluate_all("options => options.map(o => o.value)")
    assert whats, "the picker offers no whats: the notebook's pushes are not in its catalog"
    what = whats[0]
    what_select.select_option(value=what)
    expect(what_select).to_have_values([what])

    # All times (the default range, the newest file's day, would do for the samples too).
    every_time = picker.locator(".datalake-quick button").filter(
        has_text=re.compile(r"^\s*all\s*$"))
    every_time.click()
    expect(every_time).to_have_class(re.compile(r"\bmod-active\b"))

    _click_and_wait(page, ".datalake-picker button.datalake-list")
    message = picker.locator(".datalake-message")
    expect(message).to_have_text("")  # no error
    rows = picker.locator(".datalake-rows select")
    labels = rows.locator("option").evaluate_all("options => options.map(o => o.value)")
    assert labels, "List found no files"
    _the_table_is_the_selection(expect, picker, labels, what, lab)

    _stays_in_its_box(picker)

    # A dest of our own: the path shown can only come from this Fetch.
    dest = "browser-fetched"
    dest_input = picker.locator(".datalake-dest input")
    dest_input.fill(dest)
    expect(dest_input).to_have_value(dest)

    # Nothing selected: Fetch says it would fetch all listed files, asks, and fetches nothing.
    fetch = picker.locator("button.datalake-fetch")
    expect(fetch).to_have_text(re.compile(rf"Fetch all {len(labels)}\b"))
    fetch.click()
    confirm = picker.locator(".datalake-confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text(f"all {len(labels)} files")
    picker.locator("button.datalake-confirm-no").click()
    expect(confirm).to_be_hidden()
    expect(picker.locator(".datalake-paths")).to_have_text("")
    assert not (lab.notebooks / dest).exists(), "Fetch with nothing selected fetched files"

    rows.select_option(index=0)
    expect(rows).to_have_values([labels[0]])
    expect(fetch).to_have_text(re.compile(r"Fetch 1 selected"))
    cells = labels[0].split()  # the table's columns: #, start (2), end (2), what, where, ...
    start, where = f"{cells[1]} {cells[2]}", cells[6]

    _click_and_wait(page, ".datalake-picker button.datalake-fetch")
    expect(message).to_have_text("")
    shown = picker.locator(".datalake-paths")
    paths = shown.inner_text().strip().splitlines()
    assert len(paths) == 1, f"one row selected, but the page shows {paths}"
    compact = re.sub(r"[-:]", "", start).replace(" ", "T")  # 2026-11-01 09:00:00: 20261101T090000
    name = re.compile(rf"^{dest}/{re.escape(where)}/{re.escape(what)}_{compact}\d{{3}}Z_"
                      r"[0-9a-f]+\.log$")
    assert name.search(paths[0]), (
        f"{paths[0]!r} is not {dest}/{where}/{what}_{compact}<ms>Z_<id>.log (the selected row)")

    local = (lab.notebooks / paths[0]).resolve()  # dest is relative to the kernel's folder
    assert local.is_file(), f"{paths[0]} (shown in the page) is not a file: {local}"
    samples = {p.read_bytes() for p in (lab.root / "samples" / "logs").glob("*.log")}
    assert local.read_bytes() in samples, f"{local} is not one of the sample logs"

    # The whole picker in view (bottom aligned, so the paths show) for the screenshot.
    picker.evaluate("picker => picker.scrollIntoView({block: 'end'})")


# The table's heading and rows as the browser draws them: the font of each, and where the
# heading's "start" and each row's start time begin (measured in the page's own font).
TABLE_GEOMETRY = """picker => {
    const head = picker.querySelector('.datalake-table-head');
    const select = picker.querySelector('.datalake-rows select');
    const style = element => getComputedStyle(element);
    // the heading's "start" on the page: a range over its text
    const walker = document.createTreeWalker(head, NodeFilter.SHOW_TEXT);
    let text = walker.nextNode();
    while (text && !text.textContent.includes('start')) text = walker.nextNode();
    const range = document.createRange();
    const at = text.textContent.indexOf('start');
    range.setStart(text, at);
    range.setEnd(text, at + 5);
    const headStart = range.getBoundingClientRect().left;
    // a row's start time: the option's left edge plus the width of the text before it
    const canvas = document.createElement('canvas').getContext('2d');
    const font = style(select);
    canvas.font = `${font.fontStyle} ${font.fontWeight} ${font.fontSize} ${font.fontFamily}`;
    const left = select.getBoundingClientRect().left + select.clientLeft;
    const rowStarts = [...select.options].map(o => {
        const t = o.text;
        return left + parseFloat(style(o).paddingLeft) + canvas.measureText(t.slice(0, t.indexOf('20'))).width;
    });
    return {headFamily: style(head).fontFamily, rowFamily: font.fontFamily,
            headSize: style(head).fontSize, rowSize: font.fontSize,
            heading: head.textContent, headStart, rowStarts};
}"""


def _the_table_is_the_selection(expect, picker, labels: list[str], what: str, lab: Lab) -> None:
    """One table of files, and it is the list that selects: a row per listed file (as many
    as the samples have files of that what, and as the summary counts), a heading with
    data-version and ext, columns that line up (a fixed-width font; the start column begins
    at the same place in the heading and in every row), and no second list of the rows."""
    files = len(list((lab.root / "samples" / "logs").glob(f"*_{what}_*.log")))
    assert len(labels) == files, f"{len(labels)} rows for {files} {what} files: {labels}"
    expect(picker.locator(".datalake-summary")).to_contain_text(f"{files} files")
    assert all(label.split()[5] == what for label in labels), f"not all {what}: {labels}"
    expect(picker.locator(".datalake-rows")).to_have_count(1)
    expect(picker.locator(".datalake-table .datalake-rows select")).to_have_count(1)
    expect(picker.locator(".datalake-table table")).to_have_count(0)  # no HTML table besides
    geometry = picker.evaluate(TABLE_GEOMETRY)
    heading = geometry["heading"].split()
    assert "data-version" in heading and "ext" in heading, heading
    assert "mono" in geometry["rowFamily"].lower() and "mono" in geometry["headFamily"].lower(), \
        geometry
    assert geometry["headSize"] == geometry["rowSize"], geometry
    assert all(abs(x - geometry["headStart"]) < 1.5 for x in geometry["rowStarts"]), \
        (geometry["headStart"], geometry["rowStarts"])


def _timeline_tab(expect, picker, screenshots: Path) -> None:
    """The timeline tab draws the listing (adjacent hourly files with their seams)."""
    picker.locator(".lm-TabBar-tab").filter(has_text="timeline").click()
    image = picker.locator(".datalake-timeline img")
    expect(image).to_have_count(1)
    expect(image).to_be_visible()
    picker.screenshot(path=str(screenshots / "picker-timeline.png"))


def _drawn_from_saved_state(expect, page, notebook: dict) -> None:
    """Before any cell runs, the picker shows as the notebook saved it: its lists, its
    listing and its fetched paths, from the widget state in the notebook's metadata."""
    state = notebook["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    saved = {tuple(model["state"].get("_dom_classes", ())): model["state"] for model in state.values()}
    paths = saved[("datalake-paths",)]["value"]
    assert "fetched/" in paths, "the notebook's saved state has no fetched paths"
    picker = page.locator(".datalake-picker")
    expect(picker).to_have_count(1, timeout=WAIT_MS)
    expect(picker.locator(".datalake-what select option")).to_have_text(
        saved[("datalake-what",)]["_options_labels"])
    expect(picker.locator(".datalake-rows select option")).to_have_count(
        len(saved[("datalake-rows",)]["_options_labels"]))
    first_path = re.search(r"fetched/\S+?\.log", paths).group(0)
    expect(picker.locator(".datalake-paths")).to_contain_text(first_path)
    expect(picker.locator(".datalake-summary")).to_contain_text(" UTC")


# The right edge of each element inside the picker, and the picker's own: nothing may stick
# out (the rows list did, with long labels); labels and buttons must show whole (none cut
# with "...", as "newest day" was on a 6.5em toggle button).
OVERFLOW = """picker => {
    const right = picker.getBoundingClientRect().right + 1;
    const out = [...picker.querySelectorAll('.datalake-rows, .datalake-rows select, .widget-label')]
        .filter(e => e.getBoundingClientRect().right > right)
        .map(e => e.className + ' ' + e.textContent.slice(0, 40));
    const cut = [...picker.querySelectorAll('.widget-label, button')]
        .filter(e => e.textContent.trim() && e.scrollWidth > e.clientWidth + 1)
        .map(e => e.textContent);
    return {out, cut};
}"""


def _stays_in_its_box(picker) -> None:
    found = picker.evaluate(OVERFLOW)
    assert not found["out"], f"sticking out of the picker: {found['out']}"
    assert not found["cut"], f"labels cut short: {found['cut']}"
