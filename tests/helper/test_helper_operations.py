"""Operations against the helper's temporary root: config files, sysfs writes, depmod, errors.

Configuration writes run as 'nobody' (the test rules grant module 'dummy');
the others run as root, whom polkit always authorises. The host kernel has no
module support, so loading is proven in the qemu tier; here its failures are.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kmgtest.tinyko import tiny_ko

from kmodgui.core.paths import Root

pytestmark = pytest.mark.bus

HEADER = "# Written by kmodgui for module dummy. Delete this file to undo these settings.\n"


def v(signature: str, value: Any) -> dict[str, Any]:
    return {"$v": [signature, value]}


def options(params: dict[str, str], module: str = "dummy") -> dict[str, Any]:
    return {"member": "SetPersistentOptions", "signature": "sa{ss}a{sv}",
            "body": [module, params, {}]}


def blacklist(mode: str, module: str = "dummy") -> dict[str, Any]:
    return {"member": "SetBlacklist", "signature": "ssa{sv}", "body": [module, mode, {}]}


def boot(enabled: bool, module: str = "dummy") -> dict[str, Any]:
    return {"member": "SetLoadAtBoot", "signature": "sba{sv}", "body": [module, enabled, {}]}


def files(reply: dict[str, Any]) -> list[str]:
    assert reply["type"] == "return", reply
    return reply["body"][0]["files"]["$v"][1]


def modprobe_c(config_dir: Path) -> list[str]:
    """kmod's own view of the written configuration (``modprobe -C DIR -c``)."""
    out = subprocess.run(["modprobe", "-C", str(config_dir), "-c"], capture_output=True,
                         text=True, check=True).stdout
    return [line for line in out.splitlines() if "dummy" in line]


def test_config_writes_land_exactly_and_are_removed(bus: Any) -> None:
    before = bus.snapshot()
    conf = bus.root / "etc" / "modprobe.d" / "kmodgui-dummy.conf"
    load_conf = bus.root / "etc" / "modules-load.d" / "kmodgui-dummy.conf"
    replies = bus.call(options({"numdummies": "2"}), blacklist("autoload"), blacklist("always"),
                       boot(True), boot(True))
    assert [files(r) for r in replies] == [[str(conf)], [str(conf)], [str(conf)],
                                           [str(load_conf)], []]
    assert conf.read_text() == (HEADER + "options dummy numdummies=2\nblacklist dummy\n"
                                "install dummy /bin/false\n")
    assert load_conf.read_text() == HEADER + "dummy\n"
    assert oct(conf.stat().st_mode & 0o777) == "0o644"
    assert modprobe_c(conf.parent) == ["blacklist dummy", "install dummy /bin/false",
                                       "options dummy numdummies=2"]
    changed = {k for k, data in bus.snapshot().items() if before.get(k) != data}
    assert changed == {"etc/modprobe.d/kmodgui-dummy.conf",
                       "etc/modules-load.d/kmodgui-dummy.conf"}
    # undo, one setting at a time
    replies = bus.call(blacklist("autoload"), options({}), blacklist("none"), boot(False))
    assert [files(r) for r in replies] == [[str(conf)], [str(conf)], [str(conf)],
                                           [str(load_conf)]]
    assert not conf.exists() and not load_conf.exists()
    assert bus.snapshot() == before


def test_options_are_sorted_and_replace_the_old_ones(bus: Any) -> None:
    conf = bus.root / "etc" / "modprobe.d" / "kmodgui-dummy.conf"
    bus.call(options({"b": "2", "a": "x,y"}))
    assert conf.read_text() == HEADER + "options dummy a=x,y b=2\n"
    bus.call(options({"c": "-1"}))
    assert conf.read_text() == HEADER + "options dummy c=-1\n"


def test_config_files_are_never_written_through_a_link(bus: Any) -> None:
    victim = bus.root / "victim"
    victim.write_text("precious\n")
    link = bus.root / "etc" / "modprobe.d" / "kmodgui-dummy.conf"
    link.symlink_to(victim)
    try:
        reply = bus.call(blacklist("always"))[0]
        assert reply["error_name"] == "org.kmodgui.Error.Failed", reply
        assert victim.read_text() == "precious\n"
        assert link.is_symlink()
    finally:
        link.unlink()
        victim.unlink()


def test_config_directory_writable_by_others_is_refused(bus: Any) -> None:
    directory = bus.root / "etc" / "modules-load.d"
    directory.chmod(0o777)
    try:
        reply = bus.call(boot(True))[0]
        assert reply["error_name"] == "org.kmodgui.Error.Failed"
        assert "writable by others" in reply["body"][0]
        assert not (directory / "kmodgui-dummy.conf").exists()
    finally:
        directory.chmod(0o755)


def test_config_parent_directories_writable_by_others_are_refused(bus: Any) -> None:
    """Someone who can write /etc could swap modprobe.d under the helper: refuse."""
    etc = bus.root / "etc"
    etc.chmod(0o775)
    try:
        reply = bus.call(boot(True))[0]
        assert reply["error_name"] == "org.kmodgui.Error.Failed", reply
        assert "writable by others" in reply["body"][0]
        assert not (etc / "modules-load.d" / "kmodgui-dummy.conf").exists()
    finally:
        etc.chmod(0o755)


