"""Follow module loads and unloads by anyone: kernel uevents, else polling.

On the running system the kernel announces ``add@/module/NAME`` and
``remove@/module/NAME`` on the kobject-uevent netlink socket; reading it costs
nothing while idle. Where that socket is unavailable (or the root is an image
or a test tree) ``/proc/modules`` under the root is polled instead.

Signals:
    modules_changed(): something was loaded or unloaded (debounced).
"""

from __future__ import annotations

import contextlib
import socket

from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal

from kmodgui.core.paths import Root

NETLINK_KOBJECT_UEVENT = 15
KERNEL_GROUP = 1


def open_uevent_socket() -> socket.socket | None:
    """A non-blocking socket on the kernel's uevent group, or None where not allowed."""
    family = getattr(socket, "AF_NETLINK", None)
    if family is None:
        return None
    try:
        sock = socket.socket(family, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK
                             | socket.SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT)
    except OSError:
        return None
    try:
        sock.bind((0, KERNEL_GROUP))
    except OSError:
        sock.close()
        return None
    return sock


def is_module_event(datagram: bytes) -> bool:
    """True for the kernel's uevents about modules (``SUBSYSTEM=module``)."""
    header, _, rest = datagram.partition(b"\0")
    if b"@/module/" in header:
        return True
    return b"\0SUBSYSTEM=module\0" in b"\0" + rest + b"\0"


class LiveWatcher(QObject):
    modules_changed = Signal()

    def __init__(self, root: Root, *, interval_ms: int = 1000, use_netlink: bool = True,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root = root
        self._socket: socket.socket | None = None
        self._notifier: QSocketNotifier | None = None
        self._last: bytes | None = None
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self.modules_changed)
        self._poll = QTimer(self)
        self._poll.setInterval(interval_ms)
        self._poll.timeout.connect(self._check)
        self.mode = "off"
        if use_netlink and root.is_host:
            self._socket = open_uevent_socket()
        if self._socket is not None:
            self._notifier = QSocketNotifier(self._socket.fileno(),
                                             QSocketNotifier.Type.Read, self)
            self._notifier.activated.connect(self._read_socket)
            self.mode = "netlink"
        elif root.proc.is_dir():
            self._last = self._snapshot()
            self._poll.start()
            self.mode = "poll"

    def _snapshot(self) -> bytes | None:
        try:
            return self._root.proc_modules.read_bytes()
        except OSError:
            return None

    def _check(self) -> None:
        now = self._snapshot()
        if now != self._last:
            self._last = now
            self._debounce.start()

    def _read_socket(self, *_args: object) -> None:
        if self._socket is None:
            return
        relevant = False
        while True:
            try:
                datagram = self._socket.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.stop()
                return
            relevant = relevant or is_module_event(datagram)
        if relevant:
            self._debounce.start()

    def stop(self) -> None:
        """Stop watching and release the socket (before the application quits)."""
        self._poll.stop()
        self._debounce.stop()
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier.deleteLater()
            self._notifier = None
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
            self._socket = None
        self.mode = "off"
