"""The Lake: the one client behind the Python API, the CLI and the notebook magics.

A facade: each method checks its arguments, picks the engine's or the rows layer's
function and hands it what it needs (store, cache, pool, progress).  No other module
touches a Lake's privates.
"""
from __future__ import annotations

import io
import os
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Iterable, Sequence

from . import hints
from .config import Config, byte_count, resolve
from .core import layout
from .core.errors import DatalakeError, InvalidInput
from .core.metadata import Record
from .core.query import Names, Query, items_given, split_names
from .core.times import now_ms
from .engine import fetch as fetching
from .engine import push as pushing
from .engine import remove as removing
from .engine import spool as spooling
from .engine import upload as uploading
from .engine.cache import Cache
from .engine.check import Report, check
from .engine.hashing import VerifiedStream
from .engine.pool import Interrupted, Pool
from .engine.progress import ProgressArg, as_progress, opened
from .engine.query import Index
from .output import same_bytes_remark, to_frame
from .stores.base import Store
from .stores.registry import open_store

if TYPE_CHECKING:
    import pandas as pd

    from .ingest.importer import ImportReport
    from .ingest.tree import Pushed

__all__ = ["Lake", "Interrupted", "SameBytesWarning"]


class SameBytesWarning(UserWarning):
    """A listing holds the same bytes under two data versions (one file pushed twice)."""

PathLike = str | os.PathLike[str]


