"""The ``datalake`` command line: parse, run, print (all from the command table).

Exit status 2 for user mistakes, 1 for failures, 130 when interrupted.  Errors are
one line on stderr; a mistake is worded here from its fields and names the command
(``datalake push: error: path: ...``), a failure's message names its operation.
"""
from __future__ import annotations

import os
import signal
import sys
from typing import Any, Sequence

from .commands import Session, UsageProblem, command_name, prefixed, run
from .config import Config, resolve
from .core.errors import DatalakeError, InvalidInput
from .engine.progress import Progress, TqdmProgress


def terminal_progress(config: Config) -> Progress | bool:
    """A tqdm bar on stderr for long work: DATALAKE_PROGRESS on, or auto on a terminal."""
    mode = config["DATALAKE_PROGRESS"]
    if mode == "on" or (mode == "auto" and sys.stderr.isatty()):
        from tqdm import tqdm
        return TqdmProgress(tqdm)
    return False


def version() -> str:
    """The installed distribution's version, else the package's own (a source checkout)."""
    from importlib import metadata

    from . import __version__
    try:
        return metadata.version("datalake_nb")
    except metadata.PackageNotFoundError:
        return __version__


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if list(argv[:1]) in (["--version"], ["-V"]):
        sys.stdout.write(f"datalake {version()}\n")
        return 0
    name = command_name(argv, "datalake")

    def session_for(flags: dict[str, Any]) -> Session:
        config = resolve(flags)
        return Session(config, progress=lambda: terminal_progress(config))

    try:
        ran = run(argv, "datalake", session_for)
        code = ran.command.show(ran.value, ran.args, sys.stdout)
        if ran.remark:  # beside the output, not in it: a pipe gets only the data
            sys.stderr.write(f"{name}: {ran.remark}\n")
        return code
    except UsageProblem as exc:
        sys.stderr.write(f"{exc.field}: error: {exc.problem}\n")
        return 2
    except InvalidInput as exc:
        sys.stderr.write(prefixed(name, f"{exc.field}: {exc.problem}", "error") + "\n")
        return 2
    except DatalakeError as exc:  # its message names the operation ("list: ...")
        sys.stderr.write(f"datalake: {exc}\n")
        return 1
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM through entry()
        placed = getattr(exc, "paths", [])  # a fetch's files placed before it stopped:
        sys.stdout.writelines(f"{path}\n" for path in placed)  # as a fetch prints them
        sys.stderr.write(f"datalake: {str(exc) or 'interrupted'}\n")
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # the local lake, cache or destination: disk full, no permission
        sys.stderr.write(f"datalake: {exc}\n")
        return 1


def entry() -> None:
    """The installed ``datalake`` command: SIGTERM stops it like Ctrl-C, and once it is
    interrupted it exits at once, without waiting for threads stuck on the network."""
    signal.signal(signal.SIGTERM, _terminate)
    code = main()
    if code == 130:
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(code)
    sys.exit(code)


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt("terminated")


if __name__ == "__main__":
    entry()
