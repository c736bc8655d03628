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
