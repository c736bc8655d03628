"""The catalog's record types: one :class:`ModuleRecord` per module name.

These plain dataclasses are the contract between the core (which fills them),
the command line (which prints them, ``list --json``) and the window (whose
models wrap them). They hold only data: the rules live in the readers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ModuleState(StrEnum):
    """Where a module stands on the inspected system."""

    LOADED = "loaded"                # in /proc/modules and installed for this release
    BUILTIN = "builtin"              # compiled into the kernel (modules.builtin)
    AVAILABLE = "available"          # installed for this release, not loaded
    EXTERNAL = "loaded-not-installed"  # loaded, but no file for it under /lib/modules/<release>


@dataclass(frozen=True)
class Source:
    """Where a setting comes from: a file and a 1-based line number."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Setting:
    """One configuration entry that applies to a module.

    ``kind`` is the modprobe.d/modules-load.d keyword: ``options``,
    ``blacklist``, ``install``, ``remove``, ``softdep``, ``alias`` or ``load``
    (a modules-load.d line). ``value`` is the rest of the line as kmod keeps it.
    """

    kind: str
    value: str
    source: Source


@dataclass
class Parameter:
    """A module parameter: declared in ``.modinfo`` and/or present in sysfs."""

    name: str
    type: str | None = None          # parmtype, e.g. "int", "charp", "array of int"
    description: str | None = None   # parm
    value: str | None = None         # live value from /sys/module/M/parameters/P
    hidden: bool = False             # present in sysfs but unreadable to us
    permission: int | None = None    # sysfs mode bits (None: no sysfs entry)

    @property
    def writable(self) -> bool:
        """Writable at runtime (by root): the sysfs entry has a write bit."""
        return self.permission is not None and bool(self.permission & 0o222)


@dataclass
class ModuleRecord:
    """Everything known about one module name on one system and kernel release."""

    name: str
    state: ModuleState
    path: str | None = None           # absolute module file path (None if built-in/unknown)
    file_size: int | None = None      # bytes on disk
    # live state (/proc/modules, /sys/module)
    size: int | None = None           # core size in memory
    refcount: int | None = None
    holders: list[str] = field(default_factory=list)   # modules using this one
    load_order: int | None = None     # 0 = most recently loaded
    live_state: str | None = None     # Live, Loading, Unloading
    taint: str = ""
    # modinfo
    description: str = ""
    authors: list[str] = field(default_factory=list)
    license: str = ""
    version: str = ""
    srcversion: str = ""
    vermagic: str = ""
    firmware: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    signer: str = ""
    sig_key: str = ""
    sig_hashalgo: str = ""
    parameters: list[Parameter] = field(default_factory=list)
    # relations
    depends: list[str] = field(default_factory=list)      # direct dependencies
    required_by: list[str] = field(default_factory=list)  # modules that depend on this one
    softdep_pre: list[str] = field(default_factory=list)
    softdep_post: list[str] = field(default_factory=list)
    # configuration in effect
    settings: list[Setting] = field(default_factory=list)

    @property
    def loaded(self) -> bool:
        return self.state in (ModuleState.LOADED, ModuleState.EXTERNAL)

    def settings_of(self, kind: str) -> list[Setting]:
        return [s for s in self.settings if s.kind == kind]

    @property
    def blacklisted(self) -> bool:
        return bool(self.settings_of("blacklist"))

    @property
    def load_at_boot(self) -> bool:
        return bool(self.settings_of("load"))
