"""The distribution packages as the tests build them (once per session, shared by the
packaging and systemd tiers), and a way to run commands in the throwaway Debian 13 root
they were built in (packaging/in-trixie)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
PACKAGES = ("kmodgui", "kmodgui-helper", "kmodgui-gui", "cockpit-kmodgui")


@dataclass(frozen=True)
class Built:
    dist: Path

    @property
    def debs(self) -> list[Path]:
        return sorted(self.dist.glob("*_all.deb"))

    @property
    def rpms(self) -> list[Path]:
        return sorted(self.dist.glob("*.noarch.rpm"))

    @property
    def changes(self) -> Path:
        return next(self.dist.glob("kmodgui_*.changes"))


def in_trixie(script: str, *, binds: dict[Path, str] | None = None,
              check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run *script* with sh as root in a fresh overlay of the cached trixie root, offline."""
    argv = [str(PACKAGING / "in-trixie")]
    for host, guest in (binds or {}).items():
        argv += ["--bind", f"{host}:{guest}"]
    proc = subprocess.run([*argv, "--", "sh", "-c", script], capture_output=True, text=True,
                          check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"in trixie: {script!r} failed ({proc.returncode}):\n"
                    f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def build(dist: Path) -> Built:
    """`make -C packaging deb rpm` into *dist* (not the checkout's dist/)."""
    for target in ("deb", "rpm"):
        proc = subprocess.run(["make", "-s", "-C", str(PACKAGING), target],
                              capture_output=True, text=True, check=False,
                              env={**os.environ, "DIST": str(dist)})
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = Built(dist)
    assert sorted(p.name.split("_")[0] for p in result.debs) == sorted(PACKAGES)
    assert len(result.rpms) == len(PACKAGES)
    return result
