"""Live-state readers on trees written in the kernel's real formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from kmodgui.core.loaded import (
    parse_proc_modules,
    read_proc_modules,
    read_sys_module,
    sys_module_names,
)
from kmodgui.core.paths import Root

# Lines as Linux 6.1 prints them (kernel/module/procfs.c): users end with a
# comma, "-" when none; taint in parentheses only when tainted.
PROC_MODULES = """\
hello 16384 0 - Loading 0x0000000000000000 (OE)
xts 16384 1 camellia_x86_64, Live 0x0000000000000000
camellia_x86_64 61440 0 - Live 0x0000000000000000
dummy 16384 0 - Unloading 0x0000000000000000
nf_conntrack 176128 3 nf_nat,nft_ct,xt_conntrack, Live 0xffffffffc0a00000 (P)
nolock 16384 - - Live 0x0000000000000000
garbage line
"""


def test_proc_modules_fields_order_and_taint() -> None:
    mods = parse_proc_modules(PROC_MODULES)
    assert [m.name for m in mods] == [
        "hello", "xts", "camellia_x86_64", "dummy", "nf_conntrack", "nolock"]
    assert [m.order for m in mods] == list(range(6))
    hello, xts, _, dummy, conntrack, nolock = mods
    assert (hello.state, hello.taint, hello.users) == ("Loading", "OE", ())
    assert xts.users == ("camellia_x86_64",)
    assert xts.refcount == 1 and xts.taint == ""
    assert dummy.state == "Unloading"
    assert conntrack.users == ("nf_nat", "nft_ct", "xt_conntrack")
    assert conntrack.size == 176128 and conntrack.taint == "P"
    assert nolock.refcount is None


def test_missing_proc_modules_is_empty(tmp_path: Path) -> None:
    assert read_proc_modules(Root(tmp_path, "6.1.0")) == []
    assert sys_module_names(Root(tmp_path, "6.1.0")) == []


def write_sys_tree(base: Path) -> None:
    """A /sys/module tree shaped like the kernel's, with one secret parameter."""
    (base / "proc").mkdir(parents=True)
    (base / "proc/modules").write_text(PROC_MODULES)
    xts = base / "sys/module/xts"
    (xts / "holders").mkdir(parents=True)
    os.symlink("../../camellia_x86_64", xts / "holders/camellia_x86_64")
    (xts / "initstate").write_text("live\n")
    (xts / "refcnt").write_text("1\n")
    (xts / "taint").write_text("\n")
    (xts / "srcversion").write_text("0123456789ABCDEF012345\n")
    (xts / "coresize").write_text("16384\n")
    params = xts / "parameters"
    params.mkdir()
    (params / "debug").write_text("N\n")
    (params / "debug").chmod(0o644)
    (params / "key").write_text("s3cret\n")
    (params / "key").chmod(0o400)
    (params / "mode").write_text("1\n")
    (params / "mode").chmod(0o444)
    printk = base / "sys/module/printk/parameters"
    printk.mkdir(parents=True)
    (printk / "time").write_text("Y\n")
    for directory, _, _ in os.walk(base):
        os.chmod(directory, 0o755)


def test_sys_module_reader(tmp_path: Path) -> None:
    write_sys_tree(tmp_path)
    root = Root(tmp_path, "6.1.0")
    xts = read_sys_module(root, "xts")
    assert xts is not None
    assert (xts.initstate, xts.refcnt, xts.holders) == ("live", 1, ["camellia_x86_64"])
    assert xts.srcversion == "0123456789ABCDEF012345" and xts.coresize == 16384
    params = {p.name: p for p in xts.parameters}
    assert params["debug"].value == "N" and params["debug"].permission == 0o644
    assert params["mode"].permission == 0o444
    printk = read_sys_module(root, "printk")
    assert printk is not None and printk.builtin and printk.parameters[0].value == "Y"
    assert read_sys_module(root, "absent") is None
    assert sys_module_names(root) == ["printk", "xts"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_unreadable_parameter_is_hidden_for_unprivileged_reader() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        write_sys_tree(Path(tmp))
        code = (
            "import json, sys\n"
            "from pathlib import Path\n"
            "from kmodgui.core.loaded import read_sys_module\n"
            "from kmodgui.core.paths import Root\n"
            "m = read_sys_module(Root(Path(sys.argv[1]), 'x'), 'xts')\n"
            "print(json.dumps({p.name: [p.value, p.hidden] for p in m.parameters}))\n"
        )
        out = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             sys.executable, "-c", code, tmp],
            check=True, capture_output=True, text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        ).stdout
    params = json.loads(out)
    assert params["key"] == [None, True]
    assert params["debug"] == ["N", False]
