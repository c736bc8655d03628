"""Lookup: kmod's precedence, ``modprobe -R`` and ``--show-depends`` with configuration."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from kmodgui.core.errors import ModuleNotFound
from kmodgui.core.installed import read_alias, read_builtin, read_dep
from kmodgui.core.lookup import Lookup, ModuleMatch
from kmodgui.core.modprobe_config import ModprobeConfig
from kmodgui.core.names import InvalidAlias, normalize_alias
from kmodgui.core.paths import Root

SCENARIO = r"""
alias crc32 dummy
alias my-disk-* ext4
alias my-disk-fast xfs
alias cfg-only not-installed-module
alias to-builtin crc32-generic
install fakemod /bin/true
install dummy /bin/echo installing dummy $CMDLINE_OPTS
remove only-remove /bin/true
options dummy numdummies=2
options my_disk_x from_alias=1
options loop max_loop=8
options ext4 a=1
options ext4 b=2
softdep ext4 pre: xfs post: btrfs
softdep xfs post: ext4
softdep loop pre: dummy
softdep nbd pre: no-such-softdep loop
softdep snd_* pre: soundcore
blacklist e1000e
blacklist xfs
install bonding /bin/false
softdep bonding pre: dummy
softdep zram post: nbd
softdep nbd post: zram
options fs-ext4 via_alias=1
options crc32 via_config_alias=1
"""


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("modprobe.d")
    (directory / "scenario.conf").write_text(SCENARIO)
    return directory


@pytest.fixture(scope="module")
def lookup(kernel_root: Root, config_dir: Path) -> Lookup:
    # the host's /proc/cmdline is what modprobe reads; read the same one
    root = kernel_root
    config = ModprobeConfig.load(root, [config_dir], kernel_cmdline=False)
    host = ModprobeConfig.load(Root(Path("/"), root.release), [config_dir / "none"])
    config.entries += [e for e in host.entries if e.source.file == "/proc/cmdline"]
    return Lookup(root, config)


def modprobe(root: Root, config_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["modprobe", "-C", str(config_dir), "-d", str(root.base),
                           "-S", root.release, *args], capture_output=True, text=True)


def test_precedence(lookup: Lookup, kernel_root: Root) -> None:
    modules = str(kernel_root.modules_dir)
    # a modprobe.d alias beats the module name, modules.alias and the built-in name
    dummy = ModuleMatch("dummy", Path(modules, "kernel/drivers/net/dummy.ko"), False)
    assert lookup.find("crc32") == [dummy]
    # a real module name beats modules.alias
    assert [m.name for m in lookup.find("ext4")] == ["ext4"]
    assert [m.name for m in lookup.find("symbol:jbd2_journal_start")] == ["jbd2"]
    assert lookup.find("fakemod") == [ModuleMatch("fakemod", None, False)]
    assert lookup.find("only-remove") == [ModuleMatch("only_remove", None, False)]
    assert lookup.find("af-packet") == [ModuleMatch("af_packet", None, True)]   # built-in name
    assert lookup.find("net-pf-16-proto-11") == [ModuleMatch("cn", None, True)]  # built-in alias
    assert [m.name for m in lookup.find("crc32c")] == ["crc32c_intel", "crc32c_generic"]
    assert lookup.find("cfg-only") == [ModuleMatch("not_installed_module", None, False)]
    assert lookup.find("nothing-at-all") == []
    assert lookup.find("bad]alias") == [] and lookup.find("[unterminated") == []


NAMES = ["crc32", "af-packet", "ext4", "my-disk-fast", "my-disk-x", "symbol:jbd2_journal_start",
         "fakemod", "only-remove", "crc32-generic", "net-pf-16-proto-11", "crc32c", "cfg-only",
         "to-builtin", "nothing-at-all", "bad]alias", "[x", "snd-hda-intel", "fs-ext4",
         "pci:v00008086d000010D3sv00008086sd00000000bc02sc00i00", "char-major-10-229",
         "e1000e", "xfs", "loop", "nbd", "zram", "snd-hda-codec", "bonding", "dummy",
         "crypto-crc32c"]


@pytest.mark.parametrize("name", NAMES)
def test_resolve_matches_modprobe_R(lookup: Lookup, kernel_root: Root, config_dir: Path,
                                    name: str) -> None:
    result = modprobe(kernel_root, config_dir, "-R", name)
    assert "".join(n + "\n" for n in lookup.resolve(name)) == result.stdout
    assert bool(lookup.resolve(name)) == (result.returncode == 0)


@pytest.mark.parametrize("name", NAMES)
def test_show_depends_matches_modprobe(lookup: Lookup, kernel_root: Root, config_dir: Path,
                                       name: str) -> None:
    """Softdep cycles, install commands, options, blacklisted aliases, built-ins."""
    result = modprobe(kernel_root, config_dir, "--show-depends", name)
    if result.returncode != 0:
        with pytest.raises(ModuleNotFound) as caught:
            lookup.dependency_order(name)
        assert caught.value.message in result.stderr
        return
    ours = "".join(step.show_line() + "\n" for step in lookup.dependency_order(name))
    assert ours == result.stdout


def test_blacklist_only_blocks_aliases(lookup: Lookup) -> None:
    assert lookup.dependency_order("pci:v00008086d000010D3sv00008086sd00000000bc02sc00i00") == []
    assert [s.name for s in lookup.dependency_order("e1000e")][-1] == "e1000e"


def test_softdep_disables_install_command(lookup: Lookup) -> None:
    """kmod ignores a module's install command once it has softdeps (bonding here)."""
    steps = {s.name: s for s in lookup.dependency_order("bonding")}
    assert steps["bonding"].action == "insmod"
    assert steps["dummy"].action == "install"


