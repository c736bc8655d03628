"""Systemd tier: the built .debs installed with apt in a real Debian 13 guest that boots
trixie's kernel under qemu TCG with systemd as PID 1 (packaging/trixie-guest).

One boot per session does everything: ``guest_drive.py`` runs at boot as a systemd
unit, installs an older build, then the new one over it, proves each point as the
unprivileged user ``tester``, reboots the guest once (load at boot), purges, and
powers off. Each test here reads one line of its report and fails with that line's
evidence and the tail of the serial console.
"""

from __future__ import annotations

import json
import shutil
import time

import pytest
from sdguest import DRIVER, SystemdGuest, boot, build_debs, guest_image, repack_old

from kmodgui.core.paths import Root

#: tier markers come from these fixtures, as tests/conftest.py does for the other tiers:
#: booting the guest is the guest tier, reading its root's real kernel tree the kernel tier
TIER_FIXTURES = {"guest": {"systemd_guest"}, "kernel": {"trixie_root"}}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in TIER_FIXTURES.items():
            if used & fixtures and item.get_closest_marker(marker) is None:
                item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture(scope="session")
def systemd_guest(tmp_path_factory: pytest.TempPathFactory) -> SystemdGuest:
    """Build the .debs, an older build of them, boot the guest once; its report."""
    timings: dict[str, float] = {}
    start = time.monotonic()
    image = guest_image()
    timings["image"] = time.monotonic() - start
    share = tmp_path_factory.mktemp("systemd-share")
    start = time.monotonic()
    new = build_debs(tmp_path_factory.mktemp("dist"))
    timings["build"] = time.monotonic() - start
    (share / "new").mkdir()
    (share / "old").mkdir()
    for deb in new:
        shutil.copy(deb, share / "new" / deb.name)
        repack_old(deb, share / "old")
    shutil.copy(DRIVER, share / "drive")
    (share / "drive").chmod(0o755)
    console = share / "console.log"
    start = time.monotonic()
    code = boot(image, share, console)
    timings["guest"] = time.monotonic() - start
    results: dict[str, dict[str, object]] = {}
    report = share / "results.jsonl"
    if report.exists():
        for line in report.read_text().splitlines():
            entry = json.loads(line)
            results[entry["check"]] = entry
    guest = SystemdGuest(share, console.read_text(errors="replace") if console.exists() else "",
                         code, results, timings)
    summary = {name: r["seconds"] for name, r in results.items()}
    print(f"systemd guest: {timings}; phases: {summary}")
    return guest


@pytest.fixture(scope="session")
def trixie_root() -> Root:
    """The guest image's root: trixie's kernel 6.12 module tree and its kmod 34."""
    base = guest_image() / "root"
    releases = sorted(p.name for p in (base / "usr/lib/modules").iterdir())
    assert len(releases) == 1, releases
    return Root(base, releases[0])
