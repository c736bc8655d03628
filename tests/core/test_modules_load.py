"""modules-load.d: systemd's rules (override, masking, comments) and the kernel command line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kmgtest.treefiles import write

from kmodgui.core.modules_load import ModulesLoad
from kmodgui.core.paths import MODULES_LOAD_DIRS, Root
from kmodgui.core.records import Setting, Source


@pytest.fixture
def tree(tmp_path: Path) -> Root:
    etc, run, local, usr, _ = (tmp_path / d for d in MODULES_LOAD_DIRS)
    write(etc / "b-override.conf", "from-etc\n")
    write(usr / "b-override.conf", "from-usr\n")
    write(usr / "a-first.conf", "# comment\n; also a comment\n\n  loop  \nsnd-aloop\n#x\n")
    write(run / "c-run.conf", "vfio_pci\n")
    write(local / "d-local.conf", "nbd\n")
    write(usr / "e-masked.conf", "masked-module\n")
    os.symlink("/dev/null", etc / "e-masked.conf")
    write(usr / "f-empty-mask.conf", "hidden-by-empty\n")
    write(etc / "f-empty-mask.conf", "")
    write(usr / "notes.txt", "not-a-conf\n")
    write(usr / ".hidden.conf", "hidden\n")
    (usr / "g-dir.conf").mkdir()
    os.symlink("/nonexistent", usr / "h-broken.conf")
    write(usr / "i-binary.conf", b"bin\0ary\n")
    write(tmp_path / "proc/cmdline",
          "quiet modules_load=dummy,,veth modules-load=tun rd.modules_load=initrd_only\n")
    return Root(tmp_path, "1.0")


def test_files_entries_and_sources(tree: Root) -> None:
    load = ModulesLoad.load(tree)
    names = [Path(f).name for f in load.files]
    assert names == ["a-first.conf", "b-override.conf", "c-run.conf", "d-local.conf",
                     "i-binary.conf"]
    assert str(tree.path("/etc/modules-load.d/b-override.conf")) in load.files
    assert load.modules == ["loop", "snd-aloop", "from-etc", "vfio_pci", "nbd",
                            "dummy", "veth", "tun"]
    first = tree.path("/usr/lib/modules-load.d/a-first.conf")
    assert load.entries[0].source == Source(str(first), 4)
    assert [e.module for e in load.entries if e.initrd_only] == ["initrd_only"]
    assert sorted(Path(m).name for m in load.masked) == ["e-masked.conf", "f-empty-mask.conf"]


def test_strange_files_are_warnings(tree: Root) -> None:
    warnings = "\n".join(ModulesLoad.load(tree).warnings)
    assert "g-dir.conf: a directory" in warnings
    assert "h-broken.conf: broken link" in warnings
    assert "i-binary.conf: contains NUL bytes" in warnings


def test_settings_for_a_module(tree: Root) -> None:
    load = ModulesLoad.load(tree)
    first = tree.path("/usr/lib/modules-load.d/a-first.conf")
    assert load.settings_for("snd_aloop") == [Setting("load", "snd-aloop", Source(str(first), 5))]
    assert load.settings_for("initrd_only") == []
    assert load.settings_for("ext4") == []


def test_no_directories_no_entries(tmp_path: Path) -> None:
    load = ModulesLoad.load(Root(tmp_path, "1.0"))
    assert (load.entries, load.files, load.warnings) == ([], [], [])
