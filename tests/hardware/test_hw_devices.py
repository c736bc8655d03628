"""Devices read from sysfs trees captured from a real kernel, checked against kmod's modprobe."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from kmgtest.sysfs_roots import make_root, modprobe_resolve

from kmodgui.core.devices import (
    CandidateState,
    Device,
    candidate_state,
    devices_for_module,
    modalias_fields,
    network_interfaces,
    read_device,
    read_devices,
    scan,
)
from kmodgui.core.lookup import ModuleMatch
from kmodgui.core.paths import Root
from kmodgui.core.records import Source


def by_name(devices: list[Device]) -> dict[tuple[str, str], Device]:
    return {(d.bus, d.name): d for d in devices}


def test_candidates_equal_modprobe_resolve(captured_root: Root) -> None:
    """Every device's candidates are modprobe -R's answer for its modalias (each name once)."""
    devices = scan(captured_root)
    reference = modprobe_resolve(captured_root)
    assert len(devices) > 40
    with_candidates = 0
    for device in devices:
        expected = list(dict.fromkeys(reference(device.modalias)))
        assert device.candidate_names() == expected, device.modalias
        with_candidates += bool(expected)
    assert with_candidates >= 15


def test_every_modalias_in_the_tree_is_a_device(captured_root: Root) -> None:
    """Nothing with a modalias is missed: bus devices, class devices and the CPU root."""
    sys_dir = captured_root.base / "sys"
    expected = {os.path.relpath(os.path.realpath(p.parent), os.path.realpath(sys_dir))
                for p in (sys_dir / "devices").rglob("modalias")}
    expected |= {os.path.relpath(os.path.realpath(p.parent), os.path.realpath(sys_dir))
                 for p in (sys_dir / "devices").rglob("uevent")
                 if "MODALIAS=" in p.read_text()}
    found = [d.syspath for d in read_devices(captured_root)]
    assert len(found) == len(set(found))
    assert set(found) == expected


def test_pc_machine(kernel_root: Root, tmp_path: Path) -> None:
    root = make_root(tmp_path / "root", "qemu-pc", kernel_root)
    devices = scan(root)
    found = by_name(devices)
    assert {"pci", "usb", "virtio", "platform", "acpi", "hid", "scsi", "serio", "cpu",
            "input"} <= {d.bus for d in devices}

    e1000 = found["pci", "0000:00:02.0"]
    assert e1000.needs_driver and e1000.driver is None
    assert (e1000.vendor, e1000.product, e1000.kind) == (
        "Intel Corporation", "82540EM Gigabit Ethernet Controller", "Ethernet controller")
    assert e1000.ids == "8086:100e"
    assert [(c.module, c.state) for c in e1000.candidates] == [
        ("e1000", CandidateState.AVAILABLE)]
    rtl = found["pci", "0000:00:04.0"]
    assert rtl.needs_driver and rtl.candidate_names() == ["8139cp", "8139too"]

    xhci = found["pci", "0000:00:07.0"]
    assert (xhci.driver, xhci.driver_module, xhci.driver_builtin) == (
        "xhci_hcd", "xhci_pci", False)
    assert [(c.module, c.state) for c in xhci.candidates] == [
        ("xhci_pci", CandidateState.LOADED)]
    assert found["platform", "serial8250"].driver_builtin
    cpu0 = found["cpu", "cpu0"]
    assert cpu0.bindable and cpu0.driver == "processor" and cpu0.driver_builtin
    assert cpu0.modalias.startswith("cpu:type:x86")   # only in its uevent

    keyboard = found["input", "input0"]
    assert not keyboard.bindable and not keyboard.needs_driver
    assert keyboard.product == "AT Translated Set 2 keyboard"
    hid = found["hid", "0003:0627:0001.0001"]
    assert hid.needs_driver and hid.candidate_names() == ["hid_generic"]
    assert hid.vendor == "Adomax Technology Co., Ltd"
    usb_keyboard = found["usb", "1-1:1.0"]
    assert (usb_keyboard.driver, usb_keyboard.kind) == ("usbhid", "Human Interface Device")
    disks = {d.name: d.description for d in devices if d.bus == "scsi"}
    assert disks == {"0:0:0:0": "QEMU QEMU HARDDISK", "1:0:0:0": "ATA QEMU HARDDISK"}
    storage = found["usb", "2-2:1.0"]
    assert storage.driver_module == "usb_storage" and storage.kind == "Mass Storage"
    assert storage.candidate_names() == ["uas", "usb_storage"]
    assert [c.state for c in storage.candidates] == [CandidateState.AVAILABLE,
                                                      CandidateState.LOADED]

    # Devices that need a driver come first, those with candidates before the rest.
    ranks = [0 if d.needs_driver and d.candidates else 1 if d.needs_driver else 2
             for d in devices]
    assert ranks == sorted(ranks) and ranks[0] == 0
    assert devices_for_module(devices, "e1000") == [e1000]
    assert {d.name for d in devices_for_module(devices, "usb_storage")} == {"2-2:1.0"}


def test_q35_machine(kernel_root: Root, tmp_path: Path) -> None:
    root = make_root(tmp_path / "root", "qemu-q35", kernel_root)
    found = by_name(scan(root))
    nic = found["pci", "0000:00:01.0"]
    assert (nic.driver, nic.driver_module, nic.kind) == ("e1000e", "e1000e",
                                                         "Ethernet controller")
    ahci = next(d for d in found.values() if d.kind == "SATA controller")
    assert ahci.needs_driver and "ahci" in ahci.candidate_names()
    usb_nic = [d for d in found.values() if d.bus == "usb" and d.ids == "0525:a4a2"]
    assert len(usb_nic) == 2 and all(d.needs_driver and d.candidates for d in usb_nic)
    balloon = found["virtio", "virtio1"]
    assert balloon.needs_driver and balloon.candidate_names() == ["virtio_balloon"]
    assert balloon.description == "Red Hat, Inc. Virtio memory balloon"   # its PCI transport
    assert found["virtio", "virtio0"].driver == "virtio_console"


def test_blacklist_names_its_file(kernel_root: Root, tmp_path: Path) -> None:
    root = make_root(tmp_path / "root", "qemu-pc", kernel_root)
    conf = root.path("/etc/modprobe.d/no-e1000.conf")
    conf.write_text("# keep the Intel NIC off\nblacklist e1000\nblacklist 8139too\n")
    found = by_name(scan(root))
    e1000 = found["pci", "0000:00:02.0"].candidates[0]
    assert e1000.state == CandidateState.BLACKLISTED
    assert e1000.blacklisted_by == (Source(str(conf), 2),)
    rtl = found["pci", "0000:00:04.0"].candidates
    assert [c.state for c in rtl] == [CandidateState.AVAILABLE, CandidateState.BLACKLISTED]
    # A blacklist does not change what modprobe -R answers.
    assert found["pci", "0000:00:04.0"].candidate_names() == \
        modprobe_resolve(root)(found["pci", "0000:00:04.0"].modalias)


def test_candidate_states() -> None:
    loaded, lists = {"a"}, {"b": (Source("/etc/modprobe.d/x.conf", 3),)}
    assert candidate_state(ModuleMatch("a", Path("/m/a.ko"), False), loaded, lists).state \
        == CandidateState.LOADED
    assert candidate_state(ModuleMatch("c", None, True), loaded, lists).state \
        == CandidateState.BUILTIN
    b = candidate_state(ModuleMatch("b", Path("/m/b.ko"), False), loaded, lists)
    assert b.state == CandidateState.BLACKLISTED
    assert b.describe() == "b (blacklisted: /etc/modprobe.d/x.conf:3)"
    assert candidate_state(ModuleMatch("d", None, False), loaded, lists).state \
        == CandidateState.UNKNOWN


def test_binding_seen_after_a_load(kernel_root: Root, tmp_path: Path) -> None:
    """What the kernel does when e1000 binds: a driver link, a module link, a net child."""
    root = make_root(tmp_path / "root", "qemu-pc", kernel_root)
    syspath = "devices/pci0000:00/0000:00:02.0"
    assert read_device(root, syspath).driver is None
    assert network_interfaces(root, syspath) == []
    sys_dir = root.base / "sys"
    (sys_dir / "bus/pci/drivers/e1000").mkdir()
    (sys_dir / "bus/pci/drivers/e1000/module").symlink_to("../../../../module/e1000")
    (sys_dir / "module/e1000").mkdir(exist_ok=True)
    (sys_dir / "module/e1000/initstate").write_text("live\n")
    (sys_dir / syspath / "driver").symlink_to("../../../bus/pci/drivers/e1000")
    (sys_dir / syspath / "net/ens2").mkdir(parents=True)
    device = read_device(root, syspath)
    assert device is not None
    assert (device.driver, device.driver_module, device.driver_builtin) == (
        "e1000", "e1000", False)
    assert network_interfaces(root, syspath) == ["ens2"]
    assert read_device(root, "devices/nowhere") is None
    e1000 = by_name(scan(root))["pci", "0000:00:02.0"]
    assert not e1000.needs_driver and e1000.candidates[0].state == CandidateState.LOADED


def test_host_sysfs() -> None:
    """The real /sys of this machine: every modalias file is found, nothing crashes."""
    devices = read_devices(Root(Path("/"), "none"))
    out = subprocess.run(["find", "/sys/devices", "-name", "modalias", "-type", "f"],
                         capture_output=True, text=True, check=False).stdout.split()
    paths = {os.path.realpath(os.path.dirname(p)) for p in out}
    assert paths, "this machine's /sys has no modalias at all"
    found = {os.path.realpath("/sys/" + d.syspath) for d in devices}
    assert paths <= found


def test_broken_trees_do_not_crash(tmp_path: Path) -> None:
    assert read_devices(Root(tmp_path, "x")) == []
    sys_dir = tmp_path / "sys"
    dev = sys_dir / "devices/weird"
    dev.mkdir(parents=True)
    (dev / "modalias").write_bytes(b"\xff\xfe pci:vZZZZ\n")
    (dev / "driver").symlink_to("../../nowhere/drivers/ghost")
    (dev / "subsystem").symlink_to("../../bus/ghostbus")
    (sys_dir / "bus/ghostbus/devices").mkdir(parents=True)
    (sys_dir / "bus/ghostbus/devices/dangling").symlink_to("../../../devices/missing")
    (sys_dir / "bus/ghostbus/devices/loop").symlink_to("loop")
    (sys_dir / "bus/notadir").write_text("")
    empty = sys_dir / "devices/empty"
    empty.mkdir()
    (empty / "modalias").write_text("\n")
    fifo = sys_dir / "devices/fifo"
    fifo.mkdir()
    os.mkfifo(fifo / "modalias")      # would block a plain open() forever
    os.mkfifo(fifo / "uevent")
    devices = read_devices(Root(tmp_path, "x"))
    assert [(d.name, d.bus, d.driver, d.driver_builtin) for d in devices] == [
        ("weird", "ghostbus", "ghost", True)]
    assert modalias_fields("pci:v0000ZZZZ") == {"v": 0}
    assert modalias_fields("nonsense") == {}


@pytest.mark.parametrize("alias", ["", "a]b", "pci:*", "usb:v[", "x" * 5000])
def test_odd_modaliases_resolve_quietly(kernel_root: Root, alias: str, tmp_path: Path) -> None:
    dev = tmp_path / "sys/devices/odd"
    dev.mkdir(parents=True)
    (dev / "uevent").write_text(f"MODALIAS={alias}\n")   # as CPUs have it: no modalias file
    (tmp_path / "sys/bus/cpu/devices").mkdir(parents=True)
    (tmp_path / "sys/bus/cpu/devices/odd").symlink_to("../../../devices/odd")
    (tmp_path / "lib/modules").mkdir(parents=True)
    (tmp_path / "lib/modules" / kernel_root.release).symlink_to(kernel_root.modules_dir)
    devices = scan(Root(tmp_path, kernel_root.release))
    assert len(devices) == (1 if alias else 0)
    if alias:
        assert devices[0].candidate_names() == list(
            dict.fromkeys(modprobe_resolve(Root(tmp_path, kernel_root.release))(alias)))


def test_module_aliases_match_as_modprobe_resolves(kernel_root: Root) -> None:
    """A module's own aliases (as modinfo prints them, ``-`` and all) pick the same devices
    ``modprobe -R`` resolves to it: both sides normalised as kmod does."""
    aliases = subprocess.run(
        ["modinfo", "-b", str(kernel_root.base), "-k", kernel_root.release, "-F", "alias",
         "gpio-keys"], capture_output=True, text=True, check=True).stdout.split()
    assert "platform:gpio-keys" in aliases          # the raw alias has a dash
    modaliases = ["platform:gpio_keys", "platform:gpio-keys", "of:NkeysT(null)Cgpio_keys",
                  "platform:gpio_keys_polled", "platform:gpio[keys", "pci:v00008086d0000100E"]
    devices = [Device(syspath=f"devices/d{i}", name=f"d{i}", bus="platform", modalias=m)
               for i, m in enumerate(modaliases)]
    devices.append(Device(syspath="devices/bound", name="bound", bus="platform",
                          modalias="platform:other", driver="gpio-keys",
                          driver_module="gpio_keys"))
    resolve = modprobe_resolve(kernel_root)
    expected = [d.name for d in devices
                if "gpio_keys" in resolve(d.modalias) or d.driver_module == "gpio_keys"]
    shown = [d.name for d in devices_for_module(devices, "gpio-keys", aliases)]
    assert shown == expected == ["d0", "d1", "d2", "bound"]
    assert devices_for_module(devices, "gpio_keys") == devices[-1:]   # no aliases: bound only
