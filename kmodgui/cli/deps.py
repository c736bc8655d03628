"""``kmodgui deps MODULE...``: what ``modprobe MODULE`` would insert, in order, and what needs it.

``--show-depends`` prints exactly what ``modprobe --show-depends MODULE``
prints, so the two can be compared with ``diff``; several modules give the
outputs one after the other, as separate modprobe runs would, from one process.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from kmodgui.cli import add_root_arguments, root_from_args
from kmodgui.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from kmodgui.core.lookup import Lookup, ProbeStep


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """modprobe's ``-C``: read configuration from PATH instead of the modprobe.d directories."""
    parser.add_argument("-C", "--config", metavar="PATH", action="append",
                        help="read modprobe configuration from PATH (a file or a directory) "
                             "instead of the modprobe.d directories; repeatable")


def make_lookup(args: argparse.Namespace) -> Lookup:
    """The :class:`Lookup` for ``-b``/``-k``/``-C``."""
    from kmodgui.core.lookup import Lookup
    from kmodgui.core.modprobe_config import ModprobeConfig

    root = root_from_args(args)
    return Lookup(root, ModprobeConfig.load(root, args.config))


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "deps", help="show what loading a module inserts, and what depends on it",
        description="Show the modules 'modprobe MODULE' would insert, in order (dependencies, "
                    "soft dependencies, install commands), and the modules that need MODULE.")
    add_root_arguments(parser)
    add_config_argument(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--show-depends", action="store_true",
                      help="print exactly what 'modprobe --show-depends MODULE' prints")
    mode.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("modules", metavar="MODULE", nargs="+", help="module name or alias")
    parser.set_defaults(func=run)


def _step_dict(step: ProbeStep, base: str) -> dict[str, Any]:
    return {"action": step.action, "module": step.name, "path": step.path,
            "relative_path": _relative(step.path, base), "options": step.options,
            "command": step.command}


def _relative(path: str | None, base: str) -> str | None:
    if path is None:
        return None
    return path[len(base) + 1:] if path.startswith(base + "/") else path


def run(args: argparse.Namespace) -> int:
    from kmodgui.core.errors import ModuleNotFound

    lookup = make_lookup(args)
    status = ExitCode.OK
    reports: list[dict[str, Any]] = []
    for module in args.modules:
        try:
            steps = lookup.dependency_order(module)
        except ModuleNotFound as exc:
            if len(args.modules) == 1:
                raise
            sys.stdout.flush()
            print(f"kmodgui: {exc.message}", file=sys.stderr)
            status = ExitCode.FAILURE
            continue
        if args.show_depends:
            sys.stdout.write("".join(step.show_line() + "\n" for step in steps))
        elif args.json:
            reports.append(_report(lookup, module, steps))
        else:
            print(_text(lookup, module, steps))
    if args.json:
        json.dump(reports[0] if len(args.modules) == 1 and reports else reports,
                  sys.stdout, indent=2)
        sys.stdout.write("\n")
    return status


def _report(lookup: Lookup, module: str, steps: list[ProbeStep]) -> dict[str, Any]:
    names = list(dict.fromkeys(m.name for m in lookup.find(module)))
    base = lookup.index.dirname
    return {"module": module, "matches": names,
            "load_order": [_step_dict(s, base) for s in steps],
            "required_by": {name: lookup.required_by(name) for name in names}}


def _text(lookup: Lookup, module: str, steps: list[ProbeStep]) -> str:
    base = lookup.index.dirname
    out = []
    if not steps:
        out.append(f"{module}: nothing to insert (blacklisted alias, or no module file)")
    else:
        out.append(f"'modprobe {module}' inserts, in this order:")
        width = max(len(s.name) for s in steps)
        for number, step in enumerate(steps, 1):
            if step.action == "install":
                what = f"runs install command: {step.command}"
            elif step.action == "builtin":
                what = "built into the kernel (nothing to insert)"
            else:
                what = _relative(step.path, base) or ""
            if step.options:
                what += f"  [options: {step.options.strip()}]"
            out.append(f"  {number:>2}. {step.name:<{width}}  {what}")
    for name in dict.fromkeys(m.name for m in lookup.find(module)):
        needed = lookup.required_by(name)
        out.append(f"Modules that depend on {name}: "
                   + (", ".join(sorted(needed)) if needed else "none"))
    return "\n".join(out)
