"""``datalake check``: find damage in a lake and, when asked, repair it.

The data object's key is the record, so the data listing is the truth and the
index entries (``where/``, ``work/``, ``catalog/``) are checked against it:

- ``orphan``: a key under data/, where/, work/ or catalog/ that the lake never writes (a
  data object without a record, or a foreign entry).  Deleted only with ``delete_orphans``.
- ``missing-where-entry`` / ``missing-work-entry`` / ``missing-catalog-entry``: a record
  whose index entry is absent (a push that stopped half-way, or a lake written before
  where entries existed).  ``repair`` writes it.
- ``wrong-where-entry`` / ``wrong-work-entry``: an entry that names a record but disagrees
  with it (other size, other work id folder).  ``repair`` deletes it (and writes the right
  one).
- ``dangling-where-entry`` / ``dangling-work-entry`` / ``dangling-catalog-entry``: an index
  entry whose data is gone.  ``repair`` deletes it once a second look confirms the data is
  missing.
- ``unindexed-pair``: a catalog entry that does not say its (what, where) pair's where
  entries are complete (a lake written before them, or a push by an older version), so
  where-filtered queries read all of the what's data listings.  ``repair`` marks it once
  the pair's where entries are all written.
- ``unfinished-remove``: a remove marker (``removing/``, see ``engine.remove``) left by a
  remove that stopped half-way.  Its record's missing entries are not asked back (that
  would undo the remove); ``repair`` finishes the remove.
- with ``deep``: ``metadata-mismatch`` (the JSON record stored with an S3 object
  disagrees with its key) and ``corrupt-data`` (bytes that do not hash to the record's
  hash).  Nothing can fix these from inside the lake: they are reported.
- leftovers of killed pushes and fetches: temporary files (``<lake>/.tmp``, and
  ``.datalake-*.part`` files in the fetch cache, and the ``.part.XXXXXXXX`` files that
  versions downloading through s3transfer left next to them) and unfinished S3 multipart
  uploads under the lake's prefix.  Those older than the stale age (DATALAKE_STALE_AGE,
  1 day) are ``stale-temp-file`` / ``stale-upload``, removed / aborted by ``repair``;
  younger ones may belong to a push or fetch that is running now: they are listed
  (``recent-...``) and kept, and are no problem.

Index entries are listed before the data, and pushes write data before index entries,
so a push that runs during a check can only look like a missing entry (which repair
writes again, harmlessly), never like a dangling one.  Data is never deleted unless
``delete_orphans`` asks for it, and then only keys that are no record.
"""
from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..config import default_of, default_whole, duration_seconds
from ..core import layout
from ..core.errors import DatalakeError
from ..core.metadata import Record
from ..core.times import now_ms
from ..output import human_size
from .hashing import hash_stream
from .progress import Progress
from .remove import REMOVING, drop_catalog_if_empty, finish_remove, parse_marker_key
from ..stores.base import Entry, Leftover, Store
from ..stores.local import remove_old_file

if TYPE_CHECKING:
    import pandas as pd

FIXED_BY = {"orphan": "--delete-orphans", "missing-where-entry": "--repair",
            "missing-work-entry": "--repair", "missing-catalog-entry": "--repair",
            "wrong-where-entry": "--repair", "wrong-work-entry": "--repair",
            "dangling-where-entry": "--repair", "dangling-work-entry": "--repair",
            "dangling-catalog-entry": "--repair", "unindexed-pair": "--repair",
            "unfinished-remove": "--repair", "metadata-mismatch": None, "corrupt-data": None,
            "stale-temp-file": "--repair", "stale-upload": "--repair",
            "recent-temp-file": None, "recent-upload": None}
# Leftovers younger than the stale age: listed, kept, and no problem (a push may be running).
KEPT = {"recent-temp-file", "recent-upload"}
# A fetch's temporary file in the cache (cache.temp_file), or the one that versions
# downloading through s3transfer left next to it.
CACHE_TEMP = re.compile(r"\.datalake-.*\.part(\.[0-9A-Fa-f]{8})?")


