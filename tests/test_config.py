"""Tests for datalake_nb.config: argument > environment > config files > defaults.

Every test passes ``environ=`` explicitly and points HOME at a temporary folder,
so the real user's files are never read; the system file (/etc/datalake.conf) is a
temporary one too (conftest's isolated_home), so the machine's is never read either.
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from datalake_nb import config
from datalake_nb.config import BY_NAME, SETTINGS, Config, read_config_file, resolve
from datalake_nb.core.errors import InvalidInput

from support.isolation import ETC_VARIABLE

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A fake HOME with no XDG variables, so only files a test writes are read."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)  # tests/conftest.py may have made it already
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "DATALAKE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    for setting in SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    return home


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _user_file(xdg: Path, text: str) -> Path:
    return _write(xdg / "datalake" / "datalake.conf", text)


def _error(func, *args, **kwargs) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        func(*args, **kwargs)
    return info.value


# --------------------------------------------------------------------------
# Defaults and precedence
# --------------------------------------------------------------------------

def test_defaults(isolated):
    cfg = resolve({}, environ={})
    assert cfg["DATALAKE_STORAGE_URL"] == str(isolated / ".local/share/datalake_nb/lake")
    assert cfg["DATALAKE_CACHE_DIR"] == str(isolated / ".cache/datalake_nb")
    assert cfg["DATALAKE_FETCH_DIR"] == "."
    assert cfg["DATALAKE_CONCURRENCY"] == "32"
    assert cfg["DATALAKE_PART_CONCURRENCY"] == "8"
    assert cfg["DATALAKE_PROGRESS"] == "auto"
    assert cfg["DATALAKE_S3_RETRY_MODE"] == "standard"
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY"):
        assert cfg[name] is None
        assert name not in cfg.sources
    assert cfg.sources["DATALAKE_FETCH_DIR"] == "default"


def test_config_help_says_each_fixed_default_from_its_setting(monkeypatch):
    """config -h writes no default by hand: a changed Setting default shows there at once."""
    from datalake_nb.commands import settings_help
    monkeypatch.setitem(BY_NAME, "DATALAKE_CONCURRENCY",
                        dataclasses.replace(BY_NAME["DATALAKE_CONCURRENCY"], default="17"))
    lines = {line.split()[0]: line for line in settings_help().splitlines()
             if line.startswith("  --")}
    assert lines["--concurrency"].endswith("(default: 17)")
    for setting in (BY_NAME[s.name] for s in SETTINGS):
        if setting.flag and isinstance(setting.default, str) and setting.default != ".":  # in words
            assert f"(default: {setting.default})" in lines[setting.flag], setting.name


def test_defaults_follow_xdg_data_and_cache_in_the_given_environ(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    cfg = resolve({}, environ=env)
    assert cfg["DATALAKE_STORAGE_URL"] == str(tmp_path / "data" / "datalake_nb" / "lake")
    assert cfg["DATALAKE_CACHE_DIR"] == str(tmp_path / "cache" / "datalake_nb")


def _precedence_setup(tmp_path):
    xdg = tmp_path / "xdg"
    _user_file(xdg, "DATALAKE_FETCH_DIR=/from-file\nDATALAKE_PROGRESS=off\n")
    return {"XDG_CONFIG_HOME": str(xdg)}, xdg / "datalake" / "datalake.conf"


def test_argument_beats_environment_beats_file_beats_default(tmp_path):
    env, path = _precedence_setup(tmp_path)

    cfg = resolve({}, environ=env)
    assert (cfg["DATALAKE_FETCH_DIR"], cfg.sources["DATALAKE_FETCH_DIR"]) == ("/from-file", str(path))

    env["DATALAKE_FETCH_DIR"] = "/from-env"
    cfg = resolve({}, environ=env)
    assert (cfg["DATALAKE_FETCH_DIR"], cfg.sources["DATALAKE_FETCH_DIR"]) == ("/from-env", "environment")

    cfg = resolve({"DATALAKE_FETCH_DIR": "/from-arg"}, environ=env)
    assert (cfg["DATALAKE_FETCH_DIR"], cfg.sources["DATALAKE_FETCH_DIR"]) == ("/from-arg", "argument")

    # settings not overridden keep their own source
    assert (cfg["DATALAKE_PROGRESS"], cfg.sources["DATALAKE_PROGRESS"]) == ("off", str(path))
    assert (cfg["DATALAKE_CONCURRENCY"], cfg.sources["DATALAKE_CONCURRENCY"]) == ("32", "default")


def test_none_argument_and_empty_environment_do_not_override(tmp_path):
    env, path = _precedence_setup(tmp_path)
    env["DATALAKE_FETCH_DIR"] = ""
    cfg = resolve({"DATALAKE_FETCH_DIR": None}, environ=env)
    assert cfg["DATALAKE_FETCH_DIR"] == "/from-file"
    assert cfg.sources["DATALAKE_FETCH_DIR"] == str(path)


def test_arguments_are_stringified():
    cfg = resolve({"DATALAKE_CONCURRENCY": 16, "DATALAKE_FETCH_DIR": Path("/x/y")}, environ={})
    assert cfg["DATALAKE_CONCURRENCY"] == "16"
    assert cfg["DATALAKE_FETCH_DIR"] == "/x/y"


def test_resolve_does_not_read_the_process_environment_when_environ_is_given(monkeypatch):
    monkeypatch.setenv("DATALAKE_FETCH_DIR", "/from-process")
    assert resolve({}, environ={})["DATALAKE_FETCH_DIR"] == "."
    assert resolve({}, environ=None)["DATALAKE_FETCH_DIR"] == "/from-process"


def test_config_file_order(tmp_path):
    xdg = tmp_path / "xdg"
    user = _user_file(xdg, "DATALAKE_FETCH_DIR=/user\nAWS_PROFILE=user-profile\n")
    extra = _write(tmp_path / "extra.conf", "DATALAKE_FETCH_DIR=/extra\n")
    env = {"XDG_CONFIG_HOME": str(xdg), "DATALAKE_CONFIG": str(extra)}
    files = config.config_files(env)
    assert files == [(config.ETC_FILE, False), (user, False), (extra, True)]  # a temporary one
    cfg = resolve({}, environ=env)
    assert (cfg["DATALAKE_FETCH_DIR"], cfg.sources["DATALAKE_FETCH_DIR"]) == ("/extra", str(extra))
    assert (cfg["AWS_PROFILE"], cfg.sources["AWS_PROFILE"]) == ("user-profile", str(user))


def test_the_system_file_is_etc_datalake_conf():
    """What every test here reads instead of it is a temporary file (support/isolation.py)."""
    env = {k: v for k, v in os.environ.items() if k != ETC_VARIABLE}
    shown = subprocess.run([sys.executable, "-c", "from datalake_nb import config; "
                            "print(config.ETC_FILE)"], env=env, capture_output=True, text=True,
                           check=True, timeout=120)
    assert shown.stdout == "/etc/datalake.conf\n"
    assert config.ETC_FILE != Path("/etc/datalake.conf")


def test_user_file_defaults_to_home_dot_config(isolated):
    path = _write(isolated / ".config" / "datalake" / "datalake.conf", "AWS_PROFILE=home\n")
    assert config.config_files({})[1] == (path, False)
    cfg = resolve({}, environ={})
    assert (cfg["AWS_PROFILE"], cfg.sources["AWS_PROFILE"]) == ("home", str(path))


def test_xdg_config_home_replaces_home_dot_config(isolated, tmp_path):
    _write(isolated / ".config" / "datalake" / "datalake.conf", "AWS_PROFILE=home\n")
    xdg = tmp_path / "xdg"
    _user_file(xdg, "AWS_PROFILE=xdg\n")
    assert resolve({}, environ={"XDG_CONFIG_HOME": str(xdg)})["AWS_PROFILE"] == "xdg"


def test_missing_user_file_is_fine(tmp_path):
    cfg = resolve({}, environ={"XDG_CONFIG_HOME": str(tmp_path / "nowhere")})
    assert cfg["DATALAKE_FETCH_DIR"] == "."


def test_missing_datalake_config_file_is_an_error(tmp_path):
    missing = tmp_path / "missing.conf"
    err = _error(resolve, {}, environ={"DATALAKE_CONFIG": str(missing)})
    assert str(missing) in str(err)


def test_datalake_config_that_is_a_folder_is_an_error(tmp_path):
    err = _error(resolve, {}, environ={"DATALAKE_CONFIG": str(tmp_path)})
    assert str(tmp_path) in str(err)


def test_config_file_that_is_not_utf8_is_an_error(tmp_path):
    path = tmp_path / "latin1.conf"
    path.write_bytes(b"AWS_PROFILE=caf\xe9\n")
    err = _error(resolve, {}, environ={"DATALAKE_CONFIG": str(path)})
    assert str(path) in str(err)


# --------------------------------------------------------------------------
# File parsing
# --------------------------------------------------------------------------

def test_file_parsing(tmp_path):
    path = _write(tmp_path / "c.conf", "\n".join([
        "# a comment",
        "",
        "   ",
        "    # an indented comment",
        "DATALAKE_FETCH_DIR=/plain",
        "export AWS_PROFILE=exported",
        "  export   AWS_DEFAULT_REGION = eu-west-1  ",
        'AWS_ENDPOINT_URL="http://127.0.0.1:9000"',
        "DATALAKE_CACHE_DIR='/with spaces/cache'",
        "AWS_ACCESS_KEY_ID=\"mismatched'",
        "AWS_SECRET_ACCESS_KEY=a=b=c",
        "DATALAKE_PROGRESS = on",
        "DATALAKE_S3_RETRY_MODE=standard",
        "DATALAKE_S3_RETRY_MODE=adaptive",
        "DATALAKE_CONCURRENCY=",
        "",
    ]))
    assert read_config_file(path) == {
        "DATALAKE_FETCH_DIR": "/plain",
        "AWS_PROFILE": "exported",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        "DATALAKE_CACHE_DIR": "/with spaces/cache",
        "AWS_ACCESS_KEY_ID": "\"mismatched'",
        "AWS_SECRET_ACCESS_KEY": "a=b=c",
        "DATALAKE_PROGRESS": "on",
        "DATALAKE_S3_RETRY_MODE": "adaptive",   # the later line wins
        "DATALAKE_CONCURRENCY": "",
    }


def test_file_parsing_crlf_and_empty_quotes(tmp_path):
    path = tmp_path / "crlf.conf"
    path.write_bytes(b"AWS_PROFILE=p\r\n# c\r\nAWS_DEFAULT_REGION=\"\"\r\n")
    assert read_config_file(path) == {"AWS_PROFILE": "p", "AWS_DEFAULT_REGION": ""}


def test_empty_file(tmp_path):
    assert read_config_file(_write(tmp_path / "empty.conf", "")) == {}


BAD_LINES = [
    "no equals sign here",
    "=value",
    "  = value",
    "export",
    "AWS_PROFILE",
]


@pytest.mark.parametrize("line", BAD_LINES)
def test_bad_line_names_file_and_line(tmp_path, line):
    path = _write(tmp_path / "bad.conf", f"# ok\n\nAWS_PROFILE=x\n{line}\nAWS_DEFAULT_REGION=y\n")
    err = _error(read_config_file, path)
    assert err.field == f"{path}:4"
    assert str(err).startswith(f"{path}:4: ")
    assert "expected NAME=value" in str(err)
    if line.strip():
        # never echoed: it may be a secret
        assert line.strip() not in str(err).split(": ", 1)[1].replace("NAME=value", "")


UNKNOWN = ["DATALAKE_COLOR=red", "datalake_progress=on", "AWS_SECRET_KEY=x",
           "DATALAKE_CONFIG=/etc/other.conf", "export HOME=/root", "PATH=/bin"]


@pytest.mark.parametrize("line", UNKNOWN)
def test_unknown_name_names_file_and_line(tmp_path, line):
    path = _write(tmp_path / "unknown.conf", f"AWS_PROFILE=x\n{line}\n")
    err = _error(read_config_file, path)
    assert err.field == f"{path}:2"
    assert str(err).startswith(f"{path}:2: ")
    name = line.removeprefix("export ").partition("=")[0]
    assert repr(name) in str(err)


def test_bad_line_in_user_file_fails_resolve(tmp_path):
    xdg = tmp_path / "xdg"
    path = _user_file(xdg, "AWS_PROFILE=x\nDATALAKE_BOGUS=1\n")
    err = _error(resolve, {}, environ={"XDG_CONFIG_HOME": str(xdg)})
    assert str(err).startswith(f"{path}:2: ")


def test_bad_line_in_datalake_config_fails_resolve(tmp_path):
    path = _write(tmp_path / "extra.conf", "\n\n\nnot a setting\n")
    err = _error(resolve, {}, environ={"DATALAKE_CONFIG": str(path)})
    assert str(err).startswith(f"{path}:4: ")


def test_unknown_argument_name_is_an_error():
    err = _error(resolve, {"DATALAKE_CONCURENCY": "4"}, environ={})
    assert "DATALAKE_CONCURENCY" in str(err)


SAMPLE_VALUES = {"DATALAKE_S3_EXPECTED_BUCKET_OWNER": "123456789012"}


def test_every_known_name_is_accepted_in_a_file(tmp_path):
    lines = [f"{s.name}={SAMPLE_VALUES.get(s.name) or (s.choices[0] if s.choices else '3')}"
             for s in SETTINGS]
    path = _write(tmp_path / "all.conf", "\n".join(lines) + "\n")
    values = read_config_file(path)
    assert set(values) == set(BY_NAME)
    cfg = resolve({}, environ={"DATALAKE_CONFIG": str(path)})
    assert all(cfg.sources[name] == str(path) for name in BY_NAME)


# --------------------------------------------------------------------------
# Choices and concurrency
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name, value", [
    ("DATALAKE_PROGRESS", "auto"), ("DATALAKE_PROGRESS", "on"), ("DATALAKE_PROGRESS", "off"),
    ("DATALAKE_S3_RETRY_MODE", "standard"), ("DATALAKE_S3_RETRY_MODE", "adaptive"),
])
def test_choices_accepted(name, value):
    assert resolve({name: value}, environ={})[name] == value
    assert resolve({}, environ={name: value})[name] == value


@pytest.mark.parametrize("name, value", [
    ("DATALAKE_PROGRESS", "yes"), ("DATALAKE_PROGRESS", "ON"), ("DATALAKE_PROGRESS", " on"),
    ("DATALAKE_PROGRESS", "true"), ("DATALAKE_S3_RETRY_MODE", "legacy"),
    ("DATALAKE_S3_RETRY_MODE", "Standard"),
])
@pytest.mark.parametrize("where", ["argument", "environment", "file"])
def test_choices_rejected_naming_setting_and_source(tmp_path, name, value, where):
    env: dict[str, str] = {}
    args: dict[str, str] = {}
    if where == "argument":
        args[name] = value
    elif where == "environment":
        env[name] = value
    else:
        path = _write(tmp_path / "c.conf", f'{name}="{value}"\n')
        env["DATALAKE_CONFIG"] = str(path)
        where = str(path)
    err = _error(resolve, args, environ=env)
    assert err.field == name
    assert repr(value) in str(err)
    assert where in str(err)
    for choice in BY_NAME[name].choices:
        assert choice in str(err)


def test_empty_choice_from_file_is_rejected(tmp_path):
    path = _write(tmp_path / "c.conf", "DATALAKE_PROGRESS=\n")
    err = _error(resolve, {}, environ={"DATALAKE_CONFIG": str(path)})
    assert err.field == "DATALAKE_PROGRESS"


COUNTS = ["DATALAKE_CONCURRENCY", "DATALAKE_PART_CONCURRENCY"]


@pytest.mark.parametrize("name", COUNTS)
@pytest.mark.parametrize("value", ["1", "8", "64", "256", 1, 256])
def test_concurrency_accepted(name, value):
    cfg = resolve({name: value}, environ={})
    assert cfg[name] == str(value)
    assert resolve({}, environ={name: str(value)})[name] == str(value)


@pytest.mark.parametrize("value", ["0", "257", "-1", "1.5", "abc", " 4", "4 ", "1e2", "+4",
                                   "0x10", "99999999999999999999", 0, -3, 1000])
@pytest.mark.parametrize("name", COUNTS)
def test_concurrency_rejected(name, value):
    err = _error(resolve, {name: value}, environ={})
    assert err.field == name
    assert repr(str(value)) in str(err)
    assert "argument" in str(err)
    assert "1..256" in str(err)


def test_concurrency_rejected_from_environment_and_file(tmp_path):
    err = _error(resolve, {}, environ={"DATALAKE_CONCURRENCY": "0"})
    assert "environment" in str(err)
    path = _write(tmp_path / "c.conf", "DATALAKE_CONCURRENCY=\n")
    err = _error(resolve, {}, environ={"DATALAKE_CONFIG": str(path)})
    assert err.field == "DATALAKE_CONCURRENCY" and str(path) in str(err)


@pytest.mark.parametrize("value", ["\u00b2", "\uff18"], ids=["superscript-2", "fullwidth-8"])
@pytest.mark.parametrize("name", COUNTS)
def test_concurrency_rejects_non_ascii_digits(name, value):
    err = _error(resolve, {}, environ={name: value})
    assert err.field == name


# --------------------------------------------------------------------------
# describe(): every setting, secrets never shown
# --------------------------------------------------------------------------

def test_describe_lists_every_setting_in_order():
    rows = resolve({}, environ={}).describe()
    assert [name for name, _, _ in rows] == [s.name for s in SETTINGS]
    shown = {name: (value, source) for name, value, source in rows}
    assert shown["DATALAKE_FETCH_DIR"] == (".", "default")
    assert shown["AWS_PROFILE"] == ("(not set)", "-")
    assert shown["AWS_SECRET_ACCESS_KEY"] == ("(not set)", "-")


def _assert_hidden(rows, *secrets):
    text = repr(rows)
    for secret in secrets:
        assert secret not in text


def test_describe_hides_secrets_from_environment():
    cfg = resolve({}, environ={"AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                               "AWS_PROFILE": "visible-profile"})
    assert cfg["AWS_SECRET_ACCESS_KEY"] == SECRET_KEY     # the value is there for use
    rows = cfg.describe()
    _assert_hidden(rows, SECRET_KEY, ACCESS_KEY)
    shown = {name: (value, source) for name, value, source in rows}
    assert shown["AWS_SECRET_ACCESS_KEY"] == ("(set, hidden)", "environment")
    assert shown["AWS_ACCESS_KEY_ID"] == ("(set, hidden)", "environment")
    assert shown["AWS_PROFILE"] == ("visible-profile", "environment")


def test_describe_hides_secrets_from_file_and_arguments(tmp_path):
    path = _write(tmp_path / "c.conf", f'export AWS_SECRET_ACCESS_KEY="{SECRET_KEY}"\n')
    cfg = resolve({"AWS_ACCESS_KEY_ID": ACCESS_KEY}, environ={"DATALAKE_CONFIG": str(path)})
    rows = cfg.describe()
    _assert_hidden(rows, SECRET_KEY, ACCESS_KEY)
    shown = {name: (value, source) for name, value, source in rows}
    assert shown["AWS_SECRET_ACCESS_KEY"] == ("(set, hidden)", str(path))
    assert shown["AWS_ACCESS_KEY_ID"] == ("(set, hidden)", "argument")


def test_describe_hides_even_empty_secrets(tmp_path):
    path = _write(tmp_path / "c.conf", "AWS_SECRET_ACCESS_KEY=\n")
    rows = resolve({}, environ={"DATALAKE_CONFIG": str(path)}).describe()
    assert ("AWS_SECRET_ACCESS_KEY", "(set, hidden)", str(path)) in rows


def test_describe_and_repr_mask_the_password_of_url_settings(tmp_path):
    """A URL's user:password@ shows as ***@ (the user is an access key id); the value
    itself stays as given, for use."""
    storage = f"s3://{ACCESS_KEY}:{SECRET_KEY}@bkt/logs"  # the secret key holds '/'
    endpoint = "http://minio:Pa55word@minio.local:9000"
    path = _write(tmp_path / "c.conf", f"AWS_ENDPOINT_URL={endpoint}\n")
    cfg = resolve({"DATALAKE_STORAGE_URL": storage}, environ={"DATALAKE_CONFIG": str(path)})
    assert (cfg["DATALAKE_STORAGE_URL"], cfg["AWS_ENDPOINT_URL"]) == (storage, endpoint)
    shown = {name: value for name, value, _ in cfg.describe()}
    assert shown["DATALAKE_STORAGE_URL"] == "s3://***@bkt/logs"
    assert shown["AWS_ENDPOINT_URL"] == "http://***@minio.local:9000"
    _assert_hidden([cfg.describe(), repr(cfg)], SECRET_KEY, ACCESS_KEY, "Pa55word")
    assert "'AWS_ENDPOINT_URL': 'http://***@minio.local:9000'" in repr(cfg)


def test_only_cloud_keys_are_secret_and_have_no_flag():
    secrets = {s.name for s in SETTINGS if s.secret}
    assert secrets == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AZURE_STORAGE_ACCOUNT_KEY",
                       "AZURE_STORAGE_SAS_TOKEN"}
    assert all(BY_NAME[name].flag is None for name in secrets)


def test_config_getitem():
    cfg = Config({"AWS_PROFILE": "p"}, {"AWS_PROFILE": "argument"})
    assert cfg["AWS_PROFILE"] == "p"
    assert cfg["AWS_REGION_NOT_A_SETTING"] is None


# --------------------------------------------------------------------------
# Durations (timeouts, stale age)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("text, seconds", [
    ("5", 5.0), ("2.5", 2.5), ("30s", 30.0), ("15m", 900.0), ("12h", 43200.0), ("1d", 86400.0),
    ("2 days", 172800.0), ("1w", 604800.0), (" 90 SEC ", 90.0), ("0", 0.0)])
def test_durations(text, seconds):
    assert config.duration_seconds("x", text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-1", "1e3", "5 fortnights", "1d2h", "1.", ".5"])
def test_bad_durations_name_the_field_and_the_forms(text):
    err = _error(config.duration_seconds, "DATALAKE_STALE_AGE", text)
    assert err.field == "DATALAKE_STALE_AGE" and repr(text) in str(err) and "30s, 15m" in str(err)


def test_duration_settings_default_and_bounds():
    cfg = resolve({}, environ={})
    assert (cfg["DATALAKE_S3_CONNECT_TIMEOUT"], cfg["DATALAKE_S3_READ_TIMEOUT"],
            cfg["DATALAKE_STALE_AGE"]) == ("5s", "5s", "1d")
    assert resolve({"DATALAKE_STALE_AGE": "0"}, environ={})["DATALAKE_STALE_AGE"] == "0"
    err = _error(resolve, {"DATALAKE_S3_CONNECT_TIMEOUT": "2h"}, environ={})
    assert "'2h' from argument" in str(err) and "0.1 s to 3600 s" in str(err)


# --------------------------------------------------------------------------
# The settings table of docs/configuration.md (tests/test_docs.py compares the page)
# --------------------------------------------------------------------------

def test_settings_table_has_one_row_per_setting_with_its_option_default_and_bounds():
    rows = config.settings_table().splitlines()[2:]
    assert [row.split(" | ")[0] for row in rows] == [f"| `{s.name}`" for s in SETTINGS]
    by_name = dict(zip((s.name for s in SETTINGS), rows))
    assert by_name["DATALAKE_CONCURRENCY"] == (
        "| `DATALAKE_CONCURRENCY` | `--concurrency` | files in flight at once in push and fetch "
        "(and listings in parallel) (default: 32); allowed: 1 to 256 |")
    assert "(default: 5s); allowed: 0.1 s to 1 h |" in by_name["DATALAKE_S3_READ_TIMEOUT"]
    assert "allowed: a 12-digit AWS account id" in by_name["DATALAKE_S3_EXPECTED_BUCKET_OWNER"]
    assert by_name["AWS_SECRET_ACCESS_KEY"].startswith("| `AWS_SECRET_ACCESS_KEY` | - | ")


def test_azure_secrets_are_never_shown_and_config_says_where_each_came_from(tmp_path):
    key, sas = "QXp1cmVLZXlTZWNyZXQ=", "sv=2022&sig=S1gnatureSecret"
    path = _write(tmp_path / "c.conf", f"AZURE_STORAGE_SAS_TOKEN={sas}\n")
    cfg = resolve({"DATALAKE_STORAGE_URL": "az://logs/x"},
                  environ={"DATALAKE_CONFIG": str(path), "AZURE_STORAGE_ACCOUNT_KEY": key,
                           "AZURE_STORAGE_ACCOUNT_NAME": "acct1"})
    rows = {name: (value, source) for name, value, source in cfg.describe()}
    assert rows["AZURE_STORAGE_ACCOUNT_KEY"] == ("(set, hidden)", "environment")
    assert rows["AZURE_STORAGE_SAS_TOKEN"] == ("(set, hidden)", str(path))
    assert rows["AZURE_STORAGE_ACCOUNT_NAME"] == ("acct1", "environment")
    assert rows["DATALAKE_STORAGE_URL"] == ("az://logs/x", "argument")
    _assert_hidden([cfg.describe(), repr(cfg)], key, sas)
