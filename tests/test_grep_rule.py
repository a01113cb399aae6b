"""grep means one thing (issue 18, item 7): a line is the bytes up to a newline without one
final CR, a match is Python's ``re`` on that line; GNU grep may only narrow the lines
Python then checks, never drop one Python would match."""
from __future__ import annotations

import gzip
import random
import re
import shutil
import subprocess
import sys
import os

import pytest

from datalake_nb import Lake
from datalake_nb.rows import gnugrep, grep as grepping

from support.helpers import physical_lines

HAS_GREP = grepping.GREP is not None
ENGINES = ["gnu", "python"] if HAS_GREP else ["python"]


@pytest.fixture
def one_file(tmp_path):
    """A local lake holding one file; returns a function that greps bytes put in it."""
    lake = Lake(str(tmp_path / "lake"), cache_dir=tmp_path / "cache")
    made = {}

    def grep_bytes(data: bytes, pattern: str, **options) -> list[tuple[int, str]]:
        if data not in made:
            path = tmp_path / f"f{len(made)}.log"
            path.write_bytes(data)
            rec = lake.push(path, what="app", where=f"h{len(made)}", start="2026-11-01",
                            data_version="1")
            made[data] = (rec, lake.cached([rec])[0])
        rec, cached = made[data]
        found = grepping.grep(grepping.Search.make(pattern, **options), [rec], [cached], {},
                              lambda r: r.id)
        return list(zip(found["line_number"].tolist(), found["line"].tolist()))

    grep_bytes.lake = lake
    return grep_bytes


def python_answer(data: bytes, pattern: str, ignore_case=False, fixed=False, invert=False):
    regex = re.compile(re.escape(pattern) if fixed else pattern, re.I if ignore_case else 0)
    return [(n, line) for n, line in enumerate(physical_lines(data), 1)
            if bool(regex.search(line)) != invert]


CRLF = b"".join(b"Dec 10 06:55:%02d LabSZ sshd[24200]: Received disconnect: 11: Bye [preauth] ssh2\r\n"
                % (i % 60) for i in range(40))
UNICODE = "\n".join(["caf\u00e9 ok", "na\u00efve", "\uff13 fullwidth three", "\u0663 arabic three",
                     "no\u00a0break", "plain ascii", "xay", "xy", "xaaaay", "x{,3}y"]).encode() + b"\n"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("data,pattern,options", [
    (CRLF, "ssh2$", {}),                         # GNU grep's $ stopped before the CR
    (CRLF, r"\)$", {"invert": True}),
    (CRLF, r"\]\s", {}),
    (UNICODE, r"caf\w", {}),                     # \w is Unicode in Python
    (UNICODE, r"\w\u00efve", {}),
    (UNICODE, r"\d", {}),                        # \d matches ３ and ٣
    (UNICODE, r"no\sbreak", {}),                 # \s matches a no-break space
    (UNICODE, r"xa{,3}y", {}),                   # {,3} is a repeat to Python, text to PCRE
    (UNICODE, "CAFÉ", {"ignore_case": True}),
    (UNICODE, "x{,3}y", {"fixed": True}),
], ids=["crlf-dollar", "crlf-v", "crlf-s", "w", "w-inside", "d", "s-nbsp", "repeat-comma",
        "i-unicode", "fixed-braces"])
def test_grep_is_pythons_re_on_each_line(one_file, monkeypatch, engine, data, pattern, options):
    if engine == "python":
        monkeypatch.setattr(grepping, "GREP", None)
    expected = python_answer(data, pattern, **options)
    assert expected, "the case must match something"
    assert one_file(data, pattern, **options) == expected


# -- the property: random patterns on CRLF, Unicode and damaged lines ----------------

PIECES = ["ssh2", "abc", "ABC", "x", "a", "y", "é", "É", "３", "٣", "\u00a0", " ", "\t", ")",
          "(", "ſ", "\u212a", "ı", "k", "s", "i", "K", "S", "7", "42", "[", "]", "-", "."]
RAW_PIECES = [b"\xff", b"\x00", b"\r", b"\xe2\x82", b"\xef\xbf\xbd"]


def random_data(rng: random.Random) -> bytes:
    lines = []
    for _ in range(rng.randrange(1, 30)):
        parts = [rng.choice(RAW_PIECES) if rng.random() < 0.08 else rng.choice(PIECES).encode()
                 for _ in range(rng.randrange(0, 12))]
        lines.append(b"".join(parts))
    data = rng.choice([b"\n", b"\r\n"]).join(lines)
    return data + rng.choice([b"", b"\n", b"\r\n", b"\r"])


def random_pattern(rng: random.Random, depth: int = 0) -> str:
    atoms = [lambda: re.escape(rng.choice(PIECES)), lambda: re.escape(rng.choice(PIECES)),
             lambda: re.escape(rng.choice(PIECES) + rng.choice(PIECES)),
             lambda: rng.choice([r"\w", r"\d", r"\s", r"\W", ".", "[a-z]", "[^ ]", r"\b"]),
             lambda: rng.choice(["^", "$"]),
             lambda: "(" + random_pattern(rng, depth + 1) + ")" if depth < 2 else "x",
             lambda: random_pattern(rng, depth + 1) + "|" + random_pattern(rng, depth + 1)
             if depth < 2 else "y"]
    out = ""
    for _ in range(rng.randrange(1, 4)):
        out += rng.choice(atoms)()
        if rng.random() < 0.3:
            out += rng.choice(["*", "+", "?", "{,3}", "{2}", "{1,2}"])
    return out


