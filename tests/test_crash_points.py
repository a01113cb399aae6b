"""A push killed (SIGKILL: an OOM kill, a reboot) at each point of its commit protocol:
data object, where entry, catalog entry, work entry.  Whatever it leaves, no query lists a
row whose bytes are not there, and every record whose data exists is found by every query
that matches it once ``check --repair`` ran (or the push was repeated)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from datalake_nb.core import layout

from support import figures
from support.helpers import QUERIES, fetchable_rows, wait_for

FIELDS = dict(what="app", where="h2", start="2015-03-20T00:00:00Z", end="2015-03-20T01:00:00Z",
              data_version="0", work_id="job-9")
TESTS = Path(__file__).parent

# A real process that pushes one file through a store which stops dead (after saying where,
# in the marker file) before the put of the chosen key family: then it is SIGKILLed.
PUSHER = textwrap.dedent("""
    import sys, threading
    sys.path.insert(0, sys.argv[1])
    from pathlib import Path
    from datalake_nb import Lake
    from datalake_nb.config import resolve
    from datalake_nb.stores.registry import open_store
    from support.faults import StopBefore
    url, family, marker, path = sys.argv[2:6]
    config = resolve({"DATALAKE_STORAGE_URL": url, "DATALAKE_CACHE_DIR": sys.argv[6]})
    store = StopBefore(open_store(config), family, Path(marker))
    Lake(config=config, store=store).push(path, **eval(sys.argv[7]))
""")


@pytest.mark.parametrize("family", ["data", "where", "catalog", "work"])
def test_a_push_killed_before_each_put_leaves_no_phantom_and_loses_no_record(
        lake_url, lake, tmp_path, family):
    path = tmp_path / "a.log"
    path.write_text("line\n")
    marker = tmp_path / "stopped"
    proc = subprocess.Popen(
        [sys.executable, "-c", PUSHER, str(TESTS), lake_url, family, str(marker), str(path),
         str(tmp_path / "cache-pusher"), repr(FIELDS)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: marker.exists() or proc.poll() is not None)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    figures.add("kills survived")

    seen = fetchable_rows(lake, tmp_path / "out")
    if family == "data":
        assert all(ids == [] for ids in seen.values())
    else:  # the record is whole: plain listings show it; lagging entries are repaired
        assert seen["{}"] != []
        lake.check(repair=True)
    assert lake.check().ok
    rec = lake.push(path, **FIELDS)  # the push, done again: one record, found everywhere
    assert fetchable_rows(lake, tmp_path / "out") == {str(q): [rec.id] for q in QUERIES}


def test_a_cli_push_killed_during_its_upload_leaves_no_row_for_its_where(
        lake_url, lake, tmp_path):
    """The reported case: `datalake push` of a big file SIGKILLed while its bytes are on
    their way; `datalake list --where h2` must not show a row that `fetch` cannot get."""
    path = tmp_path / "big.log"
    path.write_bytes(os.urandom(1 << 20) * 40)  # 40 MiB: a multipart upload on S3
    env = {**os.environ, "DATALAKE_STORAGE_URL": lake_url}
    if lake_url.startswith("s3://"):
        bucket = lake_url[5:].split("/")[0]
        client = lake.store.client
        uploading = lambda: bool(  # noqa: E731
            client.list_multipart_uploads(Bucket=bucket).get("Uploads"))
    else:
        uploading = lambda: any((Path(lake_url) / ".tmp").glob("*"))  # noqa: E731
    fields = [f"--{k.replace('_', '-')}={v}" for k, v in FIELDS.items()]
    proc = subprocess.Popen([sys.executable, "-m", "datalake_nb", "push", *fields, str(path)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: uploading() or proc.poll() is not None)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    figures.add("kills survived")
    listed = subprocess.run([sys.executable, "-m", "datalake_nb", "list", "--where", "h2",
                             "--output", "json"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == ""
    assert fetchable_rows(lake, tmp_path / "out") == {str(q): [] for q in QUERIES}
    assert list(lake.store.list(layout.WHERE)) == []
