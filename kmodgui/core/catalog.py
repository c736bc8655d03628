"""The catalog: one :class:`ModuleRecord` per module name, joining every reader.

Two speeds: :func:`quick_catalog` knows names, states, paths, dependencies and
live state from the index and ``/proc/modules`` alone (instant, for a window's
first paint); :func:`load_catalog` adds what only the module files say
(description, parameters, signature, ...) through the per-user cache, and the
configuration in effect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kmodgui.core import loaded as live
from kmodgui.core.errors import KmodguiError
from kmodgui.core.globmatch import fnmatch
from kmodgui.core.installed import DepEntry, read_builtin, read_dep
from kmodgui.core.modprobe_config import ModprobeConfig
from kmodgui.core.names import module_name_from_path, normalize_module_name
from kmodgui.core.paths import Root
from kmodgui.core.records import ModuleRecord, ModuleState, Parameter

if TYPE_CHECKING:
    from kmodgui.core.modcache import Facts

Progress = Callable[[int, int], None]


@dataclass
class Catalog:
    """Every module of one root and kernel release, by normalised name."""

    root: Root
    records: dict[str, ModuleRecord]
    warnings: list[str] = field(default_factory=list)

    def get(self, name: str) -> ModuleRecord | None:
        return self.records.get(normalize_module_name(name))

    def ordered(self) -> list[ModuleRecord]:
        """Loaded modules newest first, then everything else by name."""
        loaded = sorted((r for r in self.records.values() if r.load_order is not None),
                        key=lambda r: r.load_order or 0)
        rest = sorted((r for r in self.records.values() if r.load_order is None),
                      key=lambda r: r.name)
        return loaded + rest


def _installed_records(root: Root, warnings: list[str]) -> dict[str, ModuleRecord]:
    records: dict[str, ModuleRecord] = {}
    try:
        deps = read_dep(root)
    except KmodguiError as exc:
        warnings.append(exc.message)
        deps = {}
    modules_dir = str(root.modules_dir)  # once: Path arithmetic per module cost ~0.3 s
    for name, entry in deps.items():
        records[name] = ModuleRecord(
            name=name,
            state=ModuleState.AVAILABLE,
            path=(entry.path if entry.path.startswith("/")
                  else f"{modules_dir}/{entry.path}"),
            depends=_direct_depends(entry.path, entry.depends, deps),
        )
    for name, record in records.items():
        for dep in record.depends:
            if dep in records:
                records[dep].required_by.append(name)
    try:
        builtin = read_builtin(root)
    except KmodguiError as exc:
        warnings.append(exc.message)
        builtin = []
    for name in builtin:
        records.setdefault(name, ModuleRecord(name=name, state=ModuleState.BUILTIN))
    return records


def _direct_depends(path: str, depends: tuple[str, ...], deps: dict[str, DepEntry]) -> list[str]:
    """The direct dependencies: ``modules.dep`` lists the closure, so drop what others bring.

    A dependency is direct unless another listed dependency already needs it.
    """
    names = [module_name_from_path(d) for d in depends]
    indirect: set[str] = set()
    for name in names:
        entry = deps.get(name)
        if entry is not None:
            indirect.update(module_name_from_path(d) for d in entry.depends)
    return [n for n in names if n not in indirect]


def apply_live_state(root: Root, records: dict[str, ModuleRecord]) -> set[str]:
    """Fold ``/proc/modules`` and ``/sys/module`` into the records; return changed names."""
    changed: set[str] = set()
    now = {m.name: m for m in live.read_proc_modules(root)}
    for name, record in records.items():
        if record.load_order is not None and name not in now:
            record.state = (ModuleState.BUILTIN if record.state == ModuleState.BUILTIN
                            else ModuleState.AVAILABLE if record.path else ModuleState.EXTERNAL)
            record.size = record.refcount = record.load_order = record.live_state = None
            record.holders = []
            record.taint = ""
            for param in record.parameters:
                param.value, param.hidden, param.permission = None, False, None
            changed.add(name)
    for name, mod in now.items():
        if name not in records:
            records[name] = ModuleRecord(name=name, state=ModuleState.EXTERNAL)
        record = records[name]
        before = (record.state, record.refcount, record.live_state, tuple(record.holders),
                  record.load_order)
        record.state = ModuleState.LOADED if record.path else ModuleState.EXTERNAL
        record.size, record.refcount = mod.size, mod.refcount
        record.live_state, record.taint, record.load_order = mod.state, mod.taint, mod.order
        sysmod = live.read_sys_module(root, name)
        record.holders = sysmod.holders if sysmod and sysmod.holders else list(mod.users)
        if sysmod is not None:
            _merge_sys_parameters(record, sysmod.parameters)
        if before != (record.state, record.refcount, record.live_state, tuple(record.holders),
                      record.load_order):
            changed.add(name)
    return changed


def _merge_sys_parameters(record: ModuleRecord, params: list[live.SysParameter]) -> None:
    by_name = {p.name: p for p in record.parameters}
    for sysparam in params:
        param = by_name.get(sysparam.name)
        if param is None:
            param = by_name[sysparam.name] = Parameter(name=sysparam.name)
            record.parameters.append(param)
        param.value, param.hidden = sysparam.value, sysparam.hidden
        param.permission = sysparam.permission


def quick_catalog(root: Root) -> Catalog:
    """Names, states, paths, dependencies and live state — no module file is opened."""
    warnings: list[str] = []
    records = _installed_records(root, warnings)
    apply_live_state(root, records)
    return Catalog(root, records, warnings)


def refresh_live(catalog: Catalog) -> set[str]:
    """Re-read the live state (after a load or unload); the names whose state changed."""
    return apply_live_state(catalog.root, catalog.records)


def _apply_facts(record: ModuleRecord, facts: Facts) -> None:
    record.file_size = facts.get("file_size")
    record.description = facts["description"]
    record.authors = list(facts["author"])
    record.license = facts["license"]
    record.version = facts["version"]
    record.srcversion = facts["srcversion"]
    record.vermagic = facts["vermagic"]
    record.firmware = list(facts["firmware"])
    record.aliases = list(facts["alias"])
    record.signer, record.sig_key = facts["signer"], facts["sig_key"]
    record.sig_hashalgo = facts["sig_hashalgo"]
    depends = [d for dep in facts["depends"] for d in dep.split(",") if d]
    if depends or not record.depends:
        record.depends = [normalize_module_name(d) for d in depends]
    declared = {p.name: p for p in record.parameters}
    for name, ptype, description in facts["params"]:
        param = declared.get(name)
        if param is None:
            param = declared[name] = Parameter(name=name)
            record.parameters.append(param)
        param.type, param.description = ptype, description


def _builtin_facts(entries: list[tuple[str, str]]) -> Facts:
    """modules.builtin.modinfo entries in the shape :func:`_apply_facts` takes."""
    from kmodgui.core.modcache import facts_from_info
    from kmodgui.core.modfile import ModuleInfo

    return facts_from_info(ModuleInfo(path="", modinfo=entries))


def _link_required_by(records: dict[str, ModuleRecord]) -> None:
    for record in records.values():
        record.required_by = []
    for name, record in records.items():
        for dep in record.depends:
            target = records.get(dep)
            if target is not None:
                target.required_by.append(name)


def _configured_names(config: ModprobeConfig, records: dict[str, ModuleRecord]) -> set[str]:
    """The records any entry can apply to (asking each record costs ~0.4 s on 4000)."""
    names: set[str] = set()
    for entry in config.entries:
        word = entry.value if entry.kind == "alias" else entry.module
        if entry.kind in ("install", "remove", "softdep") and any(c in word for c in "*?[\\"):
            names.update(n for n in records if fnmatch(word, n))
        else:
            names.add(normalize_module_name(word))
    return names & records.keys()


def _apply_config(root: Root, records: dict[str, ModuleRecord], warnings: list[str]) -> None:
    from kmodgui.core.modules_load import ModulesLoad

    config = ModprobeConfig.load(root)
    warnings.extend(config.warnings)
    for name in _configured_names(config, records):
        record = records[name]
        record.settings.extend(config.settings_for(name))
        softdep = config.softdep_for(name)
        if softdep is not None:
            record.softdep_pre = [normalize_module_name(m) for m in softdep.pre]
            record.softdep_post = [normalize_module_name(m) for m in softdep.post]
    boot = ModulesLoad.load(root)
    warnings.extend(boot.warnings)
    for item in boot.entries:
        target = records.get(normalize_module_name(item.module))
        if target is not None:
            target.settings.append(item.as_setting())


def _apply_builtin_parameters(root: Root, records: dict[str, ModuleRecord]) -> None:
    """Built-in code's parameters live in ``/sys/module/<name>`` too: show their values."""
    for name in live.sys_module_names(root):
        record = records.get(name)
        if record is not None and record.state == ModuleState.BUILTIN:
            sysmod = live.read_sys_module(root, name)
            if sysmod is not None:
                _merge_sys_parameters(record, sysmod.parameters)


def load_catalog(root: Root, *, use_cache: bool = True,
                 progress: Progress | None = None) -> Catalog:
    """Every module with everything known about it (module files read through the cache)."""
    from kmodgui.core.builtin_modinfo import builtin_blocks
    from kmodgui.core.modcache import read_facts

    catalog = quick_catalog(root)
    records = catalog.records
    paths = {r.path: r for r in records.values() if r.path}
    facts, warnings = read_facts(root, paths, use_cache=use_cache, progress=progress)
    catalog.warnings.extend(warnings)
    for path, record in paths.items():
        if path in facts:
            _apply_facts(record, facts[path])
    try:
        blocks = builtin_blocks(root.modules_file("modules.builtin.modinfo").read_bytes())
    except OSError:
        blocks = {}
    for name, entries in blocks.items():
        builtin = records.get(normalize_module_name(name))
        if builtin is not None and builtin.state == ModuleState.BUILTIN:
            _apply_facts(builtin, _builtin_facts(entries))
    _link_required_by(records)
    _apply_builtin_parameters(root, records)
    _apply_config(root, records, catalog.warnings)
    return catalog
