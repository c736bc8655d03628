"""Every system path kmodgui reads, resolved under an optional base directory.

This is the only module that spells out ``/proc``, ``/sys``, ``/lib/modules``
and the configuration directories; everything else asks a :class:`Root`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# kmod 30 reads these, in this priority order (first directory wins on a
# file-name clash); newer kmod adds /usr/lib/modprobe.d after /lib.
MODPROBE_DIRS = (
    "etc/modprobe.d",
    "run/modprobe.d",
    "usr/local/lib/modprobe.d",
    "lib/modprobe.d",
    "usr/lib/modprobe.d",
)
# systemd-modules-load.service reads these (first directory wins).
MODULES_LOAD_DIRS = (
    "etc/modules-load.d",
    "run/modules-load.d",
    "usr/local/lib/modules-load.d",
    "usr/lib/modules-load.d",
    "lib/modules-load.d",
)


def running_release() -> str:
    """The release of the running kernel, as ``uname -r`` prints it."""
    return os.uname().release


@dataclass(frozen=True)
class Root:
    """A system tree (``/`` or an image, kmod's ``-b``) and one kernel release in it."""

    base: Path = Path("/")
    release: str = field(default_factory=running_release)

    @classmethod
    def create(cls, base: str | os.PathLike[str] | None = None,
               release: str | None = None) -> Root:
        """Build a root from command-line style arguments (``-b``, ``-k``)."""
        return cls(Path(base) if base else Path("/"), release or running_release())

    def path(self, absolute: str) -> Path:
        """``absolute`` (e.g. ``"/etc/modprobe.d"``) placed under the base."""
        return self.base / absolute.lstrip("/")

    @property
    def is_host(self) -> bool:
        """True when the tree is the running system (live state is meaningful)."""
        return self.base.resolve() == Path("/")

    @property
    def proc(self) -> Path:
        """``/proc``: ``modules``, ``cmdline``, ``config.gz``, ``sys/kernel/…``."""
        return self.path("/proc")

    @property
    def sys(self) -> Path:
        """``/sys``: ``module``, ``bus``, ``devices``, ``kernel/security``."""
        return self.path("/sys")

    @property
    def boot(self) -> Path:
        """``/boot``: ``config-<release>``, ``System.map-<release>``."""
        return self.path("/boot")

    @property
    def proc_modules(self) -> Path:
        return self.proc / "modules"

    @property
    def sys_module(self) -> Path:
        return self.sys / "module"

    @property
    def sys_bus(self) -> Path:
        return self.sys / "bus"

    @property
    def sys_devices(self) -> Path:
        return self.sys / "devices"

    @property
    def kernel_cmdline(self) -> Path:
        return self.proc / "cmdline"

    @property
    def kernel_config(self) -> Path:
        """``/boot/config-<release>``: the configuration the kernel was built with."""
        return self.boot / f"config-{self.release}"

    @property
    def system_map(self) -> Path:
        """``/boot/System.map-<release>``: the kernel's symbol table."""
        return self.boot / f"System.map-{self.release}"

    @property
    def modules_root(self) -> Path:
        """``/lib/modules``: one directory per installed kernel release."""
        return self.path("/lib/modules")

    @property
    def modules_dir(self) -> Path:
        """``/lib/modules/<release>``: the installed modules of this release."""
        return self.modules_root / self.release

    def modules_file(self, name: str) -> Path:
        """An index file such as ``modules.dep`` of this release."""
        return self.modules_dir / name

    @property
    def modprobe_dirs(self) -> list[Path]:
        return [self.path(d) for d in MODPROBE_DIRS]

    @property
    def modules_load_dirs(self) -> list[Path]:
        return [self.path(d) for d in MODULES_LOAD_DIRS]

    def installed_releases(self) -> list[str]:
        """Kernel releases with a module directory, sorted by name."""
        try:
            return sorted(p.name for p in self.modules_root.iterdir() if p.is_dir())
        except OSError:
            return []

    def with_release(self, release: str) -> Root:
        return Root(self.base, release)
