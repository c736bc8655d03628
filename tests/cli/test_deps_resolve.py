"""``kmodgui deps --show-depends`` and ``kmodgui resolve`` against modprobe on the real tree."""

from __future__ import annotations

import json
import os
import random
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from kmgtest.aliases import concrete

from kmodgui.cli import main
from kmodgui.core.installed import read_alias, read_builtin, read_dep, read_symbols
from kmodgui.core.paths import Root


def modprobe(root: Root, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["modprobe", "-C", str(config), "-d", str(root.base),
                           "-S", root.release, *args], capture_output=True, text=True)


def kmodgui(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def no_config(tmp_path: Path) -> Path:
    return tmp_path / "no-modprobe.d"   # -C to a missing path: no configuration at all


def test_show_depends_for_every_module(kernel_root: Root, no_config: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """All ~4000 modules: modprobe once per module (in parallel), kmodgui once for all."""
    names = sorted(read_dep(kernel_root))
    assert len(names) > 4000
    with ThreadPoolExecutor(max_workers=2 * (os.cpu_count() or 2)) as pool:
        expected = list(pool.map(
            lambda n: modprobe(kernel_root, no_config, "--show-depends", n).stdout, names))
    status, out, _ = kmodgui(capsys, "deps", "-b", str(kernel_root.base), "-k",
                             kernel_root.release, "-C", str(no_config), "--show-depends", *names)
    assert status == 0
    if out != "".join(expected):
        rest = out
        for name, text in zip(names, expected, strict=True):
            assert rest.startswith(text), f"first difference at module {name}"
            rest = rest[len(text):]
    assert out == "".join(expected)




def alias_set(root: Root) -> list[str]:
    rng = random.Random(2024)
    patterns = [p for p, _ in read_alias(root)]
    by_kind: dict[str, list[str]] = {}
    for pattern in patterns:
        by_kind.setdefault(pattern.split(":", 1)[0] if ":" in pattern else
                           pattern.split("-", 1)[0], []).append(pattern)
    aliases = []
    for group in by_kind.values():
        for pattern in rng.sample(group, min(len(group), 150)):
            aliases.append(concrete(pattern, rng))
    aliases += [p for p in patterns if p.startswith(("rtnl-link-", "char-major-", "fs-",
                                                     "net-pf-", "crypto-", "block-major-"))]
    aliases += [s for s, _ in rng.sample(read_symbols(root), 300)]
    names = sorted(read_dep(root))
    aliases += [n.replace("_", "-") for n in rng.sample(names, 300)]
    aliases += rng.sample(read_builtin(root), 40)
    aliases += ["nosuch", "symbol:nope", "pci:v0000FFFFd0000FFFFsv0sd0bc0sc0i0", "fs-nope",
                "a]b", "[x", "x[", "char-major-999-999", "snd-hda-intel", "crc32", "crc32c"]
    return aliases


def test_resolve_many_aliases_in_one_process(kernel_root: Root, no_config: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """PCI/USB/... modaliases built from modules.alias, rtnl-link-*, char-major-*, fs-*,
    symbol:*, dashed names, built-ins and unknown names: same output as ``modprobe -a -R``."""
    aliases = alias_set(kernel_root)
    assert len(aliases) > 2000
    expected = modprobe(kernel_root, no_config, "-a", "-R", *aliases)
    status, out, err = kmodgui(capsys, "resolve", "-b", str(kernel_root.base), "-k",
                               kernel_root.release, "-C", str(no_config), *aliases)
    assert out == expected.stdout
    assert status == expected.returncode == 1
    assert err.count("not found in directory") == expected.stderr.count("not found in directory")
    assert len(expected.stdout.splitlines()) > 1500


@pytest.mark.parametrize("alias", ["snd-hda-intel", "crc32c", "nosuch", "a]b", "symbol:nope"])
def test_resolve_exit_status_of_one_alias(kernel_root: Root, no_config: Path,
                                          capsys: pytest.CaptureFixture[str], alias: str) -> None:
    expected = modprobe(kernel_root, no_config, "-R", alias)
    status, out, err = kmodgui(capsys, "resolve", "-b", str(kernel_root.base), "-k",
                               kernel_root.release, "-C", str(no_config), alias)
    assert (status, out) == (expected.returncode, expected.stdout)
    if status:
        assert f"Module {alias} not found in directory {kernel_root.modules_dir}" in err
        assert f"Module {alias} not found in directory {kernel_root.modules_dir}" in expected.stderr


def test_deps_text_and_json(kernel_root: Root, no_config: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    common = ["-b", str(kernel_root.base), "-k", kernel_root.release, "-C", str(no_config)]
    status, out, _ = kmodgui(capsys, "deps", *common, "ext4")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "'modprobe ext4' inserts, in this order:"
    assert [line.split()[1] for line in lines[1:7]] == [
        "crc32c_intel", "crc32c_generic", "jbd2", "mbcache", "crc16", "ext4"]
    assert lines[-1] == "Modules that depend on ext4: none"
    status, out, _ = kmodgui(capsys, "deps", *common, "--json", "jbd2")
    report = json.loads(out)
    assert report["matches"] == ["jbd2"]
    assert report["load_order"][-1]["relative_path"] == "kernel/fs/jbd2/jbd2.ko"
    assert "ext4" in report["required_by"]["jbd2"]
    status, out, err = kmodgui(capsys, "deps", *common, "no-such-module")
    assert status == 1 and out == ""
    assert "Module no-such-module not found in directory" in err


def test_resolve_100_modaliases_in_one_call(kernel_root: Root, no_config: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The benchmark's shape (benchmarks/ times it against 100 modprobe runs): 100 device
    modaliases in one call each get an answer."""
    rng = random.Random(5)
    patterns = [p for p, _ in read_alias(kernel_root) if p.startswith(("pci:", "usb:"))]
    aliases = [concrete(p, rng) for p in rng.sample(patterns, 100)]
    _, out, _ = kmodgui(capsys, "resolve", "-b", str(kernel_root.base), "-k",
                        kernel_root.release, "-C", str(no_config), *aliases)
    assert out.count("\n") >= 100
