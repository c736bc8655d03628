"""The workbench core and its commands work without Qt; the parser never crashes."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from kmodgui.core.workbench.logparse import ParseContext, parse_line


def test_workbench_imports_without_qt() -> None:
    code = (
        "import sys; sys.modules['PySide6'] = None\n"
        "import importlib, pkgutil, kmodgui.core.workbench as wb\n"
        "for m in pkgutil.iter_modules(wb.__path__):\n"
        "    importlib.import_module('kmodgui.core.workbench.' + m.name)\n"
        "for name in ('new', 'build', 'keygen', 'sign'):\n"
        "    importlib.import_module('kmodgui.cli.' + name)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


PIECES = ["ERROR: modpost: ", "WARNING: modpost: ", '"x" [', "] undefined!", "make: *** ",
          "make[2]: *** ", ":12:", ":3: ", "error: ", "note: ", "missing separator",
          ".  Stop.", "No rule to make target '", "', needed by '", "'", "/tmp/a b/", "\t",
          "Skipping BTF generation for ", " due to unavailability of vmlinux", "\x00", "é"]


@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=8), max_size=12))
def test_parse_line_takes_any_text(parts: list[str]) -> None:
    ctx = ParseContext(find_export=lambda _n: None)
    diagnostic = parse_line("".join(parts), 1, ctx)
    if diagnostic is not None:
        assert str(diagnostic)
