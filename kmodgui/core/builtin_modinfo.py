"""``modules.builtin.modinfo``: the ``.modinfo`` of modules compiled into the kernel.

The file is a sequence of NUL-terminated ``module.key=value`` strings, grouped
by module. kmod (``libkmod-builtin.c``) takes the *first contiguous block* for
a name and stops reading at a string without a ``.``; a later block of the same
name is never seen. We do the same, so ``kmodgui info`` matches ``modinfo``.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator

from kmodgui.core.errors import IndexFileError
from kmodgui.core.paths import Root

FILE_NAME = "modules.builtin.modinfo"


class BuiltinModinfoError(IndexFileError):
    """``modules.builtin.modinfo`` is missing or unreadable; ``errno`` as kmod reports it."""

    def __init__(self, message: str, *, errno_value: int) -> None:
        super().__init__(message, hint="Run depmod for this kernel release.")
        self.errno = errno_value


def iter_blocks(data: bytes) -> Iterator[tuple[bytes, list[bytes]]]:
    """``(module name, [entries without the "name." prefix])`` in file order, as kmod's
    iterator: a string without a ``.`` or an unterminated last string ends the walk."""
    strings = data.split(b"\0")
    strings.pop()  # after the last NUL: empty, or an unterminated string kmod ignores
    current: bytes | None = None
    block: list[bytes] = []
    for item in strings:
        name, dot, rest = item.partition(b".")
        if not dot:
            break
        if name != current:
            if current is not None:
                yield current, block
            current, block = name, []
        block.append(rest)
    if current is not None:
        yield current, block


def builtin_blocks(data: bytes) -> dict[str, list[tuple[str, str]]]:
    """Every built-in module's entries, first block of each name (for the catalog)."""
    result: dict[str, list[tuple[str, str]]] = {}
    for name, block in iter_blocks(data):
        key = name.decode("utf-8", "surrogateescape")
        if key not in result:
            result[key] = _entries(block)
    return result


def _entries(block: list[bytes]) -> list[tuple[str, str]]:
    """Each string is one entry, split at its first ``=`` (as a ``.modinfo`` entry)."""
    entries = []
    for item in block:
        key, _, value = item.partition(b"=")
        entries.append((key.decode("utf-8", "surrogateescape"),
                        value.decode("utf-8", "surrogateescape")))
    return entries


def read_builtin_modinfo(root: Root, name: str) -> list[tuple[str, str]] | None:
    """The entries of built-in module ``name`` (normalised), or None if it has none.

    Raises :class:`BuiltinModinfoError` when the file cannot be read (kmod then
    treats the kernel as too old to have it).
    """
    path = root.modules_file(FILE_NAME)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BuiltinModinfoError(f"{path}: {exc.strerror}",
                                  errno_value=exc.errno or errno.EIO) from exc
    wanted = os.fsencode(name)
    for block_name, block in iter_blocks(data):
        if block_name == wanted:
            return _entries(block)
    return None
