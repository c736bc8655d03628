"""The core and the command line must work without Qt (the layering rule)."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def test_core_and_cli_import_without_qt() -> None:
    code = (
        "import sys; sys.modules['PySide6'] = None\n"
        "import kmodgui.core.paths, kmodgui.core.names, kmodgui.cli\n"
        "import kmodgui.client, kmodgui.client.bus, kmodgui.cli.actions\n"
        "import pkgutil, importlib, kmodgui.core\n"
        "for m in pkgutil.iter_modules(kmodgui.core.__path__):\n"
        "    importlib.import_module('kmodgui.core.' + m.name)\n"
        "kmodgui.cli.build_parser()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_console_scripts_are_installed() -> None:
    bindir = Path(sys.executable).parent
    version = subprocess.run([bindir / "kmodgui", "--version"], capture_output=True,
                             text=True, check=True).stdout
    assert version.startswith("kmodgui ")
    assert (bindir / "kmodgui-helper").exists()


# The core modules the root helper may import, and (with their own imports) nothing more:
# the helper must never pull in the module-file readers (decompressors, ELF, ASN.1) or Qt.
HELPER_MAY_IMPORT = ("paths", "names", "loaded", "modprobe_config", "modules_load", "globmatch",
                     "kernel_state")
NEVER = ("zstandard", "asn1crypto", "elftools", "PySide6")
NOT_FROM_KMODGUI = ("lzma", "_lzma", "gzip", "bz2")  # the stdlib's shutil imports lzma itself

WATCH = """
import importlib, json, pkgutil, sys

WATCHED = {"zstandard", "asn1crypto", "elftools", "PySide6", "lzma", "_lzma", "gzip", "bz2"}
seen = []

class Watch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in WATCHED:
            frame = sys._getframe(1)
            while frame is not None and frame.f_globals.get("__name__", "").startswith(
                    ("importlib", "_frozen_importlib")):
                frame = frame.f_back
            seen.append([name, frame.f_globals.get("__name__") if frame else None])
        return None

sys.meta_path.insert(0, Watch())
for name in sys.argv[1:]:
    module = importlib.import_module(name)
    if name == "kmodgui_helper":
        for info in pkgutil.iter_modules(module.__path__):
            importlib.import_module("kmodgui_helper." + info.name)
print(json.dumps({"core": sorted(m for m in sys.modules if m.startswith("kmodgui.core.")),
                  "seen": seen}))
"""


def imports(*modules: str) -> dict[str, list[Any]]:
    done = subprocess.run([sys.executable, "-c", WATCH, *modules], capture_output=True,
                          text=True, check=True)
    result: dict[str, list[Any]] = json.loads(done.stdout)
    return result


def problems(result: dict[str, list[Any]], allowed: set[str]) -> list[str]:
    found = [f"imports {m}" for m in result["core"] if m not in allowed]
    for name, importer in result["seen"]:
        if name.split(".")[0] in NEVER or (
                name in NOT_FROM_KMODGUI and str(importer).startswith("kmodgui.")):
            found.append(f"{name} imported by {importer}")
    return found


def test_the_helper_imports_only_its_share_of_the_core() -> None:
    allowed = set(imports(*(f"kmodgui.core.{m}" for m in HELPER_MAY_IMPORT))["core"])
    assert {f"kmodgui.core.{m}" for m in HELPER_MAY_IMPORT} <= allowed
    assert problems(imports("kmodgui_helper"), allowed) == []


def test_the_import_check_sees_a_module_file_reader() -> None:
    """The same check on the core's module-file reader: it would fail."""
    allowed = set(imports(*(f"kmodgui.core.{m}" for m in HELPER_MAY_IMPORT))["core"])
    found = problems(imports("kmodgui.core.modfile"), allowed)
    assert "imports kmodgui.core.modfile" in found
    assert "lzma imported by kmodgui.core.modfile" in found
    assert any(f.startswith(("zstandard ", "asn1crypto")) for f in found)
