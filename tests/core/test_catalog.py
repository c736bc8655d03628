"""The catalog on the real kernel tree, its live state and its per-user cache."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kmodgui.core import modcache
from kmodgui.core.catalog import load_catalog, quick_catalog, refresh_live
from kmodgui.core.paths import Root
from kmodgui.core.records import ModuleState


def modinfo_field(root: Root, name: str, field: str) -> list[str]:
    out = subprocess.run(["modinfo", "-b", str(root.base), "-k", root.release, "-F", field,
                          name], capture_output=True, text=True, check=True).stdout
    return out.splitlines()


def test_every_installed_and_builtin_module_has_a_record(kernel_root: Root) -> None:
    catalog = load_catalog(kernel_root)
    dep_names = {Path(line.split(":")[0]).name.split(".")[0].replace("-", "_")
                 for line in kernel_root.modules_file("modules.dep").read_text().splitlines()}
    builtin = {Path(line).name.split(".")[0].replace("-", "_")
               for line in kernel_root.modules_file("modules.builtin").read_text().splitlines()}
    assert dep_names <= catalog.records.keys()
    assert builtin <= catalog.records.keys()
    assert all(catalog.records[n].state == ModuleState.AVAILABLE for n in dep_names)
    assert all(catalog.records[n].state == ModuleState.BUILTIN for n in builtin - dep_names)
    assert catalog.warnings == []


@pytest.mark.parametrize("name", ["dummy", "xts", "e1000e", "btrfs", "snd_hda_intel", "fuse"])
def test_records_agree_with_modinfo(kernel_root: Root, name: str) -> None:
    catalog = load_catalog(kernel_root)
    record = catalog.get(name)
    assert record is not None
    assert [record.description] == (modinfo_field(kernel_root, name, "description") or [""])
    assert record.aliases == modinfo_field(kernel_root, name, "alias")
    assert record.firmware == modinfo_field(kernel_root, name, "firmware")
    assert [record.signer] == modinfo_field(kernel_root, name, "signer")
    assert sorted(record.depends) == sorted(
        d.replace("-", "_")
        for line in modinfo_field(kernel_root, name, "depends") for d in line.split(",") if d)
    parm_names = {line.split(":")[0] for line in modinfo_field(kernel_root, name, "parm")}
    assert {p.name for p in record.parameters} >= parm_names
    for dep in record.depends:
        assert name in catalog.records[dep].required_by


def test_builtin_records_carry_builtin_modinfo(kernel_root: Root) -> None:
    catalog = load_catalog(kernel_root)
    builtin = [r for r in catalog.records.values() if r.state == ModuleState.BUILTIN]
    described = [r for r in builtin if r.description]
    assert described, "modules.builtin.modinfo gave no description to any built-in module"
    sample = described[0]
    assert [sample.description] == modinfo_field(kernel_root, sample.name, "description")


def make_tree(tmp_path: Path, kernel_root: Root, modules: list[str]) -> Root:
    """A small writable tree: copies of a few real modules, re-indexed by depmod."""
    release = kernel_root.release
    target = tmp_path / "tree"
    mod_dir = target / "lib/modules" / release
    mod_dir.mkdir(parents=True)
    for name in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        shutil.copy2(kernel_root.modules_file(name), mod_dir / name)
    for rel in modules:
        dst = mod_dir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(kernel_root.modules_dir / rel, dst)
    subprocess.run(["depmod", "-b", str(target), release], check=True)
    return Root(target, release)


CRYPTO = ["kernel/crypto/xts.ko", "kernel/drivers/net/dummy.ko"]


def test_cache_is_used_refreshed_and_never_trusted_when_corrupt(
        tmp_path: Path, kernel_root: Root, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_tree(tmp_path, kernel_root, CRYPTO)
    first = load_catalog(root)
    store = modcache.cache_file(root)
    assert store.is_file()
    assert first.get("dummy").description == ""  # dummy has none; xts has one
    assert first.get("xts").description

    reads: list[str] = []
    real_read = modcache.read_module_info
    monkeypatch.setattr(modcache, "read_module_info",
                        lambda p: reads.append(str(p)) or real_read(p))
    load_catalog(root)
    assert reads == []  # warm: no module file opened

    # A changed module file is read again (and only that one).
    dummy = root.modules_dir / "kernel/drivers/net/dummy.ko"
    os.utime(dummy, ns=(1, 1))
    load_catalog(root)
    assert reads == [str(dummy)]

    # A corrupt cache is discarded and rebuilt, never trusted.
    for garbage in (b"\x00\xffnot json", b'{"format": 2, "release": "%s", "files": '
                    b'{"x": [[1, 2, 3], {"description": 5}]}}' % root.release.encode(),
                    json.dumps({"format": 2, "release": root.release, "files": {
                        str(dummy): [[0, 0, 0], {"description": "forged"}]}}).encode()):
        store.write_bytes(garbage)
        reads.clear()
        catalog = load_catalog(root)
        assert catalog.get("xts").description == first.get("xts").description
        assert catalog.get("dummy").description == ""
        assert len(reads) == 2
        assert json.loads(store.read_bytes())["format"] == modcache.FORMAT


def test_a_forged_cache_entry_with_the_right_identity_is_type_checked(
        tmp_path: Path, kernel_root: Root) -> None:
    root = make_tree(tmp_path, kernel_root, CRYPTO)
    load_catalog(root)
    store = modcache.cache_file(root)
    data = json.loads(store.read_bytes())
    for entry in data["files"].values():
        entry[1]["alias"] = "not a list"
    store.write_text(json.dumps(data))
    catalog = load_catalog(root)
    assert catalog.get("dummy").aliases == ["rtnl-link-dummy"]


def write_live_state(base: Path) -> None:
    (base / "proc").mkdir(exist_ok=True)
    (base / "proc/modules").write_text(
        "hello 16384 0 - Live 0x0000000000000000 (OE)\n"
        "dummy 16384 0 - Live 0x0000000000000000\n"
        "xts 16384 1 camellia_x86_64, Live 0x0000000000000000\n")
    for name, holders in (("dummy", []), ("xts", ["camellia_x86_64"]), ("hello", [])):
        directory = base / "sys/module" / name
        (directory / "holders").mkdir(parents=True)
        for holder in holders:
            (directory / "holders" / holder).symlink_to(f"../../{holder}")
        (directory / "initstate").write_text("live\n")
    params = base / "sys/module/dummy/parameters"
    params.mkdir()
    (params / "numdummies").write_text("2\n")
    params.joinpath("numdummies").chmod(0o444)


def test_live_state_is_joined_and_refreshed(tmp_path: Path, kernel_root: Root) -> None:
    root = make_tree(tmp_path, kernel_root, CRYPTO)
    write_live_state(root.base)
    catalog = load_catalog(root)
    hello, dummy, xts = catalog.get("hello"), catalog.get("dummy"), catalog.get("xts")
    assert hello.state == ModuleState.EXTERNAL and hello.taint == "OE"
    assert dummy.state == ModuleState.LOADED and dummy.load_order == 1
    assert xts.holders == ["camellia_x86_64"] and xts.refcount == 1
    numdummies = next(p for p in dummy.parameters if p.name == "numdummies")
    assert (numdummies.value, numdummies.type, numdummies.writable) == ("2", "int", False)
    assert [r.name for r in catalog.ordered()[:3]] == ["hello", "dummy", "xts"]

    (root.base / "proc/modules").write_text("xts 16384 0 - Live 0x0000000000000000\n")
    changed = refresh_live(catalog)
    assert changed == {"hello", "dummy", "xts"}
    assert catalog.get("dummy").state == ModuleState.AVAILABLE
    assert catalog.get("hello").state == ModuleState.EXTERNAL  # still known, not loaded
    assert catalog.get("xts").load_order == 0


def test_configuration_in_effect_with_sources(tmp_path: Path, kernel_root: Root) -> None:
    root = make_tree(tmp_path, kernel_root, CRYPTO)
    conf = root.base / "etc/modprobe.d"
    conf.mkdir(parents=True)
    (conf / "a.conf").write_text("# comment\noptions dummy numdummies=3\nblacklist xts\n")
    (root.base / "etc/modules-load.d").mkdir(parents=True)
    (root.base / "etc/modules-load.d/net.conf").write_text("; comment\ndummy\n")
    record = load_catalog(root).get("dummy")
    kinds = {(s.kind, s.value, str(s.source)) for s in record.settings}
    assert ("options", "numdummies=3", f"{conf}/a.conf:2") in kinds
    assert ("load", "dummy", f"{root.base}/etc/modules-load.d/net.conf:2") in kinds
    assert load_catalog(root).get("xts").blacklisted
    assert record.load_at_boot


def test_quick_catalog_opens_no_module_file(kernel_root: Root,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: object) -> None:
        raise AssertionError(f"quick catalog read {path}")

    monkeypatch.setattr(modcache, "read_module_info", refuse)
    catalog = quick_catalog(kernel_root)
    assert len(catalog.records) > 4000
    assert catalog.get("nf_nat").depends == ["nf_conntrack"]


def test_builtin_parameters_show_live_values(tmp_path: Path, kernel_root: Root) -> None:
    root = make_tree(tmp_path, kernel_root, CRYPTO)
    catalog = load_catalog(root)
    builtin = next(r for r in catalog.records.values()
                   if r.state == ModuleState.BUILTIN and r.parameters)
    param = builtin.parameters[0]
    directory = root.base / "sys/module" / builtin.name / "parameters"
    directory.mkdir(parents=True)
    (directory / param.name).write_text("42\n")
    (directory / param.name).chmod(0o644)
    again = load_catalog(root).get(builtin.name)
    live = next(p for p in again.parameters if p.name == param.name)
    assert (live.value, live.writable, live.type) == ("42", True, param.type)


def test_softdep_patterns_and_first_line_rule(tmp_path: Path, kernel_root: Root) -> None:
    """kmod uses the first softdep line whose pattern matches; later ones change nothing."""
    root = make_tree(tmp_path, kernel_root, CRYPTO)
    conf = root.base / "etc/modprobe.d"
    conf.mkdir(parents=True)
    (conf / "a.conf").write_text("softdep dumm* pre: xts\nsoftdep dummy post: xts\n"
                                 "alias my-net dummy\n")
    record = load_catalog(root).get("dummy")
    assert (record.softdep_pre, record.softdep_post) == (["xts"], [])
    assert ("alias", "my_net") in {(s.kind, s.value) for s in record.settings}
