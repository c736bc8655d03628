"""In a real kernel under qemu: a NIC without its driver, the page lists it, Enable binds it.

The guest (``tests/guest/harness.py``) boots the Debian kernel with an e1000
NIC; nothing loads e1000 at boot (there is no udev in the guest). As the
unprivileged test user, ``guest_enable.py`` opens the Hardware page on the
guest's /sys, finds the NIC listed without a driver, clicks Enable driver,
and reports what the page and the kernel then say.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from kmodgui.core.paths import Root

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "guest"))
import harness  # noqa: E402  (the guest tier's harness lives beside, not in a package)

pytestmark = pytest.mark.guest
NIC = ("-netdev", "user,id=kmgnic,restrict=on", "-device", "e1000,netdev=kmgnic")


def run_guest(kernel_root: Root, workdir: Path, mode: str) -> tuple[dict[str, Any], Any, dict]:
    out = workdir / "out"
    (out / "results").mkdir(parents=True)
    (out / "results").chmod(0o777)   # the test user writes its report there
    python = sys.executable
    steps = [
        {"name": "page", "user": "kmguser", "cwd": str(REPO), "timeout": 300,
         "env": {"KMGTEST_OUT": "/kmgout", "QT_QPA_PLATFORM": "offscreen",
                 "PYTHONDONTWRITEBYTECODE": "1"},
         "argv": [python, str(HERE / "guest_enable.py"), mode]},
        {"name": "ip-link", "argv": ["ip", "-o", "link", "show"]},
        {"name": "lsmod", "argv": ["lsmod"]},
    ]
    config = {"repo": str(REPO), "services": mode != "agent",
              "make_vars": {"BINDIR": str(Path(python).parent)},   # where kmodgui-helper is
              "user_paths": [os.path.realpath(python), sys.prefix, str(REPO)], "steps": steps}
    (out / "config.json").write_text(json.dumps(config, indent=1))
    run = harness.boot(kernel_root, workdir, python=python, timeout=480, qemu_args=NIC)
    report_file = out / "results" / "hardware.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    steps_file = out / "steps.json"
    results = {s["name"]: s for s in json.loads(steps_file.read_text())} \
        if steps_file.exists() else {}
    return report, run, results


def test_capture_script_reproduces_the_committed_tree(kernel_root: Root, tmp_path: Path) -> None:
    """The committed qemu-pc tree is what the kernel shows: boot it again and compare.

    USB, HID and SCSI devices appear asynchronously, so the comparison covers
    the devices the kernel sets up synchronously (PCI, virtio, platform, ACPI).
    """
    import capture_sysfs
    from sysfs_roots import extract

    from kmodgui.core.devices import read_devices

    dest = tmp_path / "data" / "qemu-pc"
    assert capture_sysfs.capture("qemu-pc", kernel_root.base, kernel_root.release, dest) > 300
    assert (dest / "RELEASE").read_text().strip() == kernel_root.release

    def summary(base: Path) -> set[tuple[str, str, str | None, str | None]]:
        return {(d.syspath, d.modalias, d.driver, d.driver_module)
                for d in read_devices(Root(base, kernel_root.release))
                if d.bus in ("pci", "virtio", "platform", "acpi")}

    fresh = summary(extract("qemu-pc", tmp_path / "fresh", tmp_path / "data"))
    committed = summary(extract("qemu-pc", tmp_path / "committed"))
    assert len(committed) > 40
    assert fresh == committed


def test_enable_driver_through_the_helper(kernel_root: Root, tmp_path: Path) -> None:
    """The page lists the NIC without a driver; Enable loads e1000 through the helper
    (D-Bus activation, polkit, modprobe as root) and the device is bound."""
    report, run, steps = run_guest(kernel_root, tmp_path, "helper")
    why = f"{json.dumps(report, indent=1)}\n{steps.get('page')}\n{run.console_tail(60)}"
    assert "error" not in report, why
    assert report["listed_without_driver"] and report["driver_column"] == "No driver", why
    assert report["first_rows_need_driver"], why
    assert report["enable_enabled"], why
    assert report["bound"] is True and report["driver"] == "e1000", why
    assert report["driver_module"] == "e1000", why
    assert report["driver_now"] == "e1000", why
    assert "now driven by e1000" in report["status"], why
    assert "e1000" in report["kernel_log"], why     # the helper's kernel-log, shown as is
    interfaces = report["interfaces"]
    assert len(interfaces) == 1 and f"Network interface: {interfaces[0]}" in report["status"]
    assert f": {interfaces[0]}:" in steps["ip-link"]["stdout"], why
    assert "e1000" in steps["lsmod"]["stdout"].split(), why
    assert (run.out / "results" / "hardware-page.png").stat().st_size > 1000
