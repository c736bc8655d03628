"""Real module builds for the workbench tests, made once per session as user 'nobody'.

kbuild runs against the Debian headers tests/setup.d/30-guest installs for the
fetched kernel. Builds run as 'nobody' (kmodgui build refuses root) in a
folder 'nobody' owns, outside pytest's root-only temporary tree.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from wbbuilds import SCENARIOS, Build, Builds, Workspace, build_json, make_workspace

from kmodgui.core.paths import Root


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    path = make_workspace("kmodgui-wb-")
    yield Workspace(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def build_root(kernel_root: Root) -> Root:
    """The host with the fetched kernel's release: its build tree is the installed headers."""
    root = Root(Path("/"), kernel_root.release)
    if not (root.modules_dir / "build" / "Makefile").is_file():
        pytest.fail(f"no headers for {root.release}: run tests/setup.d/30-guest (tests/run does)")
    return root


@pytest.fixture(scope="session")
def builds(build_root: Root) -> Iterator[Builds]:
    """Every scenario built once, for real, as 'nobody' (about 20 s on two CPUs)."""
    ws = Workspace(make_workspace("kmodgui-builds-"))
    runs: dict[str, Build] = {}
    release = build_root.release
    # the template, plain and in a folder whose path has spaces
    for name, folder in (("template", "simple"), ("spaced", "my modules/simple one")):
        directory = ws.path / folder
        ws.kmodgui("new", "simplemodule", str(directory), check_rc=0)
        runs[name] = build_json(ws, directory, release)
    for name, files in SCENARIOS.items():
        for file, text in files.items():
            ws.write(f"{name}/{file}", text)
        runs[name] = build_json(ws, ws.path / name, release)
    # a syntax error where the path has spaces: diagnostics must name the user's file
    for file, text in SCENARIOS["syntax"].items():
        ws.write(f"with space/syntax/{file}", text)
    runs["spaced-syntax"] = build_json(ws, ws.path / "with space" / "syntax", release)
    # a source file from the future: make warns about clock skew
    directory = ws.path / "skew"
    ws.kmodgui("new", "skewed", str(directory), check_rc=0)
    future = os.stat(directory / "skewed.c").st_mtime + 3600
    os.utime(directory / "skewed.c", (future, future))
    runs["skew"] = build_json(ws, directory, release)
    # no headers for this release
    runs["noheaders"] = build_json(ws, ws.path / "simple", "0.0.0-kmodgui-none")
    yield Builds(ws, build_root, runs)
    shutil.rmtree(ws.path, ignore_errors=True)
