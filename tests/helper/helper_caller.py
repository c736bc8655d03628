"""A D-Bus caller for the helper tests: runs a list of calls and prints the replies as JSON.

Run as a script (``python helper_caller.py < calls.json``) under ``setpriv`` so
the caller is an unprivileged user, or imported and awaited by the root test
process. Bodies are JSON; ``{"$v": [signature, value]}`` is a variant, and
``fds`` lists descriptors to open and attach (``dir:PATH``, ``devnull``,
``pipe``, ``opath:PATH``, ``rdwr:PATH``, ``rdonly:PATH``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from dbus_fast import BusType, Message, MessageFlag, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.errors import InvalidMessageError, SignatureBodyMismatchError

BUS_NAME = "org.kmodgui.Helper1"
PATH = "/org/kmodgui/Helper1"


def encode(value: Any) -> Any:
    if isinstance(value, Variant):
        return {"$v": [value.signature, encode(value.value)]}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$v"}:
            signature, inner = value["$v"]
            return Variant(signature, decode(inner))
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def open_fd(spec: str) -> int:
    kind, _, path = spec.partition(":")
    if kind == "dir":
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    if kind == "devnull":
        return os.open(os.devnull, os.O_RDONLY)
    if kind == "pipe":
        r, w = os.pipe()
        os.close(w)
        return r
    if kind == "opath":
        return os.open(path, os.O_PATH)
    if kind == "rdwr":
        return os.open(path, os.O_RDWR)
    if kind == "rdonly":
        return os.open(path, os.O_RDONLY)
    raise ValueError(spec)


def make_message(call: dict[str, Any]) -> Message:
    flags = MessageFlag.NONE
    if call.get("interactive"):
        flags |= MessageFlag.ALLOW_INTERACTIVE_AUTHORIZATION
    if call.get("no_reply"):
        flags |= MessageFlag.NO_REPLY_EXPECTED
    fds = [open_fd(s) for s in call.get("fds", [])]
    return Message(destination=call.get("destination", BUS_NAME), path=call.get("path", PATH),
                   interface=call.get("interface", BUS_NAME), member=call["member"],
                   signature=call.get("signature", ""), body=decode(call.get("body", [])),
                   flags=flags, unix_fds=fds)


def result_of(reply: Message | None) -> dict[str, Any]:
    if reply is None:
        return {"type": "none"}
    kind = "return" if reply.message_type == MessageType.METHOD_RETURN else "error"
    return {"type": kind, "error_name": reply.error_name, "signature": reply.signature,
            "body": encode(list(reply.body))}


async def run_calls(calls: list[dict[str, Any]], *, parallel: bool = False,
                    own_name: str | None = None) -> list[dict[str, Any]]:
    bus = await MessageBus(bus_type=BusType.SYSTEM, negotiate_unix_fd=True).connect()
    results: list[dict[str, Any]] = []
    try:
        if own_name:
            try:
                reply = await bus.request_name(own_name)
                results.append({"type": "return", "body": [int(reply.value)]})
            except Exception as exc:
                results.append({"type": "error", "error_name": getattr(exc, "type", None),
                                "body": [str(exc)]})
            return results
        if parallel:
            messages = [make_message(c) for c in calls]
            replies = await asyncio.gather(*(bus.call(m) for m in messages))
            return [result_of(r) for r in replies]
        for call in calls:
            try:
                message = make_message(call)
                message._marshall(True)
            except (InvalidMessageError, SignatureBodyMismatchError) as exc:
                results.append({"type": "unsendable", "body": [str(exc)]})
                continue
            if call.get("disconnect"):  # send and go away without waiting for the reply
                bus.send(message)
                await asyncio.sleep(0.2)
                results.append({"type": "none"})
                break
            if call.get("no_reply"):
                bus.send(message)
                results.append({"type": "none"})
                continue
            results.append(result_of(await bus.call(message)))
            for fd in message.unix_fds:
                os.close(fd)
    finally:
        bus.disconnect()
    return results


def main() -> None:
    request = json.load(sys.stdin)
    results = asyncio.run(run_calls(request["calls"], parallel=request.get("parallel", False),
                                    own_name=request.get("own_name")))
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
