"""Fetch places each file right after it is verified (one hard link when the destination
is new, the careful replace otherwise), and a fetch by query starts on the listing's first
page: the guarantees of placing (atomic, same file untouched, duplicates, order) and of
a query fetch (the paths of list-then-fetch, interrupts that count every listed file)."""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from datalake_nb import DatalakeError, IntegrityError, InvalidInput, Lake
from datalake_nb.engine.cache import Cache, remove_temp_files, temp_file
from datalake_nb import Interrupted
from datalake_nb.engine.progress import Progress, TqdmProgress
from datalake_nb.stores.local import LocalStore

from support.helpers import CountingStore, fields, gated_lake, push_many_small, write

BOUND_S = 30  # a bound on a hang, never a speed test
FIELDS = fields("start")  # each test gives its own


def relative(paths, root):
    return [str(Path(p).relative_to(root)) for p in paths]


def temporaries(folder):
    return [p for p in Path(folder).rglob(".datalake-*")] if Path(folder).exists() else []


def seed(lake, tmp_path):
    """Files in several span classes, two whats, two wheres, a work id and a duplicate
    (the same bytes as another record)."""
    specs = [("a", "nginx", "web01", "2015-03-20T00:00Z", None, None),
             ("b", "nginx", "web02", "2015-03-20T00:00Z", "2015-03-20T01:00Z", "job-1"),
             ("c", "syslog", "web01", "2015-03-19T00:00Z", "2015-03-21T00:00Z", None),
             ("d", "nginx", "web01", "2015-02-01T00:00Z", "2015-03-20T12:00Z", "job-1"),
             ("e", "syslog", "web02", "2015-03-22T00:00Z", None, None),
             ("a", "nginx", "web02", "2015-03-21T00:00Z", None, None)]  # the bytes of a
    return [lake.push(write(tmp_path / "in" / f"{n}-{i}.log", f"content {name}\n"), what=what,
                      where=where, start=start, end=end, data_version="0", work_id=work)
            for i, (name, what, where, start, end, work) in enumerate(specs)
            for n in [name]]


QUERIES = [dict(what="nginx"), dict(where="web02"), dict(what="nginx,syslog", where="web01"),
           dict(start="2015-03-20T00:30Z", end="2015-03-20T02:00Z"), dict(work_id="job-1"),
           dict(what="syslog", start="2015-03-22T00:00Z")]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: ",".join(f"{k}={v}" for k, v in q.items()))
def test_a_query_fetch_gives_the_paths_of_list_then_fetch(lake, tmp_path, query):
    seed(lake, tmp_path)
    listed = lake.list(**query)
    assert len(listed), query
    by_rows = lake.fetch(listed, dest=tmp_path / "rows")
    by_query = lake.fetch(dest=tmp_path / "query", **query)
    assert relative(by_query, tmp_path / "query") == relative(by_rows, tmp_path / "rows")
    assert [p.read_bytes() for p in by_query] == [p.read_bytes() for p in by_rows]
    assert not temporaries(tmp_path / "query")


def test_a_query_fetch_that_finds_nothing_writes_nothing(lake, tmp_path):
    seed(lake, tmp_path)
    assert lake.fetch(what="nginx", start="2016-01-01", dest=tmp_path / "out") == []
    assert not (tmp_path / "out").exists()


def test_fetch_takes_items_or_a_query_and_checks_the_query_first(lake, tmp_path, monkeypatch):
    [rec] = seed(lake, tmp_path)[:1]
    cwd = tmp_path / "cwd"  # the default destination (DATALAKE_FETCH_DIR is ".")
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    for call, field in [(lambda: lake.fetch([rec], what="nginx"), "fetch"),
                        (lambda: lake.fetch(dest=tmp_path / "out"), "fetch"),
                        (lambda: lake.fetch(what="no such/what"), "what"),
                        (lambda: lake.fetch(what="nginx", start="2015-03-21", end="2015-03-20"),
                         "end")]:
        with pytest.raises(InvalidInput) as info:
            call()
        assert info.value.field == field, info.value
    assert not (tmp_path / "out").exists() and list(cwd.iterdir()) == []


class ListingWaitsForADownload(CountingStore):
    """A listing that, after its first record, waits until a download has begun: a fetch
    that lists everything before downloading never gets there."""

    def __init__(self, inner):
        super().__init__(inner)
        self.downloading = threading.Event()
        self.overlapped: bool | None = None

    def list(self, prefix, start_after=None, stop=None):
        for n, entry in enumerate(super().list(prefix, start_after, stop)):
            if n == 1 and prefix.startswith("data/") and self.overlapped is None:
                self.overlapped = self.downloading.wait(BOUND_S)
            yield entry

    def get_file(self, key, dest, progress=None, size=None):
        self.downloading.set()
        return super().get_file(key, dest, progress, size)


