"""The command line's transport: a request carried over dbus-fast, blocking, without Qt.

The CLI must change the system where PySide6 is not installed (a server, a
distribution's CLI package), so it talks to the helper with dbus-fast, which
the helper itself runs on. The window uses :mod:`kmodgui.client.qt` instead;
both turn a reply into the same :class:`HelperResult` or :class:`HelperError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from dbus_fast import BusType, Message, MessageFlag, MessageType, Variant
from dbus_fast.aio import MessageBus

from kmodgui.client.errors import DBUS, DISCONNECTED, FAILED, HelperError
from kmodgui.client.requests import INTERFACE, PATH, SERVICE, HelperResult, Request

_VARIANT_TYPES = {bool: "b", int: "i", str: "s"}


def _variant(value: Any) -> Variant:
    signature = _VARIANT_TYPES.get(type(value))
    if signature is None:
        raise HelperError(FAILED, f"an option value of type {type(value).__name__} "
                          "cannot be sent")
    return Variant(signature, value)


def marshal(request: Request) -> tuple[list[Any], list[int]]:
    """The message body as dbus-fast wants it, and the descriptors to attach (``h``)."""
    body: list[Any] = []
    fds: list[int] = []
    for kind, value in zip(request.types, request.args, strict=True):
        if kind == "h":
            body.append(len(fds))
            fds.append(int(value))  # type: ignore[arg-type]
        elif kind == "as":
            body.append([str(v) for v in value])  # type: ignore[union-attr]
        elif kind == "a{sv}":
            assert isinstance(value, Mapping)  # noqa: S101 - the builders make it so
            body.append({str(k): _variant(v) for k, v in value.items()})
        elif kind == "a{ss}":
            assert isinstance(value, Mapping)  # noqa: S101
            body.append({str(k): str(v) for k, v in value.items()})
        else:
            body.append(value)
    return body, fds


def _plain(value: Any) -> Any:
    """A reply value without dbus-fast's variants."""
    if isinstance(value, Variant):
        return _plain(value.value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def error_from_reply(reply: Message) -> HelperError:
    """The helper's error body is ``(s message, as kernel_log)``; the bus's own is ``(s)``."""
    body = list(reply.body)
    message = body[0] if body and isinstance(body[0], str) else ""
    log = body[1] if len(body) > 1 and isinstance(body[1], list) else []
    return HelperError(reply.error_name or FAILED, message or "the helper call failed",
                       [str(x) for x in log])


class BusClient:
    """Blocking calls of the helper on the system bus (``DBUS_SYSTEM_BUS_ADDRESS`` honoured)."""

    def run(self, request: Request) -> HelperResult:
        """Send ``request`` and wait for the outcome; raises :class:`HelperError`."""
        return asyncio.run(self._call(request))

    async def _call(self, request: Request) -> HelperResult:
        try:
            bus = await MessageBus(bus_type=BusType.SYSTEM, negotiate_unix_fd=True).connect()
        except Exception as exc:  # no socket, refused, authentication: all "no bus"
            raise HelperError(DISCONNECTED, f"cannot connect to the system bus ({exc})") \
                from exc
        try:
            body, fds = marshal(request)
            flags = (MessageFlag.ALLOW_INTERACTIVE_AUTHORIZATION if request.interactive
                     else MessageFlag.NONE)
            message = Message(destination=SERVICE, path=PATH, interface=INTERFACE,
                              member=request.method, signature=request.signature, body=body,
                              flags=flags, unix_fds=fds)
            try:
                reply = await asyncio.wait_for(bus.call(message), request.timeout)
            except TimeoutError as exc:
                raise HelperError(DBUS + "NoReply", "the helper did not answer in time") \
                    from exc
        finally:
            bus.disconnect()
        if reply is None or reply.message_type == MessageType.ERROR:
            raise error_from_reply(reply) if reply is not None else \
                HelperError(FAILED, "the helper sent no reply")
        values = _plain(reply.body[0]) if reply.body else None
        if not isinstance(values, dict):
            raise HelperError(FAILED, "the helper sent an empty reply")
        return HelperResult.from_values(values)
