"""Name, alias and dependency resolution, in libkmod's order and with its quirks.

``modprobe NAME`` first turns NAME into modules (``kmod_module_new_from_lookup``),
trying in turn: aliases from modprobe.d, real module names (``modules.dep``),
``symbol:`` names, install/remove commands, ``modules.alias`` patterns, built-in
module names and built-in aliases; the first source with a match wins. It then
builds the insertion list (``kmod_module_probe_insert_module``): each module's
dependencies, each preceded and followed by its soft dependencies, then the
module itself.

libkmod keeps one object per module name, and a separate one per
(name, alias) pair; which objects are "visited" decides what ``modprobe
--show-depends`` prints twice. :class:`Lookup` keeps the same pool so that
its answers match kmod's line for line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kmodgui.core.errors import IndexFileError, ModuleNotFound
from kmodgui.core.globmatch import fnmatch
from kmodgui.core.installed import InstalledIndex, read_dep
from kmodgui.core.modprobe_config import ModprobeConfig
from kmodgui.core.names import InvalidAlias, normalize_alias, normalize_module_name
from kmodgui.core.paths import Root


@dataclass(frozen=True)
class ModuleMatch:
    """A module a name or alias resolves to."""

    name: str
    path: Path | None     # the module file; None when built-in or not installed
    builtin: bool


@dataclass(frozen=True)
class ProbeStep:
    """One step of loading a module, as ``modprobe --show-depends`` prints it.

    ``action`` is ``insmod`` (insert ``path``), ``install`` (run ``command``
    from modprobe.d instead) or ``builtin`` (nothing to do).
    """

    action: str
    name: str
    path: str | None = None
    options: str = ""
    command: str | None = None

    def show_line(self) -> str:
        """The exact line ``modprobe --show-depends`` prints (insmod/install lines end
        with the options, possibly empty, after a space)."""
        if self.action == "install":
            return f"install {self.command} {self.options}"
        if self.action == "insmod":
            return f"insmod {self.path} {self.options}"
        return f"builtin {self.name}"


class _Mod:
    """libkmod's ``struct kmod_module``: what is cached per pool key."""

    __slots__ = ("alias", "builtin", "dep_init", "deps", "ignorecmd", "install",
                 "install_init", "name", "options", "options_init", "path", "visited")

    def __init__(self, name: str, alias: str | None) -> None:
        self.name = name
        self.alias = alias
        self.path: str | None = None
        self.builtin: bool | None = None
        self.dep_init = False
        self.deps: list[_Mod] = []
        self.install: str | None = None
        self.install_init = False
        self.options: str | None = None
        self.options_init = False
        self.visited = False
        self.ignorecmd = False


