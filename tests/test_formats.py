"""The parsers on their own: every built-in on real-looking lines, malformed ones included."""
from __future__ import annotations

import bz2
import errno
import gzip
import io
import lzma
from pathlib import Path

import pandas as pd
import pytest

from datalake_nb.rows import formats
from datalake_nb.rows.compression import decompress, open_decompressed
from datalake_nb.core.errors import DamagedFile, DatalakeError, InvalidInput

from support.helpers import physical_lines

SAMPLES = Path(__file__).parent.parent / "samples" / "logs"
NGINX = (SAMPLES / "web01_nginx_2026-11-01T09.log").read_bytes()
BAD_NGINX = (
    b'10.0.0.1 - alice [01/Nov/2026:10:00:00 +0200] "POST /api/orders?id=1 HTTP/2.0" 201 - '
    b'"https://shop.example/cart" "Mozilla/5.0 (X11; Linux x86_64)"\n'
    b"garbage that is not a request\n"
    b"\n"
    b'10.0.0.2 - - [01/Nov/2026:10:00:01 +0000] "\\x16\\x03\\x01" 400 157 "-" "-"\n'
    b'10.0.0.3 - - [31/Feb/2026:10:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "-"\n'
    b'10.0.0.4 - - [01/Nov/2026:10:00:02 +0000] "GET / HTTP/1.1" 200 5 "-" "-" extra\n'
    b'10.0.0.5 - - [01/Nov/2026:10:00:03 +0000] "GET /last HTTP/1.1" 404 0 "-" "curl/8"'
)
ENGINES = ["python", "pyarrow"] if formats.has_pyarrow() else ["python"]


def parse(name_or_parser, data: bytes, **kwargs) -> pd.DataFrame:
    parser = formats.get(name_or_parser) if isinstance(name_or_parser, str) else name_or_parser
    return formats.parse(parser, data, **kwargs)


@pytest.mark.parametrize("engine", ENGINES)
def test_nginx_sample_every_line_typed(engine):
    df = parse(formats.Nginx(engine), NGINX)
    lines = NGINX.decode().splitlines()
    assert len(df) == len(lines) and df.attrs["unparsed"] == 0
    assert list(df.columns) == ["line_number", "remote_addr", "remote_user", "time", "method",
                                "path", "protocol", "status", "bytes", "referrer", "user_agent",
                                "extra", "unparsed"]
    assert str(df["time"].dt.tz) == "UTC" and df["status"].dtype == "Int64"
    first = df.iloc[0]
    assert (first.remote_addr, first.method, first.path, first.protocol, first.status,
            first.bytes, first.user_agent) == ("10.0.1.103", "GET", "/login", "HTTP/1.1", 200,
                                              8979, "Mozilla/5.0 (X11; Linux x86_64)")
    assert first.time == pd.Timestamp("2026-11-01T09:00:25Z")
    assert pd.isna(first.remote_user) and pd.isna(first.referrer)  # '-'
    assert df["line_number"].tolist() == list(range(1, len(lines) + 1))


