"""``kmodgui new NAME [DIR]``: a kernel module to start from (source, Kbuild, Makefile)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from kmodgui.cli.exitcodes import ExitCode


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "new", help="write a new kernel module from a template",
        description="Write NAME.c, Kbuild and Makefile for a module that logs 'In init "
                    "module' when loaded, into DIR (default: ./NAME). Never overwrites files.")
    parser.add_argument("name", help="module name (letters, digits, '_', '-')")
    parser.add_argument("directory", nargs="?", metavar="DIR",
                        help="folder for the files (made if missing; default ./NAME)")
    parser.add_argument("--author", default="", help="MODULE_AUTHOR (default: your name)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kmodgui.core.workbench.template import create

    directory = Path(args.directory if args.directory is not None else args.name)
    written = create(args.name, directory, author=args.author)
    for path in written:
        print(f"created {path}")
    print(f"next: kmodgui build {shlex.quote(str(directory))}")
    return ExitCode.OK
