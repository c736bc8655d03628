"""What the kernel enforces about modules, as its files show it.

One reader for the window's workbench checks and the helper's GetCapabilities, so the
two never disagree. Absent files mean the kernel's default. No decompressor is
imported unless the running kernel's ``config.gz`` is the only copy of its config
(the root helper imports this module).
"""

from __future__ import annotations

from pathlib import Path

from kmodgui.core.paths import Root

MAX_READ = 65536


def read_text(path: Path, limit: int = MAX_READ) -> str:
    """A kernel or config file (its first ``limit`` characters), stripped; "" when it
    cannot be read. A kernel config is read whole (``limit=-1``)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(limit).strip()
    except OSError:
        return ""


def lockdown(root: Root) -> str:
    """The selected lockdown mode (``none [integrity] confidentiality`` → ``integrity``)."""
    for word in read_text(root.sys / "kernel" / "security" / "lockdown").split():
        if word.startswith("[") and word.endswith("]"):
            return word[1:-1]
    return "none"


def signature_enforced(root: Root) -> bool:
    """module.sig_enforce: only signed modules load."""
    return read_text(root.sys_module / "module" / "parameters" / "sig_enforce") in ("Y", "1")


def modules_disabled(root: Root) -> bool:
    """kernel.modules_disabled: no module loads or unloads until the next boot."""
    return read_text(root.proc / "sys" / "kernel" / "modules_disabled") == "1"


def kernel_config(root: Root) -> str:
    """The release's kernel config: the build tree's ``.config``, ``/boot``, ``config.gz``."""
    for path in (root.modules_dir / "build" / ".config", root.kernel_config):
        text = read_text(path, limit=-1)
        if text:
            return text
    if root.is_host:
        import gzip  # only here: the running kernel's own copy is compressed

        try:
            with gzip.open(root.proc / "config.gz", "rt") as fh:
                return fh.read()
        except (OSError, EOFError):
            pass
    return ""


def config_value(config: str, name: str) -> str | None:
    """``CONFIG_NAME``'s value (quotes removed); None when unset."""
    prefix = f"{name}="
    for line in config.splitlines():
        if line.startswith(prefix):
            return line[len(prefix):].strip().strip('"')
    return None
