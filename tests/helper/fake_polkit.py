"""A misbehaving stand-in for polkitd (run as the polkitd user): the helper must fail closed.

It answers ``CheckAuthorization`` by the ``module`` detail: ``pk_error`` with an
error, ``pk_garbage`` with a body of the wrong type, ``pk_wrongsig`` with a
"yes" in the wrong structure, ``pk_hang`` never; ``pk_flags`` is granted only
when interaction was allowed; anything else is granted — but only ever for a
subject that is a unique bus name (never a PID or anything else).
"""

from __future__ import annotations

import asyncio

from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus

NAME = "org.freedesktop.PolicyKit1"


def answer(msg: Message) -> Message | bool:
    if msg.message_type != MessageType.METHOD_CALL:
        return False
    if msg.member != "CheckAuthorization":
        return Message.new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "no")
    (kind, subject), _action, details, flags, _cancel = msg.body
    module = details.get("module", "")
    name = subject.get("name")
    if kind != "system-bus-name" or set(subject) != {"name"} or \
            not str(getattr(name, "value", "")).startswith(":"):
        return Message.new_error(msg, "org.freedesktop.PolicyKit1.Error.Failed", "subject")
    if module == "pk_flags":
        return Message.new_method_return(msg, "(bba{ss})", [[flags == 1, False, {}]])
    if module == "pk_error":
        return Message.new_error(msg, "org.freedesktop.PolicyKit1.Error.Failed", "broken")
    if module == "pk_garbage":
        return Message.new_method_return(msg, "s", ["yes"])
    if module == "pk_wrongsig":
        return Message.new_method_return(msg, "(bsa{ss})", [[True, "x", {}]])
    if module == "pk_hang":
        return True  # swallowed: never answered
    return Message.new_method_return(msg, "(bba{ss})", [[True, False, {}]])


async def main() -> None:
    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    bus.add_message_handler(answer)
    await bus.request_name(NAME)
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
