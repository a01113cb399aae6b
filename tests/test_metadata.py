"""Tests for datalake_nb.core.metadata: the seed's version "0" record and its field rules."""
from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json

import pytest

from datalake_nb.core import metadata
from datalake_nb.core.errors import InvalidInput
from datalake_nb.core.metadata import (Record, validate_ext, validate_fields, validate_id, validate_name,
                                       validate_work_id, ext_of, make_id)

UTC = dt.timezone.utc
START = 1426809920345          # 2015-03-20T00:05:20.345Z (the seed's example)
END = 1426895999114            # 2015-03-20T23:59:59.114Z
HASH = "a3e75ee4f45f676422e038f2c116d000"

# The seed README's example record, verbatim.
SEED_RECORD = json.loads("""
        {
            "version": "0",
            "start": 1426809920345,
            "end": 1426895999114,
            "work_id": null,
            "where": "webserver02",
            "what": "syslog",
            "data-version": "0",
            "id": "6309e115c2914d0f8622973422626954",
            "hash": "a3e75ee4f45f676422e038f2c116d000"
        }
""")

NAME_FIELDS = [("what", 64), ("where", 64), ("data-version", 32)]


def _raises_for(field, func, *args, **kwargs) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        func(*args, **kwargs)
    err = info.value
    assert err.field == field
    assert str(err).startswith(f"{field}: "), str(err)
    assert isinstance(err, ValueError)
    return err


# --------------------------------------------------------------------------
# validate_name: what, where, data-version
# --------------------------------------------------------------------------

GOOD_NAMES = ["a", "Z", "0", "-", "_", "syslog", "webserver02", "whirlyweb02-prod",
              "balyhoo-source-audit", "rawfood_ingester", "ABC-def_123", "007"]


@pytest.mark.parametrize("field, limit", NAME_FIELDS)
@pytest.mark.parametrize("value", GOOD_NAMES)
def test_check_name_accepts(field, limit, value):
    assert validate_name(field, value) == value


@pytest.mark.parametrize("field, limit", NAME_FIELDS)
def test_check_name_length_limit(field, limit):
    assert validate_name(field, "a" * limit) == "a" * limit
    assert validate_name(field, "-" * limit) == "-" * limit
    err = _raises_for(field, validate_name, field, "a" * (limit + 1))
    assert str(limit) in str(err)
    _raises_for(field, validate_name, field, "b" * 1000)


def test_limits_are_the_spec_limits():
    assert metadata.LIMITS == {"what": 64, "where": 64, "data-version": 32, "work_id": 64}


BAD_NAMES = [
    "",                 # empty
    "nginx.log",        # a file extension
    ".",
    "..",
    "a/b",
    "/",
    "a b",
    " a",
    "a ",
    "a\tb",
    "a~b",
    "a%b",
    "a+b",
    "a:b",
    "a,b",
    "a*",
    "caf\u00e9",        # non-ASCII letter
    "stra\u00dfe",
    "\u0661\u0662",     # Arabic-Indic digits
    "\uff41",           # fullwidth a
    "a\u200bb",         # zero-width space
    "\u212a",           # Kelvin sign (casefolds to ASCII k)
    "a\x00",
    "\n",
]


@pytest.mark.parametrize("field, limit", NAME_FIELDS)
@pytest.mark.parametrize("value", BAD_NAMES, ids=repr)
def test_check_name_rejects(field, limit, value):
    _raises_for(field, validate_name, field, value)


@pytest.mark.parametrize("field, limit", NAME_FIELDS)
@pytest.mark.parametrize("value", [None, 0, 12, 1.5, True, b"syslog", ["syslog"], ("a",), {}],
                         ids=repr)
def test_check_name_rejects_wrong_types(field, limit, value):
    _raises_for(field, validate_name, field, value)


@pytest.mark.parametrize("field, limit", NAME_FIELDS)
def test_check_name_rejects_trailing_newline(field, limit):
    _raises_for(field, validate_name, field, "syslog\n")


def test_what_with_extension_says_so():
    err = _raises_for("what", validate_name, "what", "nginx.log")
    assert "extension" in str(err)
    assert "'nginx.log'" in str(err)


def test_bad_character_is_named():
    err = _raises_for("where", validate_name, "where", "web/01")
    assert "'/'" in str(err)


# --------------------------------------------------------------------------
# validate_work_id
# --------------------------------------------------------------------------

