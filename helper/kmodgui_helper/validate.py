"""Checks on everything a caller sends, done before polkit is asked.

Client strings never become commands, paths or config text unless they match
these rules exactly (``re.fullmatch``: ``$`` would also accept a trailing
newline, and a newline in modprobe.d can add an ``install`` line that runs as root).
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import re
import stat
import struct
from collections.abc import Mapping
from typing import Any

from kmodgui.core.names import MODULE_NAME_MAX, normalize_module_name, valid_module_name
from kmodgui_helper.errors import invalid

PARAMETER_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
# Values that reach modprobe's argv or a modprobe.d file end up in a shell: kmod pastes
# them unquoted into an ``install`` command's ``$CMDLINE_OPTS``. Only shell-inert text.
SHELL_INERT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                        "_.,:/+=@%^~-")
MAX_VALUE = 1024
# A live sysfs write is no shell: printable ASCII without space, quotes, '#', backslash
SYSFS_VALUE_RE = re.compile(r"[!$-&(-\[\]-~]{1,1024}")
RELEASE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+~-]{0,127}")
MAX_PARAMS = 64
MAX_MODULE_FILE = 256 * 1024 * 1024
BLACKLIST_MODES = ("none", "autoload", "always")
O_PATH = getattr(os, "O_PATH", 0o10000000)
AT_EMPTY_PATH = 0x1000
AT_STATX_DONT_SYNC = 0x4000
STATX_TYPE = 0x1
STATX_SIZE = 0x200
STATX_SIZE_BYTES = 256
_LIBC = ctypes.CDLL(None, use_errno=True)


def module(name: object) -> str:
    """A module name, normalised as the kernel names it (``-`` becomes ``_``)."""
    if not isinstance(name, str) or not valid_module_name(name):
        raise invalid(f"a module name is 1 to {MODULE_NAME_MAX} letters, digits, '_' or '-', "
                      "and does not start with '-'")
    return normalize_module_name(name)


def parameter(name: object) -> str:
    if not isinstance(name, str) or not PARAMETER_RE.fullmatch(name):
        raise invalid("a parameter name is 1 to 64 letters, digits, '_' or '-', "
                      "and does not start with '-'")
    return name.replace("-", "_")


def value(text: object) -> str:
    """A value for modprobe or a modprobe.d file: shell-inert characters only.

    An ``install`` command (``install M /sbin/modprobe --ignore-install M $CMDLINE_OPTS``)
    runs through ``/bin/sh`` with the values pasted in unquoted, so whoever may set a
    value would otherwise run commands as root. Values that need other characters
    belong in a modprobe.d file an administrator writes.
    """
    if not isinstance(text, str) or not 0 < len(text) <= MAX_VALUE:
        raise invalid(f"a parameter value is 1 to {MAX_VALUE} characters")
    bad = next((c for c in text if c not in SHELL_INERT), None)
    if bad is not None:
        raise invalid(f"a parameter value may not contain {_shown(bad)}: only letters, digits "
                      "and _ . , : / + = @ % ^ ~ - (values a shell could read are refused)")
    return text


def sysfs_value(text: object) -> str:
    """A value written to ``/sys/module/M/parameters/P`` once, by write(2).

    No shell and no file ever sees it (the kernel's own parser reads it), so the
    wider printable set applies; a value saved for later loads goes through :func:`value`.
    """
    if not isinstance(text, str) or not SYSFS_VALUE_RE.fullmatch(text):
        raise invalid("a parameter value is 1 to 1024 printable characters without spaces, "
                      "quotes, '#' or backslashes")
    return text


def _shown(char: str) -> str:
    """A refused character named so that a dialog shows it (control characters escaped)."""
    if char.isprintable() and not char.isspace():
        return f"'{char}'"
    return f"{char!r} (U+{ord(char):04X})"


def param_list(items: object) -> list[tuple[str, str]]:
    """``name=value`` strings, as modprobe takes them; duplicates are refused."""
    if not isinstance(items, list | tuple) or len(items) > MAX_PARAMS:
        raise invalid(f"at most {MAX_PARAMS} parameters")
    out: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, str) or "=" not in item:
            raise invalid("each parameter is written name=value")
        key, _, val = item.partition("=")
        out.append((parameter(key), value(val)))
    if len({k for k, _ in out}) != len(out):
        raise invalid("a parameter is given twice")
    return out


def param_dict(items: object) -> list[tuple[str, str]]:
    if not isinstance(items, Mapping) or len(items) > MAX_PARAMS:
        raise invalid(f"at most {MAX_PARAMS} parameters")
    out = [(parameter(k), value(v)) for k, v in items.items()]
    if len({k for k, _ in out}) != len(out):
        raise invalid("a parameter is given twice")
    return sorted(out)


def release(text: object) -> str:
    if not isinstance(text, str) or not RELEASE_RE.fullmatch(text) or ".." in text:
        raise invalid("not a kernel release name")
    return text


def blacklist_mode(text: object) -> str:
    if text not in BLACKLIST_MODES:
        raise invalid("the blacklist mode is one of: none, autoload, always")
    return str(text)


def options(received: object, allowed: Mapping[str, str]) -> dict[str, Any]:
    """An ``a{sv}`` options dictionary: every key known, every value of its declared type."""
    if not isinstance(received, Mapping):
        raise invalid("options must be a dictionary")
    out: dict[str, Any] = {}
    for key, variant in received.items():
        if key not in allowed:
            raise invalid(f"unknown option {key!r}"[:200])
        signature = getattr(variant, "signature", None)
        if signature != allowed[key]:
            raise invalid(f"option {key!r} must have type {allowed[key]!r}")
        out[key] = variant.value
    return out


def _statx_cached(fd: int) -> tuple[int, int]:
    """The descriptor's file type and size, from what the kernel already knows.

    ``AT_STATX_DONT_SYNC``: a network or FUSE file system is not asked (a plain
    ``fstat`` on a FUSE file can wait for its server forever, and anyone may mount
    FUSE), so validation before polkit never blocks on a caller's file system.
    """
    buf = ctypes.create_string_buffer(STATX_SIZE_BYTES)
    statx = getattr(_LIBC, "statx", None)
    if statx is None:  # pragma: no cover - glibc before 2.28
        info = os.fstat(fd)
        return info.st_mode, info.st_size
    if statx(fd, b"", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE | STATX_SIZE, buf) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    mask, = struct.unpack_from("=I", buf, 0)  # native order: s390x and ppc64 are big-endian
    if mask & (STATX_TYPE | STATX_SIZE) != STATX_TYPE | STATX_SIZE:
        raise OSError(0, "the file system did not report the file's type and size")
    mode, = struct.unpack_from("=H", buf, 28)
    size, = struct.unpack_from("=Q", buf, 40)
    return mode, size


def module_fd(fd: int) -> int:
    """A received descriptor: a regular file opened read-only (not ``O_PATH``), of sane size.

    Returns its size. The caller closes the descriptor whatever happens. Nothing here
    asks the file's file system (see :func:`_statx_cached`).
    """
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    except OSError as exc:
        raise invalid("the file descriptor is not usable") from exc
    # an O_PATH descriptor reports access mode O_RDONLY: its own bit must be checked
    if flags & O_PATH:
        raise invalid("the module file must be opened for reading (not O_PATH)")
    if flags & os.O_ACCMODE != os.O_RDONLY:
        raise invalid("the module file must be opened read-only")
    try:
        mode, size = _statx_cached(fd)
    except OSError as exc:
        raise invalid("the file descriptor is not usable") from exc
    if not stat.S_ISREG(mode):
        raise invalid("the module file must be a regular file")
    if not 0 < size <= MAX_MODULE_FILE:
        raise invalid("the module file is empty or too large")
    return size
