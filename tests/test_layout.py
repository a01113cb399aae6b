"""Tests for datalake_nb.core.layout: data keys that *are* records, span classes and query plans."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import random
import urllib.parse

import pytest

from datalake_nb.core import layout
from datalake_nb.core.metadata import Record, validate_fields, validate_id

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
HOUR = 3_600_000
DAY = 86_400_000
LAST_MS = 253402300799999
HASH = hashlib.blake2b(b"hello\n", digest_size=16).hexdigest()
T0 = (dt.datetime(2015, 3, 20, 0, 5, 32, 345000, tzinfo=UTC) - EPOCH) // dt.timedelta(milliseconds=1)

# The classes as the module docstring defines them: (name, largest end - start in ms).
CLASSES = [("1h", HOUR), ("1d", DAY), ("32d", 32 * DAY), ("400d", 400 * DAY),
           ("11y", 4018 * DAY), ("inf", None)]


def _rec(start=T0, end=None, what="syslog", where="webserver01", data_version="0",
         work_id=None, hash_hex=HASH, ext=".log", **extra) -> Record:
    """A record built the way the lake builds one: validated fields, then build_record."""
    fields = validate_fields(what=what, where=where, start=start, end=end,
                          data_version=data_version, work_id=work_id)
    return layout.build_record(fields, hash_hex, ext, **extra)


def _compact(ms: int) -> str:
    stamp = EPOCH + dt.timedelta(milliseconds=ms)
    return stamp.strftime("%Y%m%dT%H%M%S") + f"{ms % 1000:03d}Z"


def test_classes_match_the_documented_table():
    assert layout.SPAN_CLASSES == tuple(CLASSES)
    assert layout.CLASS_INDEX == {name: i for i, (name, _) in enumerate(CLASSES)}


# --------------------------------------------------------------------------
# span_class
# --------------------------------------------------------------------------

SPAN_CASES = [(None, 0), (0, 0), (1, 0)]
for _i, (_name, _limit) in enumerate(CLASSES[:-1]):
    SPAN_CASES += [(_limit - 1, _i), (_limit, _i), (_limit + 1, _i + 1)]
SPAN_CASES += [(LAST_MS - T0, 5), (10 ** 14, 5)]


@pytest.mark.parametrize("span, expected", SPAN_CASES)
def test_span_class_boundaries(span, expected):
    end = None if span is None else T0 + span
    assert layout.span_class(T0, end) == expected


def test_span_class_is_independent_of_start():
    for start in (0, T0, LAST_MS - 5000 * DAY):
        assert [layout.span_class(start, start + s) for s in (0, HOUR, HOUR + 1, 4018 * DAY,
                                                              4018 * DAY + 1)] == [0, 0, 1, 4, 5]


# --------------------------------------------------------------------------
# data_key layout and round trip
# --------------------------------------------------------------------------

def test_data_key_layout_instant():
    rec = _rec(start=T0, end=None, work_id=None, ext=".log")
    assert layout.data_key(rec) == (
        f"data/syslog/1h/2015/03/20/20150320T000532345Z~-~webserver01~{HASH}/0~.log")


def test_data_key_layout_with_end_and_work_id():
    rec = _rec(start=T0, end=T0 + 2 * DAY, work_id="blappo/14 3", ext="")
    assert layout.data_key(rec) == (
        f"data/syslog/32d/2015/03/20/20150320T000532345Z~20150322T000532345Z~webserver01~{HASH}"
        "/0~blappo%2F14%203")


WORK_IDS = [None, "blappo-14321359", "a/b", "/", "//x//", ".", "..", "...", "~", "a~b~c",
            "%", "%2F", "%%41", "a b", "a  b c d", "+", "a+b", "caf\u00e9", "\u65e5\u672c",
            "\U0001f600", "null-1", "NULL", "x" * 64, "\u00e9" * 32, "?#&=;:@!$'()*,",
            "\\", "a\"b", "<>|^`{}[]"]


def _round_trip_records() -> list[Record]:
    recs = []
    for work_id in WORK_IDS:
        recs.append(_rec(work_id=work_id))
        recs.append(_rec(work_id=work_id, end=T0 + 3 * DAY, ext=""))
    for _name, limit in CLASSES[:-1]:
        for span in (limit - 1, limit, limit + 1):
            recs.append(_rec(start=T0, end=T0 + span, work_id="w"))
    recs += [
        _rec(start=0, end=None),
        _rec(start=0, end=0),
        _rec(start=0, end=LAST_MS),
        _rec(start=LAST_MS, end=None),
        _rec(start=LAST_MS, end=LAST_MS),
        _rec(start=LAST_MS - HOUR, end=LAST_MS),
        _rec(start=T0, end=T0, ext=".tar.gz.bz2"),
        _rec(start=T0, ext=".abcdefgh.abcdef"),
        _rec(what="w" * 64, where="h" * 64, data_version="v" * 32, work_id="~" * 64,
             ext=".abcdefgh.abcdef"),
        _rec(what="a-b_C", where="-", data_version="_"),
    ]
    rng = random.Random(7)
    for _ in range(200):
        start = rng.randrange(0, LAST_MS)
        span = rng.choice([None, 0, rng.randrange(0, 2 * HOUR), rng.randrange(0, 50 * DAY),
                           rng.randrange(0, 5000 * DAY)])
        end = None if span is None else min(LAST_MS, start + span)
        work_id = rng.choice(WORK_IDS)
        ext = rng.choice(["", ".log", ".log.gz", ".csv"])
        recs.append(_rec(start=start, end=end, work_id=work_id, ext=ext,
                         hash_hex=hashlib.blake2b(str(start).encode(), digest_size=16).hexdigest()))
    return recs


RECORDS = _round_trip_records()


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: f"{r.start}-{r.end}-{r.work_id!r}"[:60])
def test_data_key_round_trip(rec):
    key = layout.data_key(rec)
    assert layout.parse_data_key(key) == rec
    got = layout.parse_data_key(key, size=123, url="s3://bucket/" + key)
    assert got == dataclasses.replace(rec, size=123, url="s3://bucket/" + key)


@pytest.mark.parametrize("rec", [r for r in RECORDS if r.work_id is not None][:80],
                         ids=lambda r: f"{r.start}-{r.end}-{r.work_id!r}"[:60])
def test_work_key_round_trip(rec):
    key = layout.work_key(rec, 4096)
    assert key.startswith(layout.work_prefix(rec.work_id))
    assert key.endswith(layout.data_key(rec)[len("data/"):])
    assert layout.parse_work_key(key) == dataclasses.replace(rec, size=4096)


def test_keys_are_well_formed_for_every_record():
    for rec in RECORDS:
        key = layout.data_key(rec)
        assert key.isascii(), key
        segments = key.split("/")
        assert len(segments) == 8, key
        name, limit = CLASSES[layout.span_class(rec.start, rec.end)]
        stamp = _compact(rec.start)
        assert segments[:7] == ["data", rec.what, name, stamp[:4], stamp[4:6], stamp[6:8],
                                segments[6]]
        assert segments[6].startswith(stamp + "~")
        for seg in segments:
            assert seg not in ("", ".", ".."), key
            assert len(seg.encode()) <= 255, key
        assert validate_id(rec.id) == rec.id
        assert int(rec.id[:12], 16) == rec.start
        assert int(rec.id[12], 16) == layout.span_class(rec.start, rec.end)


def test_keys_sort_by_start_within_a_class():
    recs = [r for r in RECORDS if layout.span_class(r.start, r.end) == 0 and r.what == "syslog"]
    assert len(recs) > 50
    by_key = sorted(recs, key=layout.data_key)
    assert [r.start for r in by_key] == sorted(r.start for r in recs)


MAX_WORK_IDS = ["~" * 64, "." * 64, "/" * 64, "%" * 64, "\u00e9" * 32,
                "\U0001f600" * 16, "\u65e5" * 21 + "a", "x" * 64]


@pytest.mark.parametrize("work_id", MAX_WORK_IDS, ids=repr)
def test_maximum_lengths_fit_file_and_s3_limits(work_id):
    rec = _rec(what="w" * 64, where="h" * 64, data_version="v" * 32, work_id=work_id,
               start=0, end=LAST_MS, ext=".abcdefgh.abcdef", hash_hex="f" * 32)
    key = layout.data_key(rec)
    entries = [layout.work_key(rec, 2 ** 63 - 1), layout.where_key(rec, 2 ** 63 - 1)]
    for k in (key, *entries):
        for seg in k.split("/"):
            assert seg not in ("", ".", ".."), k
            assert len(seg.encode()) <= 255, (len(seg.encode()), seg)
        assert len(k.encode()) < 1024 - 300
    assert layout.parse_data_key(key) == rec
    assert layout.parse_where_key(entries[1]) == dataclasses.replace(rec, size=2 ** 63 - 1)


def test_encode_work_id():
    assert layout.encode_work_id(None) == ""
    assert layout.encode_work_id("blappo-1_A") == "blappo-1_A"
    assert layout.encode_work_id("a/b.c~d%e f") == "a%2Fb%2Ec%7Ed%25e%20f"
    assert layout.encode_work_id("..") == "%2E%2E"
    assert layout.encode_work_id("\u00e9") == "%C3%A9"
    encoded = {}
    for work_id in WORK_IDS[1:]:
        enc = layout.encode_work_id(work_id)
        assert set(enc) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                               "0123456789-_%"), enc
        assert urllib.parse.unquote(enc) == work_id
        assert enc not in encoded, (work_id, encoded.get(enc))
        encoded[enc] = work_id


def test_catalog_key_and_prefixes():
    assert layout.catalog_key("syslog", "web01") == "catalog/syslog/web01"
    assert layout.work_prefix("a/b") == "work/a%2Fb/"
    assert layout.class_prefix("syslog", 2) == "data/syslog/32d/"


# --------------------------------------------------------------------------
# parse_data_key on keys the lake does not write
# --------------------------------------------------------------------------

GOOD = _rec(start=T0, end=None, work_id="job-1", ext=".log")
GOOD_KEY = layout.data_key(GOOD)
SPAN_REC = _rec(start=T0, end=T0 + 2 * HOUR, work_id=None, ext="")
SPAN_KEY = layout.data_key(SPAN_REC)


def test_the_untampered_keys_parse():
    assert layout.parse_data_key(GOOD_KEY) == GOOD
    assert layout.parse_data_key(SPAN_KEY) == SPAN_REC


TAMPERED = [
    GOOD_KEY.replace("/1h/", "/1d/"),                       # wrong class for an instant
    GOOD_KEY.replace("/1h/", "/xx/"),
    SPAN_KEY.replace("/1d/", "/1h/"),                       # 2 h span filed as 1h
    GOOD_KEY.replace("2015/03/20/", "2015/03/21/"),         # date folders disagree
    GOOD_KEY.replace("2015/03/20/", "2015/3/20/"),
    GOOD_KEY.replace("20150320T000532345Z", "20150320T000532345"),   # no Z
    GOOD_KEY.replace("20150320T000532345Z", "20150320T250532345Z"),  # hour 25
    GOOD_KEY.replace("20150320T000532345Z", "2015-03-20T00:05:32Z"),
    SPAN_KEY.replace("~20150320T020532345Z~", "~20150320T0205Z~"),
    GOOD_KEY.replace("~-~", "~~"),
    GOOD_KEY.replace("~-~", "~x~"),
    GOOD_KEY.replace("~webserver01~", "~webserver01~extra~"),
    GOOD_KEY.replace("0~job-1", "0job-1"),
    GOOD_KEY.replace("0~job-1", "0~job~1"),
    GOOD_KEY.replace("job-1", "job%2D1"),                   # needless escape
    GOOD_KEY.replace("job-1", "job-1%2e"),                  # lowercase escape
    GOOD_KEY.replace("job-1", "job-1%FF"),                  # not UTF-8
    GOOD_KEY.replace("job-1", "job-1%"),                    # broken escape
    GOOD_KEY.replace("job-1", "job/1"),                     # an extra folder
    GOOD_KEY.replace("job-1", "job 1"),                     # a raw space
    GOOD_KEY.replace("data/", "date/", 1),
    GOOD_KEY.replace("data/", "", 1),
    "work/" + GOOD_KEY,
    GOOD_KEY + "/",
    GOOD_KEY + "/x",
    "/" + GOOD_KEY,
    GOOD_KEY.replace("/", "//", 1),
    "data/syslog/1h/2015/03/20",
    "data/",
    "",
    "catalog/syslog/webserver01",
]


@pytest.mark.parametrize("key", TAMPERED, ids=repr)
def test_parse_data_key_rejects_tampered_keys(key):
    assert key != GOOD_KEY and key != SPAN_KEY
    assert layout.parse_data_key(key) is None


# Keys whose layout is right but whose fields break the metadata rules, so the
# lake never writes them.  parse_data_key turns them into Records (with e.g.
# where == '..', which readable_name() then uses as a folder of the fetch dest).
FIELD_TAMPERED = [
    GOOD_KEY.replace("~webserver01~", "~..~"),                      # where '..'
    GOOD_KEY.replace("~webserver01~", "~web.01~"),                  # where with '.'
    GOOD_KEY.replace("data/syslog/", "data/sys log/"),              # what with ' '
    GOOD_KEY.replace("/0~job-1", "/1.0~job-1"),                     # data-version with '.'
    GOOD_KEY.replace(HASH, "nothex"),                               # hash not 32 hex
    GOOD_KEY.replace("job-1", "null"),                              # work_id "null"
    GOOD_KEY.replace("job-1", "job%00"),                            # work_id not printable
    GOOD_KEY.replace(".log", ".lo g"),                              # bad extension
    SPAN_KEY.replace("/1d/", "/1h/").replace("~20150320T020532345Z~",
                                             "~20150320T000532344Z~"),  # end < start
    GOOD_KEY.replace("2015/03/20/20150320T", "1900/03/20/19000320T"),    # before 1970
]


@pytest.mark.parametrize("key", FIELD_TAMPERED, ids=repr)
def test_parse_data_key_rejects_keys_with_invalid_fields(key):
    assert key != GOOD_KEY and key != SPAN_KEY
    assert layout.parse_data_key(key) is None


@pytest.mark.parametrize("key", ["work/job-1/notasize/" + GOOD_KEY[5:], "work/job-1/12",
                                 "work/job-1/12/" + TAMPERED[0][5:], "work/job-1", ""], ids=repr)
def test_parse_work_key_rejects_bad_keys(key):
    assert layout.parse_work_key(key) is None


# --------------------------------------------------------------------------
# plan(): one scan per class, tight bounds, no record missed
# --------------------------------------------------------------------------

def _in_scans(key: str, scans) -> bool:
    return any(key.startswith(s.prefix) and s.start_after < key < s.stop for s in scans)


def _overlaps(rec: Record, qs, qe) -> bool:
    stop = rec.start if rec.end is None else rec.end
    return (qe is None or rec.start <= qe) and (qs is None or stop >= qs)


def _probe_key(prefix: str, start: int) -> str:
    """A key under ``prefix`` for a record starting at ``start``, built from the documented layout."""
    stamp = _compact(start)
    return f"{prefix}{stamp[:4]}/{stamp[4:6]}/{stamp[6:8]}/{stamp}~-~w~{HASH}/0~"


QUERIES = [
    (T0, T0),
    (T0, T0 + 1),
    (T0, T0 + HOUR),
    (T0 - DAY, T0 + DAY),
    (T0 - 500 * DAY, T0 - 400 * DAY),
    (T0 + 123_456, T0 + 40 * DAY),
    (None, T0),
    (T0, None),
    (None, None),
    (0, 0),
    (0, HOUR),
    (HOUR, 2 * HOUR),
    (LAST_MS, LAST_MS),
    (LAST_MS - DAY, None),
    (T0 - 4018 * DAY, T0 - 4018 * DAY + 1),
]


@pytest.mark.parametrize("qs, qe", QUERIES)
def test_plan_one_scan_per_class_with_exact_bounds(qs, qe):
    scans = layout.plan("syslog", qs, qe)
    assert [s.prefix for s in scans] == [f"data/syslog/{name}/" for name, _ in CLASSES]
    for scan, (_name, span) in zip(scans, CLASSES):
        assert scan.start_after.startswith(scan.prefix) and scan.stop.startswith(scan.prefix)
        lo = 0 if qs is None or span is None else max(0, qs - span)
        hi = LAST_MS if qe is None else qe
        # the bounds hold exactly the starts in [lo, hi]
        assert _in_scans(_probe_key(scan.prefix, lo), [scan])
        assert _in_scans(_probe_key(scan.prefix, hi), [scan])
        if lo > 0:
            assert not _in_scans(_probe_key(scan.prefix, lo - 1), [scan])
        if hi < LAST_MS:
            assert not _in_scans(_probe_key(scan.prefix, hi + 1), [scan])
        for start in {lo, hi, (lo + hi) // 2, min(hi, lo + 1), max(lo, hi - 1)}:
            assert _in_scans(_probe_key(scan.prefix, start), [scan])
        # keys of the same start in another class or another what are not in this scan
        other = layout.class_prefix("syslog", (CLASSES.index((_name, span)) + 1) % len(CLASSES))
        assert not _in_scans(_probe_key(other, lo), [scan])
        assert not _in_scans(_probe_key("data/syslog-2/" + _name + "/", lo), [scan])
        assert not _in_scans(_probe_key("data/syslo/" + _name + "/", lo), [scan])


def _generated_records(queries) -> list[Record]:
    rng = random.Random(4018)
    spans = [None, 0, 1]
    for _name, limit in CLASSES[:-1]:
        spans += [limit - 1, limit, limit + 1]
    recs: list[Record] = []

    def add(start, span, work_id=None):
        if start < 0 or start > LAST_MS:
            return
        end = None if span is None else start + span
        if end is not None and end > LAST_MS:
            return
        recs.append(_rec(start=start, end=end, work_id=work_id,
                         hash_hex=hashlib.blake2b(f"{start}/{span}".encode(),
                                                  digest_size=16).hexdigest()))

    # edge records around every query bound and every class span
    for qs, qe in queries:
        for span in spans:
            s = 0 if span is None else span
            for base in ([qs - s, qs - s - 1, qs - s + 1, qs, qs - 1] if qs is not None else []) + \
                        ([qe, qe + 1, qe - 1, qe - s] if qe is not None else []):
                add(base, span, rng.choice([None, "job/1", "..", "\u00e9 ~%"]))
    # and random ones around T0
    for _ in range(600):
        span = rng.choice(spans + [rng.randrange(0, 6000 * DAY), rng.randrange(0, 3 * HOUR)])
        add(T0 + rng.randrange(-6000 * DAY, 200 * DAY), span)
    return recs


def test_plan_finds_exactly_the_overlapping_records():
    queries = [q for q in QUERIES]
    rng = random.Random(1)
    for _ in range(25):
        a = T0 + rng.randrange(-5000 * DAY, 100 * DAY)
        queries.append((a, a + rng.choice([0, 1, HOUR, DAY, rng.randrange(0, 900 * DAY)])))
    recs = _generated_records(queries)
    keys = [(rec, layout.data_key(rec)) for rec in recs]
    assert len(keys) > 2000
    for qs, qe in queries:
        scans = layout.plan("syslog", qs, qe)
        overlapping = {key for rec, key in keys if _overlaps(rec, qs, qe)}
        found = {key for rec, key in keys if _in_scans(key, scans) and _overlaps(rec, qs, qe)}
        assert found == overlapping, (qs, qe, sorted(overlapping - found)[:3])
        # every overlapping key lies in the scan of its own class
        for rec, key in keys:
            if _overlaps(rec, qs, qe):
                own = scans[layout.span_class(rec.start, rec.end)]
                assert key.startswith(own.prefix) and own.start_after < key < own.stop


def test_plan_other_what_is_never_scanned():
    scans = layout.plan("syslog", None, None)
    for what in ("sys", "syslog2", "syslog-2", "Syslog", "nginx"):
        assert not _in_scans(layout.data_key(_rec(what=what)), scans)
    assert _in_scans(layout.data_key(_rec(what="syslog")), scans)


# --------------------------------------------------------------------------
# scan_for_id
# --------------------------------------------------------------------------

@pytest.mark.parametrize("rec", RECORDS[::7], ids=lambda r: f"{r.start}-{r.end}"[:60])
def test_scan_for_id_holds_the_record(rec):
    scan = layout.scan_for_id(rec.what, rec.id)
    key = layout.data_key(rec)
    assert scan is not None
    assert scan.prefix == layout.class_prefix(rec.what, layout.span_class(rec.start, rec.end))
    assert _in_scans(key, [scan])
    # neighbours in time are outside the range
    if rec.start > 0:
        assert not _in_scans(_probe_key(scan.prefix, rec.start - 1), [scan])
    if rec.start < LAST_MS:
        assert not _in_scans(_probe_key(scan.prefix, rec.start + 1), [scan])


def test_scan_for_id_other_records_same_start():
    a = _rec(start=T0, end=None, work_id="a")
    b = _rec(start=T0, end=T0 + 5, work_id="b", where="other")
    c = _rec(start=T0, end=T0 + 2 * DAY)
    scan = layout.scan_for_id("syslog", a.id)
    assert _in_scans(layout.data_key(b), [scan])      # same start and class: same listing
    assert not _in_scans(layout.data_key(c), [scan])  # another class: another listing
    assert layout.scan_for_id("syslog", c.id).prefix == "data/syslog/32d/"


def test_scan_for_id_rejects_impossible_ids():
    assert layout.scan_for_id("syslog", f"{T0:012x}6" + "0" * 19) is None
    assert layout.scan_for_id("syslog", f"{T0:012x}f" + "0" * 19) is None
    assert layout.scan_for_id("syslog", f"{LAST_MS + 1:012x}0" + "0" * 19) is None
    assert layout.scan_for_id("syslog", "f" * 32) is None
