"""glibc fnmatch parity: our matcher against the C library's own ``fnmatch(3)``."""

from __future__ import annotations

import ctypes
import ctypes.util
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmodgui.core.globmatch import fnmatch, translate
from kmodgui.core.installed import read_alias
from kmodgui.core.paths import Root

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
_libc.fnmatch.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int)


def glibc(pattern: str, name: str) -> bool:
    return _libc.fnmatch(pattern.encode(), name.encode(), 0) == 0


# Characters that mean something to fnmatch, and a few that do not.
PATTERN_CHARS = "ab1-]![^\\*?:."
NAME_CHARS = "ab1-]![^\\:. A"
FRAGMENTS = ["[:digit:]", "[[:digit:]]", "[[:alpha:]-z]", "[[:foo:]]", "[a-", "[]a]", "[!]",
             "[z-a]", "\\", "[\\]]", "[^a-b]", "[[:space:]"]


@st.composite
def patterns(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.one_of(st.text(PATTERN_CHARS, max_size=3),
                                    st.sampled_from(FRAGMENTS)), max_size=4))
    return "".join(parts)


@settings(max_examples=1500, deadline=None)
@given(patterns(), st.text(NAME_CHARS, max_size=6))
def test_matches_glibc(pattern: str, name: str) -> None:
    assert fnmatch(pattern, name) == glibc(pattern, name), (pattern, name, translate(pattern))


@pytest.mark.parametrize(("pattern", "name", "expected"), [
    ("pci:v*d*", "pci:v00008086d00001234", True),
    ("[^a]", "b", True),                  # glibc negation; Python's fnmatch disagrees
    ("[^a]", "a", False),
    ("[!a-c]x", "dx", True),
    ("a\\*b", "a*b", True),               # escaped star is literal
    ("a\\*b", "axb", False),
    ("[[:digit:]]x", "7x", True),
    ("[[:digit:]]x", "ax", False),
    ("abc\\", "abc\\", False),            # a trailing backslash never matches
    ("[ab", "[ab", True),                 # unterminated bracket: '[' is literal
    ("[]]", "]", True),                   # ']' first in a bracket is a member
    ("*", "with/slash.and.dots", True),   # flags 0: '/' and leading '.' are plain
])
def test_documented_cases(pattern: str, name: str, expected: bool) -> None:
    assert fnmatch(pattern, name) is expected
    assert glibc(pattern, name) is expected


def _instance(pattern: str, rng: random.Random) -> str:
    """A string the pattern was written to match: wildcards replaced by plausible values."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append(rng.choice(["", "0", "00008086", "X"]))
        elif c == "?":
            out.append("A")
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end > 0:
                members = pattern[i + 1:end]
                out.append(rng.choice(re.sub(r"[-!^\\]", "", members) or "x"))
                i = end
        else:
            out.append(c)
        i += 1
    return "".join(out)


def test_every_alias_pattern_of_the_real_tree(kernel_root: Root) -> None:
    """All ~26,000 modules.alias patterns, against an instance and a near miss, as glibc says."""
    rng = random.Random(7)
    mismatches = []
    for pattern, _ in read_alias(kernel_root):
        name = _instance(pattern, rng)
        for candidate in (name, name[:-1], name + "0"):
            if fnmatch(pattern, candidate) != glibc(pattern, candidate):
                mismatches.append((pattern, candidate))
    assert mismatches == []
