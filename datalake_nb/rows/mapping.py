"""The lake's format mapping: which parser reads each (what, data-version).

It lives in the lake as one small object per pair, ``formats/<what>/<data-version>``,
holding the format's name, so every reader of the lake parses a file alike.
"""
from __future__ import annotations

import pandas as pd

from . import formats
from ..core.errors import InvalidInput
from ..core.metadata import Record, validate_name
from ..stores.base import Store

FORMATS = "formats/"


def format_key(what: str, data_version: str) -> str:
    return f"{FORMATS}{what}/{data_version}"


def set_format(store: Store, what: str, data_version: str, format_name: str) -> None:
    """Record in the lake that ``format_name`` parses ``what`` files of ``data_version``."""
    validate_name("what", what)
    validate_name("data-version", data_version)
    formats.get(format_name)  # known here, so a typo is caught before it is shared
    store.put_bytes(format_key(what, data_version), format_name.encode())


def format_table(store: Store) -> dict[tuple[str, str], str]:
    """{(what, data-version): format name} as the lake records it."""
    out = {}
    for entry in store.list(FORMATS):
        what, _, version = entry.key[len(FORMATS):].partition("/")
        try:
            validate_name("what", what)
            validate_name("data-version", version)
        except InvalidInput:
            continue  # not an entry the lake writes
        with store.open(entry.key) as stream:
            out[(what, version)] = stream.read(200).decode("utf-8", errors="replace").strip()
    return out


def formats_frame(store: Store) -> pd.DataFrame:
    rows = [{"what": w, "data-version": v, "format": f}
            for (w, v), f in sorted(format_table(store).items())]
    return pd.DataFrame(rows, columns=["what", "data-version", "format"], dtype=object)


def parsers_for(store: Store, records: list[Record], format: str | None,
                required: bool = True) -> dict[str, tuple[str, formats.Parser]]:
    """{record id: (format name, parser)}: ``format`` for all, else the lake's mapping.
    A record the mapping has no known format for is an error, or (not ``required``, as for
    grep's time column) left out."""
    if format is not None:
        parser = formats.get(format)
        return {r.id: (format, parser) for r in records}
    table = format_table(store) if records else {}
    out = {}
    for rec in records:
        name = table.get((rec.what, rec.data_version))
        if not required:
            if name is not None and name in formats.names():
                out[rec.id] = (name, formats.get(name))
            continue
        if name is None:
            raise InvalidInput("format", f"no format is set for what {rec.what!r}, data-version "
                                         f"{rec.data_version!r}; give format= (known: "
                                         f"{', '.join(formats.names())}) or set one with "
                                         "set_format")
        out[rec.id] = (name, formats.get(name))
    return out
