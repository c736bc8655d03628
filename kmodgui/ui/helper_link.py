"""Connect the window to the privileged helper over the system bus, without blocking it.

Why not QtDBus: PySide6 hands every reply container (the helper's ``a{sv}``
results) back as an opaque ``QDBusArgument`` that Python cannot read, and
reading one the only way offered aborts the process. So the window talks to
the helper with dbus-fast on an asyncio loop in one background thread; each
reply or error is carried to the GUI thread by a queued Qt signal, so the
window's callbacks always run there (the contract of
:class:`~kmodgui.ui.operations.HelperClient`).

Every call carries the interactive-authorization flag (the helper lets polkit
show a password dialog only then) and has a long timeout so the dialog can be
answered. A module file travels as a descriptor (``h``) duplicated for the
message. Without a helper, :func:`connect_helper` returns None and the window
works read-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from kmodgui.core.paths import Root
from kmodgui.ui.operations import CallError, ErrorCallback, ReplyCallback

SERVICE = "org.kmodgui.Helper1"
OBJECT_PATH = "/org/kmodgui/Helper1"
INTERFACE = "org.kmodgui.Helper1"
CALL_TIMEOUT = 10 * 60.0   # seconds: long enough to type a password
CONNECT_TIMEOUT = 5.0

# The argument types of each method, from the helper's introspection XML.
SIGNATURES: dict[str, str] = {
    "GetCapabilities": "",
    "Load": "sasa{sv}",
    "Unload": "sa{sv}",
    "InsertFile": "hasa{sv}",
    "SetParameter": "sssa{sv}",
    "SetPersistentOptions": "sa{ss}a{sv}",
    "SetBlacklist": "ssa{sv}",
    "SetLoadAtBoot": "sba{sv}",
    "RebuildIndex": "sa{sv}",
}


def unwrap(value: Any) -> Any:
    """dbus-fast ``Variant`` values (nested in dicts and lists) as plain Python values."""
    from dbus_fast import Variant

    if isinstance(value, Variant):
        return unwrap(value.value)
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def variants(options: dict[str, Any]) -> dict[str, Any]:
    """An ``a{sv}`` body from plain values (bool, str, int, list of str)."""
    from dbus_fast import Variant

    out = {}
    for key, value in options.items():
        if isinstance(value, bool):
            out[key] = Variant("b", value)
        elif isinstance(value, int):
            out[key] = Variant("x", value)
        elif isinstance(value, list):
            out[key] = Variant("as", [str(v) for v in value])
        else:
            out[key] = Variant("s", str(value))
    return out


def build_body(method: str, args: Sequence[Any]) -> tuple[str, list[Any], list[int]]:
    """Signature, body and descriptors for one call; ValueError when the arguments are wrong.

    Descriptors are duplicated: the caller may close its own at once.
    """
    signature = SIGNATURES.get(method)
    if signature is None:
        raise ValueError(f"unknown helper method {method!r}")
    from dbus_fast.signature import SignatureTree

    types = SignatureTree(signature).types
    if len(args) != len(types):
        raise ValueError(f"{method} takes {len(types)} arguments, not {len(args)}")
    body: list[Any] = []
    fds: list[int] = []
    for kind, value in zip((t.signature for t in types), args, strict=True):
        if kind == "h":
            fds.append(os.dup(int(value)))
            body.append(len(fds) - 1)
        elif kind == "a{sv}":
            body.append(variants(dict(value)))
        elif kind == "a{ss}":
            body.append({str(k): str(v) for k, v in dict(value).items()})
        elif kind == "as":
            body.append([str(v) for v in value])
        elif kind == "b":
            body.append(bool(value))
        else:
            body.append(str(value))
    return signature, body, fds


class _Relay(QObject):
    """Lives in the GUI thread; its signal, emitted from the bus thread, is queued to it."""

    arrived = Signal(object, object)   # callback, value

    def __init__(self) -> None:
        super().__init__()
        self.arrived.connect(self.deliver)   # a slot of a GUI-thread object: queued

    @Slot(object, object)
    def deliver(self, callback: Callable[[Any], None], value: Any) -> None:
        callback(value)


class DBusFastHelper:
    """:class:`~kmodgui.ui.operations.HelperClient` on dbus-fast, off the GUI thread."""

    def __init__(self, address: str | None = None) -> None:
        self._address = address
        self._relay = _Relay()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever,
                                        name="kmodgui-helper-bus", daemon=True)
        self._thread.start()
        self._bus: Any = None

    # -- life ---------------------------------------------------------------------------------
    def connect(self) -> bool:
        """Connect to the bus (blocking, short); False when there is no bus."""
        future = asyncio.run_coroutine_threadsafe(self._connect(), self._loop)
        try:
            return bool(future.result(CONNECT_TIMEOUT + 1))
        except Exception:
            return False

    async def _connect(self) -> bool:
        from dbus_fast import BusType
        from dbus_fast.aio import MessageBus

        bus = MessageBus(bus_address=self._address, bus_type=BusType.SYSTEM,
                         negotiate_unix_fd=True)
        await asyncio.wait_for(bus.connect(), CONNECT_TIMEOUT)
        self._bus = bus
        return True

    def available(self) -> bool:
        """The helper runs or can be activated on this bus."""
        future = asyncio.run_coroutine_threadsafe(self._available(), self._loop)
        try:
            return bool(future.result(CONNECT_TIMEOUT + 1))
        except Exception:
            return False

    async def _available(self) -> bool:
        from dbus_fast import Message, MessageType

        for member, body in (("ListActivatableNames", []), ("NameHasOwner", [SERVICE])):
            reply = await asyncio.wait_for(self._bus.call(Message(
                destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus", member=member,
                signature="s" if body else "", body=body)), CONNECT_TIMEOUT)
            if reply.message_type == MessageType.METHOD_RETURN:
                value = reply.body[0]
                if value is True or (isinstance(value, list) and SERVICE in value):
                    return True
        return False

    def close(self) -> None:
        """Disconnect and stop the bus thread (at exit)."""
        if self._bus is not None:
            self._loop.call_soon_threadsafe(self._bus.disconnect)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    # -- calls --------------------------------------------------------------------------------
    def call(self, method: str, args: Sequence[Any], on_reply: ReplyCallback,
             on_error: ErrorCallback) -> None:
        signature, body, fds = build_body(method, args)
        future = asyncio.run_coroutine_threadsafe(
            self._call(method, signature, body, fds), self._loop)

        def deliver(done: Future[Any]) -> None:
            try:
                ok, value = done.result()
            except Exception as exc:  # a broken connection is a failure, reported
                ok, value = False, CallError("org.freedesktop.DBus.Error.Disconnected",
                                             str(exc) or type(exc).__name__)
            self._relay.arrived.emit(on_reply if ok else on_error, value)

        future.add_done_callback(deliver)

    async def _call(self, method: str, signature: str, body: list[Any],
                    fds: list[int]) -> tuple[bool, Any]:
        from dbus_fast import Message, MessageFlag, MessageType

        try:
            if self._bus is None:
                await self._connect()
            message = Message(destination=SERVICE, path=OBJECT_PATH, interface=INTERFACE,
                              member=method, signature=signature, body=body,
                              flags=MessageFlag.ALLOW_INTERACTIVE_AUTHORIZATION,
                              unix_fds=fds)
            reply = await asyncio.wait_for(self._bus.call(message), CALL_TIMEOUT)
        except TimeoutError:
            return False, CallError("org.freedesktop.DBus.Error.NoReply",
                                    "The helper did not answer in time.")
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if reply.message_type == MessageType.ERROR:
            values = list(reply.body or [])
            message_text = str(values[0]) if values else ""
            log = values[1] if len(values) > 1 and isinstance(values[1], list) else []
            return False, CallError(reply.error_name or "org.kmodgui.Error.Failed",
                                    message_text, [str(line) for line in log])
        result = reply.body[0] if reply.body and isinstance(reply.body[0], dict) else {}
        return True, unwrap(result)


def connect_helper(root: Root, address: str | None = None,
                   factory: Callable[[str | None], DBusFastHelper] = DBusFastHelper,
                   ) -> DBusFastHelper | None:
    """A helper client for the window, or None when there is no helper to talk to.

    Only the running system can be changed: for another root (``-b``) the
    window is read-only. The window asks for the capabilities itself.
    """
    if not root.is_host:
        return None
    try:
        import dbus_fast  # noqa: F401
    except ImportError:
        return None
    client = factory(address)
    if client.connect() and client.available():
        return client
    client.close()
    return None