@dataclasses.dataclass
class Finding:
    kind: str               # one of FIXED_BY
    key: str                # the store key concerned
    detail: str             # one line for people
    fixed: bool = False
    error: str | None = None  # why a repair that was tried failed
    leftover: Leftover | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def status(self) -> str:
        if self.fixed:
            return "repaired"
        if self.kind in KEPT:
            return "kept: younger than the stale age (DATALAKE_STALE_AGE); may be in use"
        if self.error:
            return f"repair failed: {self.error}"
        flag = FIXED_BY[self.kind]
        return f"fix with {flag}" if flag else "cannot be fixed in the lake"


@dataclasses.dataclass
class Report:
    url: str
    data: int = 0           # data objects seen
    where: int = 0          # where entries seen
    work: int = 0           # work entries seen
    catalog: int = 0        # catalog entries seen
    findings: list[Finding] = dataclasses.field(default_factory=list)

    @property
    def left(self) -> list[Finding]:
        """The problems that are still there."""
        return [f for f in self.findings if not f.fixed and f.kind not in KEPT]

    @property
    def ok(self) -> bool:
        return not self.left

    def __repr__(self) -> str:
        return f"<check {self.summary()}>"

    def summary(self) -> str:
        problems = [f for f in self.findings if f.kind not in KEPT]
        fixed = len(problems) - len(self.left)
        text = (f"{self.url}: {self.data} data objects, {self.where} where entries, "
                f"{self.work} work entries, "
                f"{self.catalog} catalog entries; {len(problems)} problem(s), "
                f"{fixed} repaired, {len(self.left)} left")
        leftovers = [f.leftover for f in self.findings if f.leftover and not f.fixed]
        if leftovers:
            text += (f"; leftovers of killed pushes/fetches: {len(leftovers)}, "
                     f"{human_size(sum(lo.size for lo in leftovers))}")
        return text

    def __str__(self) -> str:
        lines = [f"{f.kind:<22} {f.key}  {f.detail} [{f.status}]" for f in self.findings]
        return "\n".join([*lines, self.summary()])

    def to_frame(self) -> "pd.DataFrame":
        import pandas as pd
        return pd.DataFrame([{"kind": f.kind, "key": f.key, "detail": f.detail,
                              "status": f.status} for f in self.findings],
                            columns=["kind", "key", "detail", "status"])


def check(store: Store, repair: bool = False, delete_orphans: bool = False,
          deep: bool = False, concurrency: int = default_whole("DATALAKE_CONCURRENCY"),
          stale_age: str | float = default_of("DATALAKE_STALE_AGE"),
          cache_root: Path | None = None, progress: Progress | None = None) -> Report:
    """Audit the lake in ``store`` (see the module's docstring); with ``repair`` /
    ``delete_orphans`` also fix what those allow; ``deep`` reads ``concurrency`` objects
    at a time.  Leftovers of killed writes in the store and in the fetch cache at
    ``cache_root`` are reported, and with ``repair`` removed once older than ``stale_age``
    (seconds, or a duration like ``12h``).  ``progress`` is told of the fixes (a lake from
    before where entries needs one per file).  Returns the report; nothing is raised for
    damage."""
    report = Report(store.url)
    catalog = _entries(store, layout.CATALOG)      # index first, then data (see above)
    where = _entries(store, layout.WHERE)
    work = _entries(store, layout.WORK)
    data = _entries(store, layout.DATA)
    markers = _entries(store, REMOVING)  # last: a remove that ends meanwhile is no problem
    report.catalog, report.where, report.work, report.data = (len(catalog), len(where),
                                                              len(work), len(data))

    records: dict[str, Record] = {}
    for entry in data:
        rec = layout.parse_data_key(entry.key, size=entry.size)
        if rec is None:
            report.findings.append(Finding("orphan", entry.key, "a data object that is no record"))
        else:
            records[entry.key] = rec

    _check_entries("where", where, layout.parse_where_key, layout.where_key, records, report,
                   needed=lambda rec: True)
    _check_entries("work", work, layout.parse_work_key, layout.work_key, records, report,
                   needed=lambda rec: rec.work_id is not None)
    _check_catalog(catalog, records, report)
    _check_removes(markers, records, report)
    if deep:
        _check_contents(store, records, report, concurrency)
    _fix(store, report, repair, delete_orphans, concurrency, progress or Progress())
    _check_leftovers(store, cache_root, report, repair, stale_age)
    return report


