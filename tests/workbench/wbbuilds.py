"""Helpers for the workbench tests: a folder 'nobody' owns, commands run as 'nobody', builds.

kbuild runs against the Debian headers tests/setup.d/30-guest installs for the
fetched kernel. Builds run as 'nobody' (kmodgui build refuses root) in a
folder 'nobody' owns, outside pytest's root-only temporary tree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kmodgui.core.paths import Root

NOBODY = (65534, 65534)
AS_NOBODY = ["setpriv", f"--reuid={NOBODY[0]}", f"--regid={NOBODY[1]}", "--clear-groups"]


@dataclass
class Workspace:
    """A folder 'nobody' owns, with its own HOME and XDG directories."""

    path: Path

    @property
    def env(self) -> dict[str, str]:
        home = self.path / "home"
        return {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / ".local/share"),
                "XDG_CACHE_HOME": str(home / ".cache"), "PYTHONDONTWRITEBYTECODE": "1",
                "USER": "nobody"}

    def mkdir(self, name: str) -> Path:
        directory = self.path / name
        directory.mkdir(parents=True)
        os.chown(directory, *NOBODY)
        return directory

    def write(self, relative: str, text: str) -> Path:
        path = self.path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        for p in (path, *path.relative_to(self.path).parents):
            os.chown(self.path / p, *NOBODY)
        return path

    def kmodgui(self, *args: str, check_rc: int | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``python -m kmodgui ARGS`` as 'nobody' (``env`` cannot exec the venv's python here)."""
        done = subprocess.run([*AS_NOBODY, sys.executable, "-m", "kmodgui", *args],
                              capture_output=True, text=True, env=self.env, cwd=self.path,
                              timeout=timeout, check=False)
        if check_rc is not None:
            assert done.returncode == check_rc, done.stdout + done.stderr
        return done

    def run(self, *argv: str, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Any command as 'nobody' (make, to capture a raw log)."""
        return subprocess.run([*AS_NOBODY, *argv], capture_output=True, text=True,
                              env=env or {**self.env, "LC_ALL": "C"}, cwd=self.path,
                              timeout=timeout, check=False)


def make_workspace(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))  # under /tmp: 'nobody' can reach it
    path.chmod(0o755)
    os.chown(path, *NOBODY)
    (path / "home").mkdir()
    os.chown(path / "home", *NOBODY)
    return path


# --- the scenarios: sources that fail (or succeed) in one known way each ----------------------

HEADER = "#include <linux/module.h>\n"
LICENSE = 'MODULE_LICENSE("GPL");\n'

SCENARIOS: dict[str, dict[str, str]] = {
    # a statement without its ';' (line 4) before 'return' (line 5)
    "syntax": {"Kbuild": "obj-m := syn.o\n", "syn.c": HEADER + (
        "static int __init syn_init(void)\n{\n\tint x = 1\n\treturn x;\n}\n"
        "module_init(syn_init);\n") + LICENSE},
    "nolicense": {"Kbuild": "obj-m := nolic.o\n", "nolic.c": HEADER + (
        "static int __init nolic_init(void) { return 0; }\nmodule_init(nolic_init);\n")},
    # one symbol nobody exports, one misspelt export (msleep_interruptible)
    "undefined": {"Kbuild": "obj-m := und.o\n", "und.c": HEADER + (
        "extern void kmodgui_no_such_function(void);\n"
        "extern unsigned long msleep_interruptibl(unsigned int msecs);\n"
        "static int __init und_init(void)\n{\n\tkmodgui_no_such_function();\n"
        "\tmsleep_interruptibl(1);\n\treturn 0;\n}\nmodule_init(und_init);\n") + LICENSE},
    "separator": {"Kbuild": "obj-m := sep.o\nccflags-y += -DX\n    not a make line\n",
                  "sep.c": HEADER + LICENSE},
    "norule": {"Kbuild": "obj-m := norule.o\n"},
}


@dataclass
class Build:
    """One ``kmodgui build --json`` run: its folder, exit status and JSON."""

    directory: Path
    returncode: int
    data: dict[str, Any]
    stderr: str


@dataclass
class Builds:
    workspace: Workspace
    root: Root
    runs: dict[str, Build]

    def __getitem__(self, name: str) -> Build:
        return self.runs[name]


def build_json(ws: Workspace, directory: Path, release: str) -> Build:
    done = ws.kmodgui("build", str(directory), "-k", release, "--json")
    try:
        data = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"kmodgui build --json printed no JSON:\n{done.stdout}\n{done.stderr}")
    return Build(directory, done.returncode, data, done.stderr)


