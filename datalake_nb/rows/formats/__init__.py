"""Log formats: parsers that turn a file's bytes into a typed DataFrame, one row per line.

The contract every parser keeps, the registry (``register``, ``get``, ``names``) and the
shared helpers are in ``base``; each built-in parser is a module of its own: ``lines``
(in ``base``), ``nginx`` (access logs; ``clf`` is its common log format), ``syslog`` (RFC
3164 and 5424), ``jsonl``, ``docker`` and ``logfmt`` (module ``jsonl``) and ``csv``
(module ``delimited``).  ``JsonLines(time="when")`` and ``Csv(time=...,
sep=...)`` make variants to register under a name of your own.  ``time_range(stream,
fmt)`` tells a file's earliest and latest time without building its frame.  A new format
is one module here, registered below.
"""
from __future__ import annotations

from .base import (TIME, TIME_NAMES, Parser, _REGISTRY, decode, describe, get, has_pyarrow,
                   infer_types, line_array, lines, make, names, parse, raw_lines, register,
                   split_lines, to_utc)
from .delimited import Csv
from .detect import Auto, Detection, detect
from .jsonl import DockerJson, JsonLines, Logfmt
from .nginx import CLF, NGINX_COLUMNS, Nginx
from .syslog import SYSLOG_COLUMNS, Syslog
from .timerange import TimeRange, time_range

__all__ = ["TIME", "TIME_NAMES", "Parser", "Csv", "DockerJson", "JsonLines", "Logfmt", "Nginx",
           "Syslog", "NGINX_COLUMNS", "SYSLOG_COLUMNS", "decode", "describe", "get",
           "has_pyarrow", "infer_types", "line_array", "lines", "make", "names", "parse",
           "raw_lines", "register", "split_lines", "to_utc", "TimeRange", "time_range"]

register("lines", lines)
register("nginx", Nginx())
register("syslog", Syslog())
register("jsonl", JsonLines())
register("csv", Csv())
register("logfmt", Logfmt())
register("docker", DockerJson())
register("clf", Nginx(log_format=CLF))
register("auto", Auto())