def _entries(store: Store, prefix: str) -> list[Entry]:
    return list(store.list(prefix))


def _check_entries(name: str, entries: list[Entry], parse: Callable[[str], Record | None],
                   key_for: Callable[[Record, int], str], records: dict[str, Record],
                   report: Report, needed: Callable[[Record], bool]) -> None:
    """Where or work entries against the records (each record for which ``needed`` says
    so has one)."""
    found: set[str] = set()
    for entry in entries:
        rec = parse(entry.key)
        if rec is None or entry.size != 0:
            report.findings.append(Finding("orphan", entry.key,
                                           f"a {name} entry that names no record"))
            continue
        data_key = layout.data_key(rec)
        stored = records.get(data_key)
        if entry.key != key_for(rec, rec.size or 0) or (stored and stored.size != rec.size):
            report.findings.append(Finding(f"wrong-{name}-entry", entry.key,
                                           f"disagrees with {data_key} (size or work id)"))
        elif stored is None:
            report.findings.append(Finding(f"dangling-{name}-entry", entry.key,
                                           f"its data {data_key} is missing"))
        else:
            found.add(entry.key)
    for key, rec in records.items():
        expected = key_for(rec, rec.size or 0)
        if needed(rec) and expected not in found:
            report.findings.append(Finding(f"missing-{name}-entry", expected, f"for {key}"))


def _check_catalog(catalog: list[Entry], records: dict[str, Record], report: Report) -> None:
    pairs = {(r.what, r.where) for r in records.values()}
    listed = set()
    for entry in catalog:
        pair = layout.parse_catalog_key(entry.key)
        if pair is None:
            report.findings.append(Finding("orphan", entry.key, "a catalog entry that names no "
                                                                "what/where"))
            continue
        what, where = pair
        listed.add(pair)
        if (what, where) not in pairs:
            report.findings.append(Finding("dangling-catalog-entry", entry.key,
                                           f"no data of {what} from {where}"))
        elif entry.size != len(layout.INDEXED):
            report.findings.append(Finding("unindexed-pair", entry.key,
                                           f"where entries of {what} from {where} not marked "
                                           "complete: queries by where read all its data"))
    for what, where in sorted(pairs - listed):
        report.findings.append(Finding("missing-catalog-entry", layout.catalog_key(what, where),
                                       f"{what} from {where} has data"))


def _check_removes(markers: list[Entry], records: dict[str, Record], report: Report) -> None:
    """A marker is a remove that did not finish: its record's missing entries are part of
    it (writing them would undo the remove), so they give way to one unfinished-remove
    (and so does a missing catalog entry of a pair whose every record is going)."""
    going: set[str] = set()
    for entry in markers:
        rec = parse_marker_key(entry.key)
        if rec is None:
            report.findings.append(Finding("orphan", entry.key, "a remove marker that names "
                                                                "no record"))
            continue
        going.add(layout.data_key(rec))
        report.findings.append(Finding("unfinished-remove", entry.key,
                                       f"of {layout.data_key(rec)} (a remove stopped half-way)"))
    parse = {"missing-where-entry": layout.parse_where_key,
             "missing-work-entry": layout.parse_work_key}

    staying = {(rec.what, rec.where) for key, rec in records.items() if key not in going}

    def undoes_a_remove(finding: Finding) -> bool:
        if finding.kind == "missing-catalog-entry":
            return bool(going) and layout.parse_catalog_key(finding.key) not in staying
        rec = parse[finding.kind](finding.key) if finding.kind in parse else None
        return rec is not None and layout.data_key(rec) in going

    report.findings[:] = [f for f in report.findings if not undoes_a_remove(f)]


