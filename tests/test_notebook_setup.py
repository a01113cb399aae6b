"""Notebook 02's setup cell (issue 20 item 8): moto's server survives a kernel Interrupt
(it runs in its own session, out of the kernel's process group, which Interrupt signals),
and without moto the cell says at once what to install instead of a botocore traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "02-s3.ipynb"


def setup_cell() -> str:
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    [cell] = [c for c in cells if "".join(c["source"]).startswith("# SETUP: a throwaway S3")]
    return "".join(cell["source"])


def test_without_moto_the_setup_cell_says_what_to_install(tmp_path):
    code = "import sys\nsys.modules['moto'] = None  # as if moto were not installed\n" + setup_cell()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    last = done.stderr.strip().splitlines()[-1]
    assert last == ("ModuleNotFoundError: this notebook's local S3 server needs moto: pip install "
                    "'moto[server]' (or use a real bucket and skip the SETUP cells)")
    assert "botocore" not in done.stderr and "moto.server" not in done.stderr


def _run(client, code: str) -> dict:
    """Execute ``code`` in the kernel; its execute_reply content.  A request that reaches
    the kernel while it still drops the queue after an Interrupt is answered 'aborted'
    without running: it is sent again (CI saw the probe after the Interrupt dropped)."""
    for _ in range(50):
        msg_id = client.execute(code)
        while True:
            reply = client.get_shell_msg(timeout=120)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        if reply["content"]["status"] != "aborted":
            return reply["content"]
        time.sleep(0.2)
    raise AssertionError(f"the kernel aborted {code[:40]!r} 50 times")


@pytest.mark.slow
@pytest.mark.parametrize("own_session", [True, False], ids=["as-stored", "without-own-session"])
def test_the_s3_server_survives_a_kernel_interrupt(tmp_path, own_session):
    """As stored, the server answers after an Interrupt; the same cell without
    start_new_session loses it (so this test sees the difference)."""
    jupyter_client = pytest.importorskip("jupyter_client")
    pytest.importorskip("ipykernel")
    cell = setup_cell()
    assert "start_new_session=True" in cell
    if not own_session:
        cell = cell.replace("start_new_session=True", "start_new_session=False")
    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(tmp_path), env={**os.environ, "PYTHONPATH": str(ROOT)})
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        assert _run(client, cell)["status"] == "ok"
        msg_id = client.execute("import time; time.sleep(600)")
        while True:  # the sleep has started (older messages of the setup cell skipped)
            started = client.get_iopub_msg(timeout=60)
            if started["parent_header"].get("msg_id") == msg_id and \
                    started["msg_type"] == "execute_input":
                break
        time.sleep(0.5)  # into time.sleep
        manager.interrupt_kernel()
        while True:
            reply = client.get_shell_msg(timeout=120)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        probe = _run(client, "import time\n"
                             "try:\n    server.wait(timeout=5)\nexcept Exception:\n    pass\n"
                             "alive = server.poll() is None\n"
                             "if alive:\n"
                             "    boto3.client('s3').list_objects_v2(Bucket='team-logs')\n")
        assert probe["status"] == "ok", probe
        alive = _run(client, "assert alive")["status"] == "ok"
        assert alive == own_session
    finally:
        _run(client, "server.kill(); server.wait()")
        client.stop_channels()
        manager.shutdown_kernel(now=True)
