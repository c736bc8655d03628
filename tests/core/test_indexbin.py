"""The ``.bin`` trie reader: against kmod's own dump, a reference writer, and damaged files."""

from __future__ import annotations

import random
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmodgui.core.errors import IndexFileError
from kmodgui.core.globmatch import fnmatch
from kmodgui.core.indexbin import MAGIC, IndexFile
from kmodgui.core.installed import read_alias, read_builtin, read_dep
from kmodgui.core.paths import Root

# -- a reference writer (depmod's format), able to lay nodes out in either order --

Entries = dict[bytes, list[tuple[int, bytes]]]


def _make(items: list[tuple[bytes, list[tuple[int, bytes]]]]) -> dict:
    keys = [k for k, _ in items]
    lcp = bytes(keys[0])
    for k in keys[1:]:
        while not k.startswith(lcp):
            lcp = lcp[:-1]
    values: list[tuple[int, bytes]] = []
    groups: dict[int, list[tuple[bytes, list[tuple[int, bytes]]]]] = {}
    for key, vals in items:
        rest = key[len(lcp):]
        if rest:
            groups.setdefault(rest[0], []).append((rest[1:], vals))
        else:
            values.extend(sorted(vals))
    return {"prefix": lcp, "values": values,
            "children": {ch: _make(group) for ch, group in sorted(groups.items())}}


def write_index(entries: Entries, preorder: bool) -> bytes:
    """Serialise a trie the way depmod does; ``preorder`` is kmod 34's layout."""
    out = bytearray(struct.pack(">III", MAGIC, 0x00020001, 0))

    def emit(node: dict) -> int:
        flags = 0
        if node["prefix"]:
            flags |= 0x80000000
        if node["values"]:
            flags |= 0x40000000
        children = node["children"]
        if children:
            flags |= 0x20000000
        child_offsets: dict[int, int] = {}
        if not preorder:
            child_offsets = {ch: emit(child) for ch, child in children.items()}
        start = len(out)
        if node["prefix"]:
            out.extend(node["prefix"] + b"\0")
        table = 0
        if children:
            first, last = min(children), max(children)
            out.extend(bytes((first, last)))
            table = len(out)
            for ch in range(first, last + 1):
                out.extend(struct.pack(">I", child_offsets.get(ch, 0)))
        if node["values"]:
            out.extend(struct.pack(">I", len(node["values"])))
            for priority, value in node["values"]:
                out.extend(struct.pack(">I", priority) + value + b"\0")
        if preorder and children:
            first = min(children)
            for ch, child in children.items():
                struct.pack_into(">I", out, table + 4 * (ch - first), emit(child))
        return start | flags

    root = emit(_make(sorted(entries.items())))
    struct.pack_into(">I", out, 8, root)
    return bytes(out)


KEY_CHARS = "ab:-_*?[]0"
keys = st.text(KEY_CHARS, min_size=1, max_size=8).map(str.encode)


@st.composite
def entry_sets(draw: st.DrawFn) -> Entries:
    chosen = draw(st.lists(keys, min_size=1, max_size=25, unique=True))
    priorities = iter(draw(st.permutations(range(len(chosen) * 2))))
    return {k: [(next(priorities), b"mod_" + k.replace(b"*", b"S"))] for k in chosen}


@settings(max_examples=300, deadline=None)
@given(entry_sets(), st.text("ab:-_0]", max_size=8))
def test_writer_roundtrip_both_layouts(entries: Entries, probe: str) -> None:
    """Exact and wildcard search agree with a brute-force oracle, whatever the node order."""
    for preorder in (False, True):
        index = IndexFile(write_index(entries, preorder))
        for key, values in entries.items():
            assert index.search(key.decode()) == values[0][1].decode()
            assert [(v.priority, v.value) for v in index.search_values(key.decode())] == \
                [(p, v.decode()) for p, v in values]
        expected = sorted((pr, v.decode()) for k, vals in entries.items()
                          for pr, v in vals if fnmatch(k.decode("latin-1"), probe))
        got = [(v.priority, v.value) for v in index.search_wild(probe)]
        assert got == expected
        dumped = sorted((k, v.value) for k, v in index.items())
        assert dumped == sorted((k.decode(), v.decode()) for k, vals in entries.items()
                                for _, v in vals)


def test_equal_priorities_keep_kmods_order() -> None:
    """kmod inserts a value before others of equal priority: the last match found comes first."""
    entries = {b"ab": [(1, b"exact")], b"a*": [(1, b"star")], b"a?": [(1, b"question")]}
    index = IndexFile(write_index(entries, preorder=True))
    # traversal: '*' subtree, then '?' subtree, then the exact node; each goes in front
    assert [v.value for v in index.search_wild("ab")] == ["exact", "question", "star"]


def test_a_key_spelling_a_pattern_matches_it_twice() -> None:
    """kmod quirk: a probe containing '[' also follows a '[' child edge literally."""
    index = IndexFile(write_index({b"a[": [(1, b"m")], b"a0": [(2, b"n")]}, preorder=False))
    assert [v.value for v in index.search_wild("a[")] == ["m", "m"]
    single = IndexFile(write_index({b"a[": [(1, b"m")]}, preorder=False))
    assert [v.value for v in single.search_wild("a[")] == ["m"]   # '[' inside a prefix


