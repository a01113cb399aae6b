"""The parsers on real logs from public sources (tests/data/real, README there): lines,
rows parsed and unparsed, the detected format, time_range, and values read by hand."""
from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from datalake_nb.rows import formats

REAL = Path(__file__).parent / "data" / "real"
T = pd.Timestamp

# file: (format, parser, start of the file for syslog's year, lines, parsed, unparsed,
#        claimed: every line is in the format, so at least 99.5% must parse)
CORPUS = {
    "nginx_shop_access.log": ("nginx", None, 1000, 1000, 0, True),
    "nginx_access_lnav.log": ("nginx", None, 3, 3, 0, True),
    "apache_access_plaso.log": ("nginx", None, 15, 8, 7, False),
    "linux_syslog_loghub.log": ("syslog", "2005-06-14", 2000, 2000, 0, True),
    "mac_syslog_loghub.log": ("syslog", "2017-07-01", 2000, 2000, 0, True),
    "openssh_syslog_loghub.log": ("syslog", "2017-12-10", 2000, 2000, 0, True),
    "rsyslog_5424_plaso.log": ("syslog", None, 10, 9, 1, False),
    "syslog_mixed_times_lnav.log": ("syslog", "2015-09-13", 13, 13, 0, True),
    "json_lnav.jsonl": ("jsonl", None, 14, 14, 0, True),
    "gcp_logging_plaso.jsonl": ("jsonl", None, 11, 11, 0, True),
    "logfmt_lnav.log": ("logfmt", None, 5, 5, 0, True),
    "docker_plaso-json.log": ("docker", None, 10, 10, 0, True),
    "hadoop_structured_loghub.csv": ("csv", None, 2001, 2000, 0, True),
}
DETECTED = {"apache_access_plaso.log": "lines"}  # 8 of 15 lines: no format reads 90%
ENGINES = ["python", "pyarrow"] if formats.has_pyarrow() else ["python"]


def read(name: str, engine: str = "auto") -> pd.DataFrame:
    fmt, start, *_ = CORPUS[name]
    parser = {"nginx": formats.Nginx(engine), "syslog": formats.Syslog(engine)}.get(
        fmt, formats.get(fmt))
    start = None if start is None else T(start, tz="UTC")
    return formats.parse(parser, (REAL / name).read_bytes(), start=start, end=start)


def test_the_corpus_is_what_the_readme_says():
    files = sorted(p.name for p in REAL.iterdir() if p.name != "README.md")
    assert files == sorted(CORPUS)
    assert len(files) >= 12 and len({v[0] for v in CORPUS.values()}) >= 6
    readme = (REAL / "README.md").read_text()
    for name in files:
        assert (REAL / name).stat().st_size < 1 << 20
        assert f"`{name}`" in readme, f"{name}: no source and licence in the README"


@pytest.mark.parametrize("name", sorted(CORPUS))
@pytest.mark.parametrize("engine", ENGINES)
def test_lines_parsed_unparsed(name, engine):
    fmt, _, lines, parsed, unparsed, claimed = CORPUS[name]
    if engine == "python" and fmt not in ("nginx", "syslog"):
        pytest.skip("one engine")
    data = (REAL / name).read_bytes()
    assert len(formats.split_lines(data)) == lines
    df = read(name, engine)
    assert len(df) == parsed + unparsed and df.attrs["unparsed"] == unparsed
    if claimed:
        assert parsed / (lines - (fmt == "csv")) >= 0.995


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_detected_format_and_time_range(name):
    fmt, start, *_ = CORPUS[name]
    data = (REAL / name).read_bytes()
    assert formats.detect(data).format == DETECTED.get(name, fmt)
    df = read(name)
    start = None if start is None else T(start, tz="UTC")
    got = formats.time_range(io.BytesIO(data), fmt, start=start, end=start, chunk=4096)
    times = df["time"].dropna()
    assert tuple(got) == (times.min(), times.max(), len(times))


