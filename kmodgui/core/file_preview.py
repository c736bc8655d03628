"""What a module file would do if inserted, worked out before anything is loaded.

Its modinfo, whether its vermagic names the inspected kernel release, whether
it carries a signature, and which of the symbols it imports (``__versions``)
neither the kernel image (``__ksymtab_`` entries of the real ``System.map`` or
of the running kernel's symbol table) nor an installed module
(``modules.symbols``) provides. Qt-free; runs in a worker thread.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from kmodgui.core.errors import KmodguiError
from kmodgui.core.paths import Root

KSYMTAB_PREFIXES = ("__ksymtab_", "__ksymtab_gpl_")


@dataclass
class FilePreview:
    path: str
    name: str = ""
    size: int = 0
    modinfo: list[tuple[str, str]] = field(default_factory=list)
    vermagic: str = ""
    vermagic_matches: bool = False
    signer: str = ""
    signed: bool = False
    imported: int = 0                 # symbols listed in __versions
    from_modules: dict[str, list[str]] = field(default_factory=dict)  # symbol -> modules
    unresolved: list[str] = field(default_factory=list)
    symbols_known: bool = True        # False when no System.map was found to compare with
    error: str = ""

    @property
    def depends(self) -> list[str]:
        return [v for k, v in self.modinfo if k == "depends" and v]


def _ksymtab_names(lines: list[str]) -> set[str]:
    exports: set[str] = set()
    for line in lines:
        name = line.split()[2] if line.count(" ") >= 2 else ""
        if name.startswith("__ksymtab_"):
            exports.add(name.removeprefix("__ksymtab_gpl_").removeprefix("__ksymtab_"))
    return exports


def kernel_exports(root: Root) -> set[str] | None:
    """Symbols the kernel image exports; None when nothing trustworthy says so.

    ``/boot/System.map-<release>`` when it is the real one (Debian ships a
    placeholder and puts the real map in the -dbg package), else the running
    kernel's ``kallsyms`` when the root is this system and the release is running.
    """
    sources = [root.system_map]
    if root.is_host and root.release == os.uname().release:
        sources.append(root.proc_modules.with_name("kallsyms"))
    for path in sources:
        try:
            text = path.read_text(encoding="latin-1")
        except OSError:
            continue
        exports = _ksymtab_names(text.splitlines())
        if exports:
            return exports
    return None


def module_exports(root: Root) -> dict[str, list[str]]:
    """``modules.symbols``: exported symbol → the installed modules providing it."""
    from kmodgui.core.installed import read_symbols

    try:
        pairs = read_symbols(root)
    except KmodguiError:
        return {}
    found: dict[str, list[str]] = {}
    for alias, module in pairs:
        found.setdefault(alias.removeprefix("symbol:"), []).append(module)
    return found


def preview_file(path: str, root: Root) -> FilePreview:
    """Everything the insert-file confirmation shows; errors end up in ``error``."""
    from kmodgui.core.modfile import read_module_info

    preview = FilePreview(path=path)
    try:
        preview.size = os.stat(path).st_size
        info = read_module_info(path)
    except (OSError, KmodguiError) as exc:
        preview.error = getattr(exc, "message", None) or str(exc)
        return preview
    preview.modinfo = list(info.modinfo)
    preview.name = info.name or info.get("name") or os.path.basename(path).split(".", 1)[0]
    preview.vermagic = info.get("vermagic") or ""
    preview.vermagic_matches = preview.vermagic.split(" ", 1)[0] == root.release
    if info.signature is not None:
        preview.signed = True
        preview.signer = str(getattr(info.signature, "signer", "") or "")
    names = [name for _crc, name in info.versions if name != "module_layout"]
    preview.imported = len(names)
    kernel = kernel_exports(root)
    preview.symbols_known = kernel is not None
    modules = module_exports(root)
    for name in names:
        if kernel is not None and name in kernel:
            continue
        if name in modules:
            preview.from_modules[name] = modules[name]
        elif kernel is not None:
            preview.unresolved.append(name)
    return preview
