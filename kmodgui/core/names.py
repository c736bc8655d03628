"""Module and alias name rules, each in exactly one function (as kmod has them)."""

from __future__ import annotations


def normalize_module_name(name: str) -> str:
    """kmod's ``modname_normalize``: ``-`` and ``_`` are the same; cut at the first ``.``."""
    return name.split(".", 1)[0].replace("-", "_")


def module_name_from_path(path: str) -> str:
    """The module name a file path implies: ``kernel/fs/ext4/ext4.ko.xz`` → ``ext4``."""
    return normalize_module_name(path.rsplit("/", 1)[-1])


class InvalidAlias(ValueError):
    """An alias kmod refuses: a ``]`` without ``[`` or a ``[`` without ``]``."""


def normalize_alias(alias: str) -> str:
    """kmod's ``alias_normalize``: ``-`` becomes ``_`` except inside ``[...]``.

    Raises :class:`InvalidAlias` on unbalanced brackets, where kmod fails the
    lookup with EINVAL (so ``modprobe`` reports the module as not found).
    """
    out: list[str] = []
    i, n = 0, len(alias)
    while i < n:
        ch = alias[i]
        if ch == "]":
            raise InvalidAlias(f"invalid alias {alias!r}: ']' without '['")
        if ch == "[":
            end = alias.find("]", i)
            if end < 0:
                raise InvalidAlias(f"invalid alias {alias!r}: '[' without ']'")
            out.append(alias[i:end + 1])
            i = end + 1
            continue
        out.append("_" if ch == "-" else ch)
        i += 1
    return "".join(out)


def underscores(text: str) -> str:
    """kmod's ``underscores`` for configuration words: like :func:`normalize_alias`.

    The same rule (``-`` → ``_`` outside brackets, unbalanced brackets are an
    error), applied to module names and aliases read from modprobe.d.
    """
    return normalize_alias(text)


#: kmodgui's own configuration files start with this (the helper writes only those).
OWN_CONFIG_PREFIX = "kmodgui-"


def own_config_name(module: str) -> str:
    """The file (in modprobe.d and in modules-load.d) with kmodgui's settings for ``module``."""
    return f"{OWN_CONFIG_PREFIX}{module}.conf"


#: What kmod (and the helper) accept as a module name: at most 55 characters (the
#: kernel's MODULE_NAME_LEN less the NUL), letters, digits, ``_`` and ``-``, no leading ``-``.
MODULE_NAME_MAX = 55


def valid_module_name(name: str) -> bool:
    """True when kmod would accept ``name`` as a module name (``modprobe NAME``)."""
    return (0 < len(name) <= MODULE_NAME_MAX and not name.startswith("-")
            and all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in name))
