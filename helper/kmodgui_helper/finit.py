"""``finit_module(2)`` on a received descriptor, through ``syscall(2)``.

glibc has no wrapper for it, so the number is per architecture. The descriptor
is the caller's own (checked, read-only): never reopened by path as root.
"""

from __future__ import annotations

import ctypes
import os
import platform
import threading

# asm-generic numbering (aarch64, riscv64) is 273; the others have their own tables.
SYSCALL_NUMBERS = {
    "x86_64": 313,
    "amd64": 313,
    "aarch64": 273,
    "arm64": 273,
    "riscv64": 273,
    "i386": 350,
    "i486": 350,
    "i586": 350,
    "i686": 350,
    "armv7l": 379,
    "armv6l": 379,
    "armv8l": 379,
    "arm": 379,
    "ppc64le": 353,
    "ppc64": 353,
    "ppc": 353,
    "s390x": 344,
    "loongarch64": 273,
}

MODULE_INIT_IGNORE_MODVERSIONS = 1
MODULE_INIT_IGNORE_VERMAGIC = 2
MODULE_INIT_COMPRESSED_FILE = 4

_COMPRESSED_MAGIC = (b"\x1f\x8b", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


def syscall_number(machine: str | None = None) -> int:
    """The ``finit_module`` number for ``machine`` (``uname -m``); KeyError if unknown."""
    return SYSCALL_NUMBERS[machine or platform.machine()]


def is_compressed(fd: int) -> bool:
    """True for gzip, xz and zstd module files (the kernel decompresses them itself)."""
    head = os.pread(fd, 6, 0)
    return any(head.startswith(m) for m in _COMPRESSED_MAGIC)


def finit_module(fd: int, params: str) -> None:
    """Load the module in ``fd`` with ``params``; raises OSError with the kernel's errno."""
    libc = ctypes.CDLL(None, use_errno=True)
    flags = MODULE_INIT_COMPRESSED_FILE if is_compressed(fd) else 0
    try:
        number = syscall_number()
    except KeyError as exc:
        raise OSError(38, "finit_module is not known on this architecture") from exc
    result = libc.syscall(ctypes.c_long(number), ctypes.c_int(fd),
                          ctypes.c_char_p(params.encode()), ctypes.c_int(flags))
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


# How long a module's init may take before the call gives up waiting for it.
INIT_TIMEOUT = 30.0


class InitTimeout(Exception):
    """The module's init had not returned when the helper stopped waiting."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the module's init has not returned after {seconds:.0f} s; "
                         "it may still finish")
        self.seconds = seconds


def finit_module_bounded(fd: int, params: str, timeout: float = INIT_TIMEOUT) -> None:
    """:func:`finit_module` that returns after ``timeout`` seconds at the latest.

    The system call runs the module's init in the calling thread and cannot be
    interrupted; a thread of its own may stay blocked while the helper goes on
    serving. It works on a duplicate of ``fd``, closed when the call ends, so the
    caller may close ``fd`` at once.
    """
    own = os.dup(fd)
    outcome: list[BaseException | None] = []

    def call() -> None:
        try:
            finit_module(own, params)
            outcome.append(None)
        except BaseException as exc:  # handed to the waiting thread
            outcome.append(exc)
        finally:
            os.close(own)

    worker = threading.Thread(target=call, name="finit_module", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive() or not outcome:
        raise InitTimeout(timeout)
    if outcome[0] is not None:
        raise outcome[0]
