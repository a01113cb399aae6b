"""Issue 20, items 2, 3, 5, 6 and 9: `%lake use` with settings that says what it uses (and
which lake stays after a mistake), a web server that is no S3 server, a format typo's
did-you-mean without an API pointer for the shell, no empty where hint after an unknown
what, and Tab against a lake that hangs."""
from __future__ import annotations

import http.server
import os
import threading
import time

import pandas as pd
import pytest
from IPython.core.completer import provisionalcompleter
from IPython.core.error import UsageError

from datalake_nb import InvalidInput, Lake
from datalake_nb.cli import main
from datalake_nb.notebook.magics import LakeFailure

from support.helpers import write

BOUND = 30  # seconds: a bound on a hang, not a benchmark


class NotS3:
    """A web server that answers 404 to every request (no S3 server at all)."""

    def __init__(self) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                if size:
                    self.rfile.read(size)
                body = b"<html><body>Not Found</body></html>"
                self.send_response(404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def not_s3(monkeypatch):
    server = NotS3()
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    yield server
    server.close()


def cli(capsys, *args):
    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# -- item 3: an endpoint that is no S3 server ----------------------------------------

@pytest.mark.parametrize("command", [["list"], ["catalog"], ["fetch", "--what", "a"],
                                     ["latest", "--what", "a"], ["grep", "x"], ["read"],
                                     ["check"], ["format", "list"], ["rm", "--what", "a"]])
def test_a_web_server_that_answers_404_is_named_as_such(not_s3, capsys, tmp_path, command):
    code, out, err = cli(capsys, *command, "--storage-url", "s3://bkt/x",
                         "--endpoint-url", not_s3.url, "--cache-dir", tmp_path / "c")
    assert code == 1 and out == ""
    assert err == f"datalake: list: no bucket 'bkt' at {not_s3.url}, or not an S3 server\n"


def test_a_push_to_it_says_so_too(not_s3, capsys, tmp_path):
    code, _, err = cli(capsys, "push", write(tmp_path / "a.log", "a\n"), "--what", "a",
                       "--where", "b", "--start", "now", "--data-version", "0",
                       "--storage-url", "s3://bkt/x", "--endpoint-url", not_s3.url)
    assert code == 1 and f"put: no bucket 'bkt' at {not_s3.url}, or not an S3 server" in err


def test_the_magic_names_the_command_once(ip, not_s3):
    ip.run_line_magic("lake", f"use s3://bkt/x --endpoint-url {not_s3.url}")
    with pytest.raises(LakeFailure) as info:
        ip.run_line_magic("lake", "list")
    assert str(info.value) == (f"%lake list: no bucket 'bkt' at {not_s3.url}, "
                               "or not an S3 server")


@pytest.mark.parametrize("line,message", [
    ("fetch", "%lake fetch: give ids or at least one of"),
    ("rm", "%lake rm: give ids or at least one of"),
    ("format list x", "%lake format: format list: takes no values"),
])
def test_no_command_is_prefixed_twice(ip, capsys, line, message):
    """Every command's mistakes: the command once, in both faces."""
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("lake", line)
    assert str(info.value).startswith(message)
    code, _, err = cli(capsys, *line.split())
    assert code == 2
    assert err.startswith(message.replace("%lake", "datalake").replace(": ", ": error: ", 1))
    name = line.split()[0]
    assert f"{name}: {name}:" not in str(info.value) and f"{name}: error: {name}:" not in err


# -- item 5: push --format ngnix --------------------------------------------------------

def test_a_format_typo_gets_a_did_you_mean_and_no_api_pointer_in_the_shell(capsys, tmp_path,
                                                                          lake_url):
    code, out, err = cli(capsys, "push", write(tmp_path / "a.log", "a\n"), "--what", "nginx",
                         "--where", "web01", "--start", "now", "--data-version", "0",
                         "--format", "ngnix", "--storage-url", lake_url)
    assert code == 2 and out == ""
    assert err.startswith("datalake push: error: format: unknown format 'ngnix'; "
                          "did you mean 'nginx'? known: auto, ")
    assert "register" not in err and len(err.splitlines()) == 1
    lake = Lake(lake_url, cache_dir=tmp_path / "c")
    with pytest.raises(InvalidInput) as info:  # an API user learns how to add one
        lake.read(what="nginx", format="ngnix")
    assert "did you mean 'nginx'?" in str(info.value)
    assert "datalake_nb.rows.formats.register adds one" in str(info.value)


def test_the_magic_says_it_as_the_shell_does(ip, tmp_path):
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("lake", f"push {write(tmp_path / 'a.log', 'a')} --what nginx "
                                  "--where web01 --start now --data-version 0 --format ngnix")
    assert "did you mean 'nginx'?" in str(info.value) and "register" not in str(info.value)


# -- item 6: no redundant hint ----------------------------------------------------------

def test_an_unknown_what_adds_no_where_hint(filled, capsys, lake_url, tmp_path):
    code, out, err = cli(capsys, "list", "--what", "ngnix", "--where", "web01",
                         "--storage-url", lake_url, "--cache-dir", tmp_path / "c")
    assert code == 0
    assert err == "datalake list: no what 'ngnix' in this lake; did you mean 'nginx'?\n"
    code, out, err = cli(capsys, "list", "--what", "ngnix,nginx", "--where", "web1",
                         "--storage-url", lake_url, "--cache-dir", tmp_path / "c")
    assert err == ("datalake list: no what 'ngnix' in this lake; did you mean 'nginx'?; "
                   "no where 'web1' for nginx; did you mean 'web01' or 'web02'?\n")


# -- item 2: %lake use URL [settings] ---------------------------------------------------

def test_use_takes_the_settings_and_says_what_it_uses(ip, filled, lake_url, tmp_path, capsys,
                                                      monkeypatch):
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:  # the lake is on S3: the endpoint is given on the use line, not taken
        monkeypatch.delenv("AWS_ENDPOINT_URL")  # from the environment
    line = f"use {lake_url} --cache-dir {tmp_path / 'c-use'} --concurrency 3"
    line += f" --endpoint-url {endpoint}" if endpoint else ""
    assert ip.run_line_magic("lake", line) is None
    said = capsys.readouterr().out
    assert said.startswith("now using ") and said.count("\n") == 1
    if endpoint:
        assert f"(endpoint {endpoint}, " in said
    assert f"--cache-dir {tmp_path / 'c-use'}" in said and "--concurrency 3" in said
    assert len(ip.run_line_magic("lake", "list")) == 3  # the settings hold for later commands
    config = ip.run_line_magic("lake", "config").set_index("name")
    assert config.loc["DATALAKE_CACHE_DIR", "value"] == str(tmp_path / "c-use")
    assert config.loc["DATALAKE_CONCURRENCY", "value"] == "3"


@pytest.mark.parametrize("line,words", [
    ("use", ["URL"]),
    ("use a b", ["unrecognized arguments: b"]),
    ("use s3://other/x --bogus", ["--bogus"]),
    ("use s3://other/x --concurrency 0", ["DATALAKE_CONCURRENCY", "1..256"]),
    ("use s3://../x", ["storage URL"]),
])
def test_a_failed_use_keeps_the_old_lake_and_says_so(ip, filled, lake_url, line, words):
    before = ip.run_line_magic("lake", "list")
    url = ip.find_magic("lake").__self__.session_lake.url
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("lake", line)
    message = str(info.value)
    assert message.startswith("%lake use: ") and message.endswith(f"; still using {url}")
    assert "\n" not in message and all(word in message for word in words)
    assert list(ip.run_line_magic("lake", "list")["id"]) == list(before["id"])


def test_use_help_shows_its_own_arguments(ip, capsys):
    assert ip.run_line_magic("lake", "use -h") is None
    text = capsys.readouterr().out
    assert text.startswith("usage: %lake use [-h] URL [settings]") and "--endpoint-url" in text
    assert len(text.splitlines()) <= 45


# -- item 9: Tab against a lake that hangs ----------------------------------------------

def completions(ip, text):
    with provisionalcompleter():
        return [c.text for c in ip.Completer.completions(text, len(text))]


def test_tab_against_a_hung_lake_answers_at_once_with_nothing(ip, silent, capsys):
    """Not IPython's guesses (Python names, magics) after 0.5 s: nothing, and at once once
    the first Tab has waited for the first read."""
    ip.run_line_magic("lake", "use s3://nobucket/x")
    assert capsys.readouterr().out == f"now using s3://nobucket/x/ (endpoint {silent.url})\n"
    for line in ("%lake list --what ", "%lake list --where ", "%lake list --what ng"):
        started = time.monotonic()
        assert completions(ip, line) == []
        assert time.monotonic() - started < BOUND
    assert completions(ip, "%lake list --o") == ["--output", "--out"]  # still completes
    assert completions(ip, "%lake use s3://x --endp") == ["--endpoint-url"]


# -- item 4: typos are not silent in the Python API ----------------------------------------

def test_api_typos_show_the_hint_in_ipython(ip, filled, lake_url, tmp_path):
    from datalake_nb.hints import NothingFound
    from datalake_nb.rows import formats
    lake = Lake(lake_url, cache_dir=tmp_path / "c-api")
    hint = "no what 'ngnix' in this lake; did you mean 'nginx'?"
    with pytest.warns(NothingFound, match=f"^lake.list: {hint}$".replace("?", r"\?")):
        frame = lake.list(what="ngnix")
    assert frame.empty and frame.attrs["hint"] == hint
    with pytest.warns(NothingFound, match=r"^lake.read: no what 'ngnix'.*did you mean 'nginx'\?"):
        frame = lake.read(what="ngnix")
    assert frame.attrs["hint"] == hint
    assert list(frame.columns) == ["where", "what", "line", "line_number", "id"]  # lines'
    lake.set_format("nginx", "0", "nginx")
    frame = lake.read(what="nginx", start="2030-01-01")  # a known name: no hint, nginx's columns
    empty_nginx = formats.parse(formats.get("nginx"), b"").columns
    from datalake_nb.rows.read import reading_order  # time, where, what first; provenance last
    columns = pd.DataFrame(columns=["id", "what", "where", *empty_nginx])
    assert list(frame.columns) == list(reading_order(columns).columns)
    assert list(frame.columns[:3]) == ["time", "where", "what"]
    assert frame.attrs.get("hint") is None


def test_magic_read_says_the_hint_once_as_a_remark(ip, filled, recwarn):
    from IPython.utils.capture import capture_output
    with capture_output() as shown:
        frame = ip.run_line_magic("lake", "read --what ngnix")
    assert frame.empty
    [remark] = shown.outputs
    assert remark.data["text/plain"] == ("%lake read: no what 'ngnix' in this lake; "
                                         "did you mean 'nginx'?")
    assert not [w for w in recwarn if "ngnix" in str(w.message)]  # not also a warning


def test_outside_ipython_the_hint_is_only_in_attrs(filled, lake_url, tmp_path):
    import subprocess
    import sys
    code = ("import warnings, sys; warnings.simplefilter('error')\n"
            "from datalake_nb import Lake\n"
            f"lake = Lake({lake_url!r}, cache_dir={str(tmp_path / 'c-script')!r})\n"
            "frame = lake.list(what='ngnix'); print(frame.attrs['hint'])\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=os.environ)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "no what 'ngnix' in this lake; did you mean 'nginx'?\n"


def test_an_api_mistake_in_a_cell_is_one_line(ip, filled, lake_url, tmp_path):
    from IPython.utils.capture import capture_output
    ip.user_ns["lake"] = Lake(lake_url, cache_dir=tmp_path / "c-cell")
    with capture_output() as shown:
        result = ip.run_cell("lake.list(start='bogus')")
    assert isinstance(result.error_in_exec, InvalidInput)
    text = (shown.stdout + shown.stderr).strip()
    assert text.startswith("InvalidInput: start: cannot read 'bogus' as a time")
    assert len(text.splitlines()) == 1 and "Traceback" not in text
