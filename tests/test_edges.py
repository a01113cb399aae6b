"""The engine's edges: one way to configure a Lake, progress told to the caller's callback,
and boto's errors mapped in one place with their cause kept."""
from __future__ import annotations

import threading

import botocore.exceptions
import pytest

from datalake_nb import DatalakeError, IntegrityError, InvalidInput, Lake
from datalake_nb.config import resolve
from datalake_nb.core import layout
from datalake_nb.engine.progress import Progress, TqdmProgress, as_progress
from datalake_nb.stores.local import LocalStore

from support.helpers import fields, write

FIELDS = fields(what="app", where="h1", start="2015-03-20T10:00:00Z")


def test_url_and_config_together_is_an_error(tmp_path):
    config = resolve({"DATALAKE_STORAGE_URL": str(tmp_path / "a")})
    with pytest.raises(InvalidInput) as info:
        Lake(str(tmp_path / "b"), config=config)
    assert info.value.field == "Lake" and "not both" in info.value.problem
    with pytest.raises(InvalidInput):
        Lake(config=config, cache_dir=tmp_path / "cache")
    with pytest.raises(InvalidInput):
        Lake(str(tmp_path / "b"), store=LocalStore(tmp_path / "c"))


def test_config_gives_every_setting_and_store_replaces_the_url(tmp_path):
    config = resolve({"DATALAKE_STORAGE_URL": str(tmp_path / "a"), "DATALAKE_CONCURRENCY": "3",
                      "DATALAKE_CACHE_DIR": str(tmp_path / "cache")})
    lake = Lake(config=config)
    assert lake.url == (tmp_path / "a").as_uri() and lake.concurrency == 3
    injected = Lake(config=config, store=LocalStore(tmp_path / "other"))
    assert injected.url == (tmp_path / "other").as_uri() and injected.concurrency == 3


class Recorder(Progress):
    def __init__(self):
        self.events, self.bytes, self.files = [], 0, 0
        self.lock = threading.Lock()

    def start(self, total_bytes, files, desc):
        self.events.append(("start", total_bytes, files, desc))

    def advance(self, nbytes):
        with self.lock:
            self.bytes += nbytes

    def file_done(self):
        with self.lock:
            self.files += 1

    def close(self):
        self.events.append(("close",))


def test_push_many_and_fetch_report_to_the_callers_progress(tmp_path):
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache")
    paths = [write(tmp_path / f"{i}.log", "x" * (10 + i)) for i in range(3)]
    pushed = Recorder()
    records = lake.push_many(paths, progress=pushed, **FIELDS)
    assert pushed.events == [("start", 33, 3, "push"), ("close",)]
    assert (pushed.bytes, pushed.files) == (33, 3)
    fetched = Recorder()
    lake.fetch(records, dest=tmp_path / "out", progress=fetched)
    assert fetched.events == [("start", 33, 3, "fetch"), ("close",)]
    assert (fetched.bytes, fetched.files) == (33, 3)
    again = Recorder()  # all cached now: nothing to download, nothing to report
    lake.fetch(records, dest=tmp_path / "out2", progress=again)
    assert again.events == [("start", 0, 0, "fetch"), ("close",)] and again.files == 0


def test_progress_is_closed_after_a_failure(tmp_path):
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache")
    rec = lake.push(write(tmp_path / "a.log", "abc"), **FIELDS)
    (tmp_path / "lake" / layout.data_key(rec)).write_text("abd")  # same size, other bytes
    seen = Recorder()
    with pytest.raises(IntegrityError, match="nothing was written"):
        lake.fetch([rec], dest=tmp_path / "out", progress=seen)
    assert seen.events[-1] == ("close",)


def test_the_api_shows_no_bar_unless_asked(tmp_path, capsys):
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache")
    assert lake.progress is False and type(as_progress(None)) is Progress
    assert isinstance(as_progress(True), TqdmProgress)
    paths = [write(tmp_path / f"{i}.log", "x") for i in range(25)]  # above the bar's 20 files
    lake.push_many(paths, **FIELDS)
    assert capsys.readouterr().err == ""
    with pytest.raises(InvalidInput) as info:
        Lake(str(tmp_path / "lake"), progress="yes")
    assert info.value.field == "progress"


def test_a_tqdm_bar_counts_the_bytes(tmp_path):
    class Bar:
        made = []

        def __init__(self, total, **options):
            self.total, self.n, self.closed = total, 0, False
            Bar.made.append(self)

        def update(self, n):
            self.n += n

        def close(self):
            self.closed = True

    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache")
    paths = [write(tmp_path / f"{i}.log", "abcd") for i in range(20)]
    lake.push_many(paths, progress=TqdmProgress(Bar), **FIELDS)
    [bar] = Bar.made
    assert bar.total == bar.n == 80 and bar.closed


def test_boto_errors_keep_their_cause(bucket, tmp_path):
    lake = Lake("s3://no-such-bucket-dl/x", cache_dir=tmp_path / "cache")
    with pytest.raises(DatalakeError) as info:
        lake.list()
    assert "does not exist" in str(info.value)
    assert isinstance(info.value.__cause__, botocore.exceptions.ClientError)
