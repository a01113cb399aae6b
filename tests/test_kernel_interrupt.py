"""Issue 20 item 7: Interrupt during `%lake fetch` in a real Jupyter kernel (jupyter_client,
ipykernel) shows one line, the bar ends at the files finished (orange, not red), and the
exception carries the paths placed (the CLI prints them before it exits 130:
test_interrupt.py)."""
from __future__ import annotations

import os
import queue
import textwrap
import time
from pathlib import Path

import pytest

from datalake_nb import Interrupted, Lake

from support.helpers import big_files, until

MIB = 1 << 20
BOUND = 120  # seconds: a bound on a hang, not a benchmark

# In the kernel: the first two downloads run; the others report no bytes until the
# interrupt (their progress call raises then), and a marker file says they started.
SLOW_STORE = """
import threading
from datalake_nb.stores.local import LocalStore
_real, _calls, _lock = LocalStore.get_file, [], threading.Lock()

def _get_file(self, key, sink, progress=None, size=None):
    with _lock:
        _calls.append(key)
        number = len(_calls)
    if number <= 2:
        return _real(self, key, sink, progress, size)
    if number == 4:
        open({marker!r}, "w").close()
    while True:  # stuck: only the interrupt ends it (progress raises once interrupted)
        progress(0)
        threading.Event().wait(0.02)

LocalStore.get_file = _get_file
"""


@pytest.fixture
def kernel(tmp_path):
    jupyter_client = pytest.importorskip("jupyter_client")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]),
        "DATALAKE_PROGRESS": "on"}
    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.kernel_cmd = None
    manager.start_kernel(env=env, cwd=str(tmp_path))
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=BOUND)
    yield manager, client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def run(client, code, until_idle=True):
    """Execute ``code``; its iopub messages until the kernel is idle again."""
    msg_id = client.execute(code)
    messages = []
    deadline = time.monotonic() + BOUND
    while until_idle:
        assert time.monotonic() < deadline, messages
        try:
            msg = client.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    return msg_id, messages


def collect(client, msg_id, messages, stop):
    """Read iopub messages of ``msg_id`` into ``messages`` until ``stop(msg)``."""
    deadline = time.monotonic() + BOUND
    while True:
        assert time.monotonic() < deadline, messages
        try:
            msg = client.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        if stop(msg):
            return msg


def widget_states(messages):
    """Every widget state the kernel sent (comm_open and update comm_msg)."""
    for msg in messages:
        if msg["msg_type"] in ("comm_open", "comm_msg"):
            state = msg["content"]["data"].get("state")
            if state:
                yield state


def test_interrupting_a_fetch_in_a_kernel_is_one_line_with_the_paths(kernel, tmp_path):
    manager, client = kernel
    lake_dir, marker = tmp_path / "lake", tmp_path / "stuck"
    lake_dir.mkdir()
    lake = Lake(str(lake_dir), cache_dir=tmp_path / "seed", progress=False)
    records = lake.push_many(big_files(tmp_path / "in", 4, 9 * MIB), what="big",
                             where="web01", start="2015-03-20", data_version="0")
    _, setup = run(client, SLOW_STORE.format(marker=str(marker)) + textwrap.dedent(f"""
        %load_ext datalake_nb
        %lake use {lake_dir} --cache-dir {tmp_path / 'cache'} --concurrency 2
        """))
    assert not [m for m in setup if m["msg_type"] == "error"], setup
    msg_id = client.execute(f"paths = %lake fetch --what big --dest {tmp_path / 'out'}")
    messages = []
    assert until(marker.exists, BOUND), "the two slow downloads never started"
    # the bar is on screen (a widget: it shows after tqdm's delay), then the interrupt
    collect(client, msg_id, messages,
            lambda m: any("interrupted" in str(s) or s.get("_model_name") == "FloatProgressModel"
                          for s in widget_states([m])))
    manager.interrupt_kernel()
    collect(client, msg_id, messages, lambda m: m["msg_type"] == "status"
            and m["content"]["execution_state"] == "idle")
    [error] = [m["content"] for m in messages if m["msg_type"] == "error"]
    assert error["ename"] == "Interrupted"
    assert error["traceback"] == ["%lake fetch: interrupted: 2 of 4 file(s) fetched; nothing "
                                  "else was written (their paths: sys.last_value.paths)"]
    states = list(widget_states(messages))
    styles = [s["bar_style"] for s in states if "bar_style" in s]
    assert styles and styles[-1] == "warning" and "danger" not in styles[-1:]
    texts = [s["value"].replace("\u2007", " ") for s in states
             if isinstance(s.get("value"), str)]  # the bar's text, left and right of it
    at = max(i for i, text in enumerate(texts) if "fetch interrupted" in text)
    assert texts[at].startswith("fetch interrupted:") and texts[at].endswith(" 50%")
    assert texts[-1].startswith(" 2/4 ")  # the files finished, not the bytes in flight
    _, shown = run(client, "import sys\nprint([str(p) for p in sys.last_value.paths])\n"
                           "print('paths' in dir())")
    out = "".join(m["content"].get("text", "") for m in shown if m["msg_type"] == "stream")
    placed = eval(out.splitlines()[0])  # a list of str, printed by the kernel
    assert len(placed) == 2 and out.splitlines()[1] == "False"  # `paths =` was not assigned
    for path in placed:
        assert Path(path).stat().st_size == 9 * MIB
    assert sorted(placed) == sorted(str(p) for p in (tmp_path / "out").rglob("*")
                                    if p.is_file())
    assert len(records) == 4


def test_an_interrupted_fetch_in_the_api_carries_its_paths(tmp_path):
    """KeyboardInterrupt (a notebook's Interrupt) after two of four files: exc.paths are
    those two, whole."""
    import _thread
    import threading
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache", progress=False)
    (tmp_path / "lake").mkdir()
    records = lake.push_many(big_files(tmp_path / "in", 4, 1 * MIB), what="big", where="h",
                             start="2015-03-20", data_version="0")
    real, calls, lock = lake.store.get_file, [], threading.Lock()

    def get_file(key, sink, progress=None, size=None):
        with lock:
            calls.append(key)
            number = len(calls)
        if number <= 2:
            return real(key, sink, progress, size)
        if number == 4:
            _thread.interrupt_main()
        while True:
            progress(0)
            time.sleep(0.02)

    lake.store.get_file = get_file
    lake.concurrency = 2
    with pytest.raises(Interrupted, match=r"interrupted: 2 of 4 file\(s\) fetched") as info:
        lake.fetch(records, dest=tmp_path / "out")
    assert len(info.value.paths) == 2
    assert all(p.stat().st_size == MIB for p in info.value.paths)
    assert sorted(info.value.paths) == sorted(p for p in (tmp_path / "out").rglob("*")
                                              if p.is_file())
    assert info.value._render_traceback_() == [
        "interrupted: 2 of 4 file(s) fetched; nothing else was written "
        "(their paths: sys.last_value.paths)"]
