"""The kernel messages an operation produced, read from ``/dev/kmsg`` before and after.

Each open of ``/dev/kmsg`` is an independent reader; seeking to the end before
the operation and reading what arrived after gives exactly its messages
(plus anything else the kernel printed meanwhile, which is rare and harmless).
"""

from __future__ import annotations

import errno
import os

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
