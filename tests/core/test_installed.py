"""Readers of the installed index: text files, the .bin lookups, and the text fallback."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from kmodgui.core.errors import IndexFileError
from kmodgui.core.installed import (
    InstalledIndex,
    read_alias,
    read_builtin,
    read_dep,
    read_devname,
    read_order,
    read_softdep,
    read_symbols,
)
from kmodgui.core.lookup import Lookup
from kmodgui.core.modprobe_config import ModprobeConfig
from kmodgui.core.paths import Root

TEXT_FILES = ("modules.dep", "modules.alias", "modules.symbols", "modules.builtin",
              "modules.order", "modules.softdep", "modules.devname")


def test_text_readers(kernel_root: Root) -> None:
    deps = read_dep(kernel_root)
    order = read_order(kernel_root)
    assert len(order) == len(deps) > 4000
    assert {p.rsplit("/", 1)[-1].split(".")[0].replace("-", "_") for p in order} == set(deps)
    ext4 = deps["ext4"]
    assert ext4.path == "kernel/fs/ext4/ext4.ko"
    assert set(ext4.depends_names) == {"crc16", "mbcache", "jbd2"}
    assert ("fs-ext4", "ext4") in read_alias(kernel_root)
    assert ("symbol:jbd2_journal_start", "jbd2") in read_symbols(kernel_root)
    assert "af_packet" in read_builtin(kernel_root)
    assert ("ext4", "pre: crypto-crc32c") in read_softdep(kernel_root)
    devnames = {d.module: d for d in read_devname(kernel_root)}
    assert (devnames["fuse"].devname, devnames["fuse"].kind) == ("fuse", "c")
    assert (devnames["fuse"].major, devnames["fuse"].minor) == (10, 229)


def test_index_lookups(kernel_root: Root) -> None:
    index = InstalledIndex(kernel_root)
    entry = index.dep_line("ext4")
    assert entry is not None and entry.path == "kernel/fs/ext4/ext4.ko"
    assert index.dep_line("af_packet") is None
    assert index.is_builtin("af_packet") and not index.is_builtin("ext4")
    assert index.aliases("fs_ext4") == ["ext4"]
    assert index.symbol_owners("symbol:jbd2_journal_start") == ["jbd2"]
    assert index.builtin_aliases("net_pf_16_proto_11") == ["cn"]
    assert index.path_of("kernel/x.ko") == f"{kernel_root.modules_dir}/kernel/x.ko"
    assert index.path_of("/abs/x.ko") == "/abs/x.ko"
    assert index.warnings == []


def test_missing_files_are_errors_for_readers_and_empty_for_lookups(tmp_path: Path) -> None:
    root = Root(tmp_path, "1.0")
    with pytest.raises(IndexFileError, match="cannot read"):
        read_dep(root)
    index = InstalledIndex(root)
    assert index.dep_line("ext4") is None and index.aliases("x") == []


@pytest.fixture(scope="module")
def text_only_root(kernel_root: Root, tmp_path_factory: pytest.TempPathFactory) -> Root:
    """The real tree's text indexes without any .bin file (a depmod that stopped halfway)."""
    base = tmp_path_factory.mktemp("text-only")
    root = Root(base, kernel_root.release)
    root.modules_dir.mkdir(parents=True)
    for name in TEXT_FILES:
        os.symlink(kernel_root.modules_file(name), root.modules_file(name))
    os.symlink(kernel_root.modules_dir / "kernel", root.modules_dir / "kernel")
    return root


def test_text_fallback_answers_like_the_bin_files(kernel_root: Root, text_only_root: Root,
                                                  tmp_path: Path) -> None:
    config_dirs = [tmp_path / "none"]
    with_bin = Lookup(kernel_root, ModprobeConfig.load(kernel_root, config_dirs))
    text = Lookup(text_only_root, ModprobeConfig.load(text_only_root, config_dirs))
    rng = random.Random(11)
    names = [*rng.sample(sorted(read_dep(kernel_root)), 150), "af_packet", "crc32", "crc32c"]
    aliases = [p.replace("*", "0") for p, _ in rng.sample(read_alias(kernel_root), 150)]
    aliases += [s for s, _ in rng.sample(read_symbols(kernel_root), 50)]
    for name in names + aliases:
        assert text.resolve(name) == with_bin.resolve(name), name
    for name in names:
        ours = [s.show_line().replace(str(text_only_root.base), "")
                for s in text.dependency_order(name)]
        assert ours == [s.show_line().replace(str(kernel_root.base), "")
                        for s in with_bin.dependency_order(name)], name
    assert any("modules.dep.bin is missing" in w for w in text.index.warnings)


def test_an_empty_index_is_no_index(tmp_path: Path) -> None:
    """kmod reads a 0-byte ``.bin`` as absent: no error, no fallback to the text file."""
    root = Root(tmp_path, "4.19.0-old")
    root.modules_dir.mkdir(parents=True)
    root.modules_file("modules.builtin.alias.bin").write_bytes(b"")
    root.modules_file("modules.builtin.alias").write_text("alias fs-x x\n")
    index = InstalledIndex(root)
    assert index.builtin_aliases("fs-x") == [] and index.warnings == []
    root.modules_file("modules.builtin.bin").write_bytes(b"\0\0")  # damaged, not empty
    with pytest.raises(IndexFileError, match="too short"):
        index.is_builtin("x")
