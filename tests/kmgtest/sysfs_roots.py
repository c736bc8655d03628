"""Test roots: a captured ``/sys`` (a real kernel under qemu) joined with the real kernel tree."""

from __future__ import annotations

import os
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

from kmodgui.core.paths import Root

DATA = Path(__file__).resolve().parent.parent / "data" / "sysfs"
ARCHIVE = "sysfs.tar.xz"
SCENARIOS = sorted(p.name for p in DATA.iterdir() if (p / ARCHIVE).is_file())
HWDATA = Path("/usr/share/hwdata")


def extract(scenario: str, base: Path, data: Path = DATA) -> Path:
    """Unpack the scenario's captured ``sys/`` and ``proc/`` into ``base``."""
    base.mkdir(parents=True, exist_ok=True)
    with tarfile.open(data / scenario / ARCHIVE) as tar:
        tar.extractall(base, filter="data")
    return base


def make_root(base: Path, scenario: str, kernel_root: Root, *, hwdata: bool = True) -> Root:
    """A system tree: the scenario's /sys and /proc (a fresh copy that tests may change,
    as the kernel does when a driver binds), the kernel's /lib/modules, hwdata.

    The kernel tree may be of another release than the capture (Debian moves to a new
    ABI and drops old ones): devices, modaliases and bound drivers do not depend on the
    ABI number, and every expectation is kmod's answer on the same joined tree.
    """
    extract(scenario, base)
    (base / "lib" / "modules").mkdir(parents=True)
    (base / "lib" / "modules" / kernel_root.release).symlink_to(kernel_root.modules_dir)
    (base / "etc" / "modprobe.d").mkdir(parents=True)
    if hwdata:
        (base / "usr" / "share").mkdir(parents=True)
        (base / "usr" / "share" / "hwdata").symlink_to(HWDATA)
    return Root(base, kernel_root.release)


def captured_release(scenario: str) -> str:
    """The kernel release the scenario was captured from."""
    return (DATA / scenario / "RELEASE").read_text().strip()


def modprobe_resolve(root: Root) -> Callable[[str], list[str]]:
    """kmod's own answer: ``modprobe -R`` on the same tree and configuration."""
    def resolve(modalias: str) -> list[str]:
        out = subprocess.run(
            ["modprobe", "-d", str(root.base), "-S", root.release,
             "-C", str(root.path("/etc/modprobe.d")), "-R", "--", modalias],
            capture_output=True, text=True, check=False,
            env={**os.environ, "LC_ALL": "C"})
        return out.stdout.split()
    return resolve
