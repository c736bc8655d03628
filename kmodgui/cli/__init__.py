"""The ``kmodgui`` command: a thin front end over :mod:`kmodgui.core` and the helper client.

Each subcommand lives in its own module under ``kmodgui.cli`` and exposes
``register(subparsers)``; ``register`` adds the parser and sets ``func`` to a
``run(args) -> int``. Heavy imports happen inside ``run`` so that ``--help``
and unrelated commands stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kmodgui import __version__
from kmodgui.cli.exitcodes import ExitCode
from kmodgui.core.errors import KmodguiError

if TYPE_CHECKING:
    from kmodgui.core.paths import Root

# Subcommand modules, in the order ``--help`` lists them.
SUBCOMMANDS = (
    "info", "list", "deps", "resolve", "config", "devices",
    "actions", "gui",
    "new",  # the workbench (issue 12)
    "build",
    "keygen",
    "sign",
)
# The commands kmodgui.cli.actions registers (one module, several subcommands).
ACTION_COMMANDS = ("load", "unload", "insert", "set-param", "options", "blacklist", "boot",
                   "depmod")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kmodgui",
        description="Kernel Modules: browse, load and configure Linux kernel modules.",
    )
    parser.add_argument("--version", action="version", version=f"kmodgui {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"kmodgui.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"kmodgui.cli.{name}":
                raise
            continue  # a subcommand not written yet
        module.register(sub)
    return parser


def add_root_arguments(parser: argparse.ArgumentParser, *, release: bool = True) -> None:
    """The ``-b DIR`` / ``-k RELEASE`` pair every reading command accepts (as kmod's tools)."""
    parser.add_argument("-b", "--basedir", metavar="DIR", help="use DIR as the filesystem root")
    if release:
        parser.add_argument("-k", "--set-version", dest="release", metavar="RELEASE",
                            help="use modules of kernel RELEASE instead of the running one")


def root_from_args(args: argparse.Namespace) -> Root:
    from kmodgui.core.paths import Root  # lazily: --help stays fast

    return Root.create(args.basedir, getattr(args, "release", None))


def default_command(argv: list[str]) -> list[str]:
    """``kmodgui`` with no command (or only ``-b``/``-k``) opens the window."""
    position = 1 if argv[:1] == ["--debug"] else 0
    rest = argv[position:]
    if rest and (rest[0] in SUBCOMMANDS or rest[0] in ACTION_COMMANDS
                 or rest[0] in ("-h", "--help", "--version")):
        return argv
    return [*argv[:position], "gui", *rest]


def main(argv: Sequence[str] | None = None) -> int:
    # not list(): the subcommand module kmodgui.cli.list shadows the builtin here
    args_list = default_command([*(sys.argv[1:] if argv is None else argv)])
    parser = build_parser()
    args = parser.parse_args(args_list)
    if not getattr(args, "func", None):
        parser.print_help()
        return ExitCode.USAGE
    try:
        return int(args.func(args))
    except KmodguiError as exc:
        if args.debug:
            raise
        print(f"kmodgui: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  {exc.hint}", file=sys.stderr)
        return ExitCode.FAILURE
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        sys.stderr.close()
        return ExitCode.FAILURE
    except Exception as exc:  # last resort: one line, never a traceback
        if args.debug:
            raise
        print(f"kmodgui: internal error: {exc!r} (run with --debug for details)",
              file=sys.stderr)
        return ExitCode.FAILURE
