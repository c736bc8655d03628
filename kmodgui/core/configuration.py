"""The configuration in effect, one row per setting: what the Configuration page and
``kmodgui config`` show.

modprobe.d (with the release's ``modules.softdep`` and the kernel command
line) and modules-load.d are read once, together; each setting carries the
file and line it comes from and, where kmod uses only the first line of its
kind for a module (``softdep``, ``install``, ``remove``), the earlier line
that makes it ineffective. Neither reader raises on bad content: a file that
cannot be read becomes a warning.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from kmodgui.core.modprobe_config import ModprobeConfig
from kmodgui.core.modules_load import ModulesLoad
from kmodgui.core.names import OWN_CONFIG_PREFIX
from kmodgui.core.paths import Root
from kmodgui.core.records import Source


@dataclass(frozen=True)
class EffectiveSetting:
    """One setting: ``kind`` is a modprobe.d keyword or ``load`` (modules-load.d).

    ``value`` is what kmod keeps of the line (empty for a ``softdep`` line with
    neither ``pre:`` nor ``post:``, which still hides later softdep lines).
    """

    module: str
    kind: str
    value: str
    source: Source
    shadowed_by: Source | None = None

    @property
    def ours(self) -> bool:
        """Written by kmodgui (``kmodgui-<module>.conf``), so changed from its page."""
        return self.source.file.rsplit("/", 1)[-1].startswith(OWN_CONFIG_PREFIX)


@dataclass(frozen=True)
class Configuration:
    """Both readers' results and the settings they make, modprobe.d first."""

    modprobe: ModprobeConfig
    modules_load: ModulesLoad

    @property
    def settings(self) -> list[EffectiveSetting]:
        rows = []
        for entry in self.modprobe.entries:
            shadow = self.modprobe.shadowed_by(entry)
            rows.append(EffectiveSetting(entry.module, entry.kind, entry.value, entry.source,
                                         shadow.source if shadow is not None else None))
        rows += [EffectiveSetting(e.module, "load", e.module, e.source)
                 for e in self.modules_load.entries]
        return rows

    @property
    def warnings(self) -> list[str]:
        return self.modprobe.warnings + self.modules_load.warnings


def read_configuration(root: Root,
                       modprobe_paths: Sequence[str | os.PathLike[str]] | None = None
                       ) -> Configuration:
    """The configuration of ``root`` (``modprobe_paths`` as ``modprobe -C``)."""
    return Configuration(ModprobeConfig.load(root, modprobe_paths), ModulesLoad.load(root))
