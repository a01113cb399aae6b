"""Metadata from a file's path: ``--path-template`` and ``--path-regex``.

A template names the fields in the path as ``{what}``, ``{where}``, ``{work_id}``,
``{data_version}``, ``{start:%Y-%m-%d}`` and ``{end:...}`` (a strftime format), and ``{_}``
for any text it ignores.  It matches the *end* of a path or key, at a segment boundary, so
``{where}/{what}/{what}.log-{start:%Y%m%d}.gz`` matches a local path and an S3 key alike.
A field stays inside one path segment; a name used twice must match the same text.
``--path-regex`` is a Python regular expression with named groups of the same names
(groups whose name starts with ``_`` are ignored), for what a template cannot say.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from ..core import times
from ..core.errors import InvalidInput
from ..core.metadata import validate_name, validate_work_id

FIELDS = ("what", "where", "work_id", "data_version", "start", "end")
NAMES = ("what", "where", "data_version")
TIME_FIELDS = ("start", "end")
_PLACE = re.compile(r"\{([A-Za-z_]+)(?::([^{}]*))?\}")
# strftime directives a path holds, as the text each matches.
# Numbers zero-padded, as strftime writes them (so %Y%m%d cannot read 2026110 as 2026-1-10).
_DIRECTIVES = {"Y": "[0-9]{4}", "y": "[0-9]{2}", "m": "[0-9]{2}", "d": "[0-9]{2}",
               "H": "[0-9]{2}", "M": "[0-9]{2}", "S": "[0-9]{2}", "j": "[0-9]{3}",
               "f": "[0-9]{1,6}", "b": "[A-Za-z]{3}", "B": "[A-Za-z]+", "a": "[A-Za-z]{3}",
               "z": "(?:[+-][0-9]{4}|Z)", "s": "[0-9]{1,12}", "%": "%"}


@dataclasses.dataclass(frozen=True)
class PathPattern:
    """A compiled template or regex: ``fields(path)`` gives the metadata of a path, or None
    when it does not match."""
    source: str
    regex: re.Pattern[str]
    time_formats: dict[str, str]  # group -> strftime format (templates); else times.to_ms

    def fields(self, path: str) -> dict[str, Any] | None:
        text = path.replace("\\", "/")
        match = self.regex.search(text)
        if match is None:
            return None
        out: dict[str, Any] = {}
        for group, value in match.groupdict().items():
            if value is None or group.startswith("_"):
                continue
            name = group
            if name in TIME_FIELDS:
                out[name] = self._time(group, name, value, path)
            elif name in NAMES:
                out[name] = _checked_name(name, value, path)
            elif name == "work_id":
                out[name] = validate_work_id(value)
        return out

    def _time(self, group: str, name: str, value: str, path: str) -> int:
        fmt = self.time_formats.get(group)
        try:
            if fmt is None:
                return times.to_ms(value, name)
            if fmt == "%s":
                return int(value) * 1000
            stamp = dt.datetime.strptime(value, fmt)
        except (ValueError, InvalidInput) as exc:
            problem = exc.problem if isinstance(exc, InvalidInput) else str(exc)
            raise InvalidInput(name, f"{value!r} in {path} does not read as a time: "
                                     f"{problem}") from None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=dt.timezone.utc)
        return times.to_ms(stamp, name)


def _checked_name(name: str, value: str, path: str) -> str:
    """what, where, data_version from a path: the lake's rule, and when a character breaks
    it, which one and how to take a part of the segment instead."""
    try:
        return validate_name(name.replace("_", "-") if name == "data_version" else name, value)
    except InvalidInput as exc:
        label = exc.field
        bad = sorted({c for c in value if not re.fullmatch(r"[A-Za-z0-9_-]", c)})
        if not bad:
            raise InvalidInput(label, f"{exc.problem} (from {path})") from None
        first = re.split(r"[^A-Za-z0-9_-]", value)[0]
        way = (f"take part of it with the template, e.g. {{{name}}}{bad[0]}{{_}} gives {first!r}, "
               if first else "")
        raise InvalidInput(label, f"{value!r} (from {path}) contains {''.join(bad)!r}; only ASCII "
                                  f"letters, digits, '-' and '_' are allowed: {way}use "
                                  f"--path-regex, or give --{label}") from None


def compile_template(template: str) -> PathPattern:
    """The pattern of a path template (see the module's docstring)."""
    if not isinstance(template, str) or not template.strip("/"):
        raise InvalidInput("path-template", "is empty; e.g. '{where}/{what}/{_}.log'")
    body, formats, seen, at = [], {}, {}, 0
    text = template.lstrip("/")
    for match in _PLACE.finditer(text):
        body.append(re.escape(text[at:match.start()]))
        at = match.end()
        name, fmt = match.group(1), match.group(2)
        if name == "_":
            body.append("[^/]*?")
            continue
        if name not in FIELDS:
            raise InvalidInput("path-template", f"unknown field {{{name}}} in {template!r}; "
                                                f"allowed: {', '.join('{' + f + '}' for f in FIELDS)}, {{_}}")
        if name in TIME_FIELDS:
            fmt = fmt or "%Y-%m-%d"
            piece, group = _time_regex(fmt, template), name
            if name in seen:
                raise InvalidInput("path-template", f"{{{name}}} appears twice in {template!r}; "
                                                    "give it once, with its whole format")
            seen[name] = 1
            formats[group] = fmt
            body.append(f"(?P<{group}>{piece})")
            continue
        if fmt:
            raise InvalidInput("path-template", f"{{{name}:{fmt}}}: only start and end take a "
                                                "format")
        if name in seen:
            body.append(f"(?P={name})")
        else:
            seen[name] = 1
            body.append(f"(?P<{name}>[^/]+?)")
    leftover = _PLACE.sub("", text)
    if "{" in leftover or "}" in leftover:
        raise InvalidInput("path-template", f"{template!r} has an unmatched brace; fields are "
                                            "written {what}, {start:%Y-%m-%d}, {_}")
    body.append(re.escape(text[at:]))
    return PathPattern(template, re.compile("(?:^|/)" + "".join(body) + "$"), formats)


def _time_regex(fmt: str, template: str) -> str:
    out, i = [], 0
    while i < len(fmt):
        char = fmt[i]
        if char == "%" and i + 1 < len(fmt):
            directive = fmt[i + 1]
            if directive not in _DIRECTIVES:
                raise InvalidInput("path-template", f"%{directive} in {template!r} is not a date "
                                                    "directive a path template reads; allowed: "
                                                    + " ".join("%" + d for d in _DIRECTIVES))
            out.append(_DIRECTIVES[directive])
            i += 2
            continue
        if char == "/":
            raise InvalidInput("path-template", f"a date format cannot span folders ({fmt!r}); "
                                                "use {start:%Y}/{_}/... or --path-regex")
        out.append(re.escape(char))
        i += 1
    return "".join(out)


def compile_regex(pattern: str) -> PathPattern:
    """The pattern of a --path-regex: named groups what, where, work_id, data_version,
    start, end (times in a form the lake reads: 2026-11-01, 20261101, ISO 8601)."""
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise InvalidInput("path-regex", f"{pattern!r} is not a regular expression: {exc}") from None
    unknown = [g for g in regex.groupindex if not g.startswith("_") and g not in FIELDS]
    if unknown:
        raise InvalidInput("path-regex", f"unknown group (?P<{unknown[0]}>...); allowed: "
                                         f"{', '.join(FIELDS)} (and names starting with _)")
    return PathPattern(pattern, regex, {})


def compile_pattern(template: str | None, regex: str | None) -> PathPattern | None:
    if template is not None and regex is not None:
        raise InvalidInput("path-template", "give --path-template or --path-regex, not both")
    if template is not None:
        return compile_template(template)
    return None if regex is None else compile_regex(regex)
