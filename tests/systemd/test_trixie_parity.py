"""Debian 13's kernel (6.12) and kmod 34 as a second real kernel for the core's parity:
``kmodgui info``, ``deps --show-depends`` and ``resolve`` against trixie's own modinfo
and modprobe, run with chroot in the guest image's root on its module tree.

kmod runs inside the root, so it prints ``/lib/modules/...``; kmodgui reads the same
tree from outside with ``-b ROOT``, so the root's path is taken off its output before
comparing. Everything else must be equal byte for byte.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
from kmgtest.aliases import concrete

from kmodgui.cli import main
from kmodgui.cli.info import info
from kmodgui.core.installed import read_alias, read_builtin, read_dep, read_symbols
from kmodgui.core.paths import Root

#: a configuration path that exists neither on the host nor in the root: no modprobe.d
NO_CONFIG = "/nonexistent/kmodgui-no-modprobe.d"


def in_root(root: Root, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run trixie's tool in its root (offline, nothing written)."""
    return subprocess.run(["chroot", str(root.base), *argv], capture_output=True, check=False,
                          input=stdin.encode() if stdin is not None else None)


def strip_root(root: Root, data: bytes | str) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    return raw.replace(str(root.base).encode(), b"")


def assert_same(ours: bytes, theirs: bytes, label: str) -> None:
    """Equal, or fail at the first differing line rather than with megabytes."""
    if ours == theirs:
        return
    for i, (x, y) in enumerate(zip(ours.split(b"\n"), theirs.split(b"\n"), strict=False)):
        assert x == y, f"{label} line {i}"
    assert ours == theirs, label


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_it_is_kmod_34_on_a_6_12_kernel(trixie_root: Root) -> None:
    version = in_root(trixie_root, "kmod", "--version").stdout.decode()
    assert version.startswith("kmod version 34"), version
    assert trixie_root.release.startswith("6.12."), trixie_root.release


def test_info_every_module_by_name(trixie_root: Root) -> None:
    names = sorted(read_dep(trixie_root))
    assert len(names) > 4000
    theirs = in_root(trixie_root, "modinfo", "-k", trixie_root.release, *names)
    ours = info(names, basedir=str(trixie_root.base), release=trixie_root.release)
    assert_same(strip_root(trixie_root, bytes(ours.stdout)), theirs.stdout, "stdout")
    assert_same(ours.stderr_bytes, theirs.stderr, "stderr")
    assert int(ours.status) == theirs.returncode


def test_info_every_module_file(trixie_root: Root) -> None:
    """By path: xz-compressed files (Debian 13 compresses its modules), signatures."""
    files = sorted(trixie_root.modules_dir.rglob("*.ko*"))
    assert len(files) > 4000
    inside = [f"/lib/modules/{trixie_root.release}/{f.relative_to(trixie_root.modules_dir)}"
              for f in files]
    theirs = in_root(trixie_root, "modinfo", *inside)
    ours = info([str(f) for f in files])
    assert_same(strip_root(trixie_root, bytes(ours.stdout)), theirs.stdout, "stdout")
    assert_same(ours.stderr_bytes, theirs.stderr, "stderr")
    assert int(ours.status) == theirs.returncode


def test_show_depends_for_every_module(trixie_root: Root,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """kmod 34's modprobe once per module (one shell in the root), kmodgui once for all."""
    names = sorted(read_dep(trixie_root))
    loop = ('while read -r m; do modprobe -C "$1" -S "$2" --show-depends "$m"; done')
    theirs = in_root(trixie_root, "sh", "-c", loop, "sh", NO_CONFIG, trixie_root.release,
                     stdin="\n".join(names) + "\n")
    status, out, _ = run_cli(capsys, "deps", "-b", str(trixie_root.base), "-k",
                             trixie_root.release, "-C", NO_CONFIG, "--show-depends", *names)
    assert status == 0
    assert len(theirs.stdout.splitlines()) > len(names)
    assert_same(strip_root(trixie_root, out), theirs.stdout, "stdout")




def aliases_of(root: Root) -> list[str]:
    rng = random.Random(2026)
    patterns = [p for p, _ in read_alias(root)]
    by_kind: dict[str, list[str]] = {}
    for pattern in patterns:
        kind = pattern.split(":", 1)[0] if ":" in pattern else pattern.split("-", 1)[0]
        by_kind.setdefault(kind, []).append(pattern)
    aliases = [concrete(p, rng) for group in by_kind.values()
               for p in rng.sample(group, min(len(group), 150))]
    aliases += [p for p in patterns if p.startswith(("rtnl-link-", "char-major-", "fs-",
                                                     "net-pf-", "crypto-", "block-major-"))]
    aliases += [s for s, _ in rng.sample(read_symbols(root), 300)]
    aliases += [n.replace("_", "-") for n in rng.sample(sorted(read_dep(root)), 300)]
    aliases += rng.sample(read_builtin(root), 40)
    aliases += ["nosuch", "symbol:nope", "fs-nope", "a]b", "[x", "x[", "snd-hda-intel"]
    return aliases


def test_resolve_many_aliases(trixie_root: Root, capsys: pytest.CaptureFixture[str]) -> None:
    """Modaliases from modules.alias, rtnl-link-*, fs-*, symbol:*, dashed names, built-ins
    and unknown names: the same answer as kmod 34's ``modprobe -a -R``."""
    aliases = aliases_of(trixie_root)
    assert len(aliases) > 2000
    theirs = in_root(trixie_root, "modprobe", "-C", NO_CONFIG, "-S", trixie_root.release,
                     "-a", "-R", *aliases)
    status, out, err = run_cli(capsys, "resolve", "-b", str(trixie_root.base), "-k",
                               trixie_root.release, "-C", NO_CONFIG, *aliases)
    assert_same(out.encode(), theirs.stdout, "stdout")
    assert status == theirs.returncode
    missing = b"not found in directory"
    assert err.encode().count(missing) == theirs.stderr.count(missing)
    assert len(theirs.stdout.splitlines()) > 1500


def test_paths_in_the_root_are_what_kmod_prints(trixie_root: Root) -> None:
    """The premise of strip_root: kmod 34 in trixie names modules under /lib/modules."""
    first = in_root(trixie_root, "modinfo", "-k", trixie_root.release, "-F", "filename",
                    "dummy").stdout.decode().strip()
    assert first == f"/lib/modules/{trixie_root.release}/kernel/drivers/net/dummy.ko.xz"
    assert Path(trixie_root.base, first.lstrip("/")).exists()
