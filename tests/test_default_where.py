"""DATALAKE_DEFAULT_WHERE (issue 19, item 4): the where of a push that names none; without
it --where stays required (never a guessed host name)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from datalake_nb import Lake
from datalake_nb.config import resolve
from datalake_nb.core.errors import InvalidInput

from support.helpers import write

T0 = "2026-11-01T09:00Z"


def lake_with(tmp_path, **settings) -> Lake:
    (tmp_path / "lake").mkdir(exist_ok=True)
    config = resolve({"DATALAKE_STORAGE_URL": str(tmp_path / "lake"),
                      "DATALAKE_CACHE_DIR": str(tmp_path / "cache"), **settings})
    return Lake(config=config)


def test_without_the_setting_where_is_required_and_the_error_names_both(tmp_path):
    lake = lake_with(tmp_path)
    with pytest.raises(InvalidInput, match="where: is required.*DATALAKE_DEFAULT_WHERE"):
        lake.push(write(tmp_path / "a.log", "x\n"), what="app", start=T0, data_version="0")
    assert lake.list().empty


def test_the_setting_is_the_where_and_a_given_where_wins(tmp_path):
    lake = lake_with(tmp_path, DATALAKE_DEFAULT_WHERE="web07")
    path = write(tmp_path / "a.log", "x\n")
    assert lake.push(path, what="app", start=T0, data_version="0").where == "web07"
    assert lake.push(path, what="app", where="web01", start=T0, data_version="0").where == "web01"
    assert lake.push_many([{"path": path, "where": "db01"}, path], what="app", start=T0,
                          data_version="1")[0].where == "db01"


def test_a_setting_the_lake_would_not_take_says_which_character_and_a_way_out(tmp_path):
    lake = lake_with(tmp_path, DATALAKE_DEFAULT_WHERE="web.example.com")
    with pytest.raises(InvalidInput) as caught:
        lake.push(write(tmp_path / "a.log", "x\n"), what="app", start=T0, data_version="0")
    message = str(caught.value)
    assert message.startswith("DATALAKE_DEFAULT_WHERE:")
    assert "'.'" in message and "'web-example-com'" in message
    assert lake.list().empty


def test_cli_takes_it_from_the_environment_and_fails_without(tmp_path):
    env = dict(os.environ, DATALAKE_STORAGE_URL=str(tmp_path / "lake"), DATALAKE_PROGRESS="off")
    log = write(tmp_path / "a.log", "hello\n")
    argv = [sys.executable, "-m", "datalake_nb", "push", str(log), "--what", "app", "--start",
            T0, "--data-version", "0"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "DATALAKE_DEFAULT_WHERE" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          env={**env, "DATALAKE_DEFAULT_WHERE": "web09"})
    assert done.returncode == 0, done.stderr
    assert '"where": "web09"' in done.stdout
