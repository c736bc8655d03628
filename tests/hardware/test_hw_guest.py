"""In a real kernel under qemu: NICs without their drivers, the page lists them, Enable binds them.

The guest (``tests/guest/harness.py``) boots the Debian kernel with an e1000
NIC and a virtio NIC; nothing loads their drivers at boot (there is no udev
in the guest). As the unprivileged test user, ``guest_enable.py`` opens the
Hardware page on the guest's /sys, finds the device listed without a
driver, clicks Enable driver, and reports what the page and the kernel then
say. The load goes through the privileged helper (D-Bus activation, polkit,
modprobe as root): for the e1000 with the window's own client (QtDBus,
``kmodgui.client``, as the app runs), for the virtio NIC with a plain
dbus-fast caller, so a failure points at the client or at the page.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kmodgui.core.paths import Root

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "guest"))
import harness  # noqa: E402  (the guest tier's harness lives beside, not in a package)

pytestmark = pytest.mark.guest
NICS = ("-netdev", "user,id=kmgnic0,restrict=on", "-device", "e1000,netdev=kmgnic0",
        "-netdev", "user,id=kmgnic1,restrict=on", "-device", "virtio-net-pci,netdev=kmgnic1")
#: (mode, candidate module, what the kernel logs on probe): the NICs enabled, and how.
RUNS = (("window", "e1000", "Intel(R) PRO/1000 Network Connection"),
        ("helper", "virtio_net", ""))


@dataclass
class GuestOutcome:
    run: harness.GuestRun
    steps: dict[str, dict[str, Any]]

    def report(self, run: str) -> dict[str, Any]:
        path = self.run.out / "results" / f"hardware-{run}.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def why(self, run: str) -> str:
        return (f"{json.dumps(self.report(run), indent=1)}\n{self.steps.get(run)}\n"
                f"{self.run.console_tail(60)}")


@pytest.fixture(scope="module")
def guest(kernel_root: Root, tmp_path_factory: pytest.TempPathFactory) -> GuestOutcome:
    """One boot: both NICs enabled from the page, then the kernel's own view."""
    workdir = tmp_path_factory.mktemp("hardware-guest")
    out = workdir / "out"
    (out / "results").mkdir(parents=True)
    (out / "results").chmod(0o777)   # the test user writes its reports there
    python = sys.executable
    env = {"KMGTEST_OUT": "/kmgout", "QT_QPA_PLATFORM": "offscreen",
           "PYTHONDONTWRITEBYTECODE": "1"}
    steps = [{"name": f"{mode}-{module}", "user": "kmguser", "cwd": str(REPO), "timeout": 300,
              "env": env, "argv": [python, str(HERE / "guest_enable.py"), mode, module]}
             for mode, module, _log in RUNS]
    steps += [{"name": "ip-link", "argv": ["ip", "-o", "link", "show"]},
              {"name": "lsmod", "argv": ["lsmod"]}]
    config = {"repo": str(REPO), "services": True,
              "make_vars": {"BINDIR": str(Path(python).parent)},   # where kmodgui-helper is
              "user_paths": [os.path.realpath(python), sys.prefix, str(REPO)], "steps": steps}
    (out / "config.json").write_text(json.dumps(config, indent=1))
    run = harness.boot(kernel_root, workdir, python=python, timeout=540, qemu_args=NICS)
    steps_file = out / "steps.json"
    results = json.loads(steps_file.read_text()) if steps_file.exists() else []
    return GuestOutcome(run, {s["name"]: s for s in results})


@pytest.mark.parametrize(("mode", "module", "log"), RUNS, ids=[r[1] for r in RUNS])
def test_enable_driver_binds_a_real_nic(guest: GuestOutcome, mode: str, module: str,
                                        log: str) -> None:
    """Listed without a driver; Enable loads the module through the helper; the NIC is bound
    and its network interface exists."""
    report, why = guest.report(f"{mode}-{module}"), guest.why(f"{mode}-{module}")
    assert report and "error" not in report, why
    assert report["listed_without_driver"] and report["driver_column"] == "No driver", why
    assert report["first_rows_need_driver"], why
    assert report["enable_enabled"], why
    assert report["bound"] is True and report["driver_now"] == module, why
    assert report["driver"] == module and report["driver_module"] == module, why
    assert f"now driven by {module}" in report["status"], why
    assert log in report["kernel_log"], why     # the helper's kernel-log, shown as is
    interfaces = report["interfaces"]
    assert len(interfaces) == 1 and f"Network interface: {interfaces[0]}" in report["status"]
    assert f": {interfaces[0]}:" in guest.steps["ip-link"]["stdout"], why
    assert module in guest.steps["lsmod"]["stdout"].split(), why
    assert (guest.run.out / "results" / f"hardware-{mode}-{module}.png").stat().st_size > 1000


def test_capture_script_reproduces_the_committed_tree(kernel_root: Root, tmp_path: Path) -> None:
    """The committed qemu-pc tree is what the kernel shows: boot it again and compare.

    USB, HID and SCSI devices appear asynchronously, so the comparison covers
    the devices the kernel sets up synchronously (PCI, virtio, platform, ACPI).
    """
    import capture_sysfs
    from kmgtest.sysfs_roots import extract

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
