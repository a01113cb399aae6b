"""README.md and docs/ cannot drift from the code: every example runs, links resolve, and
the configuration table is the one the settings generate.

Each page's examples run in a fresh process (tests/support/docs.py says how blocks are
read) with a temporary lake, home, cache and working folder holding a copy of
samples/logs; nothing is written into the checkout.  A page whose examples name
``s3://my-bucket`` gets moto's S3 server and an empty bucket of that name.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from support.docs import COMMAND_LIKE, blocks

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PAGE_TIMEOUT = 300  # seconds: a bound on a hang, not a benchmark
S3_BUCKET = "my-bucket"


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def _all_blocks():
    return [block for page in PAGES for block in blocks(page, _name(page))]


def test_every_block_runs_or_says_why_not():
    found = _all_blocks()
    assert found, "no fenced blocks found in README.md and docs/"
    unlabelled = [b.where for b in found if not b.lang]
    assert not unlabelled, f"fenced blocks without a language (python, console, text, ...): {unlabelled}"
    empty = [b.where for b in found if b.reason is not None and not b.reason.strip()]
    assert not empty, f"`<!-- not run: -->` without a reason: {empty}"
    stray = [b.where for b in found if b.reason is not None and not b.runnable]
    assert not stray, f"`<!-- not run -->` before a block that is never run anyway: {stray}"
    disguised = [b.where for b in found if not b.runnable
                 and any(COMMAND_LIKE.match(line) for line in b.code.splitlines())]
    assert not disguised, (f"shown-only blocks that hold commands (give them their language, "
                           f"and `<!-- not run: REASON -->` if they cannot run here): {disguised}")
    fences = sum(line.lstrip().startswith("```") for page in PAGES
                 for line in page.read_text(encoding="utf-8").splitlines())
    assert fences == 2 * len(found), "a fence the block parser did not pair up"


HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings (lower case, punctuation dropped, - for spaces)."""
    anchors, fenced = set(), False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        heading = None if fenced else HEADING.match(line)
        if heading:
            text = re.sub(r"[^\w\- ]", "", heading.group(1).replace("`", "").lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_links_resolve(page):
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target} (no file {linked})")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target} (no heading #{anchor} in {linked.name})")
    assert not broken, f"{_name(page)}: broken links: {broken}"


def test_readme_links_every_docs_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in PAGES[1:] if f"docs/{p.name}" not in readme]
    assert not missing, f"README.md does not link these pages: {missing}"


def _config_table_module():
    spec = importlib.util.spec_from_file_location("config_table", ROOT / "docs" / "config_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configuration_table_is_generated_from_the_settings():
    page = ROOT / "docs" / "configuration.md"
    text = page.read_text(encoding="utf-8")
    generator = _config_table_module()
    assert text.count(generator.BEGIN) == 1 and text.count(generator.END) == 1, (
        f"docs/configuration.md needs the marker lines {generator.BEGIN!r} and {generator.END!r}")
    assert generator.render(text) == text, (
        "docs/configuration.md's settings table differs from datalake_nb.config.SETTINGS: "
        "regenerate it with `python docs/config_table.py`")


def _environment(tmp: Path) -> dict[str, str]:
    """The process environment with none of the machine's lake, AWS or XDG settings: a
    temporary home and XDG folders (so the embedded default lake is temporary too), and
    `datalake` running this checkout's code."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATALAKE_", "AWS_", "XDG_"))}
    home, shims = tmp / "page-home", tmp / "bin"
    for folder in (home, shims):
        folder.mkdir()
    shim = shims / "datalake"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m datalake_nb "$@"\n')
    shim.chmod(0o755)
    python_path = [str(ROOT), str(TESTS), *filter(None, [env.get("PYTHONPATH")])]
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_CONFIG_HOME=str(home / ".config"),
               PATH=f"{shims}{os.pathsep}{env['PATH']}",
               PYTHONPATH=os.pathsep.join(python_path), PYTHONUNBUFFERED="1",
               PYTHONDONTWRITEBYTECODE="1",
               MPLBACKEND="Agg")
    if Path("/etc/datalake.conf").exists():  # it may name a real lake: stay in the default
        env["DATALAKE_STORAGE_URL"] = str(home / ".local/share/datalake_nb/lake")
    return env


def _fresh_bucket(server) -> None:
    s3 = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1",
                      aws_access_key_id=server.access_key,
                      aws_secret_access_key=server.secret_key)
    if any(b["Name"] == S3_BUCKET for b in s3.list_buckets()["Buckets"]):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=S3_BUCKET):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=S3_BUCKET, Key=obj["Key"])
        s3.delete_bucket(Bucket=S3_BUCKET)
    s3.create_bucket(Bucket=S3_BUCKET)


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_examples_run(page, tmp_path, request):
    """Every example of the page runs, in order, and prints what the page shows."""
    runs = [b for b in blocks(page, _name(page)) if b.runs]
    if not runs:
        pytest.skip(f"{_name(page)} has no examples to run")
    env = _environment(tmp_path)
    if any(f"s3://{S3_BUCKET}" in b.code for b in runs):
        server = request.getfixturevalue("moto_server")
        env.update(server.env)
        _fresh_bucket(server)
    work = tmp_path / "work"
    shutil.copytree(ROOT / "samples" / "logs", work / "samples" / "logs")
    spec = tmp_path / "blocks.json"
    spec.write_text(json.dumps([vars(b) for b in runs]), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "support.docs", str(spec)], cwd=work, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=PAGE_TIMEOUT)
    assert done.returncode == 0, f"{_name(page)}: an example failed\n{done.stdout[-6000:]}"


def test_the_package_layout_names_every_module():
    """docs/development.md's layout block names each module of the package (its folder,
    and the module's name inside the folder's lines), so a new module cannot go unsaid."""
    text = (ROOT / "docs" / "development.md").read_text()
    layout = text[text.index("```text\ndatalake_nb/"):]
    layout = layout[:layout.index("\n```")]
    package = ROOT / "datalake_nb"
    missing = []
    for path in sorted(package.rglob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        parts = path.relative_to(package).with_suffix("").parts
        named = (f"{parts[0]}.py" in layout if len(parts) == 1 else
                 f"{parts[0]}/" in layout and re.search(rf"\b{parts[-1]}\b", layout))
        if not named:
            missing.append("/".join(parts))
    assert not missing, f"docs/development.md's layout leaves out: {', '.join(missing)}"
