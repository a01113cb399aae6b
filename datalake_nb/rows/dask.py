"""Lake rows on a Dask cluster: ``Lake.to_dask`` (needs ``pip install 'datalake_nb[dask]'``).

One partition per file, and several for a large plain file (``partition_bytes``, 64 MiB
by default) whose format reads each line on its own: one 2 GB log is not one task.  A
partition's task holds only what is not secret: the lake's root URL, the non-secret store
settings (endpoint, region, profile, retry mode, expected bucket owner), the file's record,
the parser and which part of the file it is.  Each worker opens the object straight from
the store (S3, or a folder every worker mounts), takes credentials from its own environment
/ boto3 chain, verifies the bytes against the record's hash (a corrupt object fails the
task with IntegrityError), decompresses and parses them with the same function
``Lake.read`` uses.  The parts of a split file come from the worker machine's own lake
cache (DATALAKE_CACHE_DIR, or its default), so the file is downloaded and verified once
per machine, not once per part.  Nothing passes through the notebook's process.

The scheduler: the active ``dask.distributed`` Client, else the one at
``DATALAKE_DASK_SCHEDULER``, else a new ``LocalCluster`` of worker processes sized to the
machine (kept for the Lake's lifetime).
"""
from __future__ import annotations

import dataclasses
import functools
import mmap
from typing import Any

import numpy as np
import pandas as pd

from . import read as reading
from .compression import decompress
from ..config import resolve
from ..core import layout
from ..core.errors import DatalakeError, IntegrityError, InvalidInput
from ..core.metadata import Record
from .formats import Parser
from ..engine.cache import Cache
from ..engine.fetch import cached
from ..engine.hashing import content_hash, corrupt_message
from ..engine.pool import Pool
from .compression import codec_of
from .formats import Csv, DockerJson, JsonLines, Logfmt, Nginx, Syslog, lines as plain_lines
from ..stores.base import Store
from ..stores.registry import open_store

# Settings a worker needs to reach the store that are not secret (keys never travel).
STORE_SETTINGS = ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_PROFILE",
                  "DATALAKE_S3_RETRY_MODE", "DATALAKE_S3_EXPECTED_BUCKET_OWNER",
                  "DATALAKE_S3_CONNECT_TIMEOUT", "DATALAKE_S3_READ_TIMEOUT",
                  "DATALAKE_GCS_ENDPOINT_URL", "DATALAKE_AZURE_ENDPOINT_URL",
                  "GOOGLE_APPLICATION_CREDENTIALS", "AZURE_STORAGE_ACCOUNT_NAME")


@dataclasses.dataclass(frozen=True)
class FileTask:
    """Everything one partition needs, and nothing secret."""

    root: str
    settings: tuple[tuple[str, str], ...]
    record: Record
    parser: Parser
    window: tuple[int | None, int | None] | None
    categories: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]
    part: int = 0  # of ``parts``: the lines that start in bytes [part, part + 1) x size / parts
    parts: int = 1


PARTITION_BYTES = 64 << 20
# Formats whose rows depend on their own line alone (a CSV part gets the header first).
LINE_BY_LINE = (Nginx, Syslog, JsonLines, DockerJson, Logfmt, Csv)
# Formats whose columns are each file's own keys (or header).
OPEN_SCHEMA = (JsonLines, Logfmt, Csv)


@functools.lru_cache(maxsize=8)
def worker_store(root: str, settings: tuple[tuple[str, str], ...]) -> Store:
    """The store, opened once per worker process (credentials from its environment)."""
    return open_store(resolve({"DATALAKE_STORAGE_URL": root, **dict(settings)}))


@functools.lru_cache(maxsize=1)
def worker_cache() -> Cache:
    """This machine's lake cache (the worker's DATALAKE_CACHE_DIR, or its default)."""
    return Cache(resolve({})["DATALAKE_CACHE_DIR"])


