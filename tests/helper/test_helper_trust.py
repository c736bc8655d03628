"""Issue 9, item 7: the root helper refuses to run code that someone else could rewrite.

Its own package files, the kmodgui modules it imports, everything else it
loaded, and its interpreter (as started and resolved) must be root's and not
writable by group or others, all the way up (a root-owned sticky directory
such as /tmp is accepted, as sudo does). Otherwise one log line and exit 1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import kmodgui_helper
import pytest
from helperbus import IDLE_TIMEOUT, HelperBus
from kmodgui_helper import trust

import kmodgui

pytestmark = pytest.mark.bus


@pytest.fixture
def tree() -> Iterator[Path]:
    """A root-owned directory under /tmp (sticky, root's): nothing wrong with it."""
    path = Path(tempfile.mkdtemp(prefix="kmodgui-trust-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_problems_are_found_all_the_way_up(tree: Path) -> None:
    code = tree / "pkg" / "code.py"
    code.parent.mkdir()
    code.write_text("")
    code.chmod(0o644)
    code.parent.chmod(0o755)
    assert trust.problem(code) is None  # /tmp above is sticky and root's
    code.chmod(0o664)
    assert trust.problem(code) == f"{code} is writable by group or others"
    code.chmod(0o644)
    code.parent.chmod(0o777)
    assert trust.problem(code) == f"{code.parent} is writable by group or others"
    code.parent.chmod(0o1777)  # sticky is fine for a directory above, as for /tmp
    assert trust.problem(code) is None
    code.parent.chmod(0o755)
    os.chown(code, 65534, 65534)
    assert trust.problem(code) == f"{code} is owned by uid 65534, not root"
    os.chown(code, 0, 0)
    link = tree / "link.py"
    link.symlink_to(code)
    code.parent.chmod(0o775)
    assert trust.problem(link) == f"{code.parent} is writable by group or others"
    assert trust.problem(tree / "missing") is not None
    assert trust.problem(tree / "missing", missing_ok=True) is None


def copy_of_the_helper(into: Path) -> Path:
    """The installed kmodgui and kmodgui_helper packages, copied (root's, 0755/0644)."""
    for package in (kmodgui, kmodgui_helper):
        source = Path(package.__file__).parent
        shutil.copytree(source, into / source.name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return into


def start(bus: HelperBus, python: str, pythonpath: str) -> subprocess.CompletedProcess[str]:
    env = {"DBUS_SYSTEM_BUS_ADDRESS": bus.address, "KMODGUI_HELPER_ROOT": str(bus.root),
           "KMODGUI_HELPER_DBUS": "dbus_fast", "PYTHONPATH": pythonpath,
           "PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/sbin:/usr/bin"}
    return subprocess.run([python, "-m", "kmodgui_helper", "--idle-timeout", "1"], env=env,
                          capture_output=True, text=True, timeout=60, check=False, cwd="/")


def test_refuses_to_start_from_writable_code(bus: HelperBus, tree: Path) -> None:
    assert bus.wait_gone(IDLE_TIMEOUT + 5)
    copy = copy_of_the_helper(tree / "lib")
    tree.joinpath("lib").chmod(0o755)
    target = copy / "kmodgui" / "core" / "names.py"  # a core module the helper imports
    target.chmod(0o666)
    done = start(bus, sys.executable, str(copy))
    assert done.returncode == 1, done
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "refusing to start" in lines[0] and f"{target} is writable" in lines[0]
    # the same copy, root's alone, serves
    target.chmod(0o644)
    done = start(bus, sys.executable, str(copy))
    assert done.returncode == 0, done.stderr
    assert "serving org.kmodgui.Helper1" in done.stderr


def test_refuses_to_start_with_an_interpreter_others_own(bus: HelperBus, tree: Path) -> None:
    assert bus.wait_gone(IDLE_TIMEOUT + 5)
    home = tree / "home"
    home.mkdir()
    python = home / "python3"
    shutil.copy2(os.path.realpath(sys.executable), python)
    os.chown(home, 65534, 65534)
    os.chown(python, 65534, 65534)
    done = start(bus, str(python), sysconfig.get_path("purelib"))
    assert done.returncode == 1, done
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "refusing to start" in done.stderr and "owned by uid 65534" in done.stderr