@pytest.mark.parametrize("engine", ENGINES)
def test_nginx_malformed_lines_kept_with_their_text(engine):
    df = parse(formats.Nginx(engine), BAD_NGINX)
    assert df["line_number"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert df.attrs["unparsed"] == 4
    assert df["unparsed"].tolist()[1:5] == [
        "garbage that is not a request", "",
        '10.0.0.2 - - [01/Nov/2026:10:00:01 +0000] "\\x16\\x03\\x01" 400 157 "-" "-"',
        '10.0.0.3 - - [31/Feb/2026:10:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "-"']
    assert df["extra"].iloc[5] == "extra" and pd.isna(df["unparsed"].iloc[5])  # a field more
    good = df.iloc[0]
    assert good.time == pd.Timestamp("2026-11-01T08:00:00Z")  # +0200 -> UTC
    assert (good.remote_user, good.method, good.path, good.protocol, good.status) == \
        ("alice", "POST", "/api/orders?id=1", "HTTP/2.0", 201)
    assert pd.isna(good.bytes) and good.referrer == "https://shop.example/cart"
    assert df.iloc[6].path == "/last" and df.iloc[6].status == 404
    assert df.loc[1:4, ["remote_addr", "time", "status"]].isna().all().all()


@pytest.mark.skipif(len(ENGINES) < 2, reason="pyarrow is not installed")
def test_nginx_engines_agree():
    for data in (NGINX, BAD_NGINX, NGINX + BAD_NGINX + b"\n" + NGINX):
        pd.testing.assert_frame_equal(parse(formats.Nginx("python"), data),
                                      parse(formats.Nginx("pyarrow"), data))


SYSLOG = (
    b"Nov  1 09:00:33 web01 CRON[2211]: (root) CMD (run-parts /etc/cron.hourly)\n"
    b"<38>Nov 01 09:02:22 web01 sshd[3011]: Accepted publickey for deploy\n"
    b"Nov 01 09:03:00 web01 kernel: [UFW BLOCK] IN=eth0\n"
    b"<165>1 2026-11-01T11:04:05.250+02:00 web02 myapp 8710 ID47 - \xef\xbb\xbfstarted\n"
    b'<165>1 2026-11-01T04:05:06-05:00 web03 evntslog - ID47 [exampleSDID@32473 iut="3"] '
    b"An application event\n"
    b"<13>1 2026-11-01T09:06:07Z - - - - -\n"
    b"this is not syslog\n"
)


def test_syslog_both_rfcs_mixed_time_zones_in_utc():
    df = parse("syslog", SYSLOG, start=pd.Timestamp("2026-11-01T09:00Z"))
    assert df.attrs["unparsed"] == 1 and df["unparsed"].iloc[6] == "this is not syslog"
    assert df["time"].iloc[:6].tolist() == [pd.Timestamp(t) for t in (
        "2026-11-01T09:00:33Z", "2026-11-01T09:02:22Z", "2026-11-01T09:03:00Z",
        "2026-11-01T09:04:05.250Z", "2026-11-01T09:05:06Z", "2026-11-01T09:06:07Z")]
    assert df["host"].iloc[:5].tolist() == ["web01", "web01", "web01", "web02", "web03"]
    assert df["app"].iloc[:5].tolist() == ["CRON", "sshd", "kernel", "myapp", "evntslog"]
    assert df["pid"].iloc[:5].tolist() == [2211, 3011, pd.NA, 8710, pd.NA]
    assert df["message"].iloc[[0, 3, 4]].tolist() == [
        "(root) CMD (run-parts /etc/cron.hourly)", "started", "An application event"]
    assert pd.isna(df["host"].iloc[5]) and pd.isna(df["app"].iloc[5])  # nil '-'
    assert str(df["time"].dt.tz) == "UTC" and df["pid"].dtype == "Int64"


def test_syslog_3164_year_from_the_file_start_across_new_year():
    data = b"Dec 31 23:59:59 h a: old year\nJan  1 00:00:01 h a: new year\n"
    df = parse("syslog", data, start=pd.Timestamp("2026-12-31T23:00Z"))
    assert df["time"].tolist() == [pd.Timestamp("2026-12-31T23:59:59Z"),
                                   pd.Timestamp("2027-01-01T00:00:01Z")]


def test_jsonl_objects_only_time_recognised():
    data = (b'{"time": "2026-11-01T11:00:00+02:00", "level": "info", "status": 200, "msg": "a"}\n'
            b"[1, 2, 3]\n"
            b'{"time": 1793527200, "level": "warn", "status": 503, "user": {"id": 7}}\n'
            b"{broken\n"
            b'"just a string"\n')
    df = parse("jsonl", data)
    assert df["line_number"].tolist() == [1, 2, 3, 4, 5]
    assert df.attrs["unparsed"] == 3
    assert df["unparsed"].iloc[[1, 3, 4]].tolist() == ["[1, 2, 3]", "{broken", '"just a string"']
    assert df["time"].iloc[[0, 2]].tolist() == [pd.Timestamp("2026-11-01T09:00:00Z"),
                                                pd.Timestamp("2026-11-01T10:00:00Z")]
    assert df["status"].dtype == "Int64" and df["status"].iloc[2] == 503
    assert df["user"].iloc[2] == {"id": 7}
    assert list(df.columns[:2]) == ["line_number", "time"]


def test_jsonl_time_key_given_and_missing():
    data = b'{"when": "2026-11-01T09:00:00Z", "time": "not the event time"}\n'
    df = parse(formats.JsonLines(time="when"), data)
    assert df["time"].tolist() == [pd.Timestamp("2026-11-01T09:00:00Z")]
    with pytest.raises(InvalidInput, match="no column 'at'"):
        parse(formats.JsonLines(time="at"), data)


def test_csv_header_types_and_bad_rows():
    data = (b"timestamp,host,count,ratio\n"
            b"2026-11-01T09:00:00Z,web01,1,0.5\n"
            b"2026-11-01T09:00:01Z,web02,2\n"
            b'2026-11-01T09:00:02Z,"web,03",3,1.5\n')
    df = parse("csv", data)
    assert df["line_number"].tolist() == [2, 3, 4] and df.attrs["unparsed"] == 1
    assert df["unparsed"].iloc[1] == "2026-11-01T09:00:01Z,web02,2"
    assert df["host"].iloc[[0, 2]].tolist() == ["web01", "web,03"]
    assert df["count"].dtype == "Int64" and df["ratio"].dtype == "float64"
    assert df["time"].iloc[2] == pd.Timestamp("2026-11-01T09:00:02Z")


def test_lines_unchanged():
    df = parse("lines", b"first\r\n\n  third  \nno newline at the end")
    assert df["line"].tolist() == ["first", "", "  third  ", "no newline at the end"]
    assert df["line_number"].tolist() == [1, 2, 3, 4]
    assert len(parse("lines", b"")) == 0 and parse("lines", b"\n")["line"].tolist() == [""]


@pytest.mark.parametrize("name", ["lines", "nginx", "syslog", "jsonl", "csv"])
def test_empty_file_gives_typed_empty_frame(name):
    df = parse(name, b"")
    assert len(df) == 0 and df.columns[0] == "line_number"


def test_registry_unknown_name_lists_the_known_ones():
    with pytest.raises(InvalidInput) as exc:
        formats.get("apache2")
    message = str(exc.value)
    assert "\n" not in message and message.startswith("format: unknown format 'apache2'")
    for name in ("csv", "jsonl", "lines", "nginx", "syslog"):
        assert name in message
    with pytest.raises(InvalidInput, match="not a format name"):
        formats.register("has space", formats.lines)
    with pytest.raises(InvalidInput, match="callable"):
        formats.register("x", "not a function")


def test_register_a_user_parser_plain_and_with_start():
    seen = {}

    def kv(data: bytes) -> pd.DataFrame:
        rows = [dict(p.split("=") for p in line.split()) for line in data.decode().splitlines()]
        return pd.DataFrame(rows)

    def with_start(data, start=None):
        seen["start"] = start
        return pd.DataFrame({"n": [len(data)]})

    formats.register("test-kv", kv)
    formats.register("test-start", with_start)
    try:
        df = parse("test-kv", b"a=1 b=x\na=2 b=y\n")
        assert df["line_number"].tolist() == [1, 2] and df["b"].tolist() == ["x", "y"]
        parse("test-start", b"abc", start=pd.Timestamp("2026-01-01", tz="UTC"))
        assert seen["start"] == pd.Timestamp("2026-01-01", tz="UTC")
        assert "test-kv" in formats.names()
    finally:
        formats._REGISTRY.pop("test-kv")
        formats._REGISTRY.pop("test-start")


def test_a_parser_that_raises_or_returns_junk_is_one_line_invalid_input():
    def boom(data):
        raise KeyError("no such field\nsecond line")

    with pytest.raises(InvalidInput) as exc:
        formats.parse(boom, b"x", label="web01/app file 123")
    assert "\n" not in str(exc.value)
    assert str(exc.value).startswith("format: parser 'boom' could not parse web01/app file 123")
    with pytest.raises(InvalidInput, match="must return a pandas DataFrame"):
        formats.parse(lambda data: [1, 2], b"x")


@pytest.mark.parametrize("ext,compress", [(".log.gz", gzip.compress), (".log.bz2", bz2.compress),
                                          (".log.xz", lzma.compress), (".log", lambda d: d)])
def test_decompress_by_extension(ext, compress):
    assert decompress(compress(NGINX), ext) == NGINX


def test_corrupt_gzip_is_an_error_naming_the_file():
    with pytest.raises(DatalakeError, match=r"x\.log\.gz: cannot decompress \(\.gz\)"):
        decompress(b"\x1f\x8b not really gzip", "x.log.gz")


class FailingRead(io.BytesIO):
    """A stream whose second read fails, as a disk or a connection can."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.reads = 0

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        if self.reads > 1:
            raise OSError(errno.EIO, "Input/output error")
        return super().read(10)


@pytest.mark.parametrize("ext,compress", [(".gz", gzip.compress), (".bz2", bz2.compress),
                                          (".xz", lzma.compress)])
def test_a_decompressed_stream_passes_read_errors_on_and_closes_its_source(ext, compress):
    """Only the decompressor's own complaints mean damaged data; and closing the content
    closes the stored object's stream (gzip, bz2 and lzma leave a given stream open)."""
    with pytest.raises(OSError, match="Input/output error") as exc:
        open_decompressed(FailingRead(compress(NGINX)), "x.log" + ext, "record 1").read()
    assert not isinstance(exc.value, DamagedFile)
    raw = io.BytesIO(compress(NGINX)[:-20])
    with open_decompressed(raw, "x.log" + ext, "record 1") as stream:
        with pytest.raises(DamagedFile, match=r"^record 1: cannot decompress \(" + ext):
            stream.read()
    assert raw.closed


# -- one row per physical line, in every parser and engine (issue 18, item 1) ---------

TRUNCATED = (
    b'1.1.1.1 - - [17/May/2015:10:05:03 +0000] "GET /a HTTP/1.1" 200 1 "-" "Mozilla/5.0 (trunc\n'
    b'1.1.1.1 - - [17/May/2015:10:05:04 +0000] "GET /b HTTP/1.1" 200 1 "-" "curl/8"\n'
    b'1.1.1.1 - - [17/May/2015:10:05:05 +0000] "GET /c HTTP/1.1" 200 1 "-" "curl/8"\n')


@pytest.mark.parametrize("engine", ENGINES)
def test_a_quote_left_open_spoils_only_its_own_line(engine):
    df = parse(formats.Nginx(engine), TRUNCATED)
    assert df["line_number"].tolist() == [1, 2, 3] and df.attrs["unparsed"] == 1
    assert df["unparsed"].iloc[0] == TRUNCATED.decode().split("\n")[0]
    assert df["path"].tolist()[1:] == ["/b", "/c"]
    assert df["time"].tolist()[1:] == [pd.Timestamp("2015-05-17T10:05:04Z"),
                                       pd.Timestamp("2015-05-17T10:05:05Z")]


def test_a_csv_quote_left_open_does_not_join_lines():
    data = b'time,agent,status\n2015-05-17T10:05:03Z,"Mozilla (trunc\n2015-05-17T10:05:04Z,curl,200\n'
    df = parse("csv", data)
    assert df["line_number"].tolist() == [2, 3] and df.attrs["unparsed"] == 1
    assert df["status"].tolist()[1] == 200


def test_csv_from_powershell_export_csv_skips_its_type_line():
    """Windows PowerShell's Export-Csv writes ``#TYPE <class>`` before the header: it is
    not the header and not a row (so every line used to be one unparsed column)."""
    data = (b'#TYPE System.Diagnostics.Eventing.Reader.EventLogRecord\n"TimeCreated","Id"\n'
            + b"".join(b'"1/%d/2019 %d:00:00 PM","%d"\n' % (d, d, d) for d in range(2, 9)))
    parser = formats.Csv(time="TimeCreated", time_format="%m/%d/%Y %I:%M:%S %p")
    df = parse(parser, data)
    assert df["line_number"].tolist() == list(range(3, 10)) and df.attrs["unparsed"] == 0
    assert df["Id"].tolist() == list(range(2, 9))
    assert df["time"].iloc[0] == pd.Timestamp("2019-01-02T14:00:00Z")
    got = formats.time_range(io.BytesIO(data), parser, chunk=40)  # the header in each chunk
    assert tuple(got) == (pd.Timestamp("2019-01-02T14:00:00Z"),
                          pd.Timestamp("2019-01-08T20:00:00Z"), 7)
    assert formats.detect(data).format == "csv"


def random_log(rng) -> bytes:
    """Lines as real files hold them: good nginx and syslog lines, and the same broken:
    truncated inside a quote, \\" escapes, CRs, bytes that are not UTF-8, NULs, empty and
    very long lines; CRLF or LF line ends, with or without a final newline."""
    good = [
        nginx := '10.0.0.{n} - - [17/May/2015:10:05:{s:02d} +0000] "GET /p?q={n} HTTP/1.1" '
                 '200 {n} "-" "Mozilla/5.0 (X11)"',
        '<13>May 17 10:05:{s:02d} web01 sshd[{n}]: Accepted publickey for deploy',
        '<165>1 2015-05-17T10:05:{s:02d}Z web02 app {n} ID47 [x@1 a="{n}"] started',
        'May 17 10:05:{s:02d} web01 kernel: [UFW BLOCK] IN=eth0',
    ]
    lines = []
    for _ in range(rng.randrange(1, 40)):
        text = rng.choice(good).format(n=rng.randrange(1000), s=rng.randrange(60)).encode()
        damage = rng.random()
        if damage < 0.15:
            text = text[:rng.randrange(len(text))]                   # a truncated write
        elif damage < 0.25:
            at = rng.randrange(len(text))
            text = text[:at] + rng.choice([b'\\"', b'"', b"\\", b"\r", b"\xff", b"\xc3",
                                           b"\x00", b"\xe2\x82", "é".encode()]) + text[at:]
        elif damage < 0.3:
            text = b""
        elif damage < 0.33:
            text = text + b" x" * rng.randrange(2000, 6000)          # a long line
        elif damage < 0.38:
            text = text + rng.choice([b"\r", b" ", b"\r\r"])
        lines.append(text)
    data = rng.choice([b"\n", b"\r\n"]).join(lines)
    return data + rng.choice([b"", b"\n", b"\r\n"])


@pytest.mark.skipif(len(ENGINES) < 2, reason="pyarrow is not installed")
@pytest.mark.parametrize("seed", range(40))
def test_engines_agree_and_keep_one_row_per_physical_line(seed):
    import random
    rng = random.Random(seed)
    data = random_log(rng)
    expected = physical_lines(data)
    numbers = list(range(1, len(expected) + 1))
    for make in (formats.Nginx, formats.Syslog):
        python, arrow = parse(make("python"), data), parse(make("pyarrow"), data)
        pd.testing.assert_frame_equal(python, arrow)
        assert python["line_number"].tolist() == numbers
        bad = python["unparsed"].notna()
        assert python["unparsed"][bad].tolist() == [expected[i] for i in python.index[bad]]
        assert python.attrs["unparsed"] == arrow.attrs["unparsed"] == int(bad.sum())
    assert parse("lines", data)["line"].tolist() == expected
    assert parse("jsonl", data)["line_number"].tolist() == numbers
    assert parse("csv", b"a,b\n" + data)["line_number"].tolist() == [n + 1 for n in numbers]


# -- a byte that is not UTF-8 (issue 18, item 2) ---------------------------------------

BAD_BYTE = {
    "nginx": b'1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 1 "-" "Mo\xffzilla"\n',
    "syslog": b"<13>May 17 10:05:03 web01 sshd[7]: user Mo\xffzilla\n",
    "jsonl": b'{"time": "2015-05-17T10:05:03Z", "agent": "Mo\xffzilla"}\n',
    "csv": b"time,agent\n2015-05-17T10:05:03Z,Mo\xffzilla\n",
    "lines": b"Mo\xffzilla\n",
}
BAD_BYTE_COLUMN = {"nginx": "user_agent", "syslog": "message", "jsonl": "agent",
                   "csv": "agent", "lines": "line"}


@pytest.mark.parametrize("name", sorted(BAD_BYTE))
@pytest.mark.parametrize("engine", ENGINES)
def test_a_byte_that_is_not_utf8_costs_nothing_but_itself(name, engine):
    parser = (formats.Nginx(engine) if name == "nginx" else formats.Syslog(engine)
              if name == "syslog" else name)
    df = parse(parser, BAD_BYTE[name], start=pd.Timestamp("2015-05-17T10:00Z"))
    assert len(df) == 1 and df.attrs.get("unparsed", 0) == 0
    column = BAD_BYTE_COLUMN[name]
    assert df[column].iloc[0].endswith("Mo\ufffdzilla")
    if name != "lines":
        assert df["time"].iloc[0] == pd.Timestamp("2015-05-17T10:05:03Z")


# -- the variants real servers write, and their own format lines (issue 18, item 3) ----

VARIANTS = (
    # one trailing space after the user agent
    b'1.1.1.1 - - [17/May/2015:10:05:03 +0000] "GET /a HTTP/1.1" 200 1 "-" "curl/8" \n'
    # nginx configs' favourite extras: "$http_x_forwarded_for" $request_time $upstream_...
    b'1.1.1.2 - bob [17/May/2015:10:05:04 +0000] "GET /b HTTP/1.1" 200 2 "-" "curl/8" '
    b'"10.0.0.9, 10.0.0.8" 0.004 0.003\n'
    # Apache's escapes inside quoted fields
    b'1.1.1.3 - - [17/May/2015:10:05:05 +0000] "GET /c\\"d HTTP/1.1" 200 3 '
    b'"http://x/?q=\\"y\\"" "Mozilla/5.0 \\"x\\" \\\\ z"\n'
    # NCSA common log format: no referrer, no user agent
    b'1.1.1.4 - - [17/May/2015:10:05:06 +0000] "GET /e HTTP/1.0" 304 -\n')


@pytest.mark.parametrize("engine", ENGINES)
def test_nginx_parses_the_variants_real_servers_write(engine):
    df = parse(formats.Nginx(engine), VARIANTS)
    assert df.attrs["unparsed"] == 0 and df["time"].notna().all()
    assert df["path"].tolist() == ["/a", "/b", '/c"d', "/e"]
    assert df["user_agent"].tolist()[:3] == ["curl/8", "curl/8", 'Mozilla/5.0 "x" \\ z']
    assert df["referrer"].iloc[2] == 'http://x/?q="y"'
    assert df["extra"].iloc[1] == '"10.0.0.9, 10.0.0.8" 0.004 0.003'
    assert df["extra"].isna().tolist() == [True, False, True, True]
    common = df.iloc[3]
    assert pd.isna(common.referrer) and pd.isna(common.user_agent) and pd.isna(common.bytes)
    assert (common.status, common.protocol) == (304, "HTTP/1.0")


NGINX_FORMAT = ('$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
                '"$http_referer" "$http_user_agent" "$http_x_forwarded_for" $request_time')
APACHE_FORMAT = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i" %D'


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("spec", [
    NGINX_FORMAT,
    "log_format main '$remote_addr - $remote_user [$time_local] \"$request\" '\n"
    "    '$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" "
    "\"$http_x_forwarded_for\" $request_time';"])
def test_a_pasted_nginx_log_format_names_the_columns(engine, spec):
    data = (b'1.1.1.1 - alice [17/May/2015:10:05:03 +0200] "GET /a?b HTTP/1.1" 200 12 "-" '
            b'"Mozilla \\"q\\"" "10.0.0.1, 10.0.0.2" 0.120\n'
            b'1.1.1.1 - - [17/May/2015:10:05:04 +0000] "GET /b HTTP/1.1" 200 12 "-" "curl"\n')
    df = parse(formats.Nginx(engine, log_format=spec), data)
    assert list(df.columns) == ["line_number", "remote_addr", "remote_user", "time", "request",
                                "status", "body_bytes_sent", "http_referer", "http_user_agent",
                                "http_x_forwarded_for", "request_time", "unparsed"]
    first = df.iloc[0]
    assert first.time == pd.Timestamp("2015-05-17T08:05:03Z") and first.remote_user == "alice"
    assert (first.request, first.status, first.body_bytes_sent) == ("GET /a?b HTTP/1.1", 200, 12)
    assert first.http_user_agent == 'Mozilla "q"' and pd.isna(first.http_referer)
    assert first.http_x_forwarded_for == "10.0.0.1, 10.0.0.2" and first.request_time == 0.12
    assert df["unparsed"].notna().tolist() == [False, True]  # the format's fields are missing
    assert df["status"].dtype == "Int64" and df["request_time"].dtype == "float64"


@pytest.mark.parametrize("engine", ENGINES)
def test_a_pasted_apache_log_format(engine):
    data = b'1.1.1.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 - "-" "curl/8" 1234\n'
    for spec in (APACHE_FORMAT, 'LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" '
                                '\\"%{User-agent}i\\" %D" combined_time'):
        df = parse(formats.Nginx(engine, log_format=spec), data)
        assert list(df.columns)[1:-1] == ["remote_host", "remote_logname", "remote_user", "time",
                                          "request", "status", "bytes", "referer", "user_agent",
                                          "duration_us"]
        row = df.iloc[0]
        assert row.time == pd.Timestamp("2015-05-17T10:05:03Z") and pd.isna(row.bytes)
        assert (row.user_agent, row.duration_us, df.attrs["unparsed"]) == ("curl/8", 1234, 0)


def test_log_format_mistakes_are_one_line():
    with pytest.raises(InvalidInput, match="unknown Apache directive %Y"):
        formats.Nginx(log_format="%h %Y")
    with pytest.raises(InvalidInput, match="has no variable"):
        formats.Nginx(log_format="just text")
    with pytest.raises(InvalidInput, match="format 'nginx' has no parameter 'log_fmt'; it takes: "
                                           "log_format"):
        formats.make("nginx", {"log_fmt": "$a"})
    with pytest.raises(InvalidInput, match="format 'lines' takes no parameters"):
        formats.make("lines", {"x": "1"})
    made = formats.make("nginx", {"log_format": NGINX_FORMAT})
    assert made.params == {"log_format": NGINX_FORMAT} and formats.get("nginx").params == {}


# -- syslog keeps every field (issue 18, item 4) ------------------------------------

SYSLOG_5424 = (
    b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 '
    b'[exampleSDID@32473 iut="3" eventSource="App\\"lication" eventID="1011"]'
    b'[examplePriority@32473 class="high"] An application event log entry\n'
    b"<13>1 2003-10-11T22:14:16Z host app 77 - -\n"
    b"<13>1 2003-10-11T22:14:17Z host app 77 - - \n")
SYSLOG_3164_TAGS = (  # made up in the shapes issue 18 found in real Linux and macOS logs
    b"Jul  4 23:22:09 mbp-7 Microsoft Word[14463]: document autosaved\n"
    b"Jul  1 09:29:02 mbp-7 sandboxd[129] ([31211]): Contacts(31211) deny network-outbound "
    b"/private/var/run/mDNSResponder\n"
    b"Jul  7 08:06:15 box  -- root[2421]: ROOT LOGIN ON tty2\n"
    b"Jun 19 04:09:11 box syslogd 1.4.1: restart.\n"
    b"Jun 14 15:16:01 box sshd(pam_unix)[19939]: authentication failure; logname= uid=0\n")


@pytest.mark.parametrize("engine", ENGINES)
def test_syslog_5424_keeps_msgid_and_structured_data(engine):
    df = parse(formats.Syslog(engine), SYSLOG_5424)
    assert df.attrs["unparsed"] == 0
    assert df["msgid"].tolist()[0] == "ID47" and df["msgid"].isna().tolist()[1:] == [True, True]
    assert df["structured_data"].iloc[0] == (
        '[exampleSDID@32473 iut="3" eventSource="App\\"lication" eventID="1011"]'
        '[examplePriority@32473 class="high"]')
    assert df["sd"].iloc[0] == {
        "exampleSDID@32473": {"iut": "3", "eventSource": 'App"lication', "eventID": "1011"},
        "examplePriority@32473": {"class": "high"}}
    assert df["message"].iloc[0] == "An application event log entry"
    assert df["message"].isna().tolist()[1:] == [True, True]  # no MSG, and an empty one
    assert pd.isna(df["structured_data"].iloc[1]) and pd.isna(df["sd"].iloc[1])


@pytest.mark.parametrize("engine", ENGINES)
def test_syslog_3164_tags_as_real_systems_write_them(engine):
    df = parse(formats.Syslog(engine), SYSLOG_3164_TAGS, start=pd.Timestamp("2017-06-01", tz="UTC"))
    assert df.attrs["unparsed"] == 0
    assert df["app"].tolist() == ["Microsoft Word", "sandboxd", "-- root", "syslogd 1.4.1",
                                  "sshd(pam_unix)"]
    assert df["pid"].tolist() == [14463, 129, 2421, pd.NA, 19939]
    assert df["host"].tolist() == ["mbp-7"] * 2 + ["box"] * 3
    assert df["message"].tolist()[1:4] == [
        "([31211]) Contacts(31211) deny network-outbound /private/var/run/mDNSResponder",
        "ROOT LOGIN ON tty2", "restart."]
    assert df["msgid"].isna().all() and df["sd"].isna().all()


@pytest.mark.parametrize("engine", ENGINES)
def test_syslog_fractions_and_rsyslogs_rfc3339_file_format(engine):
    """rsyslog's high-precision times: a fraction after RFC 3164's clock, and the
    RSYSLOG_FileFormat lines Debian 13 writes (an RFC 3339 time, then host and tag)."""
    data = (b"Dec 10 06:55:46.123456789 box sshd[1]: with nanoseconds\n"
            b"2026-12-10T07:55:46.5+01:00 box CRON[12]: (root) CMD (true)\n"
            b"2026-12-10T06:55:47Z box kernel: no pid\n"
            b"2026-12-10 06:55:47 box app: a space, not a T\n")
    df = parse(formats.Syslog(engine), data, start=pd.Timestamp("2026-12-10", tz="UTC"))
    assert df["time"].tolist()[:3] == [pd.Timestamp("2026-12-10T06:55:46.123456789Z"),
                                       pd.Timestamp("2026-12-10T06:55:46.5Z"),
                                       pd.Timestamp("2026-12-10T06:55:47Z")]
    assert df["app"].tolist()[:3] == ["sshd", "CRON", "kernel"]
    assert df["pid"].tolist()[:3] == [1, 12, pd.NA]
    assert df["message"].tolist()[:3] == ["with nanoseconds", "(root) CMD (true)", "no pid"]
    assert df["host"].tolist()[:3] == ["box"] * 3
    assert df.attrs["unparsed"] == 1 and pd.isna(df["time"].iloc[3])


# -- RFC 3164's year, in the zone of the host that wrote the file (issue 18, item 5) --

@pytest.mark.parametrize("tz", ["-05:00", "America/New_York", "-0500"])
def test_syslog_3164_year_in_the_files_zone(tz):
    """The file's start is 2006-01-01T01:00Z, 20:00 on New Year's Eve where it was written."""
    data = b"Dec 31 20:00:00 h app: last of 2005 there\nDec 31 20:00:05 h app: still\n"
    df = parse(formats.Syslog(tz=tz), data, start=pd.Timestamp("2006-01-01T01:00Z"),
               end=pd.Timestamp("2006-01-01T02:00Z"))
    assert df["time"].tolist() == [pd.Timestamp("2006-01-01T01:00:00Z"),
                                   pd.Timestamp("2006-01-01T01:00:05Z")]


def test_syslog_3164_year_nearest_the_files_range():
    data = b"Dec 31 23:59:59 h a: old year\nJan  1 00:00:01 h a: new year\nFeb 29 12:00:00 h a: leap\n"
    df = parse("syslog", data, start=pd.Timestamp("2027-12-31T23:00Z"),
               end=pd.Timestamp("2028-03-01T00:00Z"))
    assert df["time"].tolist() == [pd.Timestamp("2027-12-31T23:59:59Z"),
                                   pd.Timestamp("2028-01-01T00:00:01Z"),
                                   pd.Timestamp("2028-02-29T12:00:00Z")]
    # a line from before the start, in a file pushed a few days late, keeps its year
    late = parse("syslog", b"Dec 30 10:00:00 h a: x\n", start=pd.Timestamp("2027-01-03T00:00Z"))
    assert late["time"].tolist() == [pd.Timestamp("2026-12-30T10:00:00Z")]


def test_syslog_tz_mistake_is_one_line():
    with pytest.raises(InvalidInput, match="unknown time zone 'Mars/Olympus'"):
        formats.Syslog(tz="Mars/Olympus")
    assert formats.make("syslog", {"tz": "Europe/Paris"}).params == {"tz": "Europe/Paris"}


# -- times that are not ISO 8601, and saying when a time does not read (item 6) ------

@pytest.mark.parametrize("text,expected", [
    ("2015-10-18 18:01:47,978", "2015-10-18T18:01:47.978Z"),
    ("2015-10-18T18:01:47.978+02:00", "2015-10-18T16:01:47.978Z"),
    ("17/May/2015:10:05:03 +0200", "2015-05-17T08:05:03Z"),
    ("Sun Dec 04 04:47:44 2005", "2005-12-04T04:47:44Z"),
    ("[Sun Dec 04 04:47:44 2005]", "2005-12-04T04:47:44Z"),
    ("Jun 14 15:16:01", "2005-06-14T15:16:01Z"),
    ("1431857103", "2015-05-17T10:05:03Z"),
    ("1431857103.5", "2015-05-17T10:05:03.5Z"),
    ("1431857103123", "2015-05-17T10:05:03.123Z"),
])
def test_common_time_forms_read(text, expected):
    got = formats.to_utc(pd.Series([text]), start=pd.Timestamp("2005-06-01T00:00Z"))
    assert got.tolist() == [pd.Timestamp(expected)]


@pytest.mark.parametrize("value,expected", [
    (1431857103, "2015-05-17T10:05:03Z"), (1431857103123, "2015-05-17T10:05:03.123Z"),
    (1431857103123456, "2015-05-17T10:05:03.123456Z"),
    (1431857103123456789, "2015-05-17T10:05:03.123456789Z")])
def test_epoch_numbers_in_every_unit(value, expected):
    df = parse("jsonl", f'{{"ts": {value}}}\n'.encode())
    assert df["time"].tolist() == [pd.Timestamp(expected)]


def test_csv_time_that_is_not_iso_reads_and_clips(caplog):
    data = (b'Time,level,msg\n"2015-10-18 18:01:47,978",INFO,a\n"2015-10-18 19:30:00,001",WARN,b\n')
    df = parse(formats.Csv(time="Time"), data)
    assert df["time"].tolist() == [pd.Timestamp("2015-10-18T18:01:47.978Z"),
                                   pd.Timestamp("2015-10-18T19:30:00.001Z")]
    assert "Time" not in df.columns and df.attrs.get("unparsed_time", 0) == 0
    assert not caplog.records


def test_time_column_found_whatever_its_case():
    for name in ("Time", "TIMESTAMP", "@Timestamp", "Date"):
        df = parse("csv", f"{name},x\n2015-10-18T18:01:47Z,1\n".encode())
        assert df["time"].tolist() == [pd.Timestamp("2015-10-18T18:01:47Z")], name
    df = parse(formats.Csv(time="date,time"), b"Date,Time,x\n2015-10-18,\"18:01:47,978\",1\n")
    assert df["time"].tolist() == [pd.Timestamp("2015-10-18T18:01:47.978Z")]
    assert list(df.columns) == ["line_number", "time", "x", "unparsed"]


def test_a_time_that_does_not_read_is_counted_and_said_once(caplog):
    data = b'{"ts": "xxx", "n": 1}\n{"ts": "2015-05-17T10:05:03Z", "n": 2}\n{"ts": "yyy", "n": 3}\n'
    with caplog.at_level("WARNING", logger="datalake_nb.rows"):
        df = formats.parse(formats.get("jsonl"), data, label="web01/app file 12")
    assert df.attrs["unparsed_time"] == 2 and df.attrs["unparsed"] == 0
    assert df["ts"].tolist() == ["xxx", "2015-05-17T10:05:03Z", "yyy"]  # the text is kept
    assert df["time"].isna().tolist() == [True, False, True]
    [record] = caplog.records
    assert record.getMessage().startswith("web01/app file 12: the time of 2 line(s) did not "
                                          "read (e.g. 'xxx')")
    fixed = parse(formats.Csv(time="t", time_format="%d.%m.%Y %H.%M"), b"t,x\n17.05.2015 10.05,1\n")
    assert fixed["time"].tolist() == [pd.Timestamp("2015-05-17T10:05Z")]


# -- a file's time range, streaming (issue 18, "beyond": time_range) -------------------

def range_of(frame: pd.DataFrame) -> tuple:
    times = frame["time"].dropna() if "time" in frame.columns else pd.Series([], dtype=object)
    return (times.min() if len(times) else None, times.max() if len(times) else None,
            len(times))


@pytest.mark.parametrize("name,data", [
    ("nginx", NGINX + BAD_NGINX + b"\n" + TRUNCATED + VARIANTS),
    ("nginx-python", NGINX + BAD_NGINX + b"\n" + TRUNCATED),
    ("syslog", SYSLOG * 30 + SYSLOG_3164_TAGS * 20),
    ("jsonl", b"".join(b'{"ts": %d, "n": %d}\n' % (1431857103 + i * 7, i) for i in range(400))),
    ("csv", b"Time,msg\n" + b"".join(b'"2015-10-18 18:%02d:%02d,%03d",x\n' % (i // 60, i % 60, i)
                                     for i in range(900))),
    ("lines", b"no time here\n" * 50),
])
@pytest.mark.parametrize("chunk", [97, 4096, 8 << 20])
def test_time_range_is_reads_range_in_any_chunking(name, data, chunk):
    parser = formats.Nginx("python") if name == "nginx-python" else formats.get(name)
    start, end = pd.Timestamp("2017-06-01T00:00Z"), pd.Timestamp("2017-07-31T00:00Z")
    expected = range_of(formats.parse(parser, data, start=start, end=end))
    got = formats.time_range(io.BytesIO(data), parser, start=start, end=end, chunk=chunk)
    assert tuple(got) == expected
    assert name == "lines" or got.lines > 0


def test_time_range_reads_in_chunks_with_bounded_memory():
    """16 MB of nginx lines, read in 512 kB chunks: never the whole stream at once."""
    import tracemalloc

    class Counting(io.RawIOBase):
        def __init__(self, line: bytes, total: int):
            self.line, self.left, self.largest = line, total, 0

        def read(self, size=-1):
            assert size > 0, "time_range must read in bounded chunks"
            self.largest = max(self.largest, size)
            n = min(size, self.left) // len(self.line)
            self.left -= n * len(self.line)
            return self.line * n

    line = NGINX.split(b"\n")[0] + b"\n"
    stream = Counting(line, 16 << 20)
    tracemalloc.start()
    try:
        got = formats.time_range(stream, "nginx", chunk=1 << 19)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got.lines == (16 << 20) // len(line) and stream.largest == 1 << 19
    assert got.earliest == got.latest == pd.Timestamp("2026-11-01T09:00:25Z")
    assert peak < 8 << 20  # a few chunks' worth, not the 16 MB


# -- logfmt, docker, clf; detection and format="auto" (issue 18, beyond) ---------------

LOGFMT = (b'time=2019-01-01T00:00:00Z level=info msg="hello \\"world\\"" took=12ms n=3 r=1.5\n'
          b"not logfmt at all\n"
          b"ts=1546300800 level=warn msg=bye\n")
DOCKER = (b'{"log":"started\\n","stream":"stdout","time":"2019-01-01T00:00:00.123456789Z"}\n'
          b'{"log":"oops\\n","stream":"stderr","time":"2019-01-01T00:00:01Z"}\n'
          b'{"no": "docker"}\n')


def test_logfmt_pairs_typed_and_time_from_either_key():
    df = parse("logfmt", LOGFMT)
    assert df.attrs["unparsed"] == 1 and df["unparsed"].iloc[1] == "not logfmt at all"
    assert df["time"].tolist()[::2] == [pd.Timestamp("2019-01-01T00:00:00Z")] * 2
    assert df["msg"].tolist()[::2] == ['hello "world"', "bye"]
    assert df["n"].dtype == "Int64" and df["r"].dtype == "float64" and df["took"].iloc[0] == "12ms"


def test_docker_json_file_lines():
    df = parse("docker", DOCKER)
    assert df["log"].tolist()[:2] == ["started", "oops"]
    assert df["stream"].tolist()[:2] == ["stdout", "stderr"]
    assert df["time"].iloc[0] == pd.Timestamp("2019-01-01T00:00:00.123456789Z")
    assert df.attrs["unparsed"] == 1


def test_clf_is_the_common_log_format():
    df = parse("clf", b'1.1.1.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326\n')
    row = df.iloc[0]
    assert (row.remote_host, row.remote_user, row.request, row.status, row.bytes) == (
        "1.1.1.1", "frank", "GET /a.gif HTTP/1.0", 200, 2326)
    assert row.time == pd.Timestamp("2000-10-10T20:55:36Z")


@pytest.mark.parametrize("data,expected", [
    (NGINX, "nginx"), (SYSLOG_3164_TAGS * 5, "syslog"), (SYSLOG_5424, "syslog"),
    (DOCKER[:-17], "docker"), (LOGFMT.replace(b"not logfmt at all\n", b""), "logfmt"),
    (b'{"ts": 1546300800, "a": 1}\n' * 5, "jsonl"), (b'{"a": 1}\n' * 5, "jsonl"),
    (b"Time,x\n2019-01-01T00:00:00Z,1\n" * 1, "csv"),
    (b"just some text\nwith, a comma or two, here\n", "lines"), (b"", "lines")])
def test_detect_picks_the_format_that_reads_the_first_lines(data, expected):
    assert formats.detect(data).format == expected


def test_detect_needs_nine_lines_in_ten():
    mixed = NGINX.split(b"\n")[:8] + [b"garbage"] * 2
    found = formats.detect(b"\n".join(mixed) + b"\n")
    assert found.format == "lines" and found.lines == 10
    assert found.scores.set_index("format").loc["nginx", "share"] == 0.8
    nine = NGINX.split(b"\n")[:9] + [b"garbage"]
    assert formats.detect(b"\n".join(nine) + b"\n").format == "nginx"
