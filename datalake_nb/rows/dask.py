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
              window: tuple[int | None, int | None] | None) -> list[FileTask]:
    kept = tuple((name, settings[name]) for name in STORE_SETTINGS if settings.get(name))
    categories = tuple(tuple(dict.fromkeys(getattr(r, f) for r in records))
                       for f in ("id", "what", "where"))
    return [FileTask(root, kept, rec, parsers[rec.id][1], window, categories)
            for rec in records]


def to_dask(client: Any, records: list[Record], parsers: dict[str, tuple[str, Parser]],
            window: tuple[int | None, int | None] | None, root: str, settings: dict[str, str],
            empty: Parser | None = None) -> Any:
    """A dask DataFrame of the records' rows, one partition per file, on ``client``'s
    cluster.  ``root``: the lake's URL; ``settings``: the configuration, of which only
    STORE_SETTINGS travel; ``empty``: the parser whose columns an answer without files has."""
    import dask
    import dask.dataframe as dd

    tasks = tasks_for(root, settings, records, parsers, window)
    if not tasks:
        return dd.from_pandas(reading.read([], [], {}, window, str, empty), npartitions=1)
    # The columns come from the start of the first file, parsed on a worker (0 rows travel
    # back to this process).
    meta = client.compute(dask.delayed(_empty)(tasks[0])).result()
    return dd.from_map(load, tasks, meta=meta, label="datalake-read", enforce_metadata=False)
