"""The lake's format mapping: which parser reads each (what, data-version).

It lives in the lake as one small object per pair, ``formats/<what>/<data-version>``,
holding the format's name, or (when it has parameters, such as a pasted ``log_format``)
JSON ``{"format": name, "params": {...}}``, so every reader of the lake parses a file alike.
"""
from __future__ import annotations

import json
from typing import Any

import pandas as pd

from . import formats
from ..core.errors import InvalidInput, NotFound
from ..core.metadata import Record, validate_name
from ..stores.base import Store

FORMATS = "formats/"


class NoFormat(InvalidInput):
    """No format is set for a record's what and data version (``record`` names it)."""

    def __init__(self, record: Record):
        self.record = record
        self.subject = (f"no format is set for what {record.what!r}, data-version "
                        f"{record.data_version!r}")
        super().__init__("format", f"{self.subject}; give format= (known: "
                                   f"{', '.join(formats.names())}) or set one with set_format")


def format_key(what: str, data_version: str) -> str:
    return f"{FORMATS}{what}/{data_version}"


def set_format(store: Store, what: str, data_version: str, format_name: str,
               params: dict[str, Any] | None = None) -> None:
    """Record in the lake that ``format_name`` (with ``params``) parses ``what`` files of
    ``data_version``."""
    validate_name("what", what)
    validate_name("data-version", data_version)
    formats.make(format_name, params)  # known and valid here, so a typo is not shared
    body = json.dumps({"format": format_name, "params": params}) if params else format_name
    store.put_bytes(format_key(what, data_version), body.encode())


Entry = tuple[str, dict[str, Any]]  # (format name, parameters)


def format_table(store: Store) -> dict[tuple[str, str], Entry]:
    """{(what, data-version): (format name, parameters)} as the lake records it."""
    out = {}
    for entry in store.list(FORMATS):
        what, _, version = entry.key[len(FORMATS):].partition("/")
        try:
            validate_name("what", what)
            validate_name("data-version", version)
        except InvalidInput:
            continue  # not an entry the lake writes
        with store.open(entry.key) as stream:
            text = stream.read(1 << 16).decode("utf-8", errors="replace").strip()
        out[(what, version)] = _entry(text)
    return out


def entry_for(store: Store, what: str, data_version: str) -> Entry | None:
    """(format name, parameters) the lake records for ``what``/``data_version`` (one small
    GET), or None when it records none."""
    try:
        with store.open(format_key(what, data_version)) as stream:
            text = stream.read(1 << 16).decode("utf-8", errors="replace").strip()
    except NotFound:
        return None
    return _entry(text)


def _entry(text: str) -> Entry:
    if text.startswith("{"):
        try:
            value = json.loads(text)
            return str(value["format"]), dict(value.get("params") or {})
        except (ValueError, KeyError, TypeError, AttributeError):
            pass  # not JSON the lake wrote: taken as a name, which fails when used
    return text, {}


def formats_frame(store: Store) -> pd.DataFrame:
    rows = [{"what": w, "data-version": v, "format": f, "parameters": p or None}
            for (w, v), (f, p) in sorted(format_table(store).items())]
    return pd.DataFrame(rows, columns=["what", "data-version", "format", "parameters"],
                        dtype=object)


def parsers_for(store: Store, records: list[Record], format: "str | formats.Parser | None",
                required: bool = True) -> dict[str, tuple[str, formats.Parser]]:
    """{record id: (format name, parser)}: ``format`` (a name, or a parser) for all, else
    the lake's mapping.  A record the mapping has no known format for is an error, or (not
    ``required``, as for grep's time column) left out."""
    if format is not None:
        if isinstance(format, str):
            parser = formats.get(format)
        elif callable(format):
            parser, format = format, getattr(format, "__name__", type(format).__name__)
        else:
            raise InvalidInput("format", f"expected a format name or a parser, got "
                                         f"{type(format).__name__}")
        return {r.id: (format, parser) for r in records}
    table = format_table(store) if records else {}
    made: dict[tuple[str, str], formats.Parser] = {}

    def parser_of(name: str, params: dict[str, Any]) -> formats.Parser:
        key = (name, json.dumps(params, sort_keys=True))
        if key not in made:
            made[key] = formats.make(name, params)
        return made[key]

    out = {}
    for rec in records:
        name, params = table.get((rec.what, rec.data_version), (None, {}))
        if not required:
            if name is not None and name in formats.names():
                try:
                    out[rec.id] = (name, parser_of(name, params))
                except InvalidInput:
                    pass
            continue
        if name is None:
            raise NoFormat(rec)
        out[rec.id] = (name, parser_of(name, params))
    return out