def test_bad_header_is_reported() -> None:
    with pytest.raises(IndexFileError, match="not a module index"):
        IndexFile(b"\0" * 16, "x.bin")
    with pytest.raises(IndexFileError, match="too short"):
        IndexFile(b"\xb0\x07", "x.bin")
    with pytest.raises(IndexFileError, match="version"):
        IndexFile(struct.pack(">III", MAGIC, 0x00030000, 12), "x.bin")
    with pytest.raises(IndexFileError, match="cannot read"):
        IndexFile.open("/nonexistent/modules.alias.bin")


def _exercise(data: bytes) -> None:
    try:
        index = IndexFile(data)
        for key in ("", "a", "ab:", "pci:v00008086d*", "symbol:x", "zz"):
            index.search(key)
            index.search_values(key)
            index.search_wild(key)
        for _ in index.items():
            pass
    except IndexFileError:
        pass


SAMPLE = write_index({b"pci:v*d*": [(0, b"one")], b"pci:v0001*": [(1, b"two")],
                      b"ab": [(2, b"three"), (3, b"four")], b"a[b-c]": [(4, b"five")]},
                     preorder=False)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(SAMPLE) - 1), st.integers(0, 255)), max_size=6),
       st.integers(12, len(SAMPLE)))
def test_damaged_index_raises_only_index_errors(edits: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(SAMPLE)
    for position, byte in edits:
        data[position] = byte
    _exercise(bytes(data[:cut]))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_after_a_valid_header(tail: bytes) -> None:
    _exercise(struct.pack(">III", MAGIC, 0x00020001, 12) + tail)


def test_loops_in_the_trie_are_errors() -> None:
    # a root node whose only child ('a') is the root itself
    node = bytes((ord("a"), ord("a"))) + struct.pack(">I", 0x20000000 | 12)
    data = struct.pack(">III", MAGIC, 0x00020001, 0x20000000 | 12) + node
    index = IndexFile(data)
    with pytest.raises(IndexFileError):
        list(index.items())
    assert index.search("aaaa") is None   # exact search ends with the key
    index_wild = IndexFile(data.replace(b"aa", b"**"))
    with pytest.raises(IndexFileError):
        index_wild.search_wild("x")


# -- the real tree -----------------------------------------------------------

def test_dump_matches_modprobe_c(kernel_root: Root, tmp_path: Path) -> None:
    """Every alias and symbol key/value, in kmod's dump order, as ``modprobe -c`` prints them."""
    result = subprocess.run(
        ["modprobe", "-C", str(tmp_path / "none"), "-d", str(kernel_root.base),
         "-S", kernel_root.release, "-c"],
        capture_output=True, text=True, check=True)
    marker = "# End of configuration files. Dumping indexes now:\n\n"
    expected = result.stdout.split(marker, 1)[1]
    ours = []
    for name in ("modules.alias.bin", "modules.symbols.bin"):
        index = IndexFile.open(kernel_root.modules_file(name))
        ours.extend(f"alias {key} {value.value}\n" for key, value in index.items())
    assert "".join(ours) == expected


def test_every_dep_line_is_found(kernel_root: Root) -> None:
    index = IndexFile.open(kernel_root.modules_file("modules.dep.bin"))
    entries = read_dep(kernel_root)
    assert len(entries) > 4000
    for name, entry in entries.items():
        line = index.search(name)
        assert line is not None
        assert line.split(":")[0] == entry.path
        assert tuple(line.split(":", 1)[1].split()) == entry.depends
    assert index.search("no_such_module") is None
    assert index.search("ext") is None          # a prefix of a key is not a key


def test_builtin_index(kernel_root: Root) -> None:
    index = IndexFile.open(kernel_root.modules_file("modules.builtin.bin"))
    names = read_builtin(kernel_root)
    assert names and all(index.search(name) is not None for name in names)
    assert index.search("ext4") is None


def test_wildcard_lookups_find_concrete_modaliases(kernel_root: Root) -> None:
    """Wildcard lookups in modules.alias.bin find concrete modaliases (benchmarks/ times them)."""
    rng = random.Random(3)
    patterns = [p for p, _ in read_alias(kernel_root) if p.startswith(("pci:", "usb:"))]
    keys = [p.replace("*", "0").replace("?", "0") for p in rng.sample(patterns, 100)]
    index = IndexFile.open(kernel_root.modules_file("modules.alias.bin"))
    found = [index.search_wild(key) for key in keys]
    assert sum(1 for f in found if f) >= 90


def test_empty_index_written_by_depmod(tmp_path: Path) -> None:
    """depmod for a release without modules writes a root node of zero bytes; kmod accepts it."""
    release = tmp_path / "lib/modules/9.9.9"
    release.mkdir(parents=True)
    subprocess.run(["depmod", "-b", str(tmp_path), "9.9.9"], check=True, capture_output=True)
    for name in ("modules.alias.bin", "modules.dep.bin", "modules.symbols.bin"):
        index = IndexFile.open(release / name)
        assert index.search("anything") is None
        assert index.search_wild("pci:v00008086d*") == []
        assert list(index.items()) == []
