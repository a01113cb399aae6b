"""Settings: an argument beats the environment, which beats the config files.

Files are read in this order, later ones winning: /etc/datalake.conf, the
user's $XDG_CONFIG_HOME/datalake/datalake.conf, then $DATALAKE_CONFIG.  Each
holds ``NAME=value`` lines with the same names as the environment variables.
/etc/datalake.conf and $DATALAKE_CONFIG are also read by the original datalake,
so a name there that is not ours (``DATALAKE_HTTP_URL``) is a warning, not an error.
"""
from __future__ import annotations

import dataclasses
import os
import re
import sys
from pathlib import Path
from typing import Mapping

from .core.errors import InvalidInput
from .core.redact import redact_url
from .core.times import _UNITS_MS

ETC_FILE = Path("/etc/datalake.conf")
_DURATION = re.compile(r"([0-9]{1,9}(?:\.[0-9]{1,6})?)\s*([a-z]*)", re.ASCII)
DURATION_HELP = "a duration: seconds (5, 2.5) or with a unit (30s, 15m, 12h, 1d, 2w)"


def duration_seconds(field: str, value: str | float) -> float:
    """Seconds in ``value``: a number of seconds, or a number and a unit as in relative
    times (``30s``, ``15m``, ``12h``, ``1d``, ``2 days``)."""
    match = _DURATION.fullmatch(str(value).strip().lower())
    if not match or (match.group(2) and match.group(2) not in _UNITS_MS):
        raise InvalidInput(field, f"{value!r}: allowed: {DURATION_HELP}")
    unit_ms = _UNITS_MS[match.group(2)] if match.group(2) else 1000
    return float(match.group(1)) * unit_ms / 1000


def _xdg(environ: Mapping[str, str], var: str, fallback: str) -> Path:
    return Path(environ.get(var) or Path.home() / fallback)


def default_storage_url(environ: Mapping[str, str]) -> str:
    """The embedded lake: a folder under the user's XDG data directory."""
    return str(_xdg(environ, "XDG_DATA_HOME", ".local/share") / "datalake_nb" / "lake")


def default_cache_dir(environ: Mapping[str, str]) -> str:
    return str(_xdg(environ, "XDG_CACHE_HOME", ".cache") / "datalake_nb")


def default_spool_dir(environ: Mapping[str, str]) -> str:
    """Files enqueued and not yet pushed: state that must survive a reboot (not a cache)."""
    return str(_xdg(environ, "XDG_STATE_HOME", ".local/state") / "datalake_nb" / "spool")


