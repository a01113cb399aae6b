"""Behaving like the neighbours: a closed S3 stream acts like a closed local file, a
config file shared with the original datalake is read with warnings (not refused),
and `datalake --version` answers."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import datalake_nb
from datalake_nb import config
from datalake_nb.cli import main
from datalake_nb.config import read_config_file, resolve
from datalake_nb.core.errors import InvalidInput

from support.helpers import write

T0, T1 = "2015-03-20T00:00:00Z", "2015-03-20T01:00:00Z"
ORIGINAL = ("# shared with the original datalake\n"
            "DATALAKE_HTTP_URL=https://datalake.example.com\n"
            "DATALAKE_STORAGE_URL={url}\n"
            "DATALAKE_DEFAULT_WHERE=web01\n"
            "DATALAKE_HTTP_URL=https://again.example.com\n")


# --------------------------------------------------------------------------
# A closed stream
# --------------------------------------------------------------------------

def test_reading_a_closed_stream_raises_value_error(lake, tmp_path):
    content = b"line one\nline two\n" * 1000
    rec = lake.push(write(tmp_path / "a.log", content.decode()), what="nginx", where="web01",
                    start=T0, end=T1, data_version="0")
    with lake.open(rec.id) as stream:
        assert stream.read() == content
    with pytest.raises(ValueError, match="closed"):
        stream.read(10)

    stream = lake.open(rec.id)
    assert stream.read(9) == b"line one\n"
    stream.close()
    with pytest.raises(ValueError, match="closed"):
        stream.read()

    raw = lake.store.open(f"data/{rec.url.split('/data/', 1)[1]}")  # the store's own stream
    assert raw.read(4) == b"line"
    raw.close()
    with pytest.raises(ValueError, match="closed"):
        raw.read(4)


# --------------------------------------------------------------------------
# A config file shared with the original datalake
# --------------------------------------------------------------------------

@pytest.fixture
def etc_file(tmp_path, monkeypatch):
    """A stand-in for /etc/datalake.conf (the real one is never written by tests)."""
    path = tmp_path / "etc" / "datalake.conf"
    path.parent.mkdir()
    monkeypatch.setattr(config, "ETC_FILE", path)
    return path


def test_unknown_names_in_the_shared_file_are_one_warning_each(etc_file, tmp_path, capsys):
    lake_dir = tmp_path / "lake"
    etc_file.write_text(ORIGINAL.format(url=lake_dir))
    cfg = resolve({}, environ={"HOME": str(tmp_path)})
    assert cfg["DATALAKE_STORAGE_URL"] == str(lake_dir)
    assert cfg.sources["DATALAKE_STORAGE_URL"] == str(etc_file)
    assert cfg["DATALAKE_DEFAULT_WHERE"] == "web01"  # the original's setting is ours too
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"datalake: warning: {etc_file}:2: 'DATALAKE_HTTP_URL' is not a datalake_nb setting "
        "(the original datalake's?); ignored"]
    resolve({}, environ={"HOME": str(tmp_path)})
    assert capsys.readouterr().err == ""  # once per name and file, not per command


@pytest.mark.parametrize("line, words", [
    ("DATALAKE_HTTP_URL", ["{conf}:3", "expected NAME=value"]),             # malformed
    ("DATALAKE_PROGRES=on", ["{conf}:3", "did you mean DATALAKE_PROGRESS?"]),  # our name, mistyped
    ("datalake_concurrency=4", ["{conf}:3", "did you mean DATALAKE_CONCURRENCY?"]),
    ("DATALAKE_CONCURRENCY=lots", ["DATALAKE_CONCURRENCY", "'lots' from {conf}"]),  # bad value
])
def test_mistakes_in_the_shared_file_stay_errors(etc_file, tmp_path, line, words):
    etc_file.write_text(f"DATALAKE_HTTP_URL=https://x\nDATALAKE_DEFAULT_WHERE=w\n{line}\n")
    with pytest.raises(InvalidInput) as info:
        resolve({}, environ={"HOME": str(tmp_path)})
    for word in words:
        assert word.replace("{conf}", str(etc_file)) in str(info.value)


def test_the_user_file_is_ours_alone_and_stays_strict(tmp_path):
    path = write(tmp_path / "xdg" / "datalake" / "datalake.conf", "DATALAKE_HTTP_URL=https://x\n")
    with pytest.raises(InvalidInput, match="unknown setting 'DATALAKE_HTTP_URL'"):
        resolve({}, environ={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    with pytest.raises(InvalidInput, match=":1: unknown setting"):
        read_config_file(Path(path))


def test_cli_goes_on_with_a_shared_datalake_config(tmp_path):
    """$DATALAKE_CONFIG is the original datalake's variable too: same tolerance."""
    conf = write(tmp_path / "shared.conf", ORIGINAL.format(url=tmp_path / "lake"))
    env = dict(os.environ, DATALAKE_CONFIG=str(conf), DATALAKE_PROGRESS="off")
    log = write(tmp_path / "a.log", "hello\n")
    push = subprocess.run([sys.executable, "-m", "datalake_nb", "push", str(log), "--what", "app",
                           "--start", T0, "--data-version", "0"],  # where: the file's default
                          capture_output=True, text=True, env=env, timeout=120)
    assert push.returncode == 0, push.stderr
    assert push.stderr.splitlines() == [
        f"datalake: warning: {conf}:2: 'DATALAKE_HTTP_URL' is not a datalake_nb setting "
        "(the original datalake's?); ignored"]
    assert (tmp_path / "lake" / "catalog" / "app" / "web01").exists()


# --------------------------------------------------------------------------
# --version
# --------------------------------------------------------------------------

def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"datalake {datalake_nb.__version__}\n"
    out = subprocess.run([sys.executable, "-m", "datalake_nb", "--version"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and out.stderr == ""
    assert out.stdout == f"datalake {datalake_nb.__version__}\n"
