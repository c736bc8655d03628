"""``kmodgui resolve ALIAS...``: the modules aliases resolve to, as ``modprobe -R`` prints them.

Several aliases in one call are resolved in one process (like ``modprobe -a
-R``): each alias's modules, one per line, in kmod's order; an alias that
resolves to nothing is reported on standard error and makes the exit status 1.
"""

from __future__ import annotations

import argparse
import sys

from kmodgui.cli import add_root_arguments
from kmodgui.cli.deps import add_config_argument, make_lookup
from kmodgui.cli.exitcodes import ExitCode


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "resolve", help="print the modules aliases resolve to (modprobe -R)",
        description="Print the module names each ALIAS resolves to, one per line, exactly "
                    "as 'modprobe -R' does (modalias strings, symbol:NAME, fs-TYPE, ...).")
    add_root_arguments(parser)
    add_config_argument(parser)
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="do not report aliases that resolve to nothing")
    parser.add_argument("aliases", metavar="ALIAS", nargs="+", help="alias or module name")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    lookup = make_lookup(args)
    status = ExitCode.OK
    out: list[str] = []
    for alias in args.aliases:
        names = lookup.resolve(alias)
        if not names:
            status = ExitCode.FAILURE
            if not args.quiet:
                sys.stdout.write("".join(out))
                sys.stdout.flush()
                out = []
                print(f"kmodgui: {lookup.not_found_message(alias)}", file=sys.stderr)
            continue
        out.extend(name + "\n" for name in names)
    sys.stdout.write("".join(out))
    return status