_BYTE_UNITS = {"": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
BYTES_PATTERN = r"([0-9]{1,15})(KiB|MiB|GiB|TiB)?"


def byte_count(value: str) -> int:
    """Bytes in ``1073741824`` or ``1GiB`` (a value the setting's pattern allowed)."""
    match = re.fullmatch(BYTES_PATTERN, value.strip(), re.ASCII)
    if not match:
        raise InvalidInput("bytes", f"{value!r}; allowed: a whole number of bytes, or one with "
                                    "KiB, MiB, GiB or TiB")
    return int(match.group(1)) * _BYTE_UNITS[match.group(2) or ""]


@dataclasses.dataclass(frozen=True)
class Setting:
    name: str            # environment variable and config-file name
    flag: str | None     # command-line option, or None for file/env only
    help: str
    default: object = None
    secret: bool = False
    choices: tuple[str, ...] | None = None
    pattern: str | None = None   # a full-match regex, and what it allows in words
    allowed: str = ""
    duration: tuple[float, float] | None = None  # a duration, with its (min, max) seconds
    whole: tuple[int, int] | None = None  # a whole number, with its (min, max)

    @property
    def described(self) -> str:
        """The help with the default, said once here (a computed default says its own)."""
        if isinstance(self.default, str) and "(default" not in self.help:
            return f"{self.help} (default: {self.default})"
        return self.help


SETTINGS: tuple[Setting, ...] = (
    Setting("DATALAKE_STORAGE_URL", "--storage-url",
            "where the lake lives: s3://bucket/prefix, gs://bucket/prefix, "
            "az://container/prefix, memory://name, file:///path or a folder "
            "(default: the embedded lake under $XDG_DATA_HOME)", default_storage_url),
    Setting("DATALAKE_CACHE_DIR", "--cache-dir",
            "local cache of fetched files, keyed by hash (default: under $XDG_CACHE_HOME)",
            default_cache_dir),
    Setting("DATALAKE_SPOOL_DIR", "--spool-dir",
            "folder of files enqueued for upload (default: under $XDG_STATE_HOME)",
            default_spool_dir),
    Setting("DATALAKE_SPOOL_MAX_BYTES", "--spool-max-bytes",
            "enqueue fails (exit 1) when the spool would hold more than this", "1GiB",
            pattern=BYTES_PATTERN, allowed="a whole number of bytes, or one with KiB, MiB, "
                                           "GiB or TiB (10GiB)"),
    Setting("DATALAKE_FETCH_DIR", "--fetch-dir",
            "default folder that fetch writes files into (default: the current folder)", "."),
    Setting("DATALAKE_CONCURRENCY", "--concurrency",
            "files in flight at once in push and fetch (and listings in parallel)", "32",
            whole=(1, 256)),
    Setting("DATALAKE_PART_CONCURRENCY", "--part-concurrency",
            "parts of large files (16 MiB and more) in flight at once on S3, shared by all "
            "the files in flight: a push holds each part in memory, up to 16 MiB (about "
            "128 MiB at the default)", "8", whole=(1, 256)),
    Setting("DATALAKE_PROGRESS", "--progress",
            "progress bars: auto (on a terminal or in a notebook), on, off", "auto",
            choices=("auto", "on", "off")),
    Setting("DATALAKE_S3_RETRY_MODE", "--s3-retry-mode",
            "boto3 retry mode for S3 errors: standard or adaptive", "standard",
            choices=("standard", "adaptive")),
    Setting("DATALAKE_S3_CONNECT_TIMEOUT", "--s3-connect-timeout",
            "give up connecting to S3 (GCS, Azure too) after this long (then one more try): "
            + DURATION_HELP,
            "5s", duration=(0.1, 3600)),
    Setting("DATALAKE_S3_READ_TIMEOUT", "--s3-read-timeout",
            "give up on an S3 (GCS, Azure) answer after this long without a byte (then one "
            "more try); "
            "transfers go on while bytes flow", "5s", duration=(0.1, 3600)),
    Setting("DATALAKE_S3_DATA_PLANE", "--s3-data-plane",
            "who sends listings and small files' PUTs and GETs: auto (obstore when installed, about 5x "
            "less CPU per file) or boto3", "auto", choices=("auto", "boto3")),
    Setting("DATALAKE_STALE_AGE", "--stale-age",
            "check --repair removes temporary files and aborts unfinished S3 uploads older "
            "than this", "1d", duration=(0, 100 * 365 * 86400)),
    Setting("DATALAKE_LOG_LEVEL", "--log-level",
            "log to stderr from this level: warning, info or debug (S3 requests and retries); "
            "secrets are masked", "warning", choices=("warning", "info", "debug")),
    Setting("DATALAKE_S3_SSE", "--s3-sse",
            "server-side encryption of new S3 objects: AES256 (SSE-S3) or aws:kms (SSE-KMS) "
            "(default: the bucket's own setting)", choices=("aws:kms", "AES256")),
    Setting("DATALAKE_S3_SSE_KMS_KEY_ID", "--s3-sse-kms-key-id",
            "KMS key id, ARN or alias for aws:kms (default: the account's aws/s3 key)",
            pattern=r"[A-Za-z0-9:/_.-]{1,2048}", allowed="a KMS key id, key ARN or alias/NAME"),
    Setting("DATALAKE_S3_EXPECTED_BUCKET_OWNER", "--s3-expected-bucket-owner",
            "AWS account id that must own the bucket; S3 refuses every request otherwise",
            pattern=r"[0-9]{12}", allowed="a 12-digit AWS account id"),
    Setting("DATALAKE_DEFAULT_WHERE", "--default-where",
            "the where of a push that names none (the original datalake's setting; default: "
            "none, so a push must name its where)"),
    Setting("DATALAKE_DASK_SCHEDULER", "--dask-scheduler",
            "address of the Dask scheduler Lake.to_dask uses (e.g. tcp://10.0.0.5:8786) when no "
            "dask.distributed Client is active (default: a LocalCluster of worker processes)"),
    Setting("AWS_ENDPOINT_URL", "--endpoint-url",
            "S3-compatible server to talk to instead of AWS (e.g. http://127.0.0.1:9000)"),
    Setting("AWS_PROFILE", "--aws-profile", "AWS profile from ~/.aws for credentials"),
    Setting("AWS_DEFAULT_REGION", "--aws-region", "AWS region of the bucket"),
    Setting("AWS_ACCESS_KEY_ID", None, "AWS access key (file or environment only)", secret=True),
    Setting("AWS_SECRET_ACCESS_KEY", None, "AWS secret key (file or environment only)", secret=True),
    Setting("DATALAKE_GCS_ENDPOINT_URL", "--gcs-endpoint-url",
            "Google Cloud Storage endpoint instead of Google's (an emulator, e.g. "
            "http://127.0.0.1:4443: it then needs no credentials)"),
    Setting("GOOGLE_APPLICATION_CREDENTIALS", None,
            "path of a Google service account key file (default: the metadata server's "
            "account, on Google Cloud)"),
    Setting("DATALAKE_AZURE_ENDPOINT_URL", "--azure-endpoint-url",
            "Azure Blob Storage endpoint instead of https://ACCOUNT.blob.core.windows.net (an "
            "emulator or a sovereign cloud, e.g. http://127.0.0.1:10000/devstoreaccount1)"),
    Setting("AZURE_STORAGE_ACCOUNT_NAME", None, "Azure storage account of az:// URLs"),
    Setting("AZURE_STORAGE_ACCOUNT_KEY", None, "Azure storage account key (file or environment "
            "only; default: a SAS token, then the AZURE_CLIENT_* / managed identity chain)",
            secret=True),
    Setting("AZURE_STORAGE_SAS_TOKEN", None, "Azure shared access signature (file or "
            "environment only)", secret=True),
)
BY_NAME = {s.name: s for s in SETTINGS}

# Each setting in a few words, for ``config -h`` (one line each; docs/configuration.md has
# the whole text of ``Setting.help``).  A fixed default is added by ``brief`` from the
# Setting, the one place it is written; a computed one is said here in words.
BRIEF = {
    "DATALAKE_STORAGE_URL": "the lake: s3://bucket/prefix, gs://, az://, memory://, a folder",
    "DATALAKE_CACHE_DIR": "cache of fetched files (default: under $XDG_CACHE_HOME)",
    "DATALAKE_SPOOL_DIR": "files enqueued for upload (default: under $XDG_STATE_HOME)",
    "DATALAKE_SPOOL_MAX_BYTES": "enqueue fails beyond this",
    "DATALAKE_FETCH_DIR": "where fetch writes (default: the current folder)",
    "DATALAKE_CONCURRENCY": "files in flight in push and fetch, 1-256",
    "DATALAKE_PART_CONCURRENCY": "parts of large files in flight on S3, 1-256",
    "DATALAKE_PROGRESS": "progress bars: auto, on, off",
    "DATALAKE_S3_RETRY_MODE": "boto3 retries: standard or adaptive",
    "DATALAKE_S3_CONNECT_TIMEOUT": "give up connecting after this long",
    "DATALAKE_S3_READ_TIMEOUT": "give up on an answer after this long idle",
    "DATALAKE_S3_DATA_PLANE": "listings, small PUT/GET: auto (obstore) or boto3",
    "DATALAKE_STALE_AGE": "check --repair removes leftovers older than this",
    "DATALAKE_LOG_LEVEL": "log to stderr: warning, info, debug",
    "DATALAKE_S3_SSE": "encryption of new S3 objects: AES256 or aws:kms",
    "DATALAKE_S3_SSE_KMS_KEY_ID": "KMS key id, ARN or alias for aws:kms",
    "DATALAKE_S3_EXPECTED_BUCKET_OWNER": "12-digit AWS account that must own the bucket",
    "DATALAKE_DEFAULT_WHERE": "the where of a push that names none",
    "DATALAKE_DASK_SCHEDULER": "Dask scheduler of Lake.to_dask (tcp://host:8786)",
    "AWS_ENDPOINT_URL": "S3-compatible server instead of AWS",
    "AWS_PROFILE": "AWS profile from ~/.aws",
    "AWS_DEFAULT_REGION": "AWS region of the bucket",
    "AWS_ACCESS_KEY_ID": "AWS access key (file or environment only)",
    "AWS_SECRET_ACCESS_KEY": "AWS secret key (file or environment only)",
    "DATALAKE_GCS_ENDPOINT_URL": "GCS endpoint instead of Google's (an emulator)",
    "GOOGLE_APPLICATION_CREDENTIALS": "Google service account key file",
    "DATALAKE_AZURE_ENDPOINT_URL": "Azure Blob endpoint (an emulator, a sovereign cloud)",
    "AZURE_STORAGE_ACCOUNT_NAME": "Azure storage account of az:// URLs",
    "AZURE_STORAGE_ACCOUNT_KEY": "Azure account key (file or environment only)",
    "AZURE_STORAGE_SAS_TOKEN": "Azure shared access signature (file or environment only)",
}


def brief(name: str) -> str:
    """A setting in a few words, with its default."""
    default = BY_NAME[name].default
    text = BRIEF[name]
    if isinstance(default, str) and "(default:" not in text:
        return f"{text} (default: {default})"
    return text


def default_of(name: str) -> str:
    """A setting's fixed default (the one place it is written is its Setting)."""
    default = BY_NAME[name].default
    assert isinstance(default, str), f"{name} has no fixed default"
    return default


def default_whole(name: str) -> int:
    """A whole-number setting's default, for code that runs without a Config (the one
    place a default is written is its Setting)."""
    return int(default_of(name))


def _span_text(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def settings_table() -> str:
    """Every setting as a markdown table: variable, option, what it does (with what it
    allows and its default).  docs/configuration.md holds a copy, written by ``python
    docs/config_table.py``; tests/test_docs.py fails while the two differ."""
    rows = ["| Variable | Option | What it does |", "|---|---|---|"]
    for setting in SETTINGS:
        text = setting.described
        if setting.whole:
            text += f"; allowed: {setting.whole[0]} to {setting.whole[1]}"
        if setting.duration:
            low, high = setting.duration
            text += f"; allowed: {_span_text(low)} to {_span_text(high)}"
        if setting.allowed:
            text += f"; allowed: {setting.allowed}"
        flag = f"`{setting.flag}`" if setting.flag else "-"
        cell = text.replace("|", "\\|")
        rows.append(f"| `{setting.name}` | {flag} | {cell} |")
    return "\n".join(rows) + "\n"


def config_files(environ: Mapping[str, str]) -> list[tuple[Path, bool]]:
    """(path, must_exist) in reading order."""
    user_dir = Path(environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    files = [(ETC_FILE, False), (user_dir / "datalake" / "datalake.conf", False)]
    if environ.get("DATALAKE_CONFIG"):
        files.append((Path(environ["DATALAKE_CONFIG"]), True))
    return files


_WARNED: set[tuple[str, str]] = set()


def _typo_distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap of neighbours) from a to b, case ignored."""
    a, b = a.upper(), b.upper()
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            row.append(min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb)))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def _unknown_name(path: Path, number: int, name: str, shared: bool) -> None:
    """An error, or in a file shared with the original datalake a warning (once per
    name and file) unless the name is a typo of one of ours."""
    typo = [known for known in BY_NAME if _typo_distance(name, known) <= 2]
    if not shared or typo:
        hint = f" (did you mean {typo[0]}?)" if typo else ""
        raise InvalidInput(f"{path}:{number}", f"unknown setting {name!r}{hint}; known: "
                                               + ", ".join(BY_NAME))
    if (str(path), name) not in _WARNED:
        _WARNED.add((str(path), name))
        sys.stderr.write(f"datalake: warning: {path}:{number}: {name!r} is not a datalake_nb "
                         "setting (the original datalake's?); ignored\n")


def read_config_file(path: Path, shared: bool = False) -> dict[str, str]:
    """Parse NAME=value lines; a bad line is an error naming the file and line.  With
    ``shared`` (a file the original datalake reads too) unknown names are warnings."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput("config file", f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    values = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        name, eq, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not eq or not name:
            raise InvalidInput(f"{path}:{number}", "expected NAME=value (the line is not shown: "
                                                   "it may hold a secret)")
        if name not in BY_NAME:
            _unknown_name(path, number, name, shared)
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def _check_duration(setting: Setting, value: str, source: str) -> None:
    low, high = setting.duration or (0, 0)
    try:
        seconds = duration_seconds(setting.name, value)
    except InvalidInput:
        seconds = None
    if seconds is None or not low <= seconds <= high:
        raise InvalidInput(setting.name, f"{value!r} from {source}; allowed: {DURATION_HELP}, "
                                         f"{low:g} s to {high:g} s")


def _check_whole(setting: Setting, value: str, source: str) -> None:
    low, high = setting.whole or (0, 0)
    if not re.fullmatch(r"[0-9]{1,9}", value, re.ASCII) or not low <= int(value) <= high:
        raise InvalidInput(setting.name, f"{value!r} from {source}; allowed: a whole number "
                                         f"{low}..{high}")


@dataclasses.dataclass
class Config:
    values: dict[str, str]
    sources: dict[str, str]

    def __getitem__(self, name: str) -> str | None:
        return self.values.get(name)

    def value(self, name: str) -> str:
        """A setting that has a fixed default, as text: never None."""
        return self.values.get(name) or default_of(name)

    def whole(self, name: str) -> int:
        """A whole-number setting (its default if nothing set it: never None)."""
        return int(self.values.get(name) or default_of(name))

    def seconds(self, name: str) -> float:
        """A duration setting in seconds (its default if nothing set it)."""
        return duration_seconds(name, self.values.get(name) or default_of(name))

    def __repr__(self) -> str:
        """Without secret values, so a traceback or a notebook's echo cannot leak them."""
        shown = {name: value for name, value, _ in self.describe() if value != "(not set)"}
        return f"Config({shown!r})"

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, value, source) for every setting; secrets are never shown, nor the
        password in a URL (AWS_ENDPOINT_URL=http://key:secret@host shows http://***@host)."""
        rows = []
        for setting in SETTINGS:
            value = self.values.get(setting.name)
            shown = "(not set)" if value is None else ("(set, hidden)" if setting.secret
                                                       else redact_url(value))
            rows.append((setting.name, shown, self.sources.get(setting.name, "-")))
        return rows


def resolve(arguments: Mapping[str, object] | None = None,
            environ: Mapping[str, str] | None = None) -> Config:
    """Combine defaults, config files, the environment and arguments (by setting name)."""
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        default = setting.default(environ) if callable(setting.default) else setting.default
        if default is not None:
            values[setting.name], sources[setting.name] = str(default), "default"
    for path, must_exist in config_files(environ):
        if not must_exist and not path.exists():
            continue
        for name, value in read_config_file(path, shared=must_exist or path == ETC_FILE).items():
            values[name], sources[name] = value, str(path)
    for setting in SETTINGS:
        if environ.get(setting.name):
            values[setting.name], sources[setting.name] = environ[setting.name], "environment"
    for name, value in (arguments or {}).items():
        if name not in BY_NAME:
            raise InvalidInput(name, "unknown setting; known: " + ", ".join(BY_NAME))
        if value is not None:
            values[name], sources[name] = str(value), "argument"
    for setting in SETTINGS:
        value = values.get(setting.name)
        if setting.choices and value is not None and value not in setting.choices:
            raise InvalidInput(setting.name, f"{value!r} from {sources[setting.name]}; "
                                             f"allowed: {', '.join(setting.choices)}")
        if setting.pattern and value is not None and not re.fullmatch(setting.pattern, value, re.ASCII):
            raise InvalidInput(setting.name, f"{value!r} from {sources[setting.name]}; "
                                             f"allowed: {setting.allowed}")
        if setting.duration and value is not None:
            _check_duration(setting, value, sources[setting.name])
    if values.get("DATALAKE_S3_SSE_KMS_KEY_ID") and values.get("DATALAKE_S3_SSE") != "aws:kms":
        raise InvalidInput("DATALAKE_S3_SSE_KMS_KEY_ID", f"set in {sources['DATALAKE_S3_SSE_KMS_KEY_ID']}"
                           f" but DATALAKE_S3_SSE is {values.get('DATALAKE_S3_SSE') or 'not set'}; "
                           "allowed: a KMS key only with DATALAKE_S3_SSE=aws:kms")
    for setting in SETTINGS:
        if setting.whole:
            _check_whole(setting, values.get(setting.name, ""), sources.get(setting.name, "default"))
    return Config(values, sources)
