"""The module list as the window last showed it, so a warm start paints it at once.

The core's catalog cache makes a full catalog quick to rebuild (a few tenths
of a second for 4000 modules); this snapshot makes the first paint quicker
still: only what the table shows (name, state, file, size, description),
stored as JSON in the user's cache directory and valid only while the
catalog cache it was made from is unchanged. The live state is applied on top at every start,
and the full catalog replaces the snapshot moments later.
"""

from __future__ import annotations

import contextlib
import json
import os
import zlib
from pathlib import Path

from kmodgui.core.paths import Root
from kmodgui.core.records import ModuleRecord, ModuleState

VERSION = 3
_STATES = {state.value: state for state in ModuleState}  # a dict is 10x quicker than the enum


def _catalog_cache(root: Root) -> Path | None:
    try:
        from kmodgui.core.modcache import cache_file
    except ImportError:
        return None
    return cache_file(root)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def _tree(root: Root) -> str:
    return str(root.base.resolve())


def snapshot_path(root: Root) -> Path:
    """Our own file per tree and release. Reading it must not import the module-file
    readers (signatures, decompressors: tens of milliseconds), so the catalog cache it
    depends on is recorded inside it rather than looked up. (The tree is named by a CRC,
    not a SHA: hashlib loads OpenSSL, ~2 ms; the tree itself is recorded inside too.)"""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    tree = f"{zlib.crc32(_tree(root).encode()):08x}"
    release = "".join(c if c.isalnum() or c in "._-" else "_" for c in root.release)
    return Path(base) / "kmodgui" / f"window-{release}-{tree}.json"


def save(root: Root, records: list[ModuleRecord]) -> bool:
    """Write the snapshot for ``root`` (after a full catalog load); False if it cannot."""
    cache, path = _catalog_cache(root), snapshot_path(root)
    if cache is None:
        return False
    identity = _identity(cache)
    if identity is None:
        return False
    rows = [(r.name, r.state.value, r.path, r.file_size, r.description) for r in records]
    data = json.dumps([VERSION, _tree(root), str(cache), list(identity), rows],
                      separators=(",", ":")).encode()
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(data)
        temporary.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
        return False
    return True


def load(root: Root) -> dict[str, ModuleRecord] | None:
    """The snapshot's records (no live state), or None when missing, stale or damaged."""
    try:
        version, tree, cache, identity, rows = json.loads(snapshot_path(root).read_bytes())
    except (OSError, ValueError, TypeError):
        return None
    if (version != VERSION or tree != _tree(root) or not isinstance(cache, str)
            or not isinstance(identity, list)):
        return None
    if tuple(identity) != _identity(Path(cache)):
        return None
    records: dict[str, ModuleRecord] = {}
    states = _STATES
    try:
        for name, state, file_path, file_size, description in rows:
            records[str(name)] = ModuleRecord(
                name=str(name), state=states[state],
                path=str(file_path) if file_path is not None else None,
                file_size=int(file_size) if file_size is not None else None,
                description=str(description))
    except (TypeError, ValueError, KeyError):
        return None
    return records
