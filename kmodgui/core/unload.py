"""Whether a module can be unloaded, decided as kmod's ``rmmod`` decides, before any password.

``rmmod`` refuses in this order: a built-in module, a module that is not
loaded, a module other modules hold, a module with a reference count. The
window and the command line ask :func:`unload_refusal` (live files) or
:func:`refusal_for_record` (a catalog record) first, so the user reads
"Module xts is in use by: camellia_x86_64" without a polkit prompt; the helper
checks again for real. Forcing (``rmmod -f``) skips the in-use checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from kmodgui.core.errors import IndexFileError
from kmodgui.core.installed import read_builtin
from kmodgui.core.loaded import read_proc_modules, read_sys_module
from kmodgui.core.names import normalize_module_name
from kmodgui.core.paths import Root
from kmodgui.core.records import ModuleRecord, ModuleState


class Reason(StrEnum):
    """Why ``rmmod`` would refuse, in the order it checks."""

    BUILTIN = "builtin"
    NOT_LOADED = "not-loaded"
    HOLDERS = "holders"
    IN_USE = "in-use"


@dataclass(frozen=True)
class Refusal:
    """One refusal; :attr:`message` is rmmod's own sentence."""

    reason: Reason
    module: str
    holders: tuple[str, ...] = field(default=())
    refcount: int = 0

    @property
    def message(self) -> str:
        if self.reason is Reason.BUILTIN:
            return f"Module {self.module} is builtin."
        if self.reason is Reason.NOT_LOADED:
            return f"Module {self.module} is not currently loaded"
        if self.reason is Reason.HOLDERS:
            return f"Module {self.module} is in use by: {' '.join(self.holders)}"
        return f"Module {self.module} is in use"


def refusal(module: str, *, builtin: bool, loaded: bool, holders: Sequence[str] = (),
            refcount: int | None = 0, force: bool = False) -> Refusal | None:
    """The rule itself, from the facts: None when unloading may go ahead."""
    name = normalize_module_name(module)
    if builtin:
        return Refusal(Reason.BUILTIN, name)
    if not loaded:
        return Refusal(Reason.NOT_LOADED, name)
    if force:
        return None
    if holders:
        return Refusal(Reason.HOLDERS, name, tuple(holders))
    if refcount:
        return Refusal(Reason.IN_USE, name, refcount=refcount)
    return None


def unload_refusal(root: Root, module: str, *, force: bool = False) -> Refusal | None:
    """rmmod's verdict from ``/sys/module``, ``modules.builtin`` and ``/proc/modules``.

    None also when the tree shows no module support at all (no ``/proc/modules``):
    then the kernel's own answer, through the helper, is the one to show.
    """
    name = normalize_module_name(module)
    try:
        if not root.proc_modules.is_file():
            return None
        loaded = {m.name: m for m in read_proc_modules(root)}
    except OSError:
        return None
    sys_module = read_sys_module(root, name)
    builtin = (name not in loaded and sys_module is not None and sys_module.builtin) or \
        name in _builtin_names(root)
    entry = loaded.get(name)
    return refusal(name, builtin=builtin, loaded=entry is not None,
                   holders=[u for u in entry.users if u] if entry else (),
                   refcount=entry.refcount if entry else 0, force=force)


def refusal_for_record(record: ModuleRecord, *, force: bool = False) -> Refusal | None:
    """The same rule for a catalog record (the window's list)."""
    return refusal(record.name, builtin=record.state is ModuleState.BUILTIN,
                   loaded=record.loaded, holders=record.holders, refcount=record.refcount,
                   force=force)


def _builtin_names(root: Root) -> set[str]:
    try:
        return set(read_builtin(root))
    except IndexFileError:  # no modules.builtin: nothing known to be built in
        return set()
