"""rmmod's refusals in rmmod's order, decided once in the core for the CLI and the window."""

from __future__ import annotations

import os
import time
from pathlib import Path

from kmgtest.treefiles import write

from kmodgui.core.installed import index_is_stale
from kmodgui.core.paths import Root
from kmodgui.core.records import ModuleRecord, ModuleState
from kmodgui.core.unload import Reason, refusal, refusal_for_record, unload_refusal

PROC = ("camellia_x86_64 16384 0 - Live 0x0000000000000000\n"
        "xts 16384 1 camellia_x86_64, Live 0x0000000000000000\n"
        "busy 16384 2 - Live 0x0000000000000000\n")


def tree(tmp_path: Path) -> Root:
    root = Root(tmp_path, "6.1.0-test")
    write(root.proc_modules, PROC)
    write(root.sys_module / "printk" / "parameters" / "time", "Y\n")  # built-in holder
    write(root.modules_file("modules.builtin"), "kernel/crypto/crc32c_generic.ko\n")
    return root


def test_refusals_in_rmmods_words(tmp_path: Path) -> None:
    root = tree(tmp_path)
    words = {m: (r.message if (r := unload_refusal(root, m)) else None)
             for m in ("xts", "busy", "nope", "printk", "crc32c-generic", "camellia_x86_64")}
    assert words == {
        "xts": "Module xts is in use by: camellia_x86_64",
        "busy": "Module busy is in use",
        "nope": "Module nope is not currently loaded",
        "printk": "Module printk is builtin.",
        "crc32c-generic": "Module crc32c_generic is builtin.",
        "camellia_x86_64": None,
    }
    assert unload_refusal(root, "xts", force=True) is None
    assert unload_refusal(root, "nope", force=True) is not None  # forcing needs it loaded


def test_the_order_is_kmods() -> None:
    """built-in, then not loaded, then holders, then the reference count."""
    assert refusal("m", builtin=True, loaded=True, holders=["a"], refcount=3).reason \
        is Reason.BUILTIN
    assert refusal("m", builtin=False, loaded=False, holders=["a"], refcount=3).reason \
        is Reason.NOT_LOADED
    assert refusal("m", builtin=False, loaded=True, holders=["a"], refcount=3).reason \
        is Reason.HOLDERS
    assert refusal("m", builtin=False, loaded=True, refcount=3).reason is Reason.IN_USE
    assert refusal("m", builtin=False, loaded=True, refcount=None) is None


def test_no_module_support_leaves_it_to_the_kernel(tmp_path: Path) -> None:
    assert unload_refusal(Root(tmp_path, "x"), "anything") is None


def test_a_record_gets_the_same_verdict() -> None:
    record = ModuleRecord(name="jbd2", state=ModuleState.LOADED, refcount=1, holders=["ext4"])
    verdict = refusal_for_record(record)
    assert verdict is not None and verdict.holders == ("ext4",)
    builtin = ModuleRecord(name="crc32c_generic", state=ModuleState.BUILTIN)
    assert refusal_for_record(builtin).reason is Reason.BUILTIN  # type: ignore[union-attr]


def test_index_staleness(tmp_path: Path) -> None:
    root = Root(tmp_path, "6.1.0-test")
    module = write(root.modules_dir / "kernel" / "m.ko", b"\x7fELF")
    assert not index_is_stale(root, [module])           # no index: nothing to rebuild
    dep = write(root.modules_file("modules.dep"), "kernel/m.ko:\n")
    past = time.time() - 100
    os.utime(module, (past, past))
    assert not index_is_stale(root, [module, tmp_path / "gone.ko"])
    os.utime(dep, (past - 100, past - 100))
    assert index_is_stale(root, [module])
