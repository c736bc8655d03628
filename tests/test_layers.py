"""The core and the command line must work without Qt (the layering rule)."""

import subprocess
import sys
from pathlib import Path


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