def test_values_read_by_hand():
    shop = read("nginx_shop_access.log")
    first, last = shop.iloc[0], shop.iloc[-1]
    assert (first.remote_addr, first.time, first.status, first.bytes, first.extra) == (
        "54.36.149.41", T("2019-01-22T00:26:14Z"), 200, 30577, '"-"')  # +0330
    assert first.user_agent == "Mozilla/5.0 (compatible; AhrefsBot/6.1; +http://ahrefs.com/robot/)"
    assert (last.remote_addr, last.time, last.path, last.bytes) == (
        "89.47.79.75", T("2019-01-22T00:29:11Z"), "/static/images/search-category-arrow.png", 217)
    assert (shop["extra"] == '"-"').sum() == 987  # grep -c '" "-"$'

    apache = read("apache_access_plaso.log")
    assert pd.isna(apache["referrer"].iloc[0]) and apache["bytes"].iloc[0] == 494  # CLF
    assert apache["remote_user"].iloc[14] == "pyllyukko@EXAMPLE.COM"
    assert apache["time"].iloc[4] == T("2016-01-13T17:31:20Z")  # +0200
    assert apache["unparsed"].iloc[7].endswith("+http://www.google.com/bot.html")  # quote left open
    assert apache["unparsed"].iloc[8].startswith("plaso.log2timeline.net:443 ")  # vhost_combined

    linux = read("linux_syslog_loghub.log")
    assert (linux["app"].iloc[0], linux["pid"].iloc[0], linux["time"].iloc[0]) == (
        "sshd(pam_unix)", 19939, T("2005-06-14T15:16:01Z"))
    assert linux["message"].iloc[-1] == "Linux agpgart interface v0.100 (c) Dave Jones"
    assert (linux["app"] == "syslogd 1.4.1").sum() == 7

    mac = read("mac_syslog_loghub.log")
    assert (mac["app"] == "Microsoft Word").sum() == 72
    assert (mac["app"].iloc[-1], mac["pid"].iloc[-1], mac["message"].iloc[-1]) == (
        "kernel", 0, "AppleCamIn::wakeEventHandlerThread")
    ssh = read("openssh_syslog_loghub.log")
    assert (ssh["host"].iloc[-1], ssh["time"].iloc[-1]) == ("LabSZ", T("2017-12-10T11:04:45Z"))

    rsyslog = read("rsyslog_5424_plaso.log")
    assert (rsyslog["msgid"].iloc[0], rsyslog["message"].iloc[0]) == ("123", " this is debug")
    assert rsyslog["time"].iloc[0] == T("2021-03-06T04:07:38.251122Z")
    assert rsyslog["unparsed"].iloc[2] == "with another line"

    json = read("json_lnav.jsonl")
    assert json.attrs["unparsed_time"] == 1 and json["ts"].iloc[5] == "xxx"
    assert json["time"].iloc[8] == T("2013-09-06T22:01:00Z")  # "2013-09-06 22:01:00Z"
    assert json["obj"].iloc[13] == {"field1": "hi", "field2": 2}

    gcp = read("gcp_logging_plaso.jsonl")
    assert gcp["time"].iloc[0] == T("2021-10-19T02:57:47.339377Z")  # its "timestamp"
    assert gcp["severity"].iloc[0] == "NOTICE"

    logfmt = read("logfmt_lnav.log")
    assert (logfmt["time"].iloc[0], logfmt["level"].iloc[0]) == (
        T("2021-09-15T21:17:10.220731Z"), "error")
    assert logfmt["msg"].iloc[3] == "Pod deleted"

    docker = read("docker_plaso-json.log")
    assert docker["time"].tolist()[::3] == [
        T("2016-01-07T16:49:10Z"), T("2016-01-07T16:49:10.237Z"),
        T("2016-01-07T16:49:10.237222Z"), T("2016-01-07T16:49:10.237222729Z")]
    assert docker["log"].iloc[0].endswith("/home/plaso# ls")  # without the TTY's \r\n
    assert set(docker["stream"]) == {"stdout"}

    hadoop = read("hadoop_structured_loghub.csv")
    assert hadoop["time"].iloc[-1] == T("2015-10-18T18:10:55.202Z")  # Date + "18:10:55,202"
    assert hadoop["Level"].iloc[-1] == "WARN" and hadoop["LineId"].iloc[-1] == 2000
