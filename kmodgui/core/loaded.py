"""Live module state: ``/proc/modules`` and ``/sys/module/<name>``.

Reading needs no privilege. Values an unprivileged reader cannot see (some
parameters are 0400) are reported as hidden, not as errors.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from kmodgui.core.paths import Root

# Bounded reads: sysfs attributes are at most a page; a parameter array a few.
_ATTR_LIMIT = 64 * 1024


@dataclass(frozen=True)
class LoadedModule:
    """One line of ``/proc/modules``."""

    name: str
    size: int
    refcount: int | None     # None when the kernel prints "-" (no unload support)
    users: tuple[str, ...]   # modules using this one, as /proc/modules lists them
    state: str               # Live, Loading or Unloading
    address: str
    taint: str = ""          # letters without parentheses, "" when untainted
    order: int = 0           # 0 = most recently loaded (first line)


@dataclass(frozen=True)
class SysParameter:
    """One file in ``/sys/module/<m>/parameters``."""

    name: str
    value: str | None        # None when unreadable (hidden)
    permission: int          # mode bits of the sysfs file

    @property
    def hidden(self) -> bool:
        return self.value is None


@dataclass
class SysModule:
    """What ``/sys/module/<name>`` says about a module (or a built-in parameter holder)."""

    name: str
    initstate: str | None = None   # live, coming, going; None for built-in holders
    refcnt: int | None = None
    holders: list[str] = field(default_factory=list)
    taint: str = ""
    version: str = ""
    srcversion: str = ""
    coresize: int | None = None
    parameters: list[SysParameter] = field(default_factory=list)

    @property
    def builtin(self) -> bool:
        """A directory without ``initstate`` belongs to built-in code (or a module coming up)."""
        return self.initstate is None


def parse_proc_modules(text: str) -> list[LoadedModule]:
    """Parse the text of ``/proc/modules``, keeping its newest-first order.

    Malformed lines are skipped: the file is the kernel's, but a captured or
    hand-made tree may not be.
    """
    modules: list[LoadedModule] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 6 or not fields[1].isdigit():
            continue
        name, size, refcount, users, state, address = fields[:6]
        taint = ""
        if len(fields) > 6 and fields[6].startswith("(") and fields[6].endswith(")"):
            taint = fields[6][1:-1]
        modules.append(LoadedModule(
            name=name,
            size=int(size),
            refcount=int(refcount) if refcount.isdigit() else None,
            users=tuple(u for u in users.split(",") if u and u != "-"),
            state=state,
            address=address,
            taint=taint,
            order=len(modules),
        ))
    return modules


def read_proc_modules(root: Root) -> list[LoadedModule]:
    """The loaded modules, newest first; empty when the kernel has no module support."""
    try:
        text = root.proc_modules.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return parse_proc_modules(text)


def _read_attr(path: Path) -> str | None:
    """A sysfs attribute without its trailing newline; None if absent or unreadable."""
    try:
        with open(path, "rb") as f:
            data = f.read(_ATTR_LIMIT)
    except OSError:
        return None
    return data.decode("utf-8", "replace").removesuffix("\n")


def _read_int(path: Path) -> int | None:
    value = _read_attr(path)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def read_parameters(directory: Path) -> list[SysParameter]:
    """Every parameter file of a module, sorted by name; unreadable values are hidden."""
    params: list[SysParameter] = []
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return params
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        params.append(SysParameter(
            name=entry.name,
            value=_read_attr(Path(entry.path)),
            permission=stat.S_IMODE(st.st_mode),
        ))
    return params


def read_sys_module(root: Root, name: str) -> SysModule | None:
    """``/sys/module/<name>``; None when there is no such directory."""
    directory = root.sys_module / name
    if not directory.is_dir():
        return None
    try:
        holders = sorted(p.name for p in (directory / "holders").iterdir())
    except OSError:
        holders = []
    return SysModule(
        name=name,
        initstate=_read_attr(directory / "initstate"),
        refcnt=_read_int(directory / "refcnt"),
        holders=holders,
        taint=_read_attr(directory / "taint") or "",
        version=_read_attr(directory / "version") or "",
        srcversion=_read_attr(directory / "srcversion") or "",
        coresize=_read_int(directory / "coresize"),
        parameters=read_parameters(directory / "parameters"),
    )


def sys_module_names(root: Root) -> list[str]:
    """Every directory in ``/sys/module``: loaded modules and built-in parameter holders."""
    try:
        return sorted(p.name for p in root.sys_module.iterdir())
    except OSError:
        return []
