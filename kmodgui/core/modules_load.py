"""modules-load.d: the modules systemd loads at boot, with the file and line of each.

This belongs to systemd (``systemd-modules-load.service``), not kmod, and
follows systemd's rules: ``*.conf`` files from :attr:`Root.modules_load_dirs`
sorted by file name, a file in an earlier directory hiding any file of the
same name in later ones (a link to ``/dev/null`` or an empty file hides
without adding anything), one module name per line, blank lines and lines
starting with ``#`` or ``;`` ignored. The kernel command line adds
``modules_load=a,b`` (``rd.modules_load=`` applies only inside the initrd and
is reported separately).
"""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kmodgui.core.modprobe_config import open_config_file
from kmodgui.core.paths import Root
from kmodgui.core.records import Setting, Source

MAX_FILE_SIZE = 16 * 1024 * 1024
_COMMENTS = "#;"


@dataclass(frozen=True)
class LoadEntry:
    """One module to load at boot; ``initrd_only`` for ``rd.modules_load=``."""

    module: str
    source: Source
    initrd_only: bool = False

    def as_setting(self) -> Setting:
        return Setting("load", self.module, self.source)


@dataclass
class ModulesLoad:
    """The merged modules-load.d configuration."""

    entries: list[LoadEntry] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    masked: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, root: Root, dirs: Sequence[Path] | None = None, *,
             kernel_cmdline: bool = True) -> ModulesLoad:
        result = cls()
        for path in _files(dirs if dirs is not None else root.modules_load_dirs, result):
            result.files.append(str(path))
            result._parse_file(path)
        if kernel_cmdline:
            result._parse_cmdline(root.kernel_cmdline)
        return result

    def _parse_file(self, path: Path) -> None:
        try:
            with open_config_file(path) as handle:
                info = os.fstat(handle.fileno())
                if info.st_size > MAX_FILE_SIZE:
                    self.warnings.append(f"{path}: too large for a configuration file, skipped")
                    return
                data = handle.read(MAX_FILE_SIZE + 1)
        except OSError as exc:
            self.warnings.append(f"{path}: cannot read ({exc.strerror or exc}), skipped")
            return
        if b"\0" in data:
            self.warnings.append(f"{path}: contains NUL bytes (binary file?), skipped")
            return
        text = data.decode("utf-8", "surrogateescape")
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if line and line[0] not in _COMMENTS:
                self.entries.append(LoadEntry(line, Source(str(path), number)))

    def _parse_cmdline(self, path: Path) -> None:
        try:
            text = path.read_bytes().decode("utf-8", "surrogateescape")
        except OSError:
            return
        try:
            words = shlex.split(text)
        except ValueError:
            words = text.split()
        for word in words:
            key, equal, value = word.partition("=")
            if not equal:
                continue
            key = key.replace("-", "_")
            if key in ("modules_load", "rd.modules_load"):
                for name in value.split(","):
                    if name:
                        self.entries.append(LoadEntry(name, Source(str(path), 1),
                                                      initrd_only=key.startswith("rd.")))

    @property
    def modules(self) -> list[str]:
        """Module names systemd loads on the installed system, in order."""
        return [e.module for e in self.entries if not e.initrd_only]

    def settings_for(self, name: str) -> list[Setting]:
        from kmodgui.core.names import normalize_module_name

        wanted = normalize_module_name(name)
        return [e.as_setting() for e in self.entries
                if not e.initrd_only and normalize_module_name(e.module) == wanted]


def _is_mask(path: Path) -> bool:
    try:
        info = path.stat()
    except OSError:
        return False
    return (stat.S_ISCHR(info.st_mode) and os.path.realpath(path) == os.devnull) or \
        (stat.S_ISREG(info.st_mode) and info.st_size == 0)


def _files(dirs: Sequence[Path], result: ModulesLoad) -> list[Path]:
    """systemd's ``conf_files_list``: ``*.conf`` by name, the first directory winning."""
    chosen: dict[str, Path] = {}
    for directory in dirs:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            if name.startswith(".") or not name.endswith(".conf") or name in chosen:
                continue
            path = directory / name
            if _is_mask(path):
                chosen[name] = path
                result.masked.append(str(path))
                continue
            if not path.is_file():
                if path.is_dir():
                    result.warnings.append(f"{path}: a directory, skipped")
                elif not path.exists():
                    result.warnings.append(f"{path}: broken link, skipped")
                continue
            chosen[name] = path
    return [chosen[name] for name in sorted(chosen) if str(chosen[name]) not in result.masked]

