"""The kernel messages an operation produced, read from ``/dev/kmsg`` before and after.

Each open of ``/dev/kmsg`` is an independent reader; seeking to the end before
the operation and reading what arrived after gives exactly its messages
plus anything else the kernel printed meanwhile: :func:`visible` decides what of
that a caller is shown (the helper reads the log with CAP_SYSLOG, the caller may not).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Sequence

KMSG = "/dev/kmsg"
MAX_RECORDS = 500


class KernelLog:
    """A reader positioned at the end of the kernel log; :meth:`read_new` returns what followed."""

    def __init__(self, path: str = KMSG) -> None:
        self._fd: int | None = None
        try:
            self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            os.lseek(self._fd, 0, os.SEEK_END)
        except OSError:
            self.close()

    def read_new(self) -> list[str]:
        """The messages written since this reader was made (empty if the log is unreadable)."""
        lines: list[str] = []
        if self._fd is None:
            return lines
        while len(lines) < MAX_RECORDS:
            try:
                record = os.read(self._fd, 8192)
            except OSError as exc:
                if exc.errno == errno.EPIPE:  # overwritten meanwhile: go on with the next
                    continue
                break
            if not record:
                break
            lines.append(parse_record(record))
        return lines

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> KernelLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def parse_record(record: bytes) -> str:
    """The text of one ``/dev/kmsg`` record (``prio,seq,usec,flags;text\\n KEY=value…``)."""
    text = record.decode("utf-8", "replace")
    first = text.split("\n", 1)[0]
    _, sep, message = first.partition(";")
    return message if sep else first


def about(line: str, modules: Iterable[str]) -> bool:
    """True when a record names one of ``modules`` first: ``name:`` as the module loader
    and ``pr_fmt(KBUILD_MODNAME ": " ...)`` write them, or ``name device: `` as a driver's
    ``dev_info()`` does (``e1000 0000:00:05.0 eth0: ...``); ``-`` and ``_`` are the same."""
    names = {m.replace("-", "_") for m in modules}
    for index, char in enumerate(line):
        if char == ":" or (char == " " and ": " in line[index:]):
            return line[:index].replace("-", "_") in names
        if char.isspace():
            return False
    return False


def visible(lines: Sequence[str], modules: Iterable[str], see_all: bool) -> list[str]:
    """What a caller is shown of the records written during an operation.

    The records about the operation's modules; the others only for a caller who may
    read the kernel log anyway, else one line that says how many were left out.
    """
    if see_all:
        return list(lines)
    names = set(modules)
    shown = [line for line in lines if about(line, names)]
    hidden = len(lines) - len(shown)
    if hidden:
        shown.append(f"{hidden} other kernel message{'s' if hidden != 1 else ''} not shown")
    return shown