class Lookup:
    """Resolve names the way modprobe does, for one root, release and configuration.

    Index files are read on first use and kept; build one Lookup per thread
    (it caches per-module state as libkmod does, without locking).
    """

    def __init__(self, root: Root, config: ModprobeConfig | None = None,
                 index: InstalledIndex | None = None) -> None:
        self.root = root
        self.config = config if config is not None else ModprobeConfig.load(root)
        self.index = index if index is not None else InstalledIndex(root)
        self._pool: dict[str, _Mod] = {}
        self._reverse: dict[str, list[str]] | None = None
        self._sources: tuple[Callable[[str], list[_Mod]], ...] = (
            self._from_config, self._from_moddep, self._from_symbols,
            self._from_commands, self._from_aliases, self._from_builtin,
            self._from_builtin_aliases,
        )

    # -- the module pool -------------------------------------------------------

    def _by_name(self, name: str) -> _Mod:
        key = normalize_module_name(name)
        mod = self._pool.get(key)
        if mod is None:
            mod = self._pool[key] = _Mod(key, None)
        return mod

    def _by_alias(self, alias: str, name: str) -> _Mod:
        key = f"{name}\\{alias}"
        mod = self._pool.get(key)
        if mod is None:
            mod = self._pool[key] = _Mod(name, alias)
        return mod

    def _by_path(self, path: str) -> _Mod:
        mod = self._by_name(path.rsplit("/", 1)[-1])
        if mod.path is None:
            mod.path = path
        return mod

    def _load_deps(self, mod: _Mod) -> None:
        """``kmod_module_parse_depline``: path and dependencies from ``modules.dep``."""
        if mod.dep_init:
            return
        entry = self.index.dep_line(mod.name)
        if entry is None:
            return
        mod.dep_init = True
        if mod.path is None:
            mod.path = self.index.path_of(entry.path)
        # libkmod prepends each dependency: its list is the line reversed.
        mod.deps = [self._by_path(self.index.path_of(p)) for p in reversed(entry.depends)]

    def _path(self, mod: _Mod) -> str | None:
        if mod.path is None and not mod.dep_init:
            self._load_deps(mod)
        return mod.path

    def _is_builtin(self, mod: _Mod) -> bool:
        if mod.builtin is None:
            mod.builtin = self.index.is_builtin(mod.name)
        return mod.builtin

    def _install_command(self, mod: _Mod) -> str | None:
        if not mod.install_init:
            entry = self.config.command_for("install", mod.name)
            mod.install = entry.value if entry is not None else None
            mod.install_init = True
        return mod.install

    def _options(self, mod: _Mod) -> str | None:
        if not mod.options_init:
            mod.options = self.config.options_for(mod.name, mod.alias)
            mod.options_init = True
        return mod.options

    # -- the seven lookup sources, in kmod's order -------------------------------

    def _from_config(self, name: str) -> list[_Mod]:
        return [self._by_alias(e.module, e.value) for e in self.config.aliases
                if fnmatch(e.module, name)]

    def _from_moddep(self, name: str) -> list[_Mod]:
        if ":" in name or self.index.dep_line(name) is None:
            return []
        mod = self._by_name(name)
        self._load_deps(mod)
        return [mod]

    def _from_symbols(self, name: str) -> list[_Mod]:
        if not name.startswith("symbol:"):
            return []
        return [self._by_alias(name, owner) for owner in self.index.symbol_owners(name)]

    def _from_commands(self, name: str) -> list[_Mod]:
        entry = self.config.command_exact("install", name)
        if entry is not None:
            mod = self._by_name(entry.module)
            mod.install, mod.install_init = entry.value, True
            return [mod]
        if self.config.command_exact("remove", name) is not None:
            return [self._by_name(name)]
        return []

    def _from_aliases(self, name: str) -> list[_Mod]:
        return [self._by_alias(name, module) for module in self.index.aliases(name)]

    def _from_builtin(self, name: str) -> list[_Mod]:
        if not self.index.is_builtin(name):
            return []
        mod = self._by_name(name)
        mod.builtin = True
        return [mod]

    def _from_builtin_aliases(self, name: str) -> list[_Mod]:
        mods = [self._by_alias(name, module) for module in self.index.builtin_aliases(name)]
        for mod in mods:
            mod.builtin = True
        return mods

    def _lookup(self, given: str) -> list[_Mod]:
        """``kmod_module_new_from_lookup``: the first source that knows the name wins."""
        try:
            alias = normalize_alias(given)
        except InvalidAlias:
            return []
        for source in self._sources:
            found = source(alias)
            if found:
                return found
        return []

    # -- public API -------------------------------------------------------------

    def find(self, name: str) -> list[ModuleMatch]:
        """Every module ``name`` resolves to, in kmod's order, duplicates included.

        An unknown name (or an alias kmod rejects, such as ``a]b``) gives [].
        """
        result = []
        for mod in self._lookup(name):
            builtin = self._is_builtin(mod)
            path = None if builtin else self._path(mod)
            result.append(ModuleMatch(mod.name, Path(path) if path else None, builtin))
        return result

    def resolve(self, alias: str) -> list[str]:
        """What ``modprobe -R ALIAS`` prints: the module names, one per match."""
        return [mod.name for mod in self._lookup(alias)]

    def not_found_message(self, name: str) -> str:
        """modprobe's wording for a name that resolves to nothing."""
        return f"Module {name} not found in directory {self.index.dirname}"

    def dependency_order(self, name: str, extra_options: str | None = None) -> list[ProbeStep]:
        """What ``modprobe --show-depends NAME`` does, step by step, for every match.

        A module found through an alias and blacklisted gives no steps (modprobe
        stops silently). Raises :class:`ModuleNotFound` when nothing matches.
        """
        mods = self._lookup(name)
        if not mods:
            raise ModuleNotFound(self.not_found_message(name),
                                 hint="Check the name, or run depmod if the module was "
                                      "installed recently.")
        steps: list[ProbeStep] = []
        for mod in mods:
            steps.extend(self._probe(mod, extra_options))
        return steps

    def required_by(self, name: str) -> list[str]:
        """Modules whose ``modules.dep`` line lists ``name``: loading any of them loads it."""
        if self._reverse is None:
            reverse: dict[str, list[str]] = {}
            try:
                entries = read_dep(self.root)
            except IndexFileError:
                entries = {}
            for module, entry in entries.items():
                for dep in entry.depends_names:
                    reverse.setdefault(dep, []).append(module)
            self._reverse = reverse
        return list(self._reverse.get(normalize_module_name(name), []))

    # -- kmod_module_probe_insert_module, dry run --------------------------------

    def _probe(self, mod: _Mod, extra_options: str | None) -> list[ProbeStep]:
        if mod.alias is not None and self.config.is_blacklisted(mod.name):
            return []
        for other in self._pool.values():
            other.visited = False
        order: list[_Mod] = []
        self._probe_list(mod, order)
        steps = []
        for m in order:
            options = _concat_options(self._options(m), extra_options if m is mod else None)
            command = self._install_command(m)
            if command is not None and not m.ignorecmd:
                steps.append(ProbeStep("install", m.name, None, options, command))
            elif (path := self._path(m)) is not None:
                steps.append(ProbeStep("insmod", m.name, path, options))
            elif self._is_builtin(m):
                steps.append(ProbeStep("builtin", m.name))
        return steps

    def _probe_list(self, mod: _Mod, order: list[_Mod]) -> None:
        """``__kmod_module_get_probe_list``: dependencies (each with its softdeps), then mod."""
        if mod.visited:
            return
        mod.visited = True
        self._load_deps(mod)
        for dep in list(mod.deps):
            self._fill_softdep(dep, order)
        self._fill_softdep(mod, order)

    def _fill_softdep(self, mod: _Mod, order: list[_Mod]) -> None:
        pre, post = self._softdeps(mod)
        for m in pre:
            self._probe_list(m, order)
        order.append(mod)
        mod.ignorecmd = bool(pre or post)
        for m in post:
            self._probe_list(m, order)

    def _softdeps(self, mod: _Mod) -> tuple[list[_Mod], list[_Mod]]:
        """``kmod_module_get_softdeps``: the first matching softdep, each name looked up."""
        entry = self.config.softdep_for(mod.name)
        if entry is None:
            return [], []
        pre = [m for dep in entry.pre for m in self._lookup(dep)]
        post = [m for dep in entry.post for m in self._lookup(dep)]
        return pre, post


def _concat_options(options: str | None, extra: str | None) -> str:
    """``module_options_concat``: configured options, a space, then the caller's."""
    if not options and not extra:
        return ""
    result = ""
    if options is not None:
        result = options + " "
    return result + (extra or "")
