"""Host side of the systemd tier: build the .debs and an older build of them, boot
the Debian 13 guest once with them, and read what it reported."""


from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
DRIVER = Path(__file__).with_name("guest_drive.py")
#: the packages the guest installs, picked by name from the build (others are ignored)
PACKAGES = ("kmodgui", "kmodgui-helper", "kmodgui-gui")
#: what the old build's helper writes at start, so the guest can tell old code from new
MARKER = "KMODGUI-TEST-OLD-BUILD"
#: bound on the whole guest run (two boots under TCG); far above what it takes
GUEST_TIMEOUT = 3600
QEMU = "qemu-system-x86_64"

@dataclass
class SystemdGuest:
    """What one guest run left in its share: the driver's report and the console."""

    share: Path
    console: str
    returncode: int | None
    results: dict[str, dict[str, object]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def check(self, name: str) -> str:
        """The evidence of check *name*, or a test failure with the report and console."""
        result = self.results.get(name)
        if result is None:
            pytest.fail(f"the guest did not report {name!r} (qemu exit {self.returncode});"
                        f" reported: {sorted(self.results)}\n"
                        f"--- console (tail) ---\n{self.console[-6000:]}")
        if not result["ok"]:
            pytest.fail(f"guest check {name!r} failed:\n{result['detail']}\n"
                        f"--- console (tail) ---\n{self.console[-4000:]}")
        return str(result["detail"])


def pick_debs(dist: Path) -> list[Path]:
    debs = [p for p in sorted(dist.glob("*_all.deb")) if p.name.split("_")[0] in PACKAGES]
    assert sorted(p.name.split("_")[0] for p in debs) == sorted(PACKAGES), debs
    return debs


def repack_old(deb: Path, folder: Path) -> Path:
    """The same package as an older version (``~old1``), the helper marked at start.

    The cheapest honest "previous release": same files, lower version, exact
    inter-package dependencies rewritten, and a line in the helper's package that
    says which code is running.
    """
    tree = folder / deb.name.removesuffix(".deb")
    subprocess.run(["dpkg-deb", "-R", str(deb), str(tree)], check=True)
    control = tree / "DEBIAN" / "control"
    text = control.read_text()
    version = re.search(r"^Version: (\S+)$", text, re.M)
    assert version is not None, text
    old = f"{version[1]}~old1"
    text = text.replace(f"Version: {version[1]}\n", f"Version: {old}\n")
    text = text.replace(f"(= {version[1]})", f"(= {old})")
    control.write_text(text)
    init = tree / "usr/lib/python3/dist-packages/kmodgui_helper/__init__.py"
    if init.exists():
        with init.open("a") as f:
            f.write(f"\nimport sys as _sys\n_sys.stderr.write('{MARKER}\\n')\n")
    out = folder / deb.name.replace(f"_{version[1]}_", f"_{old}_")
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-b", str(tree), str(out)],
                   check=True, capture_output=True)
    shutil.rmtree(tree)
    return out


def guest_image() -> Path:
    proc = subprocess.run([str(PACKAGING / "trixie-guest")], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Path(proc.stdout.strip())


def boot(image: Path, share: Path, console: Path) -> int | None:
    """Boot the guest with the share; it reboots once by itself and powers off."""
    argv = [
        QEMU, "-accel", "tcg", "-cpu", "max", "-m", "2G",
        "-smp", str(min(2, os.cpu_count() or 1)), "-nodefaults", "-no-user-config",
        "-display", "none", "-monitor", "none", "-serial", f"file:{console}", "-nic", "none",
        "-kernel", str(image / "vmlinuz"), "-initrd", str(image / "initrd.img"),
        "-append", "root=/dev/vda rw console=ttyS0 panic=-1 systemd.show_status=1",
        "-drive", f"file={image / 'disk.img'},format=raw,if=virtio,snapshot=on",
        "-device", "virtio-rng-pci",
        "-fsdev", f"local,id=kmgtest,path={share},security_model=none",
        "-device", "virtio-9p-pci,fsdev=kmgtest,mount_tag=kmgtest",
    ]
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=GUEST_TIMEOUT, check=False).returncode
    except subprocess.TimeoutExpired:
        return None
