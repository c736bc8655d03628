"""Issue 9, item 6: what polkit and the admin are told.

InsertFile names the module (read from the file's ``.modinfo``), its size and
SHA-256 to polkit, so a rule can match them; Unload with dependencies asks
polkit about every module that will go; RebuildIndex runs only in a release
directory that is root's alone; the log records each authorised action with
the caller's uid and these details.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helperbus import HelperBus
from kmgtest.tinyko import tiny_ko

pytestmark = pytest.mark.bus

NOT_AUTHORIZED = "org.kmodgui.Error.NotAuthorized"


def insert(path: Path) -> dict[str, Any]:
    return {"member": "InsertFile", "signature": "hasa{sv}", "body": [0, [], {}],
            "fds": [f"rdonly:{path}"], "interactive": True}


def test_insert_file_names_module_size_and_digest(bus: HelperBus, scratch: Path) -> None:
    named, other = scratch / "named.ko", scratch / "other.ko"
    named.write_bytes(tiny_ko("kmodgui-named"))  # '-' is '_' to the kernel, and here
    other.write_bytes(tiny_ko("kmodgui_other"))
    for path in (named, other):
        path.chmod(0o644)
    granted, refused = bus.call(insert(named), insert(other))
    # the rule matched module, size and digest: authorised (this kernel loads nothing)
    assert granted["error_name"] not in (NOT_AUTHORIZED, None), granted
    assert granted["error_name"] != "org.freedesktop.DBus.Error.InvalidArgs", granted
    assert refused["error_name"] == NOT_AUTHORIZED, refused
    digest = hashlib.sha256(named.read_bytes()).hexdigest()
    size = named.stat().st_size
    log = bus.helper_log.read_text()
    assert (f"authorised for InsertFile(kmodgui_named, {size} bytes, sha256 {digest}, "
            "0 parameters): org.kmodgui.load-file "
            f"{{module=kmodgui_named, sha256={digest}, size={size}}}") in log, log[-3000:]
    assert "uid 65534 (" in log


def test_a_file_that_is_no_module_is_refused_before_polkit(bus: HelperBus,
                                                           scratch: Path) -> None:
    bad = scratch / "bad.ko"
    bad.write_bytes(b"\x7fELF" + b"\0" * 60)
    bad.chmod(0o644)
    reply = bus.call(insert(bad))[0]
    assert reply["error_name"] == "org.freedesktop.DBus.Error.InvalidArgs", reply
    assert "not a kernel module" in reply["body"][0]


PROC_MODULES = """\
kmodgui_top 16384 0 - Live 0x0000000000000000
kmodgui_mid 16384 1 kmodgui_top, Live 0x0000000000000000
kmodgui_low 16384 1 kmodgui_mid, Live 0x0000000000000000
kmodgui_shared 16384 2 kmodgui_top,kmodgui_else, Live 0x0000000000000000
kmodgui_else 16384 0 - Live 0x0000000000000000
"""


@pytest.fixture
def proc_modules(bus: HelperBus) -> Iterator[Path]:
    """A /proc/modules in the helper's tree: top → mid → low, and a shared module."""
    path = bus.root / "proc" / "modules"
    path.parent.mkdir(exist_ok=True)
    path.write_text(PROC_MODULES)
    yield path
    path.unlink()


def unload_deps(module: str) -> dict[str, Any]:
    return {"member": "Unload", "signature": "sa{sv}",
            "body": [module, {"dependencies": {"$v": ["b", True]}}], "interactive": True}


def test_unload_with_dependencies_asks_about_every_module(bus: HelperBus,
                                                          proc_modules: Path) -> None:
    """'nobody' may unload top and mid, not low: the chain top → mid → low is refused."""
    reply = bus.call(unload_deps("kmodgui_top"))[0]
    assert reply["error_name"] == NOT_AUTHORIZED, reply
    log = bus.helper_log.read_text()
    assert ("Unload(kmodgui_top, dependencies: kmodgui_top,kmodgui_mid,kmodgui_low): "
            "not authorised (org.kmodgui.unload") in log
    # without low in the chain, the same call is authorised (then modprobe finds nothing)
    proc_modules.write_text(PROC_MODULES.replace("kmodgui_low 16384 1 kmodgui_mid,",
                                                 "kmodgui_low 16384 0 -"))
    reply = bus.call(unload_deps("kmodgui_top"))[0]
    assert reply["error_name"] in ("org.kmodgui.Error.NotFound",
                                   "org.kmodgui.Error.NotLoaded"), reply
    assert ("authorised for Unload(kmodgui_top, dependencies: kmodgui_top,kmodgui_mid): "
            "org.kmodgui.unload {module=kmodgui_mid, modules=kmodgui_top,kmodgui_mid}"
            ) in bus.helper_log.read_text()


def depmod(release: str) -> dict[str, Any]:
    return {"member": "RebuildIndex", "signature": "sa{sv}", "body": [release, {}]}


@pytest.fixture
def release_dir(bus: HelperBus) -> Iterator[Path]:
    path = bus.root / "lib" / "modules" / "9.9.9-kmodgui"
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(bus.root / "lib")


@pytest.mark.parametrize("how", ["group-writable", "world-writable parent", "not root's"])
def test_rebuild_index_only_in_a_tree_that_is_roots_alone(bus: HelperBus, release_dir: Path,
                                                          how: str) -> None:
    victim = release_dir.parent if how == "world-writable parent" else release_dir
    if how == "not root's":
        os.chown(release_dir, 65534, 65534)
    else:
        victim.chmod(0o775 if how == "group-writable" else 0o777)
    try:
        reply = bus.call_root(depmod(release_dir.name))[0]
        assert reply["error_name"] == "org.kmodgui.Error.Failed", reply
        assert "not rebuilding the index" in reply["body"][0]
        assert not (release_dir / "modules.dep").exists()
    finally:
        os.chown(release_dir, 0, 0)
        victim.chmod(0o755)
    reply = bus.call_root(depmod(release_dir.name))[0]
    assert reply["type"] == "return", reply
    assert (release_dir / "modules.dep").exists()
