"""After a configuration write: does kmod (or systemd) now do what our file says?

Another file can override ours: kmod runs only the *first* ``install`` line for
a module (file order), so an earlier vendor ``install`` line beats our
``install M /bin/false``; ``options`` all apply in order, so a later line (or
the kernel command line) setting the same parameter wins over our value. The
configuration is read by the core's own readers, the same reading as
``kmodgui config``; each warning names the overriding line as ``file:line``.
"""

from __future__ import annotations

from pathlib import Path

from kmodgui.core.modprobe_config import ModprobeConfig
from kmodgui.core.modules_load import ModulesLoad
from kmodgui.core.names import normalize_module_name
from kmodgui.core.paths import Root


def modprobe_warnings(root: Root, module: str, ours: Path,
                      options: list[tuple[str, str]], never: bool) -> list[str]:
    """What in modprobe.d (or on the kernel command line) undoes our file for ``module``."""
    config = ModprobeConfig.load(root)
    ours_text = str(ours)
    warnings: list[str] = []
    if never:
        first = config.command_for("install", module)
        if first is not None and first.source.file != ours_text:
            warnings.append(
                f"{first.source} has an earlier install line for {module} "
                f"('{first.value}'); kmod runs only the first one, so {module} can still be "
                "loaded despite 'never load'")
    if options:
        keys = {key for key, _ in options}
        entries = [e for e in config.entries if e.kind == "options" and e.module == module]
        after_ours = False
        for entry in entries:
            if entry.source.file == ours_text:
                after_ours = True
                continue
            if not after_ours:
                continue
            for word in entry.value.split():
                key = word.partition("=")[0].replace("-", "_")
                if key in keys:
                    warnings.append(f"{entry.source} sets {word} for {module} after "
                                    f"{ours.name}, so that value wins over ours")
    return warnings


def boot_warnings(root: Root, module: str, ours: Path, enabled: bool) -> list[str]:
    """When load-at-boot was turned off: other modules-load.d lines that still load it."""
    if enabled:
        return []
    wanted = normalize_module_name(module)
    config = ModulesLoad.load(root)
    return [f"{entry.source} still loads {module} at boot"
            for entry in config.entries
            if not entry.initrd_only and entry.source.file != str(ours)
            and normalize_module_name(entry.module) == wanted]
