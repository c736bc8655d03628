"""The per-user cache of what module files say, keyed by file identity.

Reading 4000 module files (decompressing most of them) is the slow part of
the catalog; this keeps the facts the catalog needs per file, keyed by
(size, mtime in ns, inode), so a warm start reads no module file and a new or
changed ``.ko`` is read again. The cache is JSON in
``$XDG_CACHE_HOME/kmodgui/``: a corrupt or foreign file is discarded and
rebuilt, never trusted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kmodgui.core.errors import ModuleFileError
from kmodgui.core.modfile import ModuleInfo, read_module_info
from kmodgui.core.paths import Root

FORMAT = 2
Facts = dict[str, Any]
Progress = Callable[[int, int], None]

# modinfo keys the catalog keeps per file; parameters are kept as triples.
_LIST_KEYS = ("author", "firmware", "alias", "depends")
_TEXT_KEYS = ("description", "license", "version", "srcversion", "vermagic")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kmodgui"


def cache_file(root: Root) -> Path:
    """One file per (tree, release): inspecting an image never disturbs the host's cache."""
    tree = hashlib.sha256(str(root.base.resolve()).encode()).hexdigest()[:12]
    safe_release = "".join(c if c.isalnum() or c in "._-" else "_" for c in root.release)
    return cache_dir() / f"modules-{safe_release}-{tree}.json"


def facts_from_info(info: ModuleInfo) -> Facts:
    """The catalog's view of one module file (plain JSON types only)."""
    facts: Facts = {key: info.get(key) or "" for key in _TEXT_KEYS}
    for key in _LIST_KEYS:
        facts[key] = info.get_all(key)
    descriptions: dict[str, str] = {}
    types: dict[str, str] = {}
    order: list[str] = []
    for key, value in info.modinfo:
        if key in ("parm", "parmtype"):
            name, _, text = value.partition(":")
            if name not in descriptions and name not in types:
                order.append(name)
            (descriptions if key == "parm" else types).setdefault(name, text)
    facts["params"] = [[n, types.get(n), descriptions.get(n)] for n in order]
    sig = info.signature
    facts["signer"] = sig.signer_text if sig else ""
    facts["sig_key"] = sig.key_hex if sig else ""
    facts["sig_hashalgo"] = sig.hash_algo if sig else ""
    facts["name"] = info.name or ""
    return facts


def _identity(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _load(path: Path, root: Root) -> dict[str, list[Any]]:
    """The cached entries, or nothing when the file is missing, corrupt or not ours."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return {}
    if (not isinstance(data, dict) or data.get("format") != FORMAT
            or data.get("release") != root.release
            or not isinstance(data.get("files"), dict)):
        return {}
    files = data["files"]
    valid = {}
    for key, entry in files.items():
        if (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], list)
                and isinstance(entry[1], dict)):
            valid[key] = entry
    return valid


def _save(path: Path, root: Root, files: dict[str, list[Any]]) -> None:
    """Write atomically; a cache we cannot write is only a slower next start."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"format": FORMAT, "release": root.release, "files": files},
                          handle, separators=(",", ":"))
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _valid_facts(facts: dict[str, Any]) -> bool:
    return (all(isinstance(facts.get(k), str) for k in (*_TEXT_KEYS, "signer", "sig_key",
                                                        "sig_hashalgo", "name"))
            and all(isinstance(facts.get(k), list) for k in (*_LIST_KEYS, "params")))


def read_facts(root: Root, paths: Iterable[str], *, use_cache: bool = True,
               progress: Progress | None = None) -> tuple[dict[str, Facts], list[str]]:
    """Facts for every path (absolute); unreadable files are left out and reported.

    Returns the facts by path and one warning per file that could not be read.
    """
    paths = list(paths)
    store = cache_file(root)
    cached = _load(store, root) if use_cache else {}
    result: dict[str, Facts] = {}
    fresh: dict[str, list[Any]] = {}
    warnings: list[str] = []
    dirty = False
    total = len(paths)
    for done, path in enumerate(paths, 1):
        try:
            identity = _identity(os.stat(path))
        except OSError as exc:
            warnings.append(f"{path}: {exc.strerror or exc}")
            continue
        entry = cached.get(path)
        if entry is not None and entry[0] == identity and _valid_facts(entry[1]):
            facts = entry[1]
        else:
            dirty = True
            try:
                facts = facts_from_info(read_module_info(path))
            except ModuleFileError as exc:
                warnings.append(exc.message)
                continue
        facts["file_size"] = identity[0]
        result[path] = facts
        fresh[path] = [identity, facts]
        if progress is not None and (done % 64 == 0 or done == total):
            progress(done, total)
    if use_cache and (dirty or len(fresh) != len(cached)):
        _save(store, root, fresh)
    return result, warnings