@pytest.mark.filterwarnings("ignore::FutureWarning")  # "possible nested set" in a few
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("seed", range(12))
def test_grep_property_random_patterns_and_lines(one_file, monkeypatch, engine, seed):
    if engine == "python":
        monkeypatch.setattr(grepping, "GREP", None)
    rng = random.Random(seed)
    data = random_data(rng)
    for _ in range(25):
        pattern = random_pattern(rng)
        options = {"ignore_case": rng.random() < 0.3, "invert": rng.random() < 0.2}
        if rng.random() < 0.2:
            pattern, options["fixed"] = rng.choice(PIECES) + rng.choice(PIECES), True
        try:
            re.compile(pattern)
        except re.error:
            continue
        assert one_file(data, pattern, **options) == python_answer(data, pattern, **options), \
            (data, pattern, options)


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.skipif(not HAS_GREP, reason="no grep installed")
@pytest.mark.parametrize("seed", range(12))
def test_the_prefilter_never_drops_a_line_python_matches(tmp_path, seed):
    """grep -F with the literals the pattern requires keeps every line Python matches."""
    rng = random.Random(1000 + seed)
    data = random_data(rng)
    path = tmp_path / "f.log"
    path.write_bytes(data)
    for _ in range(40):
        pattern = random_pattern(rng)
        ignore_case = rng.random() < 0.4
        try:
            search = grepping.Search.make(pattern, ignore_case=ignore_case)
        except Exception:
            continue
        if search.literals is None:
            continue
        kept = {n for n, _ in grepping.candidates(path, *search.literals)}
        wanted = {n for n, _ in python_answer(data, pattern, ignore_case=ignore_case)}
        assert wanted <= kept, (pattern, search.literals)


def test_a_binary_file_is_one_line_unless_a(tmp_path):
    env = dict(os.environ, DATALAKE_STORAGE_URL=str(tmp_path / "lake"),
               DATALAKE_CACHE_DIR=str(tmp_path / "cache"), DATALAKE_PROGRESS="off")

    def datalake(*argv):
        return subprocess.run([sys.executable, "-m", "datalake_nb", *argv], env=env,
                              capture_output=True, timeout=120)

    (tmp_path / "core.bin").write_bytes(b"header\x00\x01\nmatch one\nno\nmatch two\n")
    (tmp_path / "text.log").write_bytes(b"match three\n")
    for name, where in (("core.bin", "h1"), ("text.log", "h2")):
        assert datalake("push", str(tmp_path / name), "--what", "app", "--where", where,
                        "--start", "2026-11-01", "--data-version", "1").returncode == 0
    proc = datalake("grep", "match", "--what", "app")
    assert proc.returncode == 0
    assert proc.stdout.split(b"\n")[:-1] == [b"Binary file h1:app:20261101T000000000Z matches",
                                             b"h2:app:20261101T000000000Z:1:match three"]
    proc = datalake("grep", "-a", "match", "--what", "app")
    assert proc.stdout.count(b"\n") == 3 and b":4:match two" in proc.stdout
    proc = datalake("grep", "-c", "match", "--what", "app")
    assert proc.stdout.split(b"\n")[0].endswith(b":2")


# -- grep -c: GNU grep's own count where it is exact ---------------------------------

@pytest.mark.parametrize("pattern, fixed, literal", [
    ('" 500 ', False, '" 500 '), ("a.b", True, "a.b"), (r"a\.b", False, "a.b"),
    ("caf\u00e9", False, "caf\u00e9"), ("a.b", False, None), ("x{2}", False, None),
    ("(?i)abc", False, None), ("ab\r", True, None), ("\ufffd", True, None), ("", True, None),
    ("[", False, None)])
def test_only_plain_case_sensitive_text_is_counted_by_grep(pattern, fixed, literal):
    assert gnugrep.exact_literal(pattern, fixed=fixed) == literal
    assert gnugrep.exact_literal("abc", ignore_case=True) is None
    assert gnugrep.exact_literal("abc", invert=True) is None


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("seed", range(8))
def test_counts_are_the_lines_grep_returns(one_file, monkeypatch, engine, seed):
    """lake.count_matches, fast (grep -c -F) or not, gives per file the number of rows
    lake.grep gives, on CRLF, damaged and Unicode lines, compressed files too."""
    if engine == "python":
        monkeypatch.setattr(gnugrep, "GREP", None)
        monkeypatch.setattr(grepping, "GREP", None)
    rng = random.Random(2000 + seed)
    lake = one_file.lake
    for _ in range(3):  # files: the last one gzipped
        one_file(random_data(rng), "x")
    path = lake.cached(lake.records())[0]
    packed = path.parent / "packed.log.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    lake.push(packed, what="app", where="gz", start="2026-11-01", data_version="1")
    fast = 0
    for _ in range(25):
        options = {"fixed": rng.random() < 0.5, "ignore_case": rng.random() < 0.2,
                   "invert": rng.random() < 0.1}
        pattern = rng.choice(PIECES) + (rng.choice(PIECES) if rng.random() < 0.7 else "")
        if not options["fixed"]:
            pattern = re.escape(pattern) if rng.random() < 0.8 else random_pattern(rng)
            try:
                re.compile(pattern)
            except re.error:
                continue
        found = lake.grep(pattern, what="app", **options)
        expected = found["id"].astype(str).value_counts().to_dict()
        counted = {rec.id: n for rec, n in lake.count_matches(pattern, what="app", **options)}
        assert counted == expected, (pattern, options)
        fast += bool(counted) and gnugrep.exact_literal(pattern, **options) is not None
    assert fast or engine == "python", "no case took the grep -c path with a match"
