"""Modalias-like strings made from alias patterns, for resolve parity against modprobe."""

from __future__ import annotations

import random


def concrete(pattern: str, rng: random.Random) -> str:
    """A string the alias pattern was written to match: wildcards replaced by plausible
    values (``*`` by IDs or nothing, ``?`` by a digit or letter, a bracket by a member)."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append(rng.choice(["", "0", "00008086", "FF", "X"]))
        elif c == "?":
            out.append(rng.choice("0A"))
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end > 0:
                members = pattern[i + 1:end].lstrip("!^")
                out.append(rng.choice(members.replace("-", "") or "x"))
                i = end
        else:
            out.append(c)
        i += 1
    return "".join(out)
