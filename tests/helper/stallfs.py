"""A tiny FUSE file system whose server never answers root's ``getattr`` of its one file.

Any user can mount FUSE where ``fusermount`` is installed, so a hostile caller
can hand the helper a descriptor on such a file system: every ``fstat`` that
asks the server then blocks for as long as the caller likes. The helper must
not ask (``statx`` with ``AT_STATX_DONT_SYNC``). Speaks the kernel's FUSE
protocol directly on ``/dev/fuse`` (no libfuse needed); the tests run as root.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import select
import stat
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

from kmgtest.tinyko import tiny_ko

IN_HEADER = struct.Struct("<IIQQIIII")  # len, opcode, unique, nodeid, uid, gid, pid, pad
OUT_HEADER = struct.Struct("<IiQ")  # len, error, unique
ATTR = struct.Struct("<QQQQQQIIIIIIIIII")  # fuse_attr (88 bytes)
LOOKUP, FORGET, GETATTR, OPEN, READ, RELEASE, FLUSH, INIT = 1, 2, 3, 14, 15, 18, 25, 26
INTERRUPT, BATCH_FORGET = 36, 42
NO_REPLY = {FORGET, INTERRUPT, BATCH_FORGET}
ROOT_ID, FILE_ID = 1, 2
NAME = "module.ko"
CONTENT = tiny_ko("kmodgui_stalled")


def _attr(node: int) -> bytes:
    if node == ROOT_ID:
        return ATTR.pack(1, 0, 0, 0, 0, 0, 0, 0, 0, stat.S_IFDIR | 0o755, 2, 0, 0, 0, 4096, 0)
    return ATTR.pack(2, len(CONTENT), 1, 0, 0, 0, 0, 0, 0, stat.S_IFREG | 0o644, 1, 0, 0, 0,
                     4096, 0)


class StallFS:
    """The server: answers lookups, opens and reads; root's getattr of the file waits forever."""

    def __init__(self, mountpoint: Path) -> None:
        self.mountpoint = mountpoint
        self.file = mountpoint / NAME
        self.stalled = 0
        self._fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _reply(self, unique: int, payload: bytes = b"", error: int = 0) -> None:
        with contextlib.suppress(OSError):  # the request may have been interrupted
            os.write(self._fd, OUT_HEADER.pack(OUT_HEADER.size + len(payload), -error,
                                               unique) + payload)

    def _handle(self, opcode: int, unique: int, node: int, uid: int, body: bytes) -> None:
        if opcode in NO_REPLY:
            return
        if opcode == INIT:
            _major, minor, readahead, _flags = struct.unpack_from("<IIII", body)
            self._reply(unique, struct.pack("<IIIIHHIIHHI7I", 7, min(minor, 31), readahead,
                                            0, 16, 12, 65536, 1, 0, 0, 0, *([0] * 7)))
        elif opcode == LOOKUP:
            if node == ROOT_ID and body.rstrip(b"\0") == NAME.encode():
                self._reply(unique, struct.pack("<QQQQII", FILE_ID, 0, 0, 0, 0, 0)
                            + _attr(FILE_ID))
            else:
                self._reply(unique, error=errno.ENOENT)
        elif opcode == GETATTR:
            if node == FILE_ID and uid == 0:
                self.stalled += 1  # never answered: the asker waits until the mount goes
                return
            self._reply(unique, struct.pack("<QII", 0, 0, 0) + _attr(node))
        elif opcode == OPEN:
            self._reply(unique, struct.pack("<QII", 0, 0, 0))
        elif opcode == READ:
            _fh, offset, size = struct.unpack_from("<QQI", body)
            self._reply(unique, CONTENT[offset:offset + size])
        elif opcode in (RELEASE, FLUSH):
            self._reply(unique)
        else:
            self._reply(unique, error=errno.ENOSYS)

    def _serve(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        while not self._stop.is_set():
            if not poller.poll(100):
                continue
            try:
                data = os.read(self._fd, 1 << 17 | 4096)
            except OSError:
                return
            _len, opcode, unique, node, uid, _gid, _pid, _pad = IN_HEADER.unpack_from(data)
            self._handle(opcode, unique, node, uid, data[IN_HEADER.size:])

    def mount(self) -> None:
        self.mountpoint.mkdir(exist_ok=True)
        libc = ctypes.CDLL(None, use_errno=True)
        options = f"fd={self._fd},rootmode=40000,user_id=0,group_id=0,allow_other"
        if libc.mount(b"kmodgui-stallfs", str(self.mountpoint).encode(), b"fuse",
                      ctypes.c_ulong(0x2 | 0x4), options.encode()) != 0:  # nosuid, nodev
            err = ctypes.get_errno()
            raise OSError(err, f"mounting FUSE: {os.strerror(err)}")
        self._thread.start()

    def unmount(self) -> None:
        """Closing the device aborts the connection: every waiting request fails at once."""
        self._stop.set()
        self._thread.join(5)
        os.close(self._fd)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.umount2(str(self.mountpoint).encode(), 2)  # MNT_DETACH


@contextlib.contextmanager
def mounted(mountpoint: Path) -> Iterator[StallFS]:
    fs = StallFS(mountpoint)
    fs.mount()
    try:
        yield fs
    finally:
        fs.unmount()
