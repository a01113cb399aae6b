"""Issue 20 item 16: help that is short and says each thing once.  `datalake -h` lists the
commands (the settings not at all, lines of at most 100 characters); every command's -h, in
the CLI and in %lake, is at most 45 lines: its own arguments and one line on the settings,
which `config -h` explains, each once."""
from __future__ import annotations

import pytest

from datalake_nb.cli import main
from datalake_nb.commands import COMMANDS
from datalake_nb.config import SETTINGS

HELP_LINES, WIDTH = 45, 100


@pytest.fixture(autouse=True)
def terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps the options to the terminal's width


def cli_help(capsys, *argv):
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main([*argv, "-h"])
    assert info.value.code == 0
    return capsys.readouterr().out


def magic_help(ip, capsys, command):
    capsys.readouterr()
    assert ip.run_line_magic("lake", f"{command} -h") is None
    return capsys.readouterr().out


def test_the_overview_lists_the_commands_without_the_settings(capsys):
    text = cli_help(capsys)
    lines = text.splitlines()
    assert len(lines) <= HELP_LINES and max(map(len, lines)) <= WIDTH
    for command in COMMANDS:
        assert any(line.split()[:1] == [command] for line in lines), command
    for setting in SETTINGS:  # not once, let alone twice: config -h explains them
        assert setting.name not in text
    assert "`datalake config -h` explains them" in text and "datalake COMMAND -h" in text


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_commands_help_is_short_and_points_at_config(capsys, command):
    text = cli_help(capsys, command)
    lines = text.splitlines()
    assert len(lines) <= HELP_LINES, (command, len(lines))
    assert max(map(len, lines)) <= WIDTH
    assert text.startswith(f"usage: datalake {command} ") and "[settings]" in lines[0] + text
    if command != "config":
        assert lines[-1] == ("settings: --storage-url, --endpoint-url, --cache-dir, ... "
                             "(`datalake config -h` explains them)")
        assert "--s3-read-timeout" not in text


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_magic_commands_help_is_short_in_notebook_words(ip, capsys, command):
    text = magic_help(ip, capsys, command)
    lines = text.splitlines()
    assert len(lines) <= HELP_LINES, (command, len(lines))
    assert max(map(len, lines)) <= WIDTH
    head = text[:text.index("\n\n", text.index("\n\n") + 2)]  # usage and description
    assert "returns" in head and "print" not in head, head
    assert f"e.g. %lake {command}" in head
    if command != "config":
        assert "(`%lake config -h` explains them)" in lines[-1]


def test_config_help_explains_every_setting_once(capsys):
    text = cli_help(capsys, "config")
    lines = text.splitlines()
    assert len(lines) <= HELP_LINES and max(map(len, lines)) <= WIDTH
    for setting in SETTINGS:
        label = setting.flag or setting.name
        [line] = [line for line in lines if line.split()[:1] == [label]]
        assert len(line.split()) > 1  # with what it does
    assert "AWS_ENDPOINT_URL" in text and "DATALAKE_CONFIG" in text


# -- item 17: the notebook install works on a fresh machine ------------------------------

def test_the_readme_installs_the_notebook_extra_from_the_source_folder():
    import re
    import tomllib
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    notebooks = readme[readme.index("## Notebooks"):]
    assert "pip install '.[notebook]'" in notebooks
    assert "datalake_nb[notebook]" not in readme + (root / "docs" / "notebooks.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert "pip install . && bash samples/demo.sh" in readme  # the two fresh-machine commands
    assert "pip install -e '.[test]' && python -m pytest" in readme
    extra = tomllib.loads((root / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["notebook"]
    names = {re.split(r"[<>=\[ ;]", item)[0] for item in extra}
    assert {"jupyterlab", "ipykernel", "ipython", "ipywidgets", "matplotlib"} <= names
