"""glibc ``fnmatch(pattern, string, 0)``, the matcher kmod uses for aliases.

Python's :mod:`fnmatch` differs from glibc in ways that change which module an
alias resolves to: ``[^...]`` is negation in glibc, a backslash escapes the
next character, ``[[:digit:]]`` classes exist, an unterminated ``[`` is a
literal and a trailing backslash never matches. Patterns are translated once
into a regular expression and cached, because the wildcard search of
``modules.alias.bin`` matches thousands of patterns per lookup.

Matching is per character in the C locale: callers that hold bytes decode
them as latin-1 so that one character is one byte, as kmod sees them.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from functools import lru_cache

# POSIX character classes in the C locale (what kmod's tools run with).
_CLASSES: dict[str, str] = {
    "alnum": string.ascii_letters + string.digits,
    "alpha": string.ascii_letters,
    "blank": " \t",
    "cntrl": "".join(map(chr, range(32))) + "\x7f",
    "digit": string.digits,
    "graph": "".join(map(chr, range(33, 127))),
    "lower": string.ascii_lowercase,
    "print": "".join(map(chr, range(32, 127))),
    "punct": string.punctuation,
    "space": " \t\n\r\x0b\x0c",
    "upper": string.ascii_uppercase,
    "xdigit": string.digits + "abcdefABCDEF",
}

_NEVER = "(?!)"


def _bracket(pattern: str, start: int) -> tuple[str, int] | None:
    """Translate the bracket expression at ``pattern[start] == '['``.

    Returns the regular expression and the index after the closing ``]``, or
    None when the bracket is not terminated (glibc then matches ``[`` itself).
    """
    n = len(pattern)
    i = start + 1
    negate = i < n and pattern[i] in "!^"
    if negate:
        i += 1
    parts: list[str] = []
    valid = True
    valid_parts = 0
    first = True
    while True:
        if i >= n:
            return None
        c = pattern[i]
        if c == "]" and not first:
            i += 1
            break
        first = False
        if c == "[" and i + 1 < n and pattern[i + 1] == ":":
            end = pattern.find(":]", i + 2)
            if end != -1:
                name = pattern[i + 2:end]
                if not valid:
                    pass
                elif name in _CLASSES:
                    parts.append(re.escape(_CLASSES[name]))
                else:
                    # glibc scans members in order and gives up at an unknown
                    # class: only the members before it can still match.
                    valid = False
                    valid_parts = len(parts)
                i = end + 2
                continue
        if c == "\\":
            i += 1
            if i >= n:
                return None
            c = pattern[i]
        i += 1
        if i + 1 < n and pattern[i] == "-" and pattern[i + 1] != "]":
            hi = pattern[i + 1]
            i += 2
            if hi == "\\":
                if i >= n:
                    return None
                hi = pattern[i]
                i += 1
            if c <= hi:
                parts.append(f"{re.escape(c)}-{re.escape(hi)}")
            continue
        parts.append(re.escape(c))
    if not valid:
        if negate or not valid_parts:
            return _NEVER, i
        parts = parts[:valid_parts]
    body = "".join(parts)
    if negate:
        return (f"[^{body}]" if body else "(?s:.)"), i
    return (f"[{body}]" if body else _NEVER), i


def translate(pattern: str) -> str:
    """The regular expression (full match, DOTALL) equivalent to a glibc pattern."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            while i < n and pattern[i] == "*":
                i += 1
            out.append(".*")
            continue
        if c == "?":
            out.append(".")
        elif c == "\\":
            if i + 1 >= n:
                out.append(_NEVER)  # glibc: a trailing backslash loses
            else:
                i += 1
                out.append(re.escape(pattern[i]))
        elif c == "[":
            result = _bracket(pattern, i)
            if result is not None:
                regex, i = result
                out.append(regex)
                continue
            out.append(re.escape(c))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


@lru_cache(maxsize=65536)
def compile_pattern(pattern: str) -> Callable[[str], re.Match[str] | None]:
    """A cached matcher: ``compile_pattern(p)(s)`` is truthy when ``s`` matches ``p``."""
    return re.compile(translate(pattern), re.DOTALL).fullmatch


def fnmatch(pattern: str, name: str) -> bool:
    """True when ``name`` matches the glibc shell pattern ``pattern`` (flags 0)."""
    if not has_wildcard(pattern):
        return pattern == name
    return compile_pattern(pattern)(name) is not None


def has_wildcard(text: str) -> bool:
    """True when ``text`` has a character that makes it a pattern for fnmatch."""
    return any(ch in text for ch in "*?[\\")
