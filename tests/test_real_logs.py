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
    "linux_auth_elastic.log": ("syslog", "2017-03-27", 7121, 7121, 0, True),
    "linux_syslog_plaso.log": ("syslog", "2012-01-22", 18, 12, 6, False),
    "mac_syslog_beats.log": ("syslog", "2016-12-13", 156, 41, 115, False),  # multi-line messages
    "rsyslog_5424_plaso.log": ("syslog", None, 10, 9, 1, False),
    "syslog_mixed_times_lnav.log": ("syslog", "2015-09-13", 13, 13, 0, True),
    "json_lnav.jsonl": ("jsonl", None, 14, 14, 0, True),
    "gcp_logging_plaso.jsonl": ("jsonl", None, 11, 11, 0, True),
    "logfmt_lnav.log": ("logfmt", None, 5, 5, 0, True),
    "docker_plaso-json.log": ("docker", None, 10, 10, 0, True),
    "windows_events_lnav.csv": ("csv", None, 12, 10, 0, True),
}
# no format reads 90% of these: apache 8 of 15 lines, plaso's syslog 12 of 18, and the
# macOS one 41 of 156 (the rest continue multi-line messages)
DETECTED = {"apache_access_plaso.log": "lines", "linux_syslog_plaso.log": "lines",
            "mac_syslog_beats.log": "lines"}
HEADER = {"windows_events_lnav.csv": 2}  # PowerShell's "#TYPE ..." line, then the header
PARSERS = {  # US dates, in a column no default looks for: the user says how to read them
    "windows_events_lnav.csv": formats.Csv(time="TimeCreated",
                                           time_format="%m/%d/%Y %I:%M:%S %p")}
ENGINES = ["python", "pyarrow"] if formats.has_pyarrow() else ["python"]


def read(name: str, engine: str = "auto") -> pd.DataFrame:
    fmt, start, *_ = CORPUS[name]
    parser = PARSERS.get(name) or {"nginx": formats.Nginx(engine),
                                   "syslog": formats.Syslog(engine)}.get(fmt, formats.get(fmt))
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
        assert parsed / (lines - HEADER.get(name, fmt == "csv")) >= 0.995


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_detected_format_and_time_range(name):
    fmt, start, *_ = CORPUS[name]
    data = (REAL / name).read_bytes()
    assert formats.detect(data).format == DETECTED.get(name, fmt)
    df = read(name)
    start = None if start is None else T(start, tz="UTC")
    got = formats.time_range(io.BytesIO(data), PARSERS.get(name, fmt), start=start, end=start,
                             chunk=4096)
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

    auth = read("linux_auth_elastic.log")  # an Ubuntu auth.log: sshd, CRON, sudo, ...
    first, last = auth.iloc[0], auth.iloc[-1]
    assert (first.time, first.host, first.app, first.pid, first.message) == (
        T("2017-03-27T13:06:56Z"), "ip-10-77-20-248", "sshd", 1291,
        "Server listening on 0.0.0.0 port 22.")
    assert (last.time, last.app, last.pid, last.message) == (
        T("2017-04-20T14:14:29Z"), "systemd-logind", 1118, "New session 858 of user ubuntu.")
    assert pd.isna(auth["pid"].iloc[9]) and auth["app"].iloc[9] == "sudo"  # "sudo:   ubuntu : ..."
    assert auth["message"].iloc[9].endswith("COMMAND=/usr/bin/curl -L -O https://artifacts."
                                            "elastic.co/downloads/beats/filebeat/filebeat-5.2.2-amd64.deb")
    assert ((auth["app"] == "sshd").sum(), (auth["app"] == "CRON").sum()) == (4095, 1264)  # grep -c

    plaso = read("linux_syslog_plaso.log")  # no final newline
    assert (plaso["app"].iloc[2], plaso["pid"].iloc[2], plaso["time"].iloc[2]) == (
        "CRON", 31051, T("2012-01-22T07:53:01Z"))
    assert plaso["message"].iloc[0] == "INFO No new content in \u00edmynd.dd."
    assert (plaso["host"].iloc[17], plaso["app"].iloc[17], plaso["message"].iloc[17]) == (
        "victoria", "kernel", "[998.390602] sda2: rw=0, want=66, limit=2")
    assert plaso["app"].iloc[11] == "/sbin/anacron"
    assert plaso["time"].iloc[10] == T("2012-03-23T23:01:18.123Z")  # a fraction of a second
    assert plaso["unparsed"].iloc[13] == "\tmany syslog parsers."  # a message's second line
    assert plaso["unparsed"].iloc[7].startswith("MMM 22 ")

    mac = read("mac_syslog_beats.log")  # app names with a space, "launchd[1] (...[pid]):"
    timed = mac.dropna(subset=["time"])
    assert len(timed) == 41  # grep -c '^Dec 13 '
    assert (mac["app"] == "Google Chrome").sum() == 3 and mac["pid"].iloc[152] == 85294
    assert (mac["app"].iloc[154], mac["pid"].iloc[154]) == ("com.apple.xpc.launchd", 1)
    assert mac["message"].iloc[154].startswith(
        "(com.apple.quicklook[21498]) Endpoint has been activated through legacy launch(3) APIs.")
    assert (mac["time"].iloc[0], mac["app"].iloc[0], mac["pid"].iloc[0]) == (
        T("2016-12-13T11:35:28Z"), "GoogleSoftwareUpdateAgent", 21412)
    assert mac["unparsed"].iloc[2] == "\t\tticketStore=<KSPersistentTicketStore:0x100204520 " \
        "store=<KSKeyedPersistentStore:0x100213290"

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

    events = read("windows_events_lnav.csv")  # PowerShell's Export-Csv of an event log
    assert events["line_number"].tolist() == list(range(3, 13))
    assert (events["time"].iloc[0], events["time"].iloc[-1]) == (
        T("2018-10-22T04:13:27Z"), T("2018-10-22T04:15:44Z"))  # "10/22/2018 4:15:44 AM"
    assert set(events["ProviderName"]) == {"docker"}
    assert events["Message"].iloc[1].startswith("fatal task error node.id=t1wnn83xxay3aedpv1vf86xp9")
    assert events["Message"].iloc[7].endswith(" node.id=t1wnn83xxay3aedpv1vf86xp9")
