"""Reader for kmod's binary trie indexes (``modules.alias.bin``, ``modules.dep.bin``, ...).

depmod writes every ``modules.*`` index a second time as a trie so that a
lookup touches a few hundred bytes instead of compiling 26,000 alias patterns.
The file is read once into memory; nodes are decoded on demand, by following
offsets only (kmod 34 writes nodes in another order than kmod 30), and every
offset, string and count is range-checked: a damaged file raises
:class:`~kmodgui.core.errors.IndexFileError`, never an ``IndexError``.

Format (all integers big-endian u32): magic ``0xB007F457``, version (major 2),
root node offset. A node offset carries flags in its top four bits (prefix,
values, children) and the position in the low 28 bits. A node holds an
optional NUL-terminated prefix, an optional child table (first char, last
char, one offset per char in between) and optional values (count, then
priority and NUL-terminated string each).
"""

from __future__ import annotations

import os
import struct
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kmodgui.core.errors import IndexFileError
from kmodgui.core.globmatch import compile_pattern

MAGIC = 0xB007F457
VERSION_MAJOR = 2

NODE_PREFIX = 0x80000000
NODE_VALUES = 0x40000000
NODE_CHILDS = 0x20000000
NODE_MASK = 0x0FFFFFFF

_U32 = struct.Struct(">I")
_HEADER = struct.Struct(">III")
# Deeper than any real key (module aliases are < 300 characters) and within
# Python's recursion limit: a deeper walk means a damaged file.
_MAX_DEPTH = 600
_WILDCARDS = (ord("*"), ord("?"), ord("["))


@dataclass(frozen=True)
class IndexValue:
    """One value stored under a key, with the priority depmod gave it."""

    value: str
    priority: int


@dataclass(frozen=True)
class _Node:
    prefix: bytes
    first: int
    last: int
    children: tuple[int, ...]
    values: tuple[tuple[int, bytes], ...]

    def child(self, ch: int) -> int:
        if self.first <= ch <= self.last:
            return self.children[ch - self.first]
        return 0


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _key_bytes(key: str) -> bytes:
    return key.encode("utf-8", "surrogateescape")


