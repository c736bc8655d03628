"""Module and alias name rules, each in exactly one function (as kmod has them)."""

from __future__ import annotations


def normalize_module_name(name: str) -> str:
    """kmod's ``modname_normalize``: ``-`` and ``_`` are the same; cut at the first ``.``."""
    return name.split(".", 1)[0].replace("-", "_")


def module_name_from_path(path: str) -> str:
    """The module name a file path implies: ``kernel/fs/ext4/ext4.ko.xz`` → ``ext4``."""
    return normalize_module_name(path.rsplit("/", 1)[-1])


def normalize_alias(alias: str) -> str:
    """kmod's ``alias_normalize``: ``-`` becomes ``_`` except inside ``[...]``."""
    out: list[str] = []
    depth = False
    for ch in alias:
        if ch == "[":
            depth = True
        elif ch == "]":
            depth = False
        elif ch == "-" and not depth:
            ch = "_"
        out.append(ch)
    return "".join(out)