def _finish_remove(store: Store, finding: Finding) -> bool:
    rec = parse_marker_key(finding.key)
    if rec is None:
        return False
    finish_remove(store, rec, write_marker=False)
    drop_catalog_if_empty(store, rec.what, rec.where)
    return True


def _check_contents(store: Store, records: dict[str, Record], report: Report,
                    concurrency: int) -> None:
    """The JSON record stored with each object (S3) and the hash of its bytes."""
    def one(item: tuple[str, Record]) -> list[Finding]:
        key, rec = item
        out = []
        entry = store.head(key)
        if entry is not None and entry.metadata is not None:
            stored = entry.metadata.get("datalake-record")
            expected = {k: v for k, v in rec.to_json().items() if k != "url"}
            try:
                agrees = stored is not None and {
                    k: v for k, v in json.loads(stored).items() if k != "url"} == expected
            except (ValueError, AttributeError):
                agrees = False
            if not agrees:
                out.append(Finding("metadata-mismatch", key, "the stored JSON record "
                                   + ("is missing" if stored is None else "disagrees with the key")))
        with store.open(key) as stream:
            actual = hash_stream(stream)
        if actual != rec.hash:
            out.append(Finding("corrupt-data", key, f"bytes hash to {actual}, the record says "
                                                    f"{rec.hash}; push the file again"))
        return out

    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        for found in pool.map(one, sorted(records.items())):
            report.findings.extend(found)


def _fix(store: Store, report: Report, repair: bool, delete_orphans: bool,
         concurrency: int, progress: Progress) -> None:
    """Apply the fixes asked for, ``concurrency`` at a time, kind by kind in this order:
    a pair's catalog entry is marked INDEXED only after its where entries are written."""
    unwritten: collections.Counter[tuple[str, str]] = collections.Counter()
    actions: dict[str, Callable[[Finding], bool]] = {}
    if repair:
        actions.update({
            "unfinished-remove": lambda f: _finish_remove(store, f),
            "missing-where-entry": lambda f: _put_entry(store, f.key, layout.parse_where_key),
            "missing-work-entry": lambda f: _put_entry(store, f.key, layout.parse_work_key),
            "wrong-where-entry": lambda f: _delete(store, f.key),
            "wrong-work-entry": lambda f: _delete(store, f.key),
            "dangling-where-entry": lambda f: (_data_gone(store, f.key, layout.parse_where_key)
                                               and _delete(store, f.key)),
            "dangling-work-entry": lambda f: (_data_gone(store, f.key, layout.parse_work_key)
                                              and _delete(store, f.key)),
            "dangling-catalog-entry": lambda f: _pair_gone(store, f) and _delete(store, f.key),
            "missing-catalog-entry": lambda f: _mark(store, unwritten, f),
            "unindexed-pair": lambda f: _mark(store, unwritten, f),
        })
    if delete_orphans:
        actions["orphan"] = lambda f: _delete(store, f.key)

    def apply(finding: Finding) -> None:
        try:
            finding.fixed = actions[finding.kind](finding)
            if not finding.fixed:
                finding.error = "the data is there now (a push ran during the check)"
        except (DatalakeError, OSError) as exc:
            finding.error = str(exc)
        progress.file_done()

    progress.start(0, sum(f.kind in actions for f in report.findings), "repair")
    try:
        with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
            for kind in actions:
                if kind == "missing-catalog-entry":
                    unwritten.update((rec.what, rec.where) for f in report.findings
                                     if f.kind == "missing-where-entry" and not f.fixed
                                     and (rec := layout.parse_where_key(f.key)) is not None)
                list(pool.map(apply, [f for f in report.findings if f.kind == kind]))
    finally:
        progress.close()


