"""``modules.builtin.modinfo``: kmod's first-contiguous-block rule, on the real kernel and on
crafted trees indexed by the real ``depmod``, compared with the real ``modinfo``."""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import pytest
from kmgtest.fixtures_ko import simple_module

from kmodgui.cli.info import info
from kmodgui.core.builtin_modinfo import (
    FILE_NAME,
    BuiltinModinfoError,
    builtin_blocks,
    iter_blocks,
    read_builtin_modinfo,
)
from kmodgui.core.names import module_name_from_path
from kmodgui.core.paths import Root

RELEASE = "9.9.9-test"


def modinfo(args: list[str]) -> tuple[bytes, bytes, int]:
    proc = subprocess.run(["modinfo", *args], capture_output=True)
    return proc.stdout, proc.stderr, proc.returncode


def same_as_modinfo(names: list[str], base: Path | str, release: str, *options: str) -> None:
    """Our in-process ``info`` prints exactly what ``modinfo`` prints (out, err, status)."""
    field = None
    null = "-0" in options
    if "-p" in options:
        field = "parm"
    if "-F" in options:
        field = options[options.index("-F") + 1]
    ours = info(names, basedir=str(base), release=release, field_name=field, null=null,
                modname="-m" in options)
    theirs = modinfo(["-b", str(base), "-k", release, *options, *names])
    assert (bytes(ours.stdout), ours.stderr_bytes, ours.status) == theirs


def make_tree(base: Path, builtin: list[str], modinfo_bytes: bytes | None) -> Root:
    release_dir = base / "lib" / "modules" / RELEASE
    release_dir.mkdir(parents=True)
    (release_dir / "modules.builtin").write_text("".join(f"kernel/x/{n}.ko\n" for n in builtin))
    (release_dir / "modules.order").write_text("")
    if modinfo_bytes is not None:
        (release_dir / FILE_NAME).write_bytes(modinfo_bytes)
    # one real module with an alias, so that depmod's indexes are not empty
    (release_dir / "kernel").mkdir()
    (release_dir / "kernel" / "real.ko").write_bytes(
        simple_module("real", "license=GPL", "alias=real-alias", "name=real"))
    subprocess.run(["depmod", "-b", str(base), RELEASE], check=True, capture_output=True)
    return Root(base, RELEASE)


def test_iter_blocks_follows_kmod() -> None:
    data = b"a.x=1\0a.y=2\0b.z=3\0a.late=4\0nodot\0c.w=5\0"
    assert list(iter_blocks(data)) == [(b"a", [b"x=1", b"y=2"]), (b"b", [b"z=3"]),
                                       (b"a", [b"late=4"])]
    assert builtin_blocks(data) == {"a": [("x", "1"), ("y", "2")], "b": [("z", "3")]}
    assert list(iter_blocks(b"a.x=1\0a.unterminated")) == [(b"a", [b"x=1"])]


def test_crafted_tree_equals_modinfo(tmp_path: Path) -> None:
    data = (b"alpha.license=GPL\0alpha.parm=x:an x\0alpha.parmtype=x:int\0"
            b"beta.alias=b1\0beta.noequals\0beta.=empty key\0"
            b"alpha.description=second block, never seen\0"
            b"gamma.averyveryverylongkeyname=v\0")
    root = make_tree(tmp_path, ["alpha", "beta", "gamma", "delta"], data)
    assert read_builtin_modinfo(root, "alpha") == [("license", "GPL"), ("parm", "x:an x"),
                                                    ("parmtype", "x:int")]
    assert read_builtin_modinfo(root, "delta") is None
    names = ["alpha", "beta", "gamma", "delta", "b1", "nosuch"]
    same_as_modinfo(names, tmp_path, RELEASE)
    same_as_modinfo(names, tmp_path, RELEASE, "-0")
    same_as_modinfo(names, tmp_path, RELEASE, "-p")
    same_as_modinfo(names, tmp_path, RELEASE, "-m")
    for field in ("name", "filename", "alias", "license", ""):
        same_as_modinfo(names, tmp_path, RELEASE, "-F", field)


def test_missing_file_is_an_old_kernel_not_an_error(tmp_path: Path) -> None:
    root = make_tree(tmp_path, ["alpha"], None)
    with pytest.raises(BuiltinModinfoError) as exc:
        read_builtin_modinfo(root, "alpha")
    assert exc.value.errno == errno.ENOENT
    same_as_modinfo(["alpha"], tmp_path, RELEASE)
    result = info(["alpha"], basedir=str(tmp_path), release=RELEASE)
    assert result.status == 0 and bytes(result.stdout).startswith(b"name:           alpha\n")


def test_string_without_module_prefix_ends_the_walk(tmp_path: Path) -> None:
    """kmod stops there too, but then prints bytes from uninitialised memory for the
    block before it (and logs libkmod's source line); we print the block, and agree
    with modinfo's own message and status."""
    make_tree(tmp_path, ["alpha", "beta"], b"alpha.license=GPL\0nodot\0beta.alias=b\0")
    ours = info(["alpha", "beta"], basedir=str(tmp_path), release=RELEASE)
    assert bytes(ours.stdout) == (b"name:           alpha\nfilename:       (builtin)\n"
                                  b"license:        GPL\n"
                                  b"name:           beta\nfilename:       (builtin)\n")
    _, err, status = modinfo(["-b", str(tmp_path), "-k", RELEASE, "alpha", "beta"])
    assert ours.status == status == 1
    assert err.endswith(ours.stderr_bytes)
    assert ours.stderr_bytes == (b"modinfo: ERROR: could not get modinfo from 'beta': "
                                 b"Function not implemented\n")


def test_every_builtin_module_of_the_real_kernel(kernel_root: Root) -> None:
    names = [module_name_from_path(line) for line in
             kernel_root.modules_file("modules.builtin").read_text().split()]
    data = kernel_root.modules_file(FILE_NAME).read_bytes()
    blocks = builtin_blocks(data)
    assert len(names) > 150 and len(blocks) > 200
    for name in names[:40]:
        assert read_builtin_modinfo(kernel_root, name) == blocks.get(name)
    # block names that are no built-in module (kernel parameters such as printk) too
    names += sorted(set(blocks) - set(names))
    same_as_modinfo(names, kernel_root.base, kernel_root.release)
    same_as_modinfo(names, kernel_root.base, kernel_root.release, "-p")
    same_as_modinfo(names, kernel_root.base, kernel_root.release, "-F", "description")
