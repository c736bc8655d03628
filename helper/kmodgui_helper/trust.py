"""Is a path root's alone? Root-owned and not writable by group or others, all the way up.

Whoever can write a file or any directory above it can replace what root
runs or reads there. A root-owned sticky directory (``/tmp``) is accepted, as
sudo does: others may add entries there but not rename or remove root's.
Used for the helper's own code and interpreter at start, and for the release
directory ``depmod`` writes into.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path


def problem(path: str | os.PathLike[str], *, missing_ok: bool = False) -> str | None:
    """Why ``path`` (resolved) is not root's alone, or None when it is."""
    real = Path(os.path.realpath(path))
    for here in [*reversed(real.parents), real]:
        try:
            info = os.lstat(here)
        except FileNotFoundError:
            return None if missing_ok else f"{here} does not exist"
        except OSError as exc:
            return f"{here}: {exc.strerror}"
        if info.st_uid != 0:
            return f"{here} is owned by uid {info.st_uid}, not root"
        writable = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        sticky_dir = stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX
        if writable and not (sticky_dir and here != real):
            return f"{here} is writable by group or others"
    return None


def code_files() -> list[str]:
    """The interpreter (as started and resolved) and every module file this process loaded."""
    files = [sys.executable, os.path.dirname(sys.executable)]
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if isinstance(name, str) and name:
            files.append(name)
    return files


def untrusted_code(files: Iterable[str] | None = None) -> str | None:
    """The first problem with the code root is running, or None when all of it is root's."""
    seen: set[str] = set()
    for name in code_files() if files is None else files:
        if name in seen:
            continue
        seen.add(name)
        found = problem(name, missing_ok=True)  # e.g. a frozen module's nominal file
        if found is not None:
            return found
    return None
