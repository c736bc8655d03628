"""``kmodgui build DIR``: build a module as the calling user, then explain what happened.

The log streams as make writes it; then the diagnostics (compiler, modpost,
make, harmless lines labelled so) with paths in the user's folder; then,
after a successful build, the module as ``kmodgui info`` shows it, its
vermagic against the target release, and the exact next step. Exit status 0
only when a ``.ko`` was produced.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kmodgui.cli import add_root_arguments, root_from_args
from kmodgui.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from kmodgui.core.workbench.check import BuiltModule
    from kmodgui.core.workbench.runner import BuildResult


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "build", help="build a module folder against a kernel's headers (never as root)",
        description="Run make -C /lib/modules/RELEASE/build M=DIR modules as the calling user "
                    "and explain the result.")
    parser.add_argument("directory", nargs="?", default=".", metavar="DIR",
                        help="the module's folder, with its Kbuild (default: .)")
    add_root_arguments(parser)
    parser.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                        help="parallel make jobs (default: one per CPU)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (log, diagnostics, module) instead")
    parser.set_defaults(func=run)


def describe(result: BuildResult, args: argparse.Namespace) -> list[BuiltModule]:
    from kmodgui.core.errors import ModuleFileError
    from kmodgui.core.workbench.check import describe_module

    root = root_from_args(args)
    described = []
    for ko in result.modules:
        try:
            described.append(describe_module(ko, root))
        except ModuleFileError as exc:
            print(f"kmodgui: {exc.message}", file=sys.stderr)
    return described


def next_steps(modules: list[BuiltModule]) -> list[str]:
    steps = []
    for module in modules:
        if module.vermagic.matches:
            param = f" {module.parameters[0].name}=VALUE" if module.parameters else ""
            steps.append(f"kmodgui insert {shlex.quote(str(module.path))}{param}")
    return steps


def print_module(module: BuiltModule) -> None:
    from kmodgui.core.modfile import read_module_info
    from kmodgui.core.modinfo import format_module

    info = read_module_info(module.path)
    out = format_module(info, filename=str(module.path))  # absolute: as kmodgui info FILE
    sys.stdout.flush()
    sys.stdout.buffer.write(out.stdout)
    sys.stdout.flush()
    mark = "ok" if module.vermagic.matches else "MISMATCH"
    print(f"vermagic check: {mark}: {module.vermagic.explain()}")
    for problem in module.problems:
        print(f"warning: {problem}")


def run(args: argparse.Namespace) -> int:
    from kmodgui.core.workbench.runner import BuildRequest, run_build

    if args.jobs is not None and args.jobs < 1:
        print("kmodgui: --jobs must be at least 1", file=sys.stderr)
        return ExitCode.USAGE
    root = root_from_args(args)
    request = BuildRequest(Path(args.directory), root) if args.jobs is None else \
        BuildRequest(Path(args.directory), root, args.jobs)
    if args.json:
        result = run_build(request)
        modules = describe(result, args)
        json.dump({**result.to_json(), "built": [m.to_json() for m in modules],
                   "next_steps": next_steps(modules)}, sys.stdout, indent=2)
        print()
        return ExitCode.OK if result.ok else ExitCode.FAILURE

    def show(line: str) -> None:
        print(line, flush=True)

    print(f"building {request.source_dir} for {root.release}")
    result = run_build(request, show)
    if result.staging_dir is not None:
        print(f"(built in a copy at {result.staging_dir}: kbuild cannot build where the path "
              "has spaces or special characters; the diagnostics name your own files"
              + (" and the .ko was copied back)" if result.ok else ")"))
    if result.diagnostics:
        print("\ndiagnostics:")
        for diagnostic in result.diagnostics:
            print(f"  {diagnostic}".replace("\n", "\n  "))
    if not result.ok:
        count = len(result.errors)
        print(f"\nbuild failed ({count} error{'s' if count != 1 else ''}) "
              f"in {result.seconds:.1f} s", file=sys.stderr)
        return ExitCode.FAILURE
    print(f"\nbuilt in {result.seconds:.1f} s:")
    modules = describe(result, args)
    for module in modules:
        print_module(module)
    for step in next_steps(modules):
        print(f"next: {step}")
    return ExitCode.OK
