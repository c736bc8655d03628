"""``kmodgui list``: every module with its state, live values, modinfo and configuration."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kmodgui.cli import add_root_arguments, root_from_args
from kmodgui.cli.exitcodes import ExitCode
from kmodgui.core.records import ModuleRecord, ModuleState

STATES = {
    "loaded": (ModuleState.LOADED, ModuleState.EXTERNAL),
    "builtin": (ModuleState.BUILTIN,),
    "available": (ModuleState.AVAILABLE,),
    "all": tuple(ModuleState),
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("list", help="list modules (loaded by default)",
                            description="List kernel modules with their state and details.")
    add_root_arguments(parser)
    parser.add_argument("--state", choices=sorted(STATES), default="loaded",
                        help="which modules to list (default: loaded)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--no-cache", action="store_true",
                        help="read every module file instead of using the cache")
    parser.set_defaults(func=run)


def record_to_json(record: ModuleRecord) -> dict[str, Any]:
    """The documented JSON shape of one module (see the README's schema)."""
    return {
        "name": record.name,
        "state": record.state.value,
        "path": record.path,
        "file_size": record.file_size,
        "size": record.size,
        "refcount": record.refcount,
        "holders": record.holders,
        "load_order": record.load_order,
        "live_state": record.live_state,
        "taint": record.taint,
        "description": record.description,
        "authors": record.authors,
        "license": record.license,
        "version": record.version,
        "srcversion": record.srcversion,
        "vermagic": record.vermagic,
        "firmware": record.firmware,
        "aliases": record.aliases,
        "signer": record.signer,
        "sig_key": record.sig_key,
        "sig_hashalgo": record.sig_hashalgo,
        "parameters": [
            {"name": p.name, "type": p.type, "description": p.description,
             "value": p.value, "hidden": p.hidden, "permission": p.permission,
             "writable": p.writable}
            for p in record.parameters
        ],
        "depends": record.depends,
        "required_by": record.required_by,
        "softdep": {"pre": record.softdep_pre, "post": record.softdep_post},
        "config": [
            {"kind": s.kind, "value": s.value, "file": s.source.file, "line": s.source.line}
            for s in record.settings
        ],
    }


def _table(records: list[ModuleRecord]) -> str:
    rows = [("Module", "State", "Size", "Used by", "Description")]
    for r in records:
        used = str(r.refcount if r.refcount is not None else "-") if r.loaded else ""
        if r.holders:
            used += " " + ",".join(r.holders)
        rows.append((r.name, r.state.value, str(r.size or ""), used, r.description))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4]
        for row in rows).rstrip() + "\n"


def run(args: argparse.Namespace) -> int:
    from kmodgui.core.catalog import load_catalog

    catalog = load_catalog(root_from_args(args), use_cache=not args.no_cache)
    wanted = STATES[args.state]
    records = [r for r in catalog.ordered() if r.state in wanted]
    if args.json:
        document = {"release": catalog.root.release, "root": str(catalog.root.base),
                    "modules": [record_to_json(r) for r in records],
                    "warnings": catalog.warnings}
        sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
    else:
        for warning in catalog.warnings:
            print(f"kmodgui: warning: {warning}", file=sys.stderr)
        sys.stdout.write(_table(records))
    return ExitCode.OK