class IndexFile:
    """One ``.bin`` index held in memory, with kmod's exact and wildcard searches."""

    def __init__(self, data: bytes, name: str = "<index>") -> None:
        self.name = name
        self._data = data
        self._nodes: dict[int, _Node | None] = {}
        if len(data) < _HEADER.size:
            raise IndexFileError(f"{name}: too short to be a module index",
                                 hint="Run depmod to rebuild the index.")
        magic, version, root = _HEADER.unpack_from(data, 0)
        if magic != MAGIC:
            raise IndexFileError(f"{name}: not a module index (magic {magic:#010x})",
                                 hint="Run depmod to rebuild the index.")
        if version >> 16 != VERSION_MAJOR:
            raise IndexFileError(f"{name}: unsupported index version {version >> 16}",
                                 hint="This index was written by an incompatible depmod.")
        self._root = root

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> IndexFile:
        """Read an index file; a missing or unreadable file raises IndexFileError."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise IndexFileError(f"cannot read {path}: {exc.strerror or exc}",
                                 hint="Run depmod to create the module index.") from exc
        return cls(data, str(path))

    # -- node decoding ---------------------------------------------------

    def _bad(self, what: str) -> IndexFileError:
        return IndexFileError(f"{self.name}: malformed index ({what})",
                              hint="Run depmod to rebuild the index.")

    def _string(self, pos: int) -> tuple[bytes, int]:
        end = self._data.find(b"\0", pos)
        if end < 0:
            raise self._bad(f"unterminated string at {pos}")
        return self._data[pos:end], end + 1

    def _u32(self, pos: int) -> int:
        if pos + 4 > len(self._data):
            raise self._bad(f"truncated at {pos}")
        value: int = _U32.unpack_from(self._data, pos)[0]
        return value

    def _node(self, offset: int) -> _Node | None:
        if offset in self._nodes:
            return self._nodes[offset]
        node = self._read_node(offset) if offset & NODE_MASK else None
        self._nodes[offset] = node
        return node

    def _read_node(self, offset: int) -> _Node:
        data = self._data
        pos = offset & NODE_MASK
        # A node without flags has no bytes: depmod writes one as the root of an
        # empty index, right at the end of the file.
        if pos > len(data) or (pos == len(data) and offset & ~NODE_MASK):
            raise self._bad(f"node offset {pos} beyond end of file")
        prefix = b""
        if offset & NODE_PREFIX:
            prefix, pos = self._string(pos)
        first, last, children = 128, 0, ()
        if offset & NODE_CHILDS:
            if pos + 2 > len(data):
                raise self._bad(f"truncated child table at {pos}")
            first, last = data[pos], data[pos + 1]
            pos += 2
            count = last - first + 1
            if count < 1 or count > 256:
                raise self._bad(f"child range {first}..{last} at {pos}")
            if pos + 4 * count > len(data):
                raise self._bad(f"truncated child table at {pos}")
            children = struct.unpack_from(f">{count}I", data, pos)
            pos += 4 * count
        values: tuple[tuple[int, bytes], ...] = ()
        if offset & NODE_VALUES:
            count = self._u32(pos)
            pos += 4
            if count * 5 > len(data) - pos:
                raise self._bad(f"value count {count} at {pos}")
            items = []
            for _ in range(count):
                priority = self._u32(pos)
                raw, pos = self._string(pos + 4)
                items.append((priority, raw))
            values = tuple(items)
        return _Node(prefix, first, last, children, values)

    # -- searches ----------------------------------------------------------

    def _exact(self, key: str) -> _Node | None:
        """The node that stores exactly ``key`` (None when the trie has no such key)."""
        k = _key_bytes(key)
        node = self._node(self._root)
        i = 0
        while node is not None:
            p = node.prefix
            if k[i:i + len(p)] != p:
                return None
            i += len(p)
            if i == len(k):
                return node
            node = self._node(node.child(k[i]))
            i += 1
        return None

    def search(self, key: str) -> str | None:
        """kmod's ``index_mm_search``: the first value stored under exactly ``key``."""
        node = self._exact(key)
        return _decode(node.values[0][1]) if node is not None and node.values else None

    def search_values(self, key: str) -> list[IndexValue]:
        """Every value stored under exactly ``key``, in file order."""
        node = self._exact(key)
        return [] if node is None else [IndexValue(_decode(v), pr) for pr, v in node.values]

    def search_wild(self, key: str) -> list[IndexValue]:
        """kmod's ``index_mm_searchwild``: values of every stored pattern matching ``key``.

        Keys in the index may be glob patterns; ``key`` is a plain string. The
        result is ordered as kmod orders it: by priority, and among equal
        priorities the match found last first.
        """
        out: list[tuple[int, bytes]] = []
        k = _key_bytes(key)
        node = self._node(self._root)
        i = 0
        while node is not None:
            p = node.prefix
            for j, ch in enumerate(p):
                if ch in _WILDCARDS:
                    self._wild_all(node, j, bytearray(), k[i + j:], out, set())
                    return self._values(out)
                if i + j >= len(k) or ch != k[i + j]:
                    return self._values(out)
            i += len(p)
            for wc in _WILDCARDS:
                child = self._node(node.child(wc))
                if child is not None:
                    self._wild_all(child, 0, bytearray((wc,)), k[i:], out, set())
            if i == len(k):
                for priority, raw in node.values:
                    _add_value(out, priority, raw)
                return self._values(out)
            node = self._node(node.child(k[i]))
            i += 1
        return self._values(out)

    def _wild_all(self, node: _Node, j: int, buf: bytearray, subkey: bytes,
                  out: list[tuple[int, bytes]], seen: set[int]) -> None:
        """kmod's level 3: every pattern below ``node``, tested against ``subkey``.

        ``seen`` holds the nodes visited so far: in a trie no node is reached
        twice, so a second visit means a damaged file (and would loop).
        """
        if len(seen) > len(self._data) or len(buf) > _MAX_DEPTH:
            raise self._bad("trie too deep")
        pushed = len(node.prefix) - j
        buf += node.prefix[j:]
        for ch in range(node.first, node.last + 1):
            offset = node.children[ch - node.first]
            child = self._node(offset)
            if child is None:
                continue
            if offset & NODE_MASK in seen:
                raise self._bad(f"node {offset & NODE_MASK} reached twice")
            seen.add(offset & NODE_MASK)
            buf.append(ch)
            self._wild_all(child, 0, buf, subkey, out, seen)
            buf.pop()
        if node.values:
            pattern = buf.decode("latin-1")
            if compile_pattern(pattern)(subkey.decode("latin-1")) is not None:
                for priority, raw in node.values:
                    _add_value(out, priority, raw)
        if pushed:
            del buf[len(buf) - pushed:]

    @staticmethod
    def _values(out: list[tuple[int, bytes]]) -> list[IndexValue]:
        return [IndexValue(_decode(raw), priority) for priority, raw in out]

    def items(self) -> Iterator[tuple[str, IndexValue]]:
        """Every key and value, in kmod's dump order (``modprobe -c``'s index part)."""
        stack: list[tuple[int, bytes]] = [(self._root, b"")]
        seen: set[int] = set()
        while stack:
            offset, key = stack.pop()
            node = self._node(offset)
            if node is None:
                continue
            if offset & NODE_MASK in seen:
                raise self._bad(f"node {offset & NODE_MASK} reached twice")
            seen.add(offset & NODE_MASK)
            key += node.prefix
            for priority, raw in node.values:
                yield _decode(key), IndexValue(_decode(raw), priority)
            for ch in range(node.last, node.first - 1, -1):
                if node.children[ch - node.first] & NODE_MASK:
                    stack.append((node.children[ch - node.first], key + bytes((ch,))))