def test_a_query_fetch_downloads_before_its_listing_ends(tmp_path):
    """Fails within 30 s when the fetch waits for the whole listing."""
    store = ListingWaitsForADownload(LocalStore(tmp_path / "lake"))
    lake = Lake(store=store, cache_dir=tmp_path / "cache", progress=False)
    pushed = lake.push_many([write(tmp_path / "in" / f"{i}.log", f"file {i}\n") for i in range(5)],
                            start="2015-03-20", **FIELDS)
    paths = lake.fetch(what="nginx", dest=tmp_path / "out")
    assert store.overlapped is True
    assert sorted(p.read_text() for p in paths) == sorted(f"file {i}\n" for i in range(5))
    assert len(paths) == len(pushed) == store.calls["get"]


def test_existing_destinations_are_replaced_whole_or_left_alone(lake, tmp_path):
    a, b, c, _, _, twin = seed(lake, tmp_path)
    assert twin.hash == a.hash and twin.id != a.id  # two records, the same bytes
    counting = CountingStore(lake.store)
    fetcher = Lake(config=lake.config, store=counting, progress=False)
    out = tmp_path / "out"
    first = fetcher.fetch([b], dest=out)[0]
    os.unlink(first)
    keep = write(tmp_path / "keep.txt", "stale bytes\n")
    os.link(keep, first)  # a stale file (with another name elsewhere) where b goes

    paths = fetcher.fetch([c, b, twin, a], dest=out)
    assert [p.read_text() for p in paths] == ["content c\n", "content b\n", "content a\n",
                                              "content a\n"]
    assert keep.read_text() == "stale bytes\n"  # replaced by a rename, not written into
    assert paths[2] != paths[3] and os.path.samefile(paths[2], paths[3])
    assert counting.calls["get"] == 3  # b once, then c and a (whose twin shares it)
    assert not temporaries(out)

    before = [os.stat(p) for p in paths]
    again = fetcher.fetch([a, twin, b, c], dest=out)  # each is the cached file already
    assert again == [paths[3], paths[2], paths[1], paths[0]]
    after = {str(p): os.stat(p) for p in again}
    for path, was in zip(paths, before):
        now = after[str(path)]
        assert (now.st_ino, now.st_nlink) == (was.st_ino, was.st_nlink), path
    for path, was in zip(paths[:2], before):  # (a's cache entry is re-marked for its twin)
        assert after[str(path)].st_ctime_ns == was.st_ctime_ns, path  # not even relinked
    assert counting.calls["get"] == 3


def test_a_query_fetch_places_both_records_of_the_same_bytes_with_one_download(tmp_path):
    counting = CountingStore(LocalStore(tmp_path / "lake"))
    lake = Lake(store=counting, cache_dir=tmp_path / "cache", progress=False)
    same = write(tmp_path / "same.log", "twice\n")
    recs = [lake.push(same, start=f"2015-03-2{i}", **{**FIELDS, "where": f"web0{i}"})
            for i in range(4)]
    paths = lake.fetch(what="nginx", dest=tmp_path / "out")
    assert len(paths) == 4 and len({p.parent.name for p in paths}) == 4
    assert all(p.read_text() == "twice\n" for p in paths)
    assert counting.calls["get"] == 1 and len({r.hash for r in recs}) == 1


@pytest.fixture
def other_device(tmp_path):
    """A folder on another file system than tmp_path (hard links between them fail)."""
    if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second file system here")
    folder = tempfile.mkdtemp(prefix="datalake-test-", dir="/dev/shm")
    yield Path(folder)
    shutil.rmtree(folder, ignore_errors=True)


def test_without_hard_links_fetched_files_are_copies_replaced_whole(tmp_path, other_device):
    lake = Lake(str(tmp_path / "lake"), cache_dir=other_device / "cache", progress=False)
    rec = lake.push(write(tmp_path / "a.log", "copied\n"), start="2015-03-20", **FIELDS)
    [path] = lake.fetch(what="nginx", dest=tmp_path / "out")
    assert path.read_text() == "copied\n" and os.stat(path).st_nlink == 1
    assert not os.path.samefile(path, lake.cache.path(rec.hash))
    os.chmod(path, 0o644)
    path.write_text("edited\n")
    assert lake.fetch([rec], dest=tmp_path / "out") == [path]
    assert path.read_text() == "copied\n" and not temporaries(tmp_path / "out")