GOOD_WORK_IDS = [
    None,
    "blappo-14321359",
    "a",
    "x" * 64,
    "\u00e9" * 32,               # 64 bytes of UTF-8
    "\U0001f600" * 16,           # 64 bytes of UTF-8
    "a b",
    "a/b",
    ".",
    "..",
    "~",
    "%",
    "%2F",
    "a.b.c",
    "NULL",
    "Null",
    "null-1",
    "nulls",
    "\u65e5\u672c\u8a9e",
    "job:42#3?x=1&y=2",
]


@pytest.mark.parametrize("value", GOOD_WORK_IDS, ids=repr)
def test_check_work_id_accepts(value):
    assert validate_work_id(value) == value


BAD_WORK_IDS = [
    "",
    "null",
    "x" * 65,
    "\u00e9" * 33,               # 66 bytes, though only 33 characters
    "x" * 63 + "\u00e9",         # 65 bytes, 64 characters
    "\U0001f600" * 17,
    " lead",
    "trail ",
    " ",
    "a\tb",
    "a\nb",
    "tail\n",
    "a\rb",
    "\x00",
    "a\x1bb",
    "a\x7fb",
    "a\u200bb",                  # zero-width space: not printable
    "a\u2028b",                  # line separator
]


@pytest.mark.parametrize("value", BAD_WORK_IDS, ids=repr)
def test_check_work_id_rejects(value):
    _raises_for("work_id", validate_work_id, value)


@pytest.mark.parametrize("value", [0, 1, 1.5, True, b"blappo", ["a"], {"a": 1}], ids=repr)
def test_check_work_id_rejects_wrong_types(value):
    _raises_for("work_id", validate_work_id, value)


def test_work_id_null_string_message():
    err = _raises_for("work_id", validate_work_id, "null")
    assert "null" in str(err)


def test_work_id_limit_is_bytes_not_characters():
    err = _raises_for("work_id", validate_work_id, "\u00e9" * 33)
    assert "66" in str(err) and "64" in str(err)


def test_work_id_with_lone_surrogate_is_invalid_input():
    _raises_for("work_id", validate_work_id, "job-\udcff")


# --------------------------------------------------------------------------
# validate_ext / ext_of
# --------------------------------------------------------------------------

GOOD_EXTS = ["", ".log", ".gz", ".log.gz", ".tar.gz.bz2", ".a", ".LOG", ".7z", ".abcdefgh",
             ".abcdefgh.abcdef", ".a1.b2.c3"]


@pytest.mark.parametrize("value", GOOD_EXTS, ids=repr)
def test_check_ext_accepts(value):
    assert validate_ext(value) == value


BAD_EXTS = [
    "log",
    ".",
    "..",
    ".log.",
    "..log",
    ".abcdefghi",            # a part longer than 8
    ".a.b.c.d",              # more than 3 parts
    ".abcdefgh.abcdefg",     # 17 characters: longer than EXT_MAX
    ".lo g",
    ". log",
    ".l\u00f6g",
    ".log/..",
    "/.log",
    ".log~",
    ".lo-g",
    ".lo_g",
    ".log%2F",
]


@pytest.mark.parametrize("value", BAD_EXTS, ids=repr)
def test_check_ext_rejects(value):
    _raises_for("ext", validate_ext, value)


def test_check_ext_rejects_trailing_newline():
    _raises_for("ext", validate_ext, ".log\n")


@pytest.mark.parametrize("value", [None, 5, b".log"], ids=repr)
def test_check_ext_rejects_wrong_types(value):
    _raises_for("ext", validate_ext, value)


EXT_OF = [
    ("nginx.log", ".log"),
    ("syslog.log.gz", ".log.gz"),
    ("noext", ""),
    ("trailingdot.", ""),
    ("", ""),
    ("a.tar.gz.bz2.xz", ".gz.bz2.xz"),          # at most 3 parts
    ("a.verylongextension", ""),
    ("a.log.verylongextension", ""),           # the last part decides
    ("a.verylongextension.log", ".log"),
    ("file.abcdefgh.abcdefgh", ".abcdefgh"),   # 18 characters would be too long
    ("a.lo g", ""),
    ("a.l\u00f6g", ""),
    ("a.log~", ""),
    ("access.log.1", ".log.1"),
    ("report.CSV", ".CSV"),
    ("a..log", ".log"),
    ("dir.d/file", ""),
]


