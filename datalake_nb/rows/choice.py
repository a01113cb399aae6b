"""Which files a rows call reads and which parser reads each: the checks and choices that
read, grep, histogram and to_dask share, kept out of the Lake facade."""
from __future__ import annotations

from typing import Any, BinaryIO, Callable, ContextManager

from ..core.errors import InvalidInput
from ..core.metadata import Record
from ..core.query import Names, Query, check_keywords, split_names
from ..stores.base import Store
from . import formats, mapping

Opener = Callable[[Record], ContextManager[BinaryIO]]


def query_of(rows_given: bool, query: dict[str, Any]) -> Query:
    """The query that chooses the files (without ``rows``), or that only clips the rows'
    times (with them: then only start and end are allowed)."""
    check_keywords(query)
    if not rows_given:
        return Query.parse(**query)
    chosen = sorted(set(query) - {"start", "end"})
    if chosen:
        raise InvalidInput(chosen[0], "give rows or a query, not both (with rows, only start "
                                      "and end are allowed: they clip the rows' times)")
    return Query.parse(start=query.get("start"), end=query.get("end"))


def parsers(store: Store, records: list[Record], format: Any,
            open_decompressed: Opener) -> dict[str, Any]:
    """{id: (format name, parser)}; a what and data version without a format is an
    InvalidInput that names the format its first file looks like."""
    try:
        return mapping.parsers_for(store, records, format)
    except mapping.NoFormat as exc:
        with open_decompressed(exc.record) as stream:
            found = formats.detect(stream.read(1 << 20))
        if found.format == "lines":
            raise
        raise InvalidInput("format", f"{exc.subject}; its file {exc.record.id} looks like "
                                     f"{found.format!r} ({found.share:.0%} of its first "
                                     f"{found.lines} lines): give format={found.format!r} "
                                     "or format='auto', or set one with set_format") from None


def named(format: Any) -> Any:
    """The parser ``format`` names (or is), for the columns of an answer without files."""
    if format is None:
        return None
    return formats.get(format) if isinstance(format, str) else format


def recorded(store: Store, what: Names) -> Any:
    """The parser the lake records for ``what`` (if one for all its data versions), for
    the columns of an answer without files; else ``lines`` (line_number, line)."""
    whats = split_names("what", what) or []
    found = {repr((name, sorted(params.items()))): (name, params)
             for (w, _), (name, params) in mapping.format_table(store).items()
             if w in whats} if whats else {}
    if len(found) == 1:
        [(name, params)] = found.values()
        try:
            return formats.make(name, params)
        except InvalidInput:  # a format this process has not registered
            pass
    return formats.get("lines")
