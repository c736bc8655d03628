"""``kmodgui devices`` on a captured machine, as a user runs it (a separate process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from kmgtest.sysfs_roots import make_root, modprobe_resolve

from kmodgui.core.paths import Root


def kmodgui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kmodgui", *args], capture_output=True,
                          text=True, check=False, timeout=120)


@pytest.fixture(scope="module")
def pc_root(kernel_root: Root, tmp_path_factory: pytest.TempPathFactory) -> Root:
    root = make_root(tmp_path_factory.mktemp("pc"), "qemu-pc", kernel_root)
    root.path("/etc/modprobe.d/nic.conf").write_text("blacklist 8139too\n")
    return root


def test_json(pc_root: Root) -> None:
    result = kmodgui("devices", "-b", str(pc_root.base), "-k", pc_root.release, "--json")
    assert result.returncode == 0, result.stderr
    devices = json.loads(result.stdout)
    assert len(devices) > 40
    by_name = {(d["bus"], d["name"]): d for d in devices}
    nic = by_name["pci", "0000:00:02.0"]
    assert nic["driver"] is None and nic["bindable"] is True
    assert (nic["vendor_id"], nic["product_id"], nic["class"]) == (
        "8086", "100e", "Ethernet controller")
    assert nic["candidates"] == [{"module": "e1000", "state": "available", "blacklisted_by": []}]
    rtl = by_name["pci", "0000:00:04.0"]["candidates"]
    assert rtl[1] == {"module": "8139too", "state": "blacklisted", "blacklisted_by": [
        {"file": str(pc_root.path("/etc/modprobe.d/nic.conf")), "line": 1}]}
    xhci = by_name["pci", "0000:00:07.0"]
    assert (xhci["driver"], xhci["driver_module"], xhci["driver_builtin"]) == (
        "xhci_hcd", "xhci_pci", False)
    resolve = modprobe_resolve(pc_root)
    for device in devices:
        assert [c["module"] for c in device["candidates"]] == list(
            dict.fromkeys(resolve(device["modalias"])))
    # No driver first.
    assert devices[0]["driver"] is None and devices[0]["candidates"]


def test_text_like_lspci_k(pc_root: Root) -> None:
    result = kmodgui("devices", "-b", str(pc_root.base), "-k", pc_root.release,
                     "--bus", "pci")
    assert result.returncode == 0, result.stderr
    blocks = result.stdout.strip().split("\n\n")
    assert all(" pci: " in b.splitlines()[0] for b in blocks)
    nic = next(b for b in blocks if b.startswith("0000:00:02.0 "))
    assert nic.splitlines() == [
        "0000:00:02.0 pci: Intel Corporation 82540EM Gigabit Ethernet Controller [8086:100e]",
        "\tClass: Ethernet controller",
        "\tModalias: pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00",
        "\tKernel driver in use: (none)",
        "\tKernel modules: e1000 (available)",
    ]
    xhci = next(b for b in blocks if b.startswith("0000:00:07.0 "))
    assert "\tKernel driver in use: xhci_hcd (module xhci_pci)" in xhci.splitlines()
    assert "\tKernel modules: xhci_pci (loaded)" in xhci.splitlines()
    rtl = next(b for b in blocks if b.startswith("0000:00:04.0 "))
    assert (f"8139too (blacklisted: {pc_root.path('/etc/modprobe.d/nic.conf')}:1)"
            in rtl)


def test_no_driver_filter(pc_root: Root) -> None:
    result = kmodgui("devices", "-b", str(pc_root.base), "-k", pc_root.release,
                     "--no-driver", "--json")
    devices = json.loads(result.stdout)
    assert devices and all(d["driver"] is None and d["bindable"] for d in devices)
    assert {"0000:00:02.0", "0000:00:04.0"} <= {d["name"] for d in devices}


def test_missing_tree_is_a_clear_error(tmp_path: Path) -> None:
    result = kmodgui("devices", "-b", str(tmp_path), "-k", "9.9.9")
    assert result.returncode == 1
    assert result.stderr.startswith(f"kmodgui: no devices to show: {tmp_path}/sys/bus ")
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_missing_release_still_lists_devices(pc_root: Root) -> None:
    result = kmodgui("devices", "-b", str(pc_root.base), "-k", "9.9.9", "--json")
    assert result.returncode == 0
    assert "no modules for kernel 9.9.9" in result.stderr
    devices = json.loads(result.stdout)
    assert len(devices) > 40 and not any(d["candidates"] for d in devices)
