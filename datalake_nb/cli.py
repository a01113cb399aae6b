"""The ``datalake`` command line: parse, run, print (all from the command table).

Exit status 2 for user mistakes, 1 for failures, 130 when interrupted.  Errors are
one line on stderr; a mistake is worded here from its fields and names the command
(``datalake push: error: path: ...``), a failure's message names its operation.
"""
from __future__ import annotations

import sys
from typing import Sequence

from .commands import COMMANDS, Session, UsageProblem, configure_logging, parse, settings_from
from .config import Config, resolve
from .core.errors import DatalakeError, InvalidInput
from .progress import Progress, TqdmProgress


def terminal_progress(config: Config) -> Progress | bool:
    """A tqdm bar on stderr for long work: DATALAKE_PROGRESS on, or auto on a terminal."""
    mode = config["DATALAKE_PROGRESS"]
    if mode == "on" or (mode == "auto" and sys.stderr.isatty()):
        from tqdm import tqdm
        return TqdmProgress(tqdm)
    return False


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    name = "datalake"
    try:
        args = parse(argv)
        command = COMMANDS[args.command]
        name = f"datalake {command.name}"
        config = resolve(settings_from(args))
        configure_logging(config)
        session = Session(config, progress=lambda: terminal_progress(config))
        return command.show(command.run(session, args), args, sys.stdout)
    except UsageProblem as exc:
        sys.stderr.write(f"{exc.field}: error: {exc.problem}\n")
        return 2
    except InvalidInput as exc:
        sys.stderr.write(f"{name}: error: {exc.field}: {exc.problem}\n")
        return 2
    except DatalakeError as exc:  # its message names the operation ("list: ...")
        sys.stderr.write(f"datalake: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("datalake: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # the local lake, cache or destination: disk full, no permission
        sys.stderr.write(f"datalake: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