def _add_value(out: list[tuple[int, bytes]], priority: int, raw: bytes) -> None:
    """kmod's ``add_value``: insert before the first value of equal or higher priority."""
    position = bisect_left([p for p, _ in out], priority)
    out.insert(position, (priority, raw))


def build_index(entries: Mapping[str, Sequence[tuple[int, str]]]) -> bytes:
    """Write ``key → [(priority, value), ...]`` in the ``.bin`` format (kmod 34's pre-order).

    Used when depmod left only the text files: searching a trie built from
    them gives exactly kmod's answers, wildcard quirks and priorities included.
    Keys longer than any real alias are left out (they could not be looked up).
    """
    out = bytearray(_HEADER.pack(MAGIC, (VERSION_MAJOR << 16) | 1, 0))
    items = sorted((_key_bytes(k), sorted((p, _key_bytes(v)) for p, v in vals))
                   for k, vals in entries.items() if len(k) < _MAX_DEPTH)
    if not items:
        return bytes(out)

    def emit(group: list[tuple[bytes, list[tuple[int, bytes]]]]) -> int:
        prefix = group[0][0]
        for key, _ in group[1:]:
            while not key.startswith(prefix):
                prefix = prefix[:-1]
        values = [v for key, vals in group if len(key) == len(prefix) for v in vals]
        children: dict[int, list[tuple[bytes, list[tuple[int, bytes]]]]] = {}
        for key, vals in group:
            if len(key) > len(prefix):
                children.setdefault(key[len(prefix)], []).append((key[len(prefix) + 1:], vals))
        start = len(out)
        flags = (NODE_PREFIX if prefix else 0) | (NODE_VALUES if values else 0) | \
            (NODE_CHILDS if children else 0)
        if prefix:
            out.extend(prefix + b"\0")
        table = 0
        if children:
            first, last = min(children), max(children)
            out.extend(bytes((first, last)))
            table = len(out)
            out.extend(bytes(4 * (last - first + 1)))
        if values:
            out.extend(_U32.pack(len(values)))
            for priority, raw in values:
                out.extend(_U32.pack(priority) + raw + b"\0")
        for ch, child in children.items():
            _U32.pack_into(out, table + 4 * (ch - min(children)), emit(child))
        return start | flags

    _U32.pack_into(out, 8, emit(items))
    return bytes(out)