class Lake:
    """A datalake at one root URL (S3 or a local folder).

    One way to configure it, never two silently: ``Lake(url, cache_dir=...)`` resolves
    those with the environment and config files (argument > environment > files; no URL
    means the embedded lake under the user's data directory); ``Lake(config=...)``
    takes a configuration already resolved (``config.resolve``), and then ``url`` or
    ``cache_dir`` as well is an error.  ``store=`` injects the Store (tests wrap one to
    count or spoil calls): it replaces the configured URL, so it excludes ``url``.
    ``progress`` is the default of push / push_many / fetch: False (no bar), True (a
    ``tqdm.auto`` bar) or a ``datalake_nb.engine.progress.Progress``.
    """

    def __init__(self, url: str | None = None, *, config: Config | None = None,
                 store: Store | None = None, cache_dir: PathLike | None = None,
                 progress: ProgressArg = False):
        if config is not None and (url is not None or cache_dir is not None):
            raise InvalidInput("Lake", "give url/cache_dir or a resolved config=, not both "
                                       "(put them into the config with config.resolve)")
        if store is not None and url is not None:
            raise InvalidInput("Lake", "give url or store=, not both")
        self.config = config or resolve({"DATALAKE_STORAGE_URL": url,
                                         "DATALAKE_CACHE_DIR": cache_dir})
        self.concurrency = self.config.whole("DATALAKE_CONCURRENCY")
        self.store = store or open_store(self.config)
        self.cache = Cache(self.config["DATALAKE_CACHE_DIR"])
        as_progress(progress)  # a bad value fails here, not at the first push
        self.progress = progress
        self.dask_client: Any = None  # the Client to_dask started, kept as long as the Lake

    @property
    def url(self) -> str:
        return self.store.url

    def __repr__(self) -> str:
        return f"Lake({self.url!r})"

    # Built per call, so a test (or a user) may swap ``store``, ``cache`` or ``concurrency``.
    def _pool(self) -> Pool:
        return Pool(self.concurrency)

    def _index(self) -> Index:
        return Index(self.store, self._pool())

    def _progress(self, progress: ProgressArg) -> ProgressArg:
        return self.progress if progress is None else progress

    # -- push ---------------------------------------------------------------

    def push(self, path: PathLike, *, what: str, where: str | None = None, start: Any = None,
             end: Any = None, data_version: str, work_id: str | None = None,
             format: Any = None, progress: ProgressArg = None) -> Record:
        """Archive one file; returns its record (``push_many`` archives several).

        Without ``start``, the times come from the content: start is the earliest event
        time in the file, end (unless given) the latest, read with ``format`` (a name,
        ``"auto"``, or a parser) or the lake's format of ``what`` and ``data_version``;
        ``"mtime"`` for either takes the file's modification time.  ``start`` without
        ``end`` is a snapshot (an instant).  A ``format`` name is also recorded as the
        parser of that what and data version (see ``set_format``).  Without ``where``, the
        setting DATALAKE_DEFAULT_WHERE is the where (without it, where is required)."""
        if not isinstance(path, (str, bytes, os.PathLike)) and hasattr(path, "__iter__"):
            raise InvalidInput("path", f"push takes one file path, got a {type(path).__name__}; "
                                       "use push_many for several files")
        return self.push_many([path], what=what, where=where, start=start, end=end,
                              data_version=data_version, work_id=work_id, format=format,
                              progress=progress)[0]

    def push_many(self, items: Iterable[PathLike | dict[str, Any]], *, format: Any = None,
                  progress: ProgressArg = None, **shared: Any) -> list[Record]:
        """Archive several files; returns their records in order.  An item is a path (its
        metadata are the ``shared`` keywords: what=, where=, start=, ...) or a dict with
        ``path`` and its own fields, which win over ``shared``.  Times left out come from
        the content, as in ``push``.  Every item is checked (and read, for its times)
        before any upload."""
        jobs = self._plan(items, shared, format)
        total = sum(path.stat().st_size for path, _ in jobs)
        with opened(self._progress(progress), total, len(jobs), "push") as bar:
            records = pushing.push_many(self.store, self._pool(), jobs, bar)
        self._record_format(records, format)
        return records

    def _plan(self, items: Iterable[Any], shared: dict[str, Any],
              format: Any) -> list[tuple[Path, dict[str, Any]]]:
        """Every item's (path, finished fields), all checked before any upload."""
        from .ingest import plan as planning
        return planning.plan(planning.items_of(items, shared), self.store, format,
                             self.config["DATALAKE_DEFAULT_WHERE"])

    def _record_format(self, records: Iterable[Record], format: Any) -> None:
        """A format named at push is recorded for each what and data version pushed."""
        if isinstance(format, str):
            for what, version in dict.fromkeys((r.what, r.data_version) for r in records):
                self.set_format(what, version, format)

    def push_paths(self, paths: Iterable[PathLike], *, path_template: str | None = None,
                   path_regex: str | None = None, recursive: bool = False,
                   skip_unmatched: bool = False, dry_run: bool = False, format: Any = None,
                   progress: ProgressArg = None, **fields: Any) -> "Pushed":
        """Archive files and folders (``recursive``: every file under a folder), each
        file's metadata from its path by ``path_template`` (``'{where}/{what}/{_}.log'``)
        or ``path_regex``, under ``fields`` (what=, where=, ...: given values win over
        the path, the path over the content).  A file the pattern does not match is an
        error before anything is uploaded, or skipped (``skip_unmatched``; the result's
        ``skipped`` names them).  ``dry_run``: the records it would write, nothing
        uploaded.  See ``datalake_nb.ingest.templates``."""
        from .ingest import templates, tree
        pattern = templates.compile_pattern(path_template, path_regex)
        files = tree.files_of(paths, recursive)
        items, skipped = tree.items_from_paths(files, pattern, fields, skip_unmatched)
        if dry_run:
            return tree.Pushed(tree.would_push(self._plan(items, {}, format)), skipped,
                               dry_run=True)
        return tree.Pushed(self.push_many(items, format=format, progress=progress) if items
                           else [], skipped)

    def import_archive(self, source: str, *, path_template: str | None = None,
                       path_regex: str | None = None, format: Any = None,
                       source_endpoint_url: str | None = None, source_profile: str | None = None,
                       progress: ProgressArg = None, **fields: Any) -> "ImportReport":
        """Push every file of an existing archive (a folder, or ``s3://bucket/prefix`` with
        its own ``source_endpoint_url`` and ``source_profile``) whose key ``path_template``
        (or ``path_regex``) matches, with the metadata from its key, ``fields`` and its
        content.  The source is never changed; run again, it pushes only what is missing.
        Returns the counts: imported, already there, skipped and why.  See
        ``datalake_nb.ingest.importer``."""
        from .ingest import importer, templates
        pattern = templates.compile_pattern(path_template, path_regex)
        if pattern is None:
            raise InvalidInput("path-template", "import needs --path-template or --path-regex "
                                                "(what, where and times come from the keys)")
        if isinstance(format, str):  # a typo is said before the source is listed
            from .rows import formats
            formats.get(format)
        found = importer.Source(source, source_endpoint_url, source_profile)
        with opened(self._progress(progress), 0, 0, "import") as bar:
            report = importer.import_archive(self.store, self._pool(), bar, found, pattern,
                                             fields, format, self.config["DATALAKE_DEFAULT_WHERE"])
        self._record_format(report.imported + report.already, format)
        return report

    # -- the spool: enqueue now, upload later (datalake_nb.engine.spool, .upload) --------

    def spool(self) -> "spooling.Spool":
        """The spool this Lake's configuration names (DATALAKE_SPOOL_DIR, with its
        DATALAKE_SPOOL_MAX_BYTES)."""
        return spooling.Spool(self.config["DATALAKE_SPOOL_DIR"] or "",
                              byte_count(self.config.value("DATALAKE_SPOOL_MAX_BYTES")))

    def enqueue(self, paths: Iterable[PathLike], *, format: Any = None,
                **shared: Any) -> list["spooling.Entry"]:
        """Check files and their metadata now and place them in the spool, durably, for
        ``upload`` to push later; the keywords are push_many's (times left out come from
        the content).  Every file is checked, and read for its times, before any is
        queued; a mistake is an InvalidInput and nothing is queued.  SpoolFull when the
        spool would pass its size limit (the files stay where they are)."""
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        jobs = self._plan(paths, shared, format)
        spool = self.spool()
        extra = {"format": format} if isinstance(format, str) else {}
        return [spool.enqueue(path, fields, extra=extra) for path, fields in jobs]

    def uploader(self, log: Any) -> "uploading.Uploader":
        """An Uploader of this Lake's spool into its store (``log`` gets each Outcome);
        a format named at enqueue is recorded in the lake once its first file is in."""
        recorded: set[tuple[str, str, str]] = set()

        def pushed(rec: Record, entry: "spooling.Entry") -> None:
            name = entry.record.get("format")
            if isinstance(name, str) and (rec.what, rec.data_version, name) not in recorded:
                self.set_format(rec.what, rec.data_version, name)
                recorded.add((rec.what, rec.data_version, name))

        return uploading.Uploader(self.spool(), self.store, self.concurrency, log,
                                  on_pushed=pushed)

    # -- query --------------------------------------------------------------

    def records(self, what: Names = None, where: Names = None, start: Any = None,
                end: Any = None, work_id: str | None = None) -> list[Record]:
        """The records that match, sorted by start (the list() rows, as Records)."""
        return self._index().records(Query.parse(what, where, start, end, work_id))

    def list(self, what: Names = None, where: Names = None, start: Any = None,
             end: Any = None, work_id: str | None = None) -> "pd.DataFrame":
        """A DataFrame of the matching files, one row each, sorted by start.

        Columns: what, where, start, end (UTC timestamps), size, work_id, data-version,
        version, ext, id, hash, url (``datalake_nb.output.COLUMNS``).  A file matches
        when its [start, end] overlaps [start, end] of the query.  When the listing holds
        the same bytes under two data versions (one file pushed twice), a warning says so
        and ``attrs["remark"]`` holds its line.
        """
        records = self.records(what, where, start, end, work_id)
        frame = to_frame(records)
        if frame.empty:
            frame.attrs["hint"] = self.explain_empty(what, where)
            hints.tell(frame.attrs["hint"], "lake.list")
        remark = same_bytes_remark((r.hash, r.data_version, r.where, r.what) for r in records)
        if remark:
            frame.attrs["remark"] = remark
            warnings.warn(remark.removeprefix("warning: "), SameBytesWarning, stacklevel=2)
        return frame

    def explain_empty(self, what: Names = None, where: Names = None) -> str | None:
        """Why a query may have found nothing, in one line (or None): a what or where the
        catalog does not know (with a did-you-mean), or a lake that holds nothing yet."""
        return self._index().explain_empty(split_names("what", what) or [],
                                           split_names("where", where) or [])

    def latest(self, what: str, where: Names = None) -> Record:
        """The record of ``what`` (from ``where``) with the latest start; of records with
        the same start, the longest; of the same start and end, the later push (S3's
        LastModified, a local file's mtime)."""
        return self._index().latest(what, split_names("where", where), where)

    def get(self, record_id: str) -> Record:
        """The record with this id (one small listing per what)."""
        return self._index().get(record_id)

    def catalog(self) -> dict[str, list[str]]:
        """{what: [wheres]} for everything the lake holds (entries the lake would not
        write, like a where of '..', are skipped: `datalake check` reports them)."""
        return self._index().catalog()

    def check(self, repair: bool = False, delete_orphans: bool = False, deep: bool = False,
              stale_age: str | float | None = None) -> Report:
        """Find damage: data without a record, missing or dangling index entries, leftovers
        of killed writes (and with ``deep`` corrupt bytes); ``repair`` fixes the index and
        removes leftovers older than ``stale_age`` (default DATALAKE_STALE_AGE, 1 day),
        ``delete_orphans`` removes what is no record.  See ``datalake_nb.engine.check``."""
        self._index().require_lake()
        return check(self.store, repair=repair, delete_orphans=delete_orphans, deep=deep,
                     concurrency=self.concurrency, cache_root=self.cache.root,
                     progress=as_progress(self.progress),
                     stale_age=stale_age or self.config.value("DATALAKE_STALE_AGE"))

    # -- remove -------------------------------------------------------------

    def remove(self, items: Any = None, *, yes: bool = False, dry_run: bool = False,
               **query: Any) -> list[Record]:
        """Remove files from the lake: ``items`` (ids, records, a list() frame) or the files
        a query matches (the keywords of ``list``); returns their records.

        Each file's data object, where, work and (with its pair's last file) catalog
        entries go, in the order ``datalake_nb.engine.remove`` explains, so list, latest,
        queries, read and check agree afterwards, and a remove stopped half-way is
        finished by ``check(repair=True)``.  More than one file needs ``yes=True``
        (otherwise nothing is removed: InvalidInput); ``dry_run=True`` only returns what
        would go.  This machine's cached copies go too.
        """
        records = self._targets(items, query)
        return self._remove(records, yes, dry_run)

    def expire(self, older_than: str | float, *, what: Names = None, where: Names = None,
               yes: bool = False, dry_run: bool = False) -> list[Record]:
        """Remove the files whose end (an instant's start) is more than ``older_than`` ago
        (``"400d"``, ``"12h"``, seconds), of ``what`` / ``where`` if given; as ``remove``
        (``yes``, ``dry_run``).  For S3, a lifecycle rule does it without a client (see
        the README's retention section)."""
        cutoff = removing.older_than_cutoff(older_than, now_ms())
        records = [rec for rec in self.records(what, where, end=cutoff) if rec.stop < cutoff]
        return self._remove(records, yes, dry_run)

    def _targets(self, items: Any, query: dict[str, Any]) -> list[Record]:
        records = self.resolve(items) if items_given("remove", items, query) \
            else self.records(**query)
        return list({rec.id: rec for rec in records}.values())

    def _remove(self, records: list[Record], yes: bool, dry_run: bool) -> list[Record]:
        if not removing.confirmed(records, yes, dry_run, "yes=True"):
            return records
        done = removing.remove_records(self.store, self._pool(), records).records
        for rec in done:
            self.cache.forget(rec)
        return done

    def timeline(self, frame: "pd.DataFrame | None" = None, **filters: Any) -> Any:
        """A picture of coverage (one row per where, colour by what) so gaps stand out.

        Draws ``frame`` (a list() DataFrame), else ``self.list(**filters)``, over at
        least the query's start..end; returns the matplotlib Axes.  See
        ``datalake_nb.plot.timeline``.
        """
        from .plot import timeline
        return timeline(self.list(**filters) if frame is None else frame,
                        start=filters.get("start"), end=filters.get("end"))

    # -- fetch --------------------------------------------------------------

    def resolve(self, items: Any) -> list[Record]:
        """Records from a list() DataFrame, Records, JSON dicts (``list --output json``) or
        ids (each looked up)."""
        return fetching.resolve(items, self.get)

    def open(self, item: "str | Record", *, decompress: bool = False) -> BinaryIO:
        """A readable binary stream of one file, without downloading it first (with
        ``decompress``, the content of a .gz, .bz2 or .xz file; DamagedFile when that
        content does not decompress)."""
        rec = self.resolve([item])[0]
        key = layout.data_key(rec)
        url = self.store.url_for(key)
        stream = VerifiedStream(self.store.open(key), rec, url)
        if decompress:
            from .rows.compression import open_decompressed
            return open_decompressed(io.BufferedReader(stream), rec.ext, f"{url} (id {rec.id})")
        return stream

    def fetch(self, items: Any = None, dest: PathLike | None = None, *, what: Names = None,
              where: Names = None, start: Any = None, end: Any = None,
              work_id: str | None = None, progress: ProgressArg = None,
              cancel: threading.Event | None = None) -> list[Path]:
        """Download files into ``dest``: ``items`` (a DataFrame from list(), records, or
        ids), or the files a query matches (the keywords of ``list``).

        Every file's hash is verified before it is placed; files already in the local
        cache are not downloaded again.  Each file is placed as soon as it is verified,
        while others download; a query's downloads start on the listing's first page (a
        query by up to 8 wheres lists its where entries first: they are few).
        Returns the local paths in the order given (a query's: the order of ``list``).
        Setting ``cancel`` (from another thread: a widget's Cancel button) stops it as
        Ctrl-C does: ``Interrupted``, whose message counts the files placed (each whole).
        """
        query = {"what": what, "where": where, "start": start, "end": end, "work_id": work_id}
        given = items_given("fetch", items, query)
        folder = os.fspath(dest if dest is not None else self.config.value("DATALAKE_FETCH_DIR"))
        shown = self._progress(progress)
        if given:
            return fetching.fetch_records(self.store, self.cache, self._pool(),
                                          self.resolve(items), folder, shown, cancel)
        parsed = Query.parse(**query)
        return fetching.fetch_listed(self.store, self.cache, self._pool(),
                                     self._index().listings(parsed), parsed.keeps, folder,
                                     shown, cancel)

    def cached(self, records: Sequence[Record], *, progress: ProgressArg = None,
               cancel: threading.Event | None = None) -> list[Path]:
        """Each record's verified file in the local cache, in order: what is missing is
        downloaded in parallel and its hash checked first (the cache's files are read-only;
        ``fetch`` places them, ``read`` and ``grep`` parse them where they are)."""
        return fetching.cached(self.store, self.cache, self._pool(), records,
                               self._progress(progress), cancel)

    # -- rows: read, grep, formats, Dask (datalake_nb.rows) ---------------------

    def _chosen(self, rows: Any, query: dict[str, Any]) -> tuple[list[Record], "tuple[int | None, int | None]"]:
        """The records to read and the query's [start, end] window (ms, None = open):
        ``rows`` (a list() DataFrame, ids, Records) or the query keywords of ``list``."""
        from .rows import choice
        parsed = choice.query_of(rows is not None, query)
        records = self._index().records(parsed) if rows is None else self.resolve(rows)
        return records, parsed.window

    def _parsers(self, records: list[Record], format: Any) -> dict[str, Any]:
        from .rows import choice
        return choice.parsers(self.store, records, format,
                              lambda record: self.open(record, decompress=True))

    def _url_of(self, rec: Record) -> str:
        return self.store.url_for(layout.data_key(rec))

    def read(self, rows: Any = None, *, format: Any = None, clip: bool = True,
             sort: str | None = None, **query: Any) -> "pd.DataFrame":
        """The parsed lines of the matching files: columns time (the event time, UTC),
        where, what, then the format's other fields, then line_number and id (the file's).
        The rows come file by file, in the records' order; ``sort="time"`` merges them into
        one timeline (a stable sort: rows without a time last).

        ``rows`` (a list() DataFrame, ids, Records) or the query keywords of ``list``
        choose the files; ``format`` names the parser (``"auto"``: each file's is found
        from its first lines, ``attrs["format"]`` says which), or is one
        (``formats.Nginx(log_format=...)``); default: the lake's mapping, see
        ``set_format``.  With ``clip`` and a ``start``/``end``, rows whose time lies
        outside [start, end] are dropped (both edges inside; lines without a time are
        kept).  Lines that did not parse keep their text in ``unparsed``;
        ``df.attrs["unparsed"]`` counts them (``attrs["unparsed_time"]`` the lines whose
        time did not read).  Files are read through the verified cache, in parallel.
        """
        from .rows import choice
        from .rows import read as reading
        records, window = self._chosen(rows, query)
        parsers = self._parsers(records, format)
        reading.check_sort(sort)  # before any download
        paths = self.cached(records)
        empty = None if records else (choice.named(format)
                                      or choice.recorded(self.store, query.get("what")))
        frame = reading.read(records, paths, parsers, window if clip else None, self._url_of,
                             empty=empty)
        if not records and rows is None:  # no file: why, if the lake can tell
            frame.attrs["hint"] = self.explain_empty(query.get("what"), query.get("where"))
            hints.tell(frame.attrs["hint"], "lake.read")
        return reading.sorted_by(frame, sort)

    def grep(self, pattern: str, rows: Any = None, *, ignore_case: bool = False,
             fixed: bool = False, invert: bool = False, before: int | None = None,
             after: int | None = None, context: int | None = None, **query: Any) -> "pd.DataFrame":
        """Lines of the matching files that match ``pattern`` (Python ``re`` syntax;
        ``fixed``: plain text; ``invert``: lines that do not match), like ``grep -H -n``:
        columns id, what, where, line_number, line (unchanged), and ``time`` when the
        lake knows the file's format.  Files come as for ``read``.  ``before`` /
        ``after`` / ``context`` (both): lines around each match, as grep -B / -A / -C
        (``before`` and ``after`` win over ``context``), each line once, with a ``match``
        column (True for the matching lines)."""
        from .rows import grep as grepping, mapping
        search = grepping.Search.make(pattern, ignore_case, fixed, invert)
        before, after = grepping.lines_around(before, after, context)
        records, _ = self._chosen(rows, query)
        parsers = mapping.parsers_for(self.store, records, None, required=False)
        return grepping.grep(search, records, self.cached(records), parsers, self._url_of,
                             before=before, after=after)

    def count_matches(self, pattern: str, rows: Any = None, *, ignore_case: bool = False,
                      fixed: bool = False, invert: bool = False,
                      **query: Any) -> list[tuple[Record, int]]:
        """(record, number of matching lines) of each file with a match, like ``grep -c``:
        the lines ``grep`` would return, counted without reading them into Python where
        GNU grep's count is exact (see ``datalake_nb.rows.counts``)."""
        from .rows.counts import count_matches
        records, _ = self._chosen(rows, query)
        return count_matches(pattern, records, self.cached(records), self._url_of,
                             ignore_case, fixed, invert)

    def histogram(self, rows: Any = None, *, pattern: str | None = None, every: Any = None,
                  format: Any = None, ignore_case: bool = False, fixed: bool = False,
                  invert: bool = False, **query: Any) -> "pd.DataFrame":
        """How many lines fall in each time bin, per where: columns time (the bin's start,
        UTC), where, count; every bin of the range, zeros too.

        Files come as for ``read`` (``rows`` or the query keywords of ``list``; with a
        start/end, lines outside are not counted; the bins span start..end, else the
        files' own span).  ``pattern``
        (with ``ignore_case``, ``fixed``, ``invert`` as in ``grep``) counts the lines that
        match instead.  A line's time is its format's (``format``, else the lake's, see
        ``set_format``); lines without one are not counted (``attrs["untimed"]``).
        ``every``: the bin width (``"10s"``, ``"1min"``, ``"1h"``, ``"1d"``), default a
        round width giving about 60 bins.  ``datalake_nb.plot.histogram(frame)`` draws it.
        """
        from .rows import choice
        from .rows import grep as grepping
        from .rows import histogram as binning
        if every is not None:
            binning.parse_every(every)  # a bad width: said before anything is fetched
        search = None if pattern is None else grepping.Search.make(pattern, ignore_case,
                                                                  fixed, invert)
        records, window = self._chosen(rows, query)
        parsers = self._parsers(records, format)
        return binning.of_files(records, self.cached(records), parsers, window, self._url_of,
                                every, search, empty=choice.named(format))

    def set_format(self, what: str, data_version: str, format_name: str, **params: Any) -> None:
        """Record in the lake which format parses ``what`` files of ``data_version``, with
        its parameters (``set_format("nginx", "2", "nginx", log_format='$remote_addr ...')``),
        so every reader parses them alike (one small object, formats/<what>/<data-version>)."""
        from .rows import mapping
        mapping.set_format(self.store, what, data_version, format_name, params)

    def formats(self) -> "pd.DataFrame":
        """The lake's format mapping: columns what, data-version, format, parameters (a
        dict, or None)."""
        from .rows import mapping
        return mapping.formats_frame(self.store)

    def to_dask(self, rows: Any = None, *, format: Any = None, clip: bool = True,
                partition_bytes: int = 64 << 20, **query: Any) -> Any:
        """The rows of ``read`` as a dask DataFrame, a partition per file (and one per
        ``partition_bytes`` of a large uncompressed file); workers read the objects
        straight from the store and verify them (``pip install 'datalake_nb[dask]'``).
        See ``datalake_nb.rows.dask``."""
        from .rows import choice
        from .rows import dask as on_dask
        if not self.store.shared_across_processes:
            raise DatalakeError(f"to_dask: {self.url} lives in this process only, and Dask's "
                                "workers cannot see it; use read(), or a folder or bucket")
        records, window = self._chosen(rows, query)
        parsers = self._parsers(records, format)
        client, made = on_dask.client_for(self.dask_client,
                                          self.config["DATALAKE_DASK_SCHEDULER"])
        if made:
            self.dask_client = client  # lives as long as the Lake
        settings = {name: self.config[name] for name in on_dask.STORE_SETTINGS}
        return on_dask.to_dask(client, records, parsers, window if clip else None, self.url,
                            settings, empty=choice.named(format), partition_bytes=partition_bytes)