def test_an_interrupt_while_placing_a_copy_leaves_no_temporary_file(tmp_path, other_device,
                                                                    monkeypatch):
    """Ctrl-C in the middle of the copy (a fault injected into the copy: it cannot be timed
    otherwise): the destination keeps its old bytes and no temporary file stays."""
    cache = Cache(other_device / "cache")
    cached = write(other_device / "cache" / "entry", "new bytes\n")
    dest = write(tmp_path / "out" / "web01" / "a.log", "old bytes\n")

    copy = shutil.copyfile

    def copy_then_interrupt(src, dst):
        copy(src, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr("datalake_nb.engine.cache.shutil.copyfile", copy_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        cache.place(cached, dest)
    assert dest.read_text() == "old bytes\n"
    assert os.listdir(dest.parent) == ["a.log"]


def test_placing_makes_a_missing_folder_and_says_when_the_cached_file_is_gone(tmp_path):
    cache = Cache(tmp_path / "cache")
    cached = write(tmp_path / "cache" / "entry", "bytes\n")
    dest = tmp_path / "out" / "deep" / "web01" / "a.log"
    cache.place(cached, dest)
    assert os.path.samefile(cached, dest)
    with pytest.raises(FileNotFoundError):
        cache.place(tmp_path / "cache" / "gone", tmp_path / "out" / "web02" / "b.log")
    with pytest.raises(FileNotFoundError):
        cache.place(tmp_path / "cache" / "gone", tmp_path / "out" / "deep" / "web01" / "c.log")


def test_a_cancelled_query_fetch_counts_every_listed_file_and_placed_the_finished(tmp_path):
    lake, store = gated_lake(tmp_path, "get", nth=3)
    recs = push_many_small(lake, tmp_path, 40)
    lake.concurrency = 2
    cancel = threading.Event()
    threading.Thread(target=lambda: store.reached.wait(BOUND_S) and (cancel.set(), store.gate.set()),
                     daemon=True).start()
    with pytest.raises(Interrupted, match=r"interrupted: \d+ of 40 file\(s\) fetched; ") as info:
        lake.fetch(what="nginx", dest=tmp_path / "out", cancel=cancel)
    assert store.calls["get"] <= 4  # the queued ones never started
    finished = int(str(info.value).split("interrupted: ")[1].split(" ")[0])
    placed = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert len(placed) == finished <= 2
    wanted = {rec.id[-8:]: f"small file {n}\n" for n, rec in enumerate(recs)}
    assert all(p.read_text() == wanted[p.stem[-8:]] for p in placed)
    assert not temporaries(tmp_path / "cache")


class Recorder(Progress):
    def __init__(self):
        self.started, self.more_bytes, self.more_files = None, 0, 0
        self.bytes = self.files = 0
        self.lock = threading.Lock()

    def start(self, total_bytes, files, desc):
        self.started = (total_bytes, files, desc)

    def more(self, total_bytes, files):
        self.more_bytes += total_bytes
        self.more_files += files

    def advance(self, nbytes):
        with self.lock:
            self.bytes += nbytes

    def file_done(self):
        with self.lock:
            self.files += 1


def test_a_query_fetch_tells_its_progress_what_it_lists(tmp_path):
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache")
    recs = lake.push_many([write(tmp_path / "in" / f"{i}.log", "x" * (10 + i)) for i in range(3)],
                          start="2015-03-20", **FIELDS)
    seen = Recorder()
    lake.fetch(what="nginx", dest=tmp_path / "out", progress=seen)
    assert seen.started == (0, 0, "fetch")
    assert (seen.more_bytes, seen.more_files) == (seen.bytes, seen.files) == (33, 3)
    again = Recorder()  # all cached: nothing to download, nothing to report
    lake.fetch(what="nginx", dest=tmp_path / "out2", progress=again)
    assert (again.more_files, again.files, again.bytes) == (0, 0, 0) and len(recs) == 3


def test_a_growing_total_opens_a_bar_of_files_once_there_are_many(tmp_path):
    class Bar:
        made = []

        def __init__(self, total, **options):
            self.total, self.n, self.unit = total, 0, options.get("unit")
            Bar.made.append(self)

        def update(self, n):
            self.n += n

        def close(self):
            pass

    bar = TqdmProgress(Bar)
    bar.start(0, 0, "fetch")
    for _ in range(99):
        bar.more(4096, 1)
    assert Bar.made == []  # not yet enough to choose files or bytes
    for _ in range(21):
        bar.more(4096, 1)
        bar.file_done()
    [made] = Bar.made
    assert (made.unit, made.total, made.n) == ("file", 120, 21)  # open from the 100th


def test_a_failed_fetch_leaves_the_destination_as_it_was(tmp_path):
    """Files verified before the failure were placed as they came: they are removed again,
    with the folders made for them, and a destination holding other bytes is not replaced."""
    from support.faults import FaultyStore
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache", progress=False)
    recs = [lake.push(write(tmp_path / "in" / f"{i}.log", f"file {i}\n"), start="2015-03-20",
                      **{**FIELDS, "where": f"web{i}"}) for i in range(6)]
    out = tmp_path / "out"
    [target] = relative(lake.fetch([recs[1]], dest=tmp_path / "probe"), tmp_path / "probe")
    stale = write(out / target, "stale bytes\n")  # so web1/ exists before the fetch
    store = FaultyStore(lake.store)
    store.inject("get", 4, "corrupt")
    broken = Lake(config=lake.config, store=store, progress=False)
    broken.cache = Cache(tmp_path / "cache2")  # every file is downloaded
    broken.concurrency = 1  # in order: three placed, then the fourth is corrupt
    with pytest.raises(IntegrityError):
        broken.fetch(recs, dest=out)
    assert store.fired["corrupt"] == 1
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == ["web1", target]
    assert stale.read_text() == "stale bytes\n"
    paths = broken.fetch(recs, dest=out)  # the next try places (and replaces) everything
    assert [p.read_text() for p in paths] == [f"file {i}\n" for i in range(6)]


def test_a_download_temporary_file_is_one_open_file_removed_unless_renamed(tmp_path):
    """cache.temp_file: the folder is made on first use; the file is read-only for anyone
    but the fd that made it; it disappears after an error, and after an interrupt's
    remove_temp_files, but not once it was renamed away."""
    folder = str(tmp_path / "objects" / "ab")
    with pytest.raises(RuntimeError):
        with temp_file(folder, mode=0o444) as tmp:
            os.write(tmp.fd, b"bytes")
            assert os.stat(tmp.path).st_mode & 0o777 == 0o444
            assert os.path.basename(tmp.path).startswith(".datalake-") and tmp.path.endswith(".part")
            os.close(tmp.fd)
            raise RuntimeError("download failed")
    assert os.listdir(folder) == []
    with temp_file(folder) as tmp:
        os.close(tmp.fd)
        remove_temp_files()  # an interrupt while it is in use
        assert not os.path.exists(tmp.path)
    with temp_file(folder, mode=0o444) as tmp:
        os.write(tmp.fd, b"kept")
        os.close(tmp.fd)
        os.replace(tmp.path, f"{folder}/final")
        tmp.moved = True
    assert os.listdir(folder) == ["final"]
    assert Path(folder, "final").read_bytes() == b"kept"


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_destination_that_is_a_folder_is_one_line_and_changes_nothing(tmp_path, concurrency):
    """One target path is a folder: the error names that path (not a temporary file), and
    the files this fetch had placed already are taken back."""
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache", progress=False)
    recs = [lake.push(write(tmp_path / "in" / f"{i}.log", f"file {i}\n"), start="2015-03-20",
                      **{**FIELDS, "where": f"web{i}"}) for i in range(4)]
    out = tmp_path / "out"
    [target] = relative(lake.fetch([recs[3]], dest=tmp_path / "probe"), tmp_path / "probe")
    (out / target).mkdir(parents=True)
    (out / target / "mine.txt").write_text("keep\n")
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    lake.concurrency = concurrency
    with pytest.raises(DatalakeError) as info:
        lake.fetch(recs, dest=out)
    message = str(info.value)
    assert message.startswith(f"fetch: cannot place {recs[3].id} at {out / target}: ")
    assert "\n" not in message and ".part" not in message and ".datalake-" not in message
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    assert (out / target / "mine.txt").read_text() == "keep\n"


def test_the_cli_names_a_destination_it_cannot_write(tmp_path):
    import subprocess
    import sys
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache", progress=False)
    rec = lake.push(write(tmp_path / "a.log", "a\n"), start="2015-03-20", **FIELDS)
    [target] = relative(lake.fetch([rec], dest=tmp_path / "probe"), tmp_path / "probe")
    (tmp_path / "out" / target).mkdir(parents=True)
    done = subprocess.run([sys.executable, "-m", "datalake_nb", "fetch", rec.id, "--dest",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DATALAKE_STORAGE_URL": str(tmp_path / "lake")})
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert f"cannot place {rec.id} at {tmp_path / 'out' / target}" in done.stderr
