"""The installed index of one kernel release: what depmod wrote under ``/lib/modules/<release>``.

Two kinds of readers live here. :class:`InstalledIndex` answers lookups the
way libkmod does, from the ``.bin`` tries (fast, authoritative); when a
``.bin`` file is missing it builds the same answer from the text file (kmod 30
would find nothing; we prefer to work on half-written trees and say so in
:attr:`InstalledIndex.warnings`). The ``read_*`` functions parse the text files
whole, for listings such as the catalog and "what depends on this module".
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kmodgui.core.errors import IndexFileError
from kmodgui.core.indexbin import IndexFile, build_index
from kmodgui.core.names import module_name_from_path, normalize_alias
from kmodgui.core.paths import Root

# libkmod's index files, the text file each .bin is built from, and the
# prefix its text lines carry (kmod's ``index_files`` table).
INDEXES = {
    "dep": ("modules.dep", ""),
    "alias": ("modules.alias", "alias "),
    "symbols": ("modules.symbols", "alias "),
    "builtin.alias": ("modules.builtin.alias", "alias "),
    "builtin": ("modules.builtin", ""),
}


@dataclass(frozen=True)
class DepEntry:
    """One ``modules.dep`` line: a module file and the files it needs (direct and indirect)."""

    path: str                  # as written, relative to the release directory
    depends: tuple[str, ...]   # module files, in the order depmod wrote them

    @property
    def name(self) -> str:
        return module_name_from_path(self.path)

    @property
    def depends_names(self) -> list[str]:
        return [module_name_from_path(p) for p in self.depends]


@dataclass(frozen=True)
class DevName:
    """One ``modules.devname`` line: a device node whose first open loads ``module``."""

    module: str
    devname: str
    kind: str      # "c" (character) or "b" (block)
    major: int
    minor: int


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-empty, non-comment lines of a text index with their line numbers."""
    try:
        text = path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError as exc:
        raise IndexFileError(f"cannot read {path}: {exc.strerror or exc}",
                             hint="Run depmod to create the module index.") from exc
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            yield number, line


def parse_dep_line(line: str) -> DepEntry | None:
    """``path: dep dep ...`` → :class:`DepEntry` (None when there is no colon)."""
    path, colon, rest = line.partition(":")
    if not colon:
        return None
    return DepEntry(path.strip(), tuple(rest.split()))


def read_dep(root: Root) -> dict[str, DepEntry]:
    """``modules.dep`` by module name, in file order (the first line wins, as in the .bin)."""
    entries: dict[str, DepEntry] = {}
    for _, line in _lines(root.modules_file("modules.dep")):
        entry = parse_dep_line(line)
        if entry is not None:
            entries.setdefault(entry.name, entry)
    return entries


def read_order(root: Root) -> list[str]:
    """``modules.order``: module files in the kernel's build order (the alias priority)."""
    return [line for _, line in _lines(root.modules_file("modules.order"))]


def _alias_lines(path: Path, keyword: str = "alias") -> list[tuple[str, str]]:
    result = []
    for _, line in _lines(path):
        parts = line.split()
        if len(parts) >= 3 and parts[0] == keyword:
            result.append((parts[1], parts[2]))
    return result


def read_alias(root: Root) -> list[tuple[str, str]]:
    """``modules.alias``: (pattern, module) pairs in file order."""
    return _alias_lines(root.modules_file("modules.alias"))


def read_symbols(root: Root) -> list[tuple[str, str]]:
    """``modules.symbols``: (``symbol:NAME``, module) pairs."""
    return _alias_lines(root.modules_file("modules.symbols"))


def read_builtin_alias(root: Root) -> list[tuple[str, str]]:
    """``modules.builtin.alias``: (pattern, built-in module) pairs (kmod ≥ 27 trees)."""
    return _alias_lines(root.modules_file("modules.builtin.alias"))


def index_is_stale(root: Root, module_files: Iterable[str | os.PathLike[str]]) -> bool:
    """A module file is newer than ``modules.dep``: depmod has not seen it (as ``depmod -A``
    decides). No index at all is not "stale" (there is nothing to rebuild from)."""
    try:
        built = root.modules_file("modules.dep").stat().st_mtime
    except OSError:
        return False
    for path in module_files:
        try:
            if os.stat(path).st_mtime > built:
                return True
        except OSError:
            continue
    return False


def read_builtin(root: Root) -> list[str]:
    """``modules.builtin``: names of the modules compiled into the kernel, in file order."""
    return [module_name_from_path(line) for _, line in _lines(root.modules_file("modules.builtin"))]


def read_softdep(root: Root) -> list[tuple[str, str]]:
    """``modules.softdep``: (module, rest of line) pairs as depmod extracted them.

    The effective reading is :mod:`kmodgui.core.modprobe_config`, which treats the
    file as one more configuration file, as kmod does.
    """
    result = []
    for _, line in _lines(root.modules_file("modules.softdep")):
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0] == "softdep":
            result.append((parts[1], parts[2]))
    return result