def test_required_by(lookup: Lookup) -> None:
    assert "ext4" in lookup.required_by("crc16")
    assert "ext4" in lookup.required_by("jbd2")
    assert lookup.required_by("ext4") == []
    assert lookup.required_by("no_such_module") == []


def test_alias_normalisation_is_kmods() -> None:
    assert normalize_alias("snd-hda-intel") == "snd_hda_intel"
    assert normalize_alias("a-[b-c]-d") == "a_[b-c]_d"     # dashes inside brackets stay
    for bad in ("a]b", "[ab", "x-[y"):
        with pytest.raises(InvalidAlias):
            normalize_alias(bad)


def test_unknown_release_is_not_a_crash(tmp_path: Path) -> None:
    lookup = Lookup(Root(tmp_path, "0.0"))
    assert lookup.find("ext4") == []
    with pytest.raises(ModuleNotFound, match="not found in directory"):
        lookup.dependency_order("ext4")


def _random_config(rng: random.Random, pool: list[str]) -> str:
    def name() -> str:
        chosen = rng.choice(pool)
        return chosen.replace("_", "-") if rng.random() < 0.3 else chosen

    lines = []
    for _ in range(rng.randint(3, 14)):
        kind = rng.choice(["softdep", "softdep", "install", "remove", "options", "alias",
                           "blacklist", "softdep-glob"])
        if kind == "softdep":
            words = [rng.choice(["pre:", "post:", name(), name()])
                     for _ in range(rng.randint(1, 5))]
            lines.append(f"softdep {name()} {' '.join(words)}")
        elif kind == "softdep-glob":
            lines.append(f"softdep {name()[:3]}* pre: {name()}")
        elif kind in ("install", "remove"):
            lines.append(f"{kind} {name()} /bin/true $CMDLINE_OPTS")
        elif kind == "options":
            lines.append(f"options {name()} x={rng.randint(0, 9)}")
        elif kind == "alias":
            lines.append(f"alias {name()}{rng.choice(['', '*', '-x'])} {name()}")
        else:
            lines.append(f"blacklist {name()}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(20))
def test_random_configurations_match_modprobe(kernel_root: Root, tmp_path: Path,
                                              seed: int) -> None:
    """Random softdeps, commands, options, aliases and blacklists over real module names."""
    rng = random.Random(seed)
    plain = [p for p, _ in read_alias(kernel_root) if not any(c in p for c in "*?[")]
    pool = [*rng.sample(sorted(read_dep(kernel_root)), 12),
            *rng.sample(read_builtin(kernel_root), 3), *rng.sample(plain, 4),
            "nosuch", "crypto-crc32c"]
    (tmp_path / "random.conf").write_text(_random_config(rng, pool))
    config = ModprobeConfig.load(kernel_root, [tmp_path], kernel_cmdline=False)
    host = ModprobeConfig.load(Root(Path("/"), kernel_root.release), [tmp_path / "none"])
    config.entries += [e for e in host.entries if e.source.file == "/proc/cmdline"]
    lookup = Lookup(kernel_root, config)
    for name in rng.sample(pool, 6):
        shown = modprobe(kernel_root, tmp_path, "--show-depends", name)
        if shown.returncode:
            with pytest.raises(ModuleNotFound):
                lookup.dependency_order(name)
        else:
            assert "".join(s.show_line() + "\n" for s in lookup.dependency_order(name)) == \
                shown.stdout, name
        resolved = modprobe(kernel_root, tmp_path, "-R", name)
        assert "".join(n + "\n" for n in lookup.resolve(name)) == resolved.stdout, name
