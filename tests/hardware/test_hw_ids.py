"""The hwdata ID parser, checked against lspci on the same pci.ids and on bad input."""

from __future__ import annotations

import gzip
import shlex
import subprocess
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from kmodgui.core import devices as core_devices
from kmodgui.core.hwids import HardwareNames, IdDatabase, find_id_file, load_id_database
from kmodgui.core.paths import Root

SAMPLE = """\
# comment
8086  Intel Corporation
\t100e  82540EM Gigabit Ethernet Controller
\t\t1af4 1100  QEMU Virtual Machine
\tzzzz  not hex, ignored
1af4  Red Hat, Inc.
\t1000  Virtio network device
C 02  Network controller
\t00  Ethernet controller
\t80  Network controller
C 0c  Serial bus controller
\t03  USB controller
\t\t30  XHCI
AT 0001  Not a vendor
"""


def test_sample_lookups() -> None:
    db = IdDatabase(SAMPLE)
    assert db.vendor(0x8086) == "Intel Corporation"
    assert db.product(0x8086, 0x100E) == "82540EM Gigabit Ethernet Controller"
    assert db.subsystem(0x8086, 0x100E, 0x1AF4, 0x1100) == "QEMU Virtual Machine"
    assert db.product(0x1AF4, 0x1000) == "Virtio network device"
    assert db.vendor(0x0001) is None          # the "AT" section is not vendors
    assert db.product(0x8086, 0xFFFF) is None
    assert db.device_class(0x02) == "Network controller"
    assert db.device_class(0x02, 0x00) == "Ethernet controller"
    assert db.device_class(0x0C, 0x03, 0x30) == "XHCI"
    assert db.device_class(0x0C, 0x03, 0x99) == "USB controller"
    assert db.device_class(0x0C, 0x77) == "Serial bus controller"
    assert db.device_class(0x55) is None
    assert db.device_class(0x0C, 0x77, exact=True) is None
    assert db.device_class(0x0C, 0x03, 0x99, exact=True) is None
    assert db.device_class(0x0C, 0x03, exact=True) == "USB controller"
    assert core_devices.pci_class_name(db, 0x02, 0x00) == "Ethernet controller"
    assert core_devices.pci_class_name(db, 0x02, 0x42) == "Network controller [0242]"
    assert core_devices.pci_class_name(db, 0x77, 0x01) == "Class 7701"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789abcdefCAT \t\n#xyz"), max_size=400))
def test_garbage_never_crashes(text: str) -> None:
    db = IdDatabase(text)
    db.vendor(0), db.product(0, 0), db.subsystem(0, 0, 0, 0), db.device_class(0, 0, 0)


def test_missing_databases_give_none(tmp_path: Path) -> None:
    root = Root(tmp_path, "0")
    assert find_id_file(root, "pci.ids") is None
    assert HardwareNames(root).database("pci") is None
    assert HardwareNames(root).database("platform") is None


def test_misc_dir_and_gzip(tmp_path: Path) -> None:
    misc = tmp_path / "usr/share/misc"
    misc.mkdir(parents=True)
    (misc / "pci.ids.gz").write_bytes(gzip.compress(SAMPLE.encode()))
    db = load_id_database(Root(tmp_path, "0"), "pci.ids")
    assert db is not None and db.vendor(0x8086) == "Intel Corporation"
    (misc / "usb.ids.gz").write_bytes(b"\x1f\x8bbroken")
    assert load_id_database(Root(tmp_path, "0"), "usb.ids") is None


def test_real_usb_ids_known_entries() -> None:
    db = HardwareNames(Root(Path("/"), "0")).database("usb")
    assert db is not None
    assert db.vendor(0x1D6B) == "Linux Foundation"
    assert db.product(0x1D6B, 0x0002) == "2.0 root hub"
    assert db.device_class(0x08) == "Mass Storage"
    assert db.device_class(0x03) == "Human Interface Device"


def _config_space(alias: str) -> str:
    """A 64-byte PCI configuration header (lspci -x format) built from a modalias."""
    fields = core_devices.modalias_fields(alias)
    vendor, device = fields["v"], fields["d"]
    sub_vendor, sub_device = fields["sv"], fields["sd"]
    base, sub, prog = fields["bc"], fields["sc"], fields["i"]
    space = bytearray(64)
    space[0:2], space[2:4] = vendor.to_bytes(2, "little"), device.to_bytes(2, "little")
    space[9], space[10], space[11] = prog, sub, base
    space[0x2C:0x2E] = sub_vendor.to_bytes(2, "little")
    space[0x2E:0x30] = sub_device.to_bytes(2, "little")
    return "\n".join(f"{row:02x}: " + " ".join(f"{b:02x}" for b in space[row:row + 16])
                     for row in range(0, 64, 16))


def test_pci_names_match_lspci(captured_root: Root, tmp_path: Path) -> None:
    """Names of every captured PCI device equal what lspci prints from the same pci.ids."""
    devices = [d for d in core_devices.read_devices(captured_root) if d.bus == "pci"]
    core_devices.add_names(devices, captured_root)
    assert len(devices) >= 5
    dump = tmp_path / "lspci.dump"
    dump.write_text("".join(f"00:{n:02x}.0 x\n{_config_space(d.modalias)}\n\n"
                            for n, d in enumerate(devices)))
    out = subprocess.run(["lspci", "-F", str(dump), "-mm", "-i", "/usr/share/hwdata/pci.ids"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(out) == len(devices)
    for line, device in zip(out, devices, strict=True):
        _, kind, vendor, product, *_ = shlex.split(line)
        assert (device.kind, device.vendor, device.product) == (kind, vendor, product)
