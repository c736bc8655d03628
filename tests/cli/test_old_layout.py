"""Parity on a pre-5.2 layout: no ``modules.builtin.modinfo``, so the machine's depmod writes a
0-byte ``modules.builtin.alias.bin``. kmod reads a 0-byte index as no index; so does kmodgui,
and a name that is not there gets kmod's own "not found" message."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kmodgui.cli import main
from kmodgui.cli.info import info
from kmodgui.core.paths import Root

RELEASE = "4.19.0-old"
MODULES = ("loop", "dummy", "ext4", "jbd2", "mbcache", "crc16")
BUILTIN = ("kernel/crypto/crc32c_generic.ko", "kernel/fs/configfs/configfs.ko")
NAMES = ("loop", "ext4", "jbd2", "crc32c_generic", "configfs", "nope", "char-major-10-237",
         "fs-ext4", "fs-nope")


@pytest.fixture(scope="module")
def old_root(kernel_root: Root, tmp_path_factory: pytest.TempPathFactory) -> Root:
    """A few real modules in a tree without modules.builtin.modinfo, indexed by depmod."""
    base = tmp_path_factory.mktemp("old")
    root = Root(base, RELEASE)
    for name in MODULES:
        found = sorted(kernel_root.modules_dir.rglob(f"{name}.ko*"))
        if found:
            relative = found[0].relative_to(kernel_root.modules_dir)
            (root.modules_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(found[0], root.modules_dir / relative)
    root.modules_file("modules.builtin").write_text("".join(f"{b}\n" for b in BUILTIN))
    subprocess.run(["depmod", "-b", str(base), RELEASE], check=True, capture_output=True)
    empty = root.modules_file("modules.builtin.alias.bin")
    assert empty.is_file() and empty.stat().st_size == 0
    assert not root.modules_file("modules.builtin.modinfo").exists()
    return root


def kmodgui(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_info_is_modinfos(old_root: Root) -> None:
    for name in NAMES:
        ours = info([name], basedir=str(old_root.base), release=RELEASE)
        theirs = subprocess.run(["modinfo", "-b", str(old_root.base), "-k", RELEASE, name],
                                capture_output=True)
        assert (bytes(ours.stdout), ours.stderr_bytes, int(ours.status)) == \
            (theirs.stdout, theirs.stderr, theirs.returncode), name


@pytest.mark.parametrize(("command", "flag"), [("deps", "--show-depends"), ("resolve", "")])
def test_deps_and_resolve_are_modprobes(old_root: Root, tmp_path: Path, command: str, flag: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    no_config = tmp_path / "no-modprobe.d"
    for name in NAMES:
        theirs = subprocess.run(["modprobe", "-C", str(no_config), "-d", str(old_root.base),
                                 "-S", RELEASE, flag or "-R", name],
                                capture_output=True, text=True)
        status, out, err = kmodgui(capsys, command, "-b", str(old_root.base), "-k", RELEASE,
                                   "-C", str(no_config), *([flag] if flag else []), name)
        assert (status, out) == (theirs.returncode, theirs.stdout), name
        if theirs.returncode:
            message = theirs.stderr.removeprefix("modprobe: FATAL: ").splitlines()[0]
            assert err.splitlines()[0] == f"kmodgui: {message}", name
            assert "too short" not in err