def test_config_directory_owned_by_another_user_or_a_link_is_refused(bus: Any) -> None:
    directory = bus.root / "etc" / "modules-load.d"
    os.chown(directory, 65534, 65534)
    try:
        reply = bus.call(boot(True))[0]
        assert reply["error_name"] == "org.kmodgui.Error.Failed", reply
    finally:
        os.chown(directory, 0, 0)
    real = bus.root / "elsewhere"
    directory.rename(real)
    directory.symlink_to(real)
    try:
        reply = bus.call(boot(True))[0]
        assert reply["error_name"] == "org.kmodgui.Error.Failed", reply
        assert not (real / "kmodgui-dummy.conf").exists()
    finally:
        directory.unlink()
        real.rename(directory)


@pytest.fixture
def fake_sysfs(bus: Any) -> Path:
    """A sysfs module tree under the helper's root, with one writable parameter."""
    params = bus.root / "sys" / "module" / "kmodgui_fake" / "parameters"
    params.mkdir(parents=True)
    (params / "level").write_text("1")
    (params / "level").chmod(0o644)
    (params / "fixed").write_text("1\n")
    (params / "fixed").chmod(0o444)
    (params / "linked").symlink_to(bus.root / "victim")
    (bus.root / "sys" / "module" / "kmodgui_linkdir").symlink_to(params.parent)
    yield params
    shutil.rmtree(bus.root / "sys")
    (bus.root / "victim").unlink(missing_ok=True)


def set_parameter(module: str, parameter: str, value: str) -> dict[str, Any]:
    return {"member": "SetParameter", "signature": "sssa{sv}",
            "body": [module, parameter, value, {}]}


def test_set_parameter_writes_once_and_never_through_links(bus: Any, fake_sysfs: Path) -> None:
    replies = bus.call_root(set_parameter("kmodgui-fake", "level", "7"),
                            set_parameter("kmodgui_fake", "fixed", "7"),
                            set_parameter("kmodgui_fake", "nothing", "7"),
                            set_parameter("kmodgui_fake", "linked", "7"),
                            set_parameter("kmodgui_linkdir", "level", "9"),
                            set_parameter("kmodgui_absent", "level", "7"))
    assert files(replies[0]) == [str(fake_sysfs / "level")]
    assert (fake_sysfs / "level").read_text() == "7"
    names = [r.get("error_name") for r in replies[1:]]
    assert names == ["org.kmodgui.Error.InvalidParameter", "org.kmodgui.Error.NotFound",
                     "org.kmodgui.Error.InvalidParameter", "org.kmodgui.Error.NotLoaded",
                     "org.kmodgui.Error.NotLoaded"]
    assert (fake_sysfs / "fixed").read_text() == "1\n"
    assert not (bus.root / "victim").exists()


@pytest.fixture
def kernel_tree(bus: Any, kernel_root: Root) -> Path:
    """The real kernel tree, hard-linked under the helper's root (depmod renames its files)."""
    target = bus.root / "lib" / "modules"
    target.mkdir(parents=True)
    subprocess.run(["cp", "-al", str(kernel_root.modules_dir), str(target)], check=True)
    yield target / kernel_root.release
    shutil.rmtree(bus.root / "lib")


def test_rebuild_index_runs_depmod_for_an_installed_release(bus: Any, kernel_tree: Path,
                                                            kernel_root: Root) -> None:
    dep = kernel_tree / "modules.dep"
    original = dep.read_bytes()
    dep.unlink()
    reply = bus.call_root({"member": "RebuildIndex", "signature": "sa{sv}",
                           "body": [kernel_root.release, {}]})[0]
    written = files(reply)
    assert str(dep) in written and str(kernel_tree / "modules.alias.bin") in written
    assert dep.read_bytes() == original
    assert (kernel_root.modules_dir / "modules.dep").read_bytes() == original
    missing = bus.call_root({"member": "RebuildIndex", "signature": "sa{sv}",
                             "body": ["9.9.9-none", {}]})[0]
    assert missing["error_name"] == "org.kmodgui.Error.NotFound"


def test_failures_of_the_tools_are_classified(bus: Any, scratch: Path) -> None:
    """What a kernel-less host can show: modprobe, rmmod and finit_module failing cleanly."""
    module = scratch / "garbage.ko"
    module.write_bytes(tiny_ko("kmodgui_garbage", os.urandom(200).replace(b"\0", b"x")))
    module.chmod(0o644)
    load, unload, insert = bus.call_root(
        {"member": "Load", "signature": "sasa{sv}", "body": ["kmodgui_absent", [], {}]},
        {"member": "Unload", "signature": "sa{sv}", "body": ["kmodgui_absent", {}]},
        {"member": "InsertFile", "signature": "hasa{sv}", "body": [0, ["a=1"], {}],
         "fds": [f"rdonly:{module}"]})
    assert load["error_name"] == "org.kmodgui.Error.NotFound", load
    assert "kmodgui_absent" in load["body"][0]
    assert unload["error_name"] == "org.kmodgui.Error.NotLoaded", unload
    # no module support here (ENOSYS); a kernel with it rejects the garbage (ENOEXEC)
    assert insert["error_name"] in ("org.kmodgui.Error.Failed",
                                    "org.kmodgui.Error.InvalidModule"), insert
    for reply in (load, unload, insert):
        assert reply["signature"] == "sas" and "Traceback" not in reply["body"][0]
