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
from kmgtest.packages import Built
from sdguest import DRIVER, SystemdGuest, boot, guest_image, pick_debs, repack_old

from kmodgui.core.paths import Root


@pytest.fixture(scope="session")
def systemd_guest(tmp_path_factory: pytest.TempPathFactory, built: Built) -> SystemdGuest:
    """The session's .debs, an older build of them, the guest booted once; its report."""
    timings: dict[str, float] = {}
    start = time.monotonic()
    image = guest_image()
    timings["image"] = time.monotonic() - start
    share = tmp_path_factory.mktemp("systemd-share")
    new = pick_debs(built.dist)   # the session's build, shared with tests/packaging
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