def read_devname(root: Root) -> list[DevName]:
    """``modules.devname``: ``module devname c10:229`` lines."""
    result = []
    for _, line in _lines(root.modules_file("modules.devname")):
        parts = line.split()
        if len(parts) != 3 or parts[2][:1] not in ("c", "b"):
            continue
        major, colon, minor = parts[2][1:].partition(":")
        if colon and major.isdigit() and minor.isdigit():
            result.append(DevName(parts[0], parts[1], parts[2][0], int(major), int(minor)))
    return result


def _normalized(pattern: str) -> str:
    try:
        return normalize_alias(pattern)
    except ValueError:
        return pattern


def _trie(pairs: list[tuple[str, str]], rank: dict[str, int] | None = None) -> IndexFile:
    """The index depmod would have written from these (key, value) pairs."""
    entries: dict[str, list[tuple[int, str]]] = {}
    for key, value in pairs:
        priority = rank.get(value, len(rank)) if rank is not None else 0
        entries.setdefault(key, []).append((priority, value))
    return IndexFile(build_index(entries), "<text index>")


def _is_empty(path: Path) -> bool:
    """A 0-byte file: kmod 30's depmod writes ``modules.builtin.alias.bin`` so for any kernel
    without ``modules.builtin.modinfo`` (before 5.2), and kmod reads it as no index."""
    try:
        return path.stat().st_size == 0
    except OSError:
        return False


class InstalledIndex:
    """libkmod's view of one release directory: the five indexes, opened on first use."""

    def __init__(self, root: Root) -> None:
        self.root = root
        self.warnings: list[str] = []
        self._open: dict[str, IndexFile | None] = {}

    @property
    def dirname(self) -> str:
        """The release directory as kmod prints it in messages and ``--show-depends``."""
        return str(self.root.modules_dir)

    def _index(self, kind: str) -> IndexFile | None:
        if kind in self._open:
            return self._open[kind]
        text_name, _ = INDEXES[kind]
        bin_path = self.root.modules_file(text_name + ".bin")
        index: IndexFile | None = None
        if _is_empty(bin_path):
            pass  # kmod treats a 0-byte index as absent (depmod writes one for old kernels)
        elif bin_path.exists():
            index = IndexFile.open(bin_path)
        elif self.root.modules_file(text_name).exists():
            self.warnings.append(f"{bin_path} is missing; reading {text_name} instead "
                                 "(run depmod to rebuild the indexes)")
            index = self._text_index(kind)
        self._open[kind] = index
        return index

    def _text_index(self, kind: str) -> IndexFile:
        rank = {module_name_from_path(p): i for i, p in enumerate(self._order())}
        if kind == "dep":
            return _trie([(e.name, f"{e.path}: {' '.join(e.depends)}".rstrip())
                          for e in read_dep(self.root).values()])
        if kind == "builtin":
            return _trie([(name, "") for name in read_builtin(self.root)])
        if kind == "alias":
            return _trie([(_normalized(p), m) for p, m in read_alias(self.root)], rank)
        if kind == "symbols":
            return _trie(read_symbols(self.root), rank)
        return _trie([(_normalized(p), m) for p, m in read_builtin_alias(self.root)])

    def _order(self) -> list[str]:
        try:
            return read_order(self.root)
        except IndexFileError:
            return []

    # -- lookups, each one libkmod function ----------------------------------

    def dep_line(self, name: str) -> DepEntry | None:
        """``kmod_search_moddep``: the ``modules.dep`` entry of a module name."""
        index = self._index("dep")
        line = index.search(name) if index is not None else None
        return parse_dep_line(line) if line is not None else None

    def aliases(self, alias: str) -> list[str]:
        """Modules whose ``modules.alias`` patterns match ``alias`` (normalised), kmod's order."""
        index = self._index("alias")
        return [v.value for v in index.search_wild(alias)] if index is not None else []

    def symbol_owners(self, symbol_key: str) -> list[str]:
        """Modules exporting a symbol; ``symbol_key`` is ``symbol:NAME``."""
        index = self._index("symbols")
        return [v.value for v in index.search_wild(symbol_key)] if index is not None else []

    def is_builtin(self, name: str) -> bool:
        """``kmod_lookup_alias_is_builtin``: the name is in ``modules.builtin``."""
        index = self._index("builtin")
        return index is not None and index.search(name) is not None

    def builtin_aliases(self, alias: str) -> list[str]:
        """Built-in modules whose ``modules.builtin.alias`` patterns match ``alias``."""
        index = self._index("builtin.alias")
        return [v.value for v in index.search_wild(alias)] if index is not None else []

    def path_of(self, relative: str) -> str:
        """kmod's ``path_join``: a ``modules.dep`` path made absolute under the release dir."""
        return relative if relative.startswith("/") else f"{self.dirname}/{relative}"
