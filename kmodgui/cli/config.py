"""``kmodgui config``: the effective modprobe.d and modules-load.d configuration, with sources.

Every entry is printed with the file and line it comes from, so an admin can
see at once which file blacklists a module or sets an option. The modprobe.d
part lists entries in ``modprobe -c``'s order and wording.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from kmodgui.cli import add_root_arguments, root_from_args
from kmodgui.cli.deps import add_config_argument
from kmodgui.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from kmodgui.core.modprobe_config import ModprobeConfig
    from kmodgui.core.modules_load import ModulesLoad


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "config", help="show the effective modprobe.d and modules-load.d configuration",
        description="Show the effective module configuration (modprobe.d, the release's "
                    "modules.softdep, the kernel command line, modules-load.d), each entry "
                    "with the file and line it comes from.")
    add_root_arguments(parser)
    add_config_argument(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def as_json(modprobe: ModprobeConfig, load: ModulesLoad) -> dict[str, object]:
    return {
        "modprobe": {
            "files": modprobe.files,
            "entries": [{"kind": e.kind, "module": e.module, "value": e.value,
                         "pre": list(e.pre), "post": list(e.post),
                         "file": e.source.file, "line": e.source.line,
                         "effective": modprobe.shadowed_by(e) is None}
                        for e in modprobe.entries],
            "warnings": modprobe.warnings,
        },
        "modules_load": {
            "files": load.files,
            "masked": load.masked,
            "entries": [{"module": e.module, "initrd_only": e.initrd_only,
                         "file": e.source.file, "line": e.source.line}
                        for e in load.entries],
            "warnings": load.warnings,
        },
    }


def as_text(modprobe: ModprobeConfig, load: ModulesLoad) -> str:
    lines = ["# modprobe.d: files read, in order"]
    lines += [f"#   {f}" for f in modprobe.files] or ["#   (none)"]
    entries = [e for kind in ("blacklist", "install", "remove", "alias", "options", "softdep")
               for e in modprobe.entries if e.kind == kind]
    width = min(60, max((len(e.dump_line()) for e in entries), default=0))
    for e in entries:
        shadow = modprobe.shadowed_by(e)
        note = f" (no effect: {shadow.source} comes first)" if shadow is not None else ""
        lines.append(f"{e.dump_line():<{width}}  # {e.source}{note}")
    lines.append("")
    lines.append("# modules-load.d: modules loaded at boot")
    lines += [f"#   {f}" for f in load.files] or ["#   (no files)"]
    lines += [f"#   masked: {f}" for f in load.masked]
    width = max((len(e.module) for e in load.entries), default=0)
    for item in load.entries:
        note = " (initrd only)" if item.initrd_only else ""
        lines.append(f"{item.module:<{width}}  # {item.source}{note}")
    warnings = modprobe.warnings + load.warnings
    if warnings:
        lines.append("")
        lines.append("# warnings")
        lines += [f"#   {w}" for w in warnings]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from kmodgui.core.configuration import read_configuration

    config = read_configuration(root_from_args(args), args.config)
    modprobe, load = config.modprobe, config.modules_load
    if args.json:
        json.dump(as_json(modprobe, load), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(as_text(modprobe, load))
    return ExitCode.OK