def parts_of(rec: Record, parser: Parser, partition_bytes: int) -> int:
    """How many partitions read the file: one, unless it is a plain (not compressed)
    file larger than ``partition_bytes`` in a format that reads each line on its own."""
    splits = isinstance(parser, LINE_BY_LINE) or parser is plain_lines
    if not splits or not rec.size or codec_of(rec.ext or "") is not None:
        return 1
    return max(1, -(-rec.size // partition_bytes))


def load_part(task: FileTask) -> pd.DataFrame:
    """One part of a split file: the rows of the lines that start in its byte range, with
    their line numbers in the whole file, from the verified file in the machine's cache."""
    rec = task.record
    store = worker_store(task.root, task.settings)
    path = cached(store, worker_cache(), Pool(1), [rec], progress=False)[0]
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
        size = len(view)
        begin, end = size * task.part // task.parts, size * (task.part + 1) // task.parts
        begin = 0 if begin == 0 else view.find(b"\n", begin - 1) + 1 or size
        end = size if task.part == task.parts - 1 else view.find(b"\n", end - 1) + 1 or size
        chunk, offset = view[begin:end], _newlines(view, begin)
        header = b""
        if isinstance(task.parser, Csv) and begin > 0:  # the columns' names, as in part 0
            header, offset = view[:view.find(b"\n") + 1], offset - 1
    categories = dict(zip(("id", "what", "where"), map(list, task.categories)))
    frame = reading.parse_file(header + chunk, rec, task.parser, task.window, categories)
    if header:
        frame = frame[frame["line_number"] > 1].reset_index(drop=True)
    frame["line_number"] += offset
    frame.attrs = {}
    return frame


def _newlines(view: mmap.mmap, end: int, step: int = 64 << 20) -> int:
    """How many line ends the first ``end`` bytes hold, read ``step`` bytes at a time."""
    return sum(view[at:min(at + step, end)].count(b"\n") for at in range(0, end, step))


def load(task: FileTask, head: int | None = None) -> pd.DataFrame:
    """One partition: the file's rows, exactly as ``Lake.read`` gives them (``head``: only
    the lines in about that many first bytes, after the whole file is verified)."""
    if task.parts > 1 and head is None:
        return load_part(task)
    rec = task.record
    store = worker_store(task.root, task.settings)
    key = layout.data_key(rec)
    with store.open(key) as stream:
        data = stream.read()
    digest = content_hash()
    digest.update(data)
    if digest.hexdigest() != rec.hash:
        raise IntegrityError(corrupt_message(store.url_for(key), rec, digest.hexdigest(),
                                             "the partition was not parsed"))
    categories = dict(zip(("id", "what", "where"), map(list, task.categories)))
    data = decompress(data, rec.ext, f"{store.url_for(key)} (id {rec.id})")
    if head is not None and len(data) > head:
        data = data[:data.rfind(b"\n", 0, head) + 1 or head]
    frame = reading.parse_file(data, rec, task.parser, task.window, categories)
    frame.attrs = {}
    return frame


def _empty(task: FileTask) -> pd.DataFrame:
    """The columns and types: the first 1 MiB of the first file, parsed on a worker."""
    return load(task, head=1 << 20).iloc[:0]


def client_for(own: Any, address: str | None) -> tuple[Any, bool]:
    """(client, made): the active Client, else ``own`` (the one made before) while it runs,
    else one on ``address`` (DATALAKE_DASK_SCHEDULER), else a LocalCluster's.  ``made``:
    the client is new, for the caller to keep (and close) as its own."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed
    except ImportError:
        raise DatalakeError("to_dask needs Dask: pip install 'datalake_nb[dask]' "
                            "(dask[dataframe] and distributed)") from None
    try:
        return distributed.get_client(), False
    except ValueError:
        pass
    if own is not None and own.status == "running":
        return own, False
    if address:
        try:
            client = distributed.Client(address, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise DatalakeError(f"cannot reach the Dask scheduler at {address} "
                                f"(DATALAKE_DASK_SCHEDULER): {exc}") from None
    else:
        client = distributed.Client(distributed.LocalCluster(processes=True))
    return client, True


def tasks_for(root: str, settings: dict[str, str], records: list[Record],
              parsers: dict[str, tuple[str, Parser]],
              window: tuple[int | None, int | None] | None,
              partition_bytes: int = PARTITION_BYTES) -> list[FileTask]:
    kept = tuple((name, settings[name]) for name in STORE_SETTINGS if settings.get(name))
    categories = tuple(tuple(dict.fromkeys(getattr(r, f) for r in records))
                       for f in ("id", "what", "where"))
    tasks = []
    for rec in records:
        parser = parsers[rec.id][1]
        parts = parts_of(rec, parser, partition_bytes)
        tasks += [FileTask(root, kept, rec, parser, window, categories, part, parts)
                  for part in range(parts)]
    return tasks


def to_dask(client: Any, records: list[Record], parsers: dict[str, tuple[str, Parser]],
            window: tuple[int | None, int | None] | None, root: str, settings: dict[str, str],
            empty: Parser | None = None, partition_bytes: int = PARTITION_BYTES) -> Any:
    """A dask DataFrame of the records' rows, a partition per file (or per
    ``partition_bytes`` of a large plain file), in order, on ``client``'s cluster.
    ``root``: the lake's URL; ``settings``: the configuration, of which only
    STORE_SETTINGS travel; ``empty``: the parser whose columns an answer without files has."""
    import dask
    import dask.dataframe as dd

    if not isinstance(partition_bytes, int) or isinstance(partition_bytes, bool) \
            or partition_bytes < 1:
        raise InvalidInput("partition_bytes", f"{partition_bytes!r}; allowed: a number of "
                                              "bytes, at least 1")
    tasks = tasks_for(root, settings, records, parsers, window, partition_bytes)
    if not tasks:
        return dd.from_pandas(reading.read([], [], {}, window, str, empty), npartitions=1)
    # The columns come from the start of the first file, parsed on a worker (0 rows travel
    # back to this process); for formats whose columns are the file's own keys, from the
    # start of every file, so the frame has one schema: the columns of them all, in order.
    firsts = [t for t in tasks if t.part == 0]
    if not any(isinstance(t.parser, OPEN_SCHEMA) for t in firsts):
        firsts = firsts[:1]
    heads = client.compute([dask.delayed(_empty)(t) for t in firsts], sync=True)
    meta = reading.reading_order(pd.concat(heads) if len(heads) > 1 else heads[0])
    schema = tuple(meta.dtypes.items())
    return dd.from_map(functools.partial(conformed, schema=schema), tasks, meta=meta,
                       label="datalake-read", enforce_metadata=False)


def conformed(task: FileTask, schema: tuple[tuple[str, Any], ...]) -> pd.DataFrame:
    """A partition with the frame's columns: one a file lacks is all null (of the
    column's type); a key first seen past the start of a file (where the columns were
    taken from) is left out."""
    frame = load(task)
    columns = [name for name, _ in schema]
    if list(frame.columns) == columns:
        return frame
    missing = {c: _nulls(frame.index, d) for c, d in schema if c not in frame.columns}
    return frame.assign(**missing)[columns]


def _nulls(index: pd.Index, dtype: Any) -> pd.Series:
    """A column of nulls of ``dtype`` (booleans and integers in their nullable types)."""
    kind = dtype.kind if isinstance(dtype, np.dtype) else ""
    return pd.Series(index=index, dtype={"b": "boolean", "i": "Int64", "u": "UInt64"}.get(
        kind, dtype))
