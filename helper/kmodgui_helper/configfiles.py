"""The helper's own configuration files, one per module, written atomically.

``/etc/modprobe.d/kmodgui-<module>.conf`` holds the module's ``options``,
``blacklist`` and ``install <module> /bin/false`` lines;
``/etc/modules-load.d/kmodgui-<module>.conf`` holds its name. Content comes
only from validated, structured data; files are written to a temporary name
in the same directory, synced and renamed, never through a link. Deleting a
file undoes the change.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from kmodgui.core.names import own_config_name
from kmodgui.core.paths import Root

MODPROBE_DIR = "/etc/modprobe.d"
MODULES_LOAD_DIR = "/etc/modules-load.d"
HEADER = "# Written by kmodgui for module {module}. Delete this file to undo these settings.\n"
MAX_FILE = 64 * 1024


class ConfigWriteError(Exception):
    """The file or its directory is not safe to write."""


@dataclass
class ModprobeSettings:
    """What kmodgui's modprobe.d file of one module says."""

    options: list[tuple[str, str]] = field(default_factory=list)
    blacklist: str = "none"  # none | autoload | always

    def render(self, module: str) -> str:
        lines = []
        if self.options:
            lines.append(f"options {module} " + " ".join(f"{k}={v}" for k, v in self.options))
        if self.blacklist in ("autoload", "always"):
            lines.append(f"blacklist {module}")
        if self.blacklist == "always":
            lines.append(f"install {module} /bin/false")
        return HEADER.format(module=module) + "".join(line + "\n" for line in lines) \
            if lines else ""


def _check_safe(fd: int, path: Path) -> None:
    """Refuse a directory someone other than root could change (swap, add files to)."""
    info = os.fstat(fd)
    if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigWriteError(f"{path} is writable by others than root: not writing there")


def _open_dir(root: Root, directory: str) -> int:
    """Open ``directory`` under the root without following links; create it if missing.

    Every directory on the way (from the root's base down) must be root's and not
    writable by group or others: whoever can write a parent can swap the child.
    """
    path = root.path(directory)
    fd = os.open(root.base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _check_safe(fd, root.base)
        here = root.base
        for part in Path(directory).parts[1:]:
            here = here / part
            try:
                os.mkdir(part, 0o755, dir_fd=fd)
            except FileExistsError:
                pass
            nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                          dir_fd=fd)
            os.close(fd)
            fd = nxt
            _check_safe(fd, here)
    except OSError as exc:
        os.close(fd)
        raise ConfigWriteError(f"cannot open {path} safely: {exc.strerror}") from exc
    except ConfigWriteError:
        os.close(fd)
        raise
    return fd


def _read(dir_fd: int, name: str) -> str:
    try:
        # O_NONBLOCK: opening a FIFO planted under our name would otherwise wait for a writer
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC,
                     dir_fd=dir_fd)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise ConfigWriteError(f"cannot read {name} safely: {exc.strerror}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigWriteError(f"{name} is not a regular file")
        return os.read(fd, MAX_FILE).decode("utf-8", "replace")
    finally:
        os.close(fd)


def _replace(dir_fd: int, name: str, content: str) -> bool:
    """Write ``content`` to ``name`` atomically, or remove it when empty; True if it changed."""
    old = _read(dir_fd, name)
    if old == content:
        return False
    if not content:
        os.unlink(name, dir_fd=dir_fd)
        os.fsync(dir_fd)
        return True
    tmp = f".{name}.tmp{os.getpid()}"
    try:
        os.unlink(tmp, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o644, dir_fd=dir_fd)
    try:
        os.fchmod(fd, 0o644)
        os.write(fd, content.encode())
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp, dir_fd=dir_fd)
        raise
    os.close(fd)
    os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    os.fsync(dir_fd)
    return True


def parse_modprobe(text: str, module: str) -> ModprobeSettings:
    """Read back a file this module wrote (only the three kinds of line it writes)."""
    settings = ModprobeSettings()
    blacklisted = never = False
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[1] != module:
            continue
        if words[:1] == ["options"]:
            settings.options = [tuple(w.split("=", 1)) for w in words[2:] if "=" in w]  # type: ignore[misc]
        elif words[:1] == ["blacklist"]:
            blacklisted = True
        elif words[:1] == ["install"] and words[2:] == ["/bin/false"]:
            never = True
    settings.blacklist = "always" if never else "autoload" if blacklisted else "none"
    return settings


def modprobe_file(root: Root, module: str) -> Path:
    return root.path(MODPROBE_DIR) / own_config_name(module)


def modules_load_file(root: Root, module: str) -> Path:
    return root.path(MODULES_LOAD_DIR) / own_config_name(module)


def read_settings(root: Root, module: str) -> ModprobeSettings:
    """What our modprobe.d file of ``module`` says now (nothing when there is none)."""
    dir_fd = _open_dir(root, MODPROBE_DIR)
    try:
        return parse_modprobe(_read(dir_fd, modprobe_file(root, module).name), module)
    finally:
        os.close(dir_fd)


def update_modprobe(root: Root, module: str, *, options: list[tuple[str, str]] | None = None,
                    blacklist: str | None = None) -> list[str]:
    """Change the options or the blacklist mode of ``module``; returns the files changed."""
    name = modprobe_file(root, module).name
    dir_fd = _open_dir(root, MODPROBE_DIR)
    try:
        settings = parse_modprobe(_read(dir_fd, name), module)
        if options is not None:
            settings.options = options
        if blacklist is not None:
            settings.blacklist = blacklist
        changed = _replace(dir_fd, name, settings.render(module))
    finally:
        os.close(dir_fd)
    return [str(modprobe_file(root, module))] if changed else []


def update_modules_load(root: Root, module: str, enabled: bool) -> list[str]:
    """Make ``module`` load at boot (systemd-modules-load) or not; returns the files changed."""
    name = modules_load_file(root, module).name
    content = HEADER.format(module=module) + module + "\n" if enabled else ""
    dir_fd = _open_dir(root, MODULES_LOAD_DIR)
    try:
        changed = _replace(dir_fd, name, content)
    finally:
        os.close(dir_fd)
    return [str(modules_load_file(root, module))] if changed else []
