"""packaging/trixie-guest: what the cached image holds, and its offline fallback.

The fallback tests point the script at an unreachable mirror and a cache of their own,
so mmdebstrap fails at once (as it does offline) without touching the real cache.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from sdguest import PACKAGING

from kmodgui.core.paths import Root

SCRIPT = PACKAGING / "trixie-guest"
RECIPE = re.search(r"^recipe=(\d+)$", SCRIPT.read_text(), re.M)


def run_offline(cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KMODGUI_TEST_CACHE": str(cache),
           "KMODGUI_DEBIAN_MIRROR": "http://127.0.0.1:9/debian"}
    return subprocess.run([str(SCRIPT)], capture_output=True, text=True, env=env, check=False)


def test_offline_it_falls_back_to_the_newest_cached_image(tmp_path: Path) -> None:
    assert RECIPE is not None
    for day in ("20000101", "20000102"):
        (tmp_path / f"trixie-guest-r{RECIPE[1]}-{day}").mkdir()
        (tmp_path / f"trixie-guest-r{RECIPE[1]}-{day}" / ".complete").touch()
    (tmp_path / "trixie-guest-r0-20000103").mkdir()  # another recipe: never used
    (tmp_path / "trixie-guest-r0-20000103" / ".complete").touch()
    proc = run_offline(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path / f"trixie-guest-r{RECIPE[1]}-20000102")
    assert "mmdebstrap failed (offline?)" in proc.stderr
    # a failed build leaves nothing behind and removes nothing that was there
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [
        "trixie-guest-r0-20000103", f"trixie-guest-r{RECIPE[1]}-20000101",
        f"trixie-guest-r{RECIPE[1]}-20000102"]


def test_offline_with_nothing_cached_it_says_so(tmp_path: Path) -> None:
    proc = run_offline(tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "mmdebstrap failed and nothing is cached" in proc.stderr


def test_image_boots_trixie_kernel_with_its_test_module(trixie_root: Root) -> None:
    """vmlinuz/initrd are the root's kernel; kmg_hello.ko was built for that release."""
    image = trixie_root.base.parent
    assert (image / "vmlinuz").read_bytes() == next(
        (trixie_root.base / "boot").glob("vmlinuz-*")).read_bytes()
    assert (image / "disk.img").stat().st_size > 1 << 30
    vermagic = subprocess.run(
        ["chroot", str(trixie_root.base), "modinfo", "-F", "vermagic",
         "/opt/kmodgui-test/kmg_hello.ko"], capture_output=True, text=True, check=True).stdout
    assert vermagic.split()[0] == trixie_root.release
    unit = trixie_root.base / "etc/systemd/system/multi-user.target.wants"
    assert (unit / "kmodgui-guest-test.service").is_symlink()
    assert (trixie_root.base / "sbin/init").resolve().name == "systemd"


@pytest.mark.parametrize("package", ["systemd-sysv", "dbus", "polkitd", "kmod", "udev",
                                     "python3-dbus-fast", "python3-pyside6.qtwidgets"])
def test_image_has_what_the_packages_need(trixie_root: Root, package: str) -> None:
    proc = subprocess.run(["chroot", str(trixie_root.base), "dpkg-query", "-W", "-f",
                           "${Status}", package], capture_output=True, text=True, check=False)
    assert proc.stdout == "install ok installed", proc.stderr
