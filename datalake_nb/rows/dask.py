"""Lake rows on a Dask cluster: ``Lake.to_dask`` (needs ``pip install 'datalake_nb[dask]'``).

One partition per file.  A partition's task holds only what is not secret: the lake's
root URL, the non-secret store settings (endpoint, region, profile, retry mode, expected
bucket owner), the file's record and the parser.  Each worker opens the object straight
from the store (S3, or a folder every worker mounts), takes credentials from its own
environment / boto3 chain, verifies the bytes against the record's hash (a corrupt
object fails the task with IntegrityError), decompresses and parses them with the same
function ``Lake.read`` uses.  Nothing passes through the notebook's process.

The scheduler: the active ``dask.distributed`` Client, else the one at
``DATALAKE_DASK_SCHEDULER``, else a new ``LocalCluster`` of worker processes sized to the
machine (kept for the Lake's lifetime).
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any

import pandas as pd

from . import read as reading
from .compression import decompress
from ..config import resolve
from ..core import layout
from ..core.errors import DatalakeError, IntegrityError
from ..core.metadata import Record
from .formats import Parser
from ..engine.hashing import content_hash, corrupt_message
from ..stores.base import Store
from ..stores.factory import open_store

Lake = Any  # a datalake_nb.lake.Lake (not imported: the Lake imports this module)

# Settings a worker needs to reach the store that are not secret (keys never travel).
STORE_SETTINGS = ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_PROFILE",
                  "DATALAKE_S3_RETRY_MODE", "DATALAKE_S3_EXPECTED_BUCKET_OWNER",
                  "DATALAKE_S3_CONNECT_TIMEOUT", "DATALAKE_S3_READ_TIMEOUT")


@dataclasses.dataclass(frozen=True)
class FileTask:
    """Everything one partition needs, and nothing secret."""

    root: str
    settings: tuple[tuple[str, str], ...]
    record: Record
    parser: Parser
    window: tuple[int | None, int | None] | None
    categories: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]


@functools.lru_cache(maxsize=8)
def worker_store(root: str, settings: tuple[tuple[str, str], ...]) -> Store:
    """The store, opened once per worker process (credentials from its environment)."""
    return open_store(resolve({"DATALAKE_STORAGE_URL": root, **dict(settings)}))


def load(task: FileTask, head: int | None = None) -> pd.DataFrame:
    """One partition: the file's rows, exactly as ``Lake.read`` gives them (``head``: only
    the lines in about that many first bytes, after the whole file is verified)."""
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


def client_for(lake: "Lake") -> Any:
    """The active Client, else one on DATALAKE_DASK_SCHEDULER, else a LocalCluster's."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed
    except ImportError:
        raise DatalakeError("to_dask needs Dask: pip install 'datalake_nb[dask]' "
                            "(dask[dataframe] and distributed)") from None
    try:
        return distributed.get_client()
    except ValueError:
        pass
    own = lake.dask_client
    if own is not None and own.status == "running":
        return own
    address = lake.config["DATALAKE_DASK_SCHEDULER"]
    if address:
        try:
            client = distributed.Client(address, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise DatalakeError(f"cannot reach the Dask scheduler at {address} "
                                f"(DATALAKE_DASK_SCHEDULER): {exc}") from None
    else:
        client = distributed.Client(distributed.LocalCluster(processes=True))
    lake.dask_client = client  # lives as long as the Lake
    return client


def tasks_for(lake: "Lake", records: list[Record], parsers: dict[str, tuple[str, Parser]],
              window: tuple[int | None, int | None] | None) -> list[FileTask]:
    settings = tuple((name, lake.config[name]) for name in STORE_SETTINGS if lake.config[name])
    categories = tuple(tuple(dict.fromkeys(getattr(r, f) for r in records))
                       for f in ("id", "what", "where"))
    return [FileTask(lake.url, settings, rec, parsers[rec.id][1], window, categories)
            for rec in records]


def to_dask(lake: "Lake", rows: Any = None, *, format: str | None = None, clip: bool = True,
            **query: Any) -> Any:
    """See ``Lake.to_dask``."""
    records, window = reading.select(lake, rows, query)
    parsers = reading.parsers_for(lake, records, format)
    client = client_for(lake)
    import dask
    import dask.dataframe as dd

    tasks = tasks_for(lake, records, parsers, window if clip else None)
    if not tasks:
        return dd.from_pandas(lake.read(rows, format=format, clip=clip, **query), npartitions=1)
    # The columns come from the start of the first file, parsed on a worker (0 rows travel
    # back to this process).
    meta = client.compute(dask.delayed(_empty)(tasks[0])).result()
    return dd.from_map(load, tasks, meta=meta, label="datalake-read", enforce_metadata=False)
