"""What a test sees of the environment: nothing from outside (no DATALAKE_* or AWS_*
setting, no XDG folder, not the machine's /etc/datalake.conf), and the same in a run of
one file as in a run of the whole suite, whatever another conftest or the shell set."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from datalake_nb import config
from datalake_nb.config import resolve

from support.isolation import ETC_VARIABLE, OUTSIDE, PREFIXES, SITE, XDG

ROOT = Path(__file__).parents[1]
# settings a user's shell may have: none of them may reach a test
NOISE = {"DATALAKE_CONCURRENCY": "7", "DATALAKE_STORAGE_URL": "/srv/real-lake", "DATALAKE_PROGRESS": "on",
         "AWS_PROFILE": "production", "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "XDG_CONFIG_HOME": "/real"}


def seen(tmp_path: Path) -> dict[str, object]:
    """What steers datalake_nb in this test: the variables, the system config file and the
    effective settings (this test's folder shown as TMP)."""
    def shown(text: object) -> str:
        return str(text).replace(str(tmp_path), "TMP")
    names = sorted(n for n in os.environ if n.startswith(PREFIXES) or n in (*XDG, "HOME", ETC_VARIABLE))
    return {"variables": {name: shown(os.environ[name]) for name in names},
            "etc file": shown(config.ETC_FILE),
            "subprocesses patch it": os.environ["PYTHONPATH"].split(os.pathsep)[0] == str(SITE),
            "settings": [[name, shown(value), source] for name, value, source in resolve().describe()]}


def test_a_test_sees_only_its_own_folders(tmp_path):
    view = seen(tmp_path)
    print("ENVIRONMENT", json.dumps(view))  # read by the single-file run below
    assert view["variables"] == {"HOME": "TMP/home", ETC_VARIABLE: "TMP/home/etc/datalake.conf"}
    assert view["etc file"] == "TMP/home/etc/datalake.conf" and view["subprocesses patch it"]
    assert {source for _, _, source in view["settings"]} <= {"default", "-"}


@pytest.mark.slow
def test_a_run_of_one_file_sees_what_the_whole_suite_sees(tmp_path):
    """This file alone, started from the shell's environment with settings added: its test
    sees what a test of this run sees (the suite's conftests and plugins included)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", f"{Path(__file__).name}::test_a_test_sees_only_its_own_folders",
         "-s", "-q", "-o", "addopts=", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=ROOT / "tests", env={**OUTSIDE, **NOISE}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [line] = [x for x in proc.stdout.splitlines() if x.startswith("ENVIRONMENT ")]
    assert json.loads(line.removeprefix("ENVIRONMENT ")) == seen(tmp_path)


def test_a_cli_process_reads_the_test_s_system_config_file(tmp_path):
    etc = config.ETC_FILE
    etc.parent.mkdir(parents=True)
    etc.write_text("DATALAKE_CONCURRENCY=5\n")
    proc = subprocess.run([sys.executable, "-m", "datalake_nb", "config"], capture_output=True,
                          text=True, timeout=120)
    [row] = [line.split() for line in proc.stdout.splitlines() if line.startswith("DATALAKE_CONCURRENCY ")]
    assert row == ["DATALAKE_CONCURRENCY", "5", str(etc)]
