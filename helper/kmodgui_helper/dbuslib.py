"""The D-Bus library in use: dbus-fast (maintained) or dbus-next 0.2.3 (same API).

``KMODGUI_HELPER_DBUS=dbus_next`` (or ``dbus_fast``) forces one; otherwise
dbus-fast is preferred. The rest of the helper imports the names from here.
"""

from __future__ import annotations

import importlib
import os

_choice = os.environ.get("KMODGUI_HELPER_DBUS", "")
_order = [_choice] if _choice in ("dbus_fast", "dbus_next") else ["dbus_fast", "dbus_next"]

for _name in _order:
    try:
        _lib = importlib.import_module(_name)
        _aio = importlib.import_module(_name + ".aio")
        break
    except ImportError:
        continue
else:  # pragma: no cover - packaging error
    raise ImportError("kmodgui-helper needs dbus-fast (or dbus-next)")

LIBRARY = _name
BusType = _lib.BusType
Message = _lib.Message
MessageFlag = _lib.MessageFlag
MessageType = _lib.MessageType
Variant = _lib.Variant
MessageBus = _aio.MessageBus
NameFlag = _lib.NameFlag
RequestNameReply = _lib.RequestNameReply


class _PatientSocket:
    """The bus socket as the library's message writer sees it: a full send buffer means
    "wait until writable" (0 bytes sent), not a lost connection.

    dbus-fast (5.x) and dbus-next (0.2.3) take the ``BlockingIOError`` of a full
    non-blocking socket for a broken bus and drop the connection: a flood of callers
    whose replies outpace a busy dbus-daemon would disconnect the helper, and every call
    it holds would end in NoReply. Both writers already wait for writability when a
    send is short, so a short send of nothing is all they need. The helper never sends
    descriptors, so ``sendmsg`` is left as it is.
    """

    def __init__(self, sock: object) -> None:
        self._sock = sock

    def send(self, data: bytes | memoryview) -> int:
        try:
            return int(self._sock.send(data))  # type: ignore[attr-defined]
        except BlockingIOError:
            return 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._sock, name)


def tolerate_full_send_buffer(bus: object) -> None:
    """Make ``bus`` (connected) wait out a full send buffer instead of disconnecting."""
    writer = getattr(bus, "_writer", None)
    if writer is not None and hasattr(writer, "sock"):
        writer.sock = _PatientSocket(writer.sock)
