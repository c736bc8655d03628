"""The guest tier's building blocks, checked on the host against kmod's and busybox's tools.

These run in seconds, so a broken initramfs, module tree or test module is
named here rather than found as a guest that never comes up.
"""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from harness import (
    BUSYBOX,
    GUEST_TREE_MODULES,
    INIT_SCRIPT,
    INITRAMFS_MODULES,
    GuestError,
    build_initramfs,
    guest_module_tree,
    module_closure,
)
from modbuild import alien_release

from kmodgui.core.paths import Root

MODPROBE = "/usr/sbin/modprobe"
MODINFO = "/usr/sbin/modinfo"


def _show_depends(root: Root, module: str) -> list[Path]:
    out = subprocess.run([MODPROBE, "-d", str(root.base), "-S", root.release,
                          "--show-depends", module],
                         capture_output=True, text=True, check=True).stdout
    return [Path(line.split()[1]).relative_to(root.modules_dir)
            for line in out.splitlines() if line.startswith("insmod ")]


@pytest.mark.parametrize("module", ["9p", "bridge", "9pnet_virtio", "virtio_pci"])
def test_module_closure_is_modprobes_order(kernel_root: Root, module: str) -> None:
    assert module_closure(kernel_root, (module,)) == _show_depends(kernel_root, module)


def test_module_closure_names_an_unknown_module(kernel_root: Root) -> None:
    with pytest.raises(GuestError, match="kmg_nonexistent"):
        module_closure(kernel_root, ("kmg_nonexistent",))


def test_initramfs_is_a_cpio_the_tools_read(kernel_root: Root, tmp_path: Path) -> None:
    image = build_initramfs(kernel_root, "/usr/bin/python3", Path("/stage2.py"),
                            tmp_path / "initramfs.gz")
    archive = tmp_path / "initramfs.cpio"
    archive.write_bytes(gzip.decompress(image.read_bytes()))
    listing = subprocess.run([str(BUSYBOX), "cpio", "-t", "-F", str(archive)],
                             capture_output=True, text=True, check=True).stdout.split()
    wanted = {p.name.split(".")[0] for p in module_closure(kernel_root, INITRAMFS_MODULES)}
    assert {"init", "bin/busybox", "modules/order", "kmgtest-python"} <= set(listing)
    assert {f"modules/{m}.ko" for m in wanted} <= set(listing)
    out = tmp_path / "x"
    out.mkdir()
    subprocess.run([str(BUSYBOX), "cpio", "-i", "-d", "-F", str(archive)], cwd=out, check=True,
                   capture_output=True)
    assert (out / "init").read_text() == INIT_SCRIPT
    order = (out / "modules" / "order").read_text().split()
    assert set(order) == wanted
    # Each module is inserted after everything it depends on.
    assert max(order.index("virtio"), order.index("virtio_ring")) < order.index("virtio_pci")
    assert order.index("9pnet") < order.index("9pnet_virtio")
    assert order.index("netfs") < order.index("fscache") < order.index("9p")


def test_guest_tree_is_indexed_by_depmod(kernel_root: Root, tmp_path: Path) -> None:
    tree = guest_module_tree(kernel_root, tmp_path)
    files = sorted(p.relative_to(tree.modules_dir) for p in tree.modules_dir.rglob("*.ko"))
    assert files == sorted(module_closure(kernel_root, GUEST_TREE_MODULES))
    assert _show_depends(tree, "bridge") == _show_depends(kernel_root, "bridge")
    assert (tree.modules_dir / "modules.dep.bin").stat().st_size > 0
    assert guest_module_tree(kernel_root, tmp_path) == tree  # built once


def test_test_modules_are_built_for_this_release(kernel_root: Root,
                                                 guest_modules: dict[str, Path]) -> None:
    for name in ("kmg_hello", "kmg_provider", "kmg_consumer", "kmg_fresh", "kmg_pinned"):
        vermagic = subprocess.run([MODINFO, "-F", "vermagic", str(guest_modules[name])],
                                  capture_output=True, text=True, check=True).stdout
        assert vermagic.startswith(f"{kernel_root.release} SMP ")
    parm = subprocess.run([MODINFO, "-F", "parm", str(guest_modules["kmg_hello"])],
                          capture_output=True, text=True, check=True).stdout
    assert parm.strip() == "count:How many greetings (int) (int)"
    depends = subprocess.run([MODINFO, "-F", "depends", str(guest_modules["kmg_consumer"])],
                             capture_output=True, text=True, check=True).stdout
    assert depends.strip() == "kmg_provider"


@pytest.mark.parametrize("name", ["kmg_alien", "kmg_alien_magic"])
def test_alien_modules_claim_another_release(kernel_root: Root, guest_modules: dict[str, Path],
                                             name: str) -> None:
    vermagic = subprocess.run([MODINFO, "-F", "vermagic", str(guest_modules[name])],
                              capture_output=True, text=True, check=True).stdout
    other = alien_release(kernel_root.release)
    assert other != kernel_root.release
    assert vermagic.startswith(f"{other} SMP ")
    with guest_modules[name].open("rb") as f, guest_modules["kmg_hello"].open("rb") as g:
        versions = ELFFile(f).get_section_by_name("__versions")
        original = ELFFile(g).get_section_by_name("__versions")
        assert original is not None
        if name == "kmg_alien":
            assert versions is not None and versions.data_size == original.data_size
            assert versions.data() != original.data()
        else:
            assert versions is None