@pytest.mark.parametrize("name, expected", EXT_OF)
def test_ext_of(name, expected):
    assert ext_of(name) == expected


@pytest.mark.parametrize("name", [n for n, _ in EXT_OF] + ["a.b.c.d.e", "x.tar.gz", ".bashrc"])
def test_ext_of_result_is_a_valid_suffix(name):
    ext = ext_of(name)
    assert validate_ext(ext) == ext
    assert name.endswith(ext)


def test_ext_of_trailing_newline():
    assert ext_of("a.log\n") == ""


# --------------------------------------------------------------------------
# validate_id
# --------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["0" * 32, "0123456789abcdef" * 2, "f" * 32,
                                   SEED_RECORD["id"]])
def test_check_id_accepts(value):
    assert validate_id(value) == value


@pytest.mark.parametrize("value", ["", "0" * 31, "0" * 33, "A" * 32, "0123456789ABCDEF" * 2,
                                   "g" * 32, " " + "0" * 31, "0" * 31 + " ", "-" + "0" * 31,
                                   "0x" + "0" * 30, "\uff10" * 32,
                                   None, 0, 12, True, b"0" * 32, ["0" * 32]], ids=repr)
def test_check_id_rejects(value):
    _raises_for("id", validate_id, value)


def test_check_id_rejects_trailing_newline():
    _raises_for("id", validate_id, "0" * 32 + "\n")


# --------------------------------------------------------------------------
# validate_fields
# --------------------------------------------------------------------------

GOOD_FIELDS = dict(what="syslog", where="webserver02", start=START, end=END,
                   data_version="0", work_id=None)


def test_check_fields_normalises():
    got = validate_fields(what="nginx", where="webserver01", start="2015-03-20T00:05:20.345Z",
                       end="1426895999114", data_version="0", work_id="blappo-14321359")
    assert got == {"what": "nginx", "where": "webserver01", "data_version": "0",
                   "work_id": "blappo-14321359", "start": START, "end": END}