def _mark(store: Store, unwritten: "collections.Counter[tuple[str, str]]",
          finding: Finding) -> bool:
    """Write the pair's catalog entry: INDEXED once none of its where entries is missing."""
    missing = unwritten[layout.parse_catalog_key(finding.key) or ("", "")]
    if missing and finding.kind == "missing-catalog-entry":
        store.put_bytes(finding.key, b"")  # the pair is listed, not yet marked
    if missing:
        raise DatalakeError(f"{missing} of its where entries could not be written, so it "
                            "is not marked indexed")
    store.put_bytes(finding.key, layout.INDEXED)
    return True


def _put_entry(store: Store, key: str, parse: Callable[[str], Record | None]) -> bool:
    """Write a missing index entry, then look at its data again: the data may have been
    deleted meanwhile (``--delete-orphans`` elsewhere, a lifecycle rule), and an entry
    without data must not stay."""
    store.put_bytes(key, b"")
    if _data_gone(store, key, parse):
        store.delete(key)
        raise DatalakeError("its data is gone now (deleted during the check)")
    return True


def _delete(store: Store, key: str) -> bool:
    store.delete(key)
    return True


def _data_gone(store: Store, key: str, parse: Callable[[str], Record | None]) -> bool:
    rec = parse(key)
    return rec is not None and store.head(layout.data_key(rec)) is None


def _pair_gone(store: Store, finding: Finding) -> bool:
    what, where = layout.parse_catalog_key(finding.key) or ("", "")
    for entry in store.list(f"{layout.DATA}{what}/"):
        rec = layout.parse_data_key(entry.key)
        if rec is not None and rec.where == where:
            return False
    return True


def _check_leftovers(store: Store, cache_root: Path | None, report: Report, repair: bool,
                     stale_age: str | float) -> None:
    """Report the leftovers of killed pushes and fetches; with ``repair`` remove those
    older than the stale age (checked again just before each is removed)."""
    seconds = (duration_seconds("stale age", stale_age) if isinstance(stale_age, str)
               else float(stale_age))
    cutoff = now_ms() - int(seconds * 1000)
    found = [*store.leftovers(), *(cache_leftovers(cache_root) if cache_root else [])]
    for lo in found:
        stale = lo.modified_ms < cutoff
        upload = lo.kind == "upload"
        kind = ("stale-" if stale else "recent-") + ("upload" if upload else "temp-file")
        what = ("an S3 multipart upload that was never completed" if upload else
                "a temporary file of a push or fetch that did not finish")
        finding = Finding(kind, lo.name, f"{human_size(lo.size)}, {_age(now_ms() - lo.modified_ms)}"
                                         f" old: {what}", leftover=lo)
        report.findings.append(finding)
        if repair and stale:
            try:
                if lo.kind == "cache-temp-file":
                    finding.fixed = remove_old_file(Path(lo.name), cutoff)
                else:
                    finding.fixed = store.remove_leftover(lo, cutoff)
                if not finding.fixed:
                    finding.error = "written since, or gone (a push or fetch may be running)"
            except (DatalakeError, OSError) as exc:
                finding.error = str(exc)


def cache_leftovers(root: Path) -> list[Leftover]:
    """Temporary files of fetches in the cache folder (``.datalake-*.part`` and
    ``.datalake-*.part.XXXXXXXX``, left by versions that downloaded through s3transfer)."""
    found = []
    for folder, _, names in os.walk(root):
        for name in sorted(names):
            if CACHE_TEMP.fullmatch(name):
                path = Path(folder) / name
                try:
                    st = path.lstat()
                except FileNotFoundError:
                    continue
                found.append(Leftover("cache-temp-file", str(path), st.st_size,
                                      st.st_mtime_ns // 1_000_000))
    return found


def _age(ms: int) -> str:
    seconds = max(ms, 0) // 1000
    for unit, length in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= length:
            return f"{seconds // length} {unit}"
    return f"{seconds} s"
