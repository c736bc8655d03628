"""The window's "Copy modinfo" text is kmod's modinfo output, for files and built-in modules."""

from __future__ import annotations

import subprocess

from kmodgui.core.installed import read_builtin
from kmodgui.core.modinfo import modinfo_text, record_text
from kmodgui.core.paths import Root
from kmodgui.core.records import ModuleRecord, ModuleState


def modinfo(root: Root, *args: str) -> str:
    return subprocess.run(["modinfo", "-b", str(root.base), "-k", root.release, *args],
                          capture_output=True, text=True, check=True).stdout


def test_a_module_file(kernel_root: Root) -> None:
    path = next(kernel_root.modules_dir.rglob("loop.ko*"))
    record = ModuleRecord(name="loop", state=ModuleState.AVAILABLE, path=str(path))
    assert modinfo_text(kernel_root, record) == modinfo(kernel_root, str(path))


def test_a_builtin_module(kernel_root: Root) -> None:
    name = read_builtin(kernel_root)[0]
    record = ModuleRecord(name=name, state=ModuleState.BUILTIN)
    assert modinfo_text(kernel_root, record) == modinfo(kernel_root, name)


def test_a_file_that_is_gone_falls_back_to_the_record(kernel_root: Root) -> None:
    record = ModuleRecord(name="gone", state=ModuleState.AVAILABLE, path="/nonexistent/gone.ko",
                          description="Gone module", depends=["a", "b"])
    text = modinfo_text(kernel_root, record)
    assert text == record_text(record)
    assert "filename:       /nonexistent/gone.ko\n" in text
    assert "description:    Gone module\n" in text and "depends:        a,b\n" in text