def test_check_fields_defaults_end_and_work_id_to_none():
    got = validate_fields(what="a", where="b", start=dt.date(2015, 3, 20), data_version="v1")
    assert got["end"] is None and got["work_id"] is None
    assert got["start"] == (dt.datetime(2015, 3, 20, tzinfo=UTC)
                            - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(milliseconds=1)


def test_check_fields_end_equal_to_start():
    got = validate_fields(**{**GOOD_FIELDS, "end": START})
    assert got["end"] == got["start"] == START


def test_check_fields_end_before_start():
    err = _raises_for("end", validate_fields, **{**GOOD_FIELDS, "end": START - 1})
    assert "start" in err.problem


def test_check_fields_end_before_start_as_text():
    _raises_for("end", validate_fields, **{**GOOD_FIELDS, "start": "2015-03-20T00:05:32.345Z",
                                        "end": "2015-03-20T00:05:32.344Z"})


@pytest.mark.parametrize("field, key, value", [
    ("what", "what", ""),
    ("what", "what", "nginx.log"),
    ("what", "what", None),
    ("what", "what", "a" * 65),
    ("where", "where", "web 01"),
    ("where", "where", None),
    ("where", "where", "w" * 65),
    ("data-version", "data_version", "1.0"),
    ("data-version", "data_version", 0),
    ("data-version", "data_version", "v" * 33),
    ("work_id", "work_id", "null"),
    ("work_id", "work_id", ""),
    ("work_id", "work_id", "x" * 65),
    ("start", "start", None),
    ("start", "start", "2015-03-20T00:00:05:32.345Z"),
    ("start", "start", True),
    ("start", "start", 1.5),
    ("start", "start", -1),
    ("end", "end", "2015-03-20T23:59.114Z"),
    ("end", "end", False),
    ("end", "end", 10 ** 18),
], ids=repr)
def test_check_fields_names_the_bad_field(field, key, value):
    _raises_for(field, validate_fields, **{**GOOD_FIELDS, key: value})


def test_check_fields_quotes_bad_time():
    err = _raises_for("start", validate_fields,
                      **{**GOOD_FIELDS, "start": "2015-03-20T00:00:05:32.345Z"})
    assert "'2015-03-20T00:00:05:32.345Z'" in str(err)


def test_check_fields_requires_the_required():
    for missing in ("what", "where", "start", "data_version"):
        fields = {k: v for k, v in GOOD_FIELDS.items() if k != missing}
        with pytest.raises(TypeError):
            validate_fields(**fields)


def test_check_fields_is_keyword_only():
    with pytest.raises(TypeError):
        validate_fields("syslog", "web", START)  # type: ignore[misc]


# --------------------------------------------------------------------------
# Record
# --------------------------------------------------------------------------

def _record(**changes) -> Record:
    base = dict(start=START, end=END, where="webserver02", what="syslog", data_version="0",
                work_id=None, hash=HASH, id="6309e115c2914d0f8622973422626954")
    return Record(**{**base, **changes})


def test_to_json_has_exactly_the_seed_keys():
    out = _record().to_json()
    assert set(out) == set(SEED_RECORD)
    assert len(out) == 9
    assert out == SEED_RECORD


def test_to_json_round_trips_through_json_text():
    rec = _record(work_id="blappo-14321359", end=None)
    out = json.loads(json.dumps(rec.to_json()))
    assert out["version"] == "0"
    assert out["end"] is None
    assert out["work_id"] == "blappo-14321359"
    assert out["data-version"] == "0"
    assert "data_version" not in out


def test_to_json_adds_size_and_url_only_when_known():
    assert set(_record(size=0).to_json()) == set(SEED_RECORD) | {"size"}
    assert _record(size=0).to_json()["size"] == 0
    assert set(_record(url="s3://b/k").to_json()) == set(SEED_RECORD) | {"url"}
    both = _record(size=5, url="file:///x").to_json()
    assert both["size"] == 5 and both["url"] == "file:///x"


def test_record_is_frozen_and_versioned():
    rec = _record()
    assert rec.version == "0" == metadata.VERSION
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.start = 0  # type: ignore[misc]


def test_record_stop():
    assert _record().stop == END
    assert _record(end=None).stop == START


# --------------------------------------------------------------------------
# make_id
# --------------------------------------------------------------------------

BASE = dict(start=START, end=END, where="webserver02", what="syslog", data_version="0",
            work_id=None)


def test_make_id_is_deterministic_and_well_formed():
    first = make_id(dict(BASE), HASH, ".log", 1)
    assert first == make_id(dict(BASE), HASH, ".log", 1)
    assert validate_id(first) == first
    assert first[:12] == f"{START:012x}"
    assert first[12] == "1"


def test_make_id_does_not_depend_on_dict_order():
    reordered = dict(reversed(list(BASE.items())))
    assert make_id(reordered, HASH, "", 0) == make_id(dict(BASE), HASH, "", 0)


VARIANTS = [
    ("start", START + 1),
    ("end", END + 1),
    ("end", None),
    ("end", START),
    ("where", "webserver03"),
    ("what", "syslog2"),
    ("data_version", "1"),
    ("work_id", "blappo-1"),
    ("work_id", "None"),
    ("work_id", "null-ish"),
]


@pytest.mark.parametrize("key, value", VARIANTS, ids=repr)
def test_make_id_changes_with_each_field(key, value):
    assert make_id({**BASE, key: value}, HASH, ".log", 1) != make_id(dict(BASE), HASH, ".log", 1)


@pytest.mark.parametrize("other_hash", ["b" + HASH[1:], HASH[:-1] + "1", "0" * 32])
def test_make_id_changes_with_the_hash(other_hash):
    assert make_id(dict(BASE), other_hash, "", 1) != make_id(dict(BASE), HASH, "", 1)


@pytest.mark.parametrize("ext_a, ext_b", [("", ".log"), (".log", ".gz"), (".log", ".log.gz"),
                                          (".LOG", ".log")])
def test_make_id_changes_with_the_ext(ext_a, ext_b):
    assert make_id(dict(BASE), HASH, ext_a, 1) != make_id(dict(BASE), HASH, ext_b, 1)


def test_make_id_all_variants_distinct():
    ids = {make_id(dict(BASE), HASH, "", 1)}
    variants = [{**BASE, k: v} for k, v in VARIANTS]
    for fields, ext in itertools.product(variants, ["", ".log"]):
        ids.add(make_id(fields, HASH, ext, 1))
    assert len(ids) == 1 + 2 * len(VARIANTS)


def test_make_id_encodes_start_and_class():
    for start, cls in [(0, 0), (1, 5), (253402300799999, 3)]:
        rid = make_id({**BASE, "start": start, "end": None}, HASH, "", cls)
        assert int(rid[:12], 16) == start
        assert int(rid[12], 16) == cls
        assert validate_id(rid) == rid
