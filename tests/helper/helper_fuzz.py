"""A Hypothesis-driven D-Bus caller: random members, signatures, values and descriptors.

Run by ``test_helper_fuzz.py`` as an unprivileged user. Every reply must be a
return or a named error whose text carries no traceback; any other outcome
(no reply, an unnamed error) makes Hypothesis fail and this script exit non-zero.
Prints how many calls were made.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from dbus_fast import BusType, Message, MessageFlag, MessageType, Variant
from dbus_fast.aio import MessageBus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

OURS = "org.kmodgui.Helper1"
MEMBERS = ["GetCapabilities", "Load", "Unload", "InsertFile", "SetParameter",
           "SetPersistentOptions", "SetBlacklist", "SetLoadAtBoot", "RebuildIndex",
           "Introspect", "Ping", "GetMachineId", "Get", "GetAll", "Set"]
REAL = {"Load": "sasa{sv}", "Unload": "sa{sv}", "InsertFile": "hasa{sv}",
        "SetParameter": "sssa{sv}", "SetPersistentOptions": "sa{ss}a{sv}",
        "SetBlacklist": "ssa{sv}", "SetLoadAtBoot": "sba{sv}", "RebuildIndex": "sa{sv}"}
# never 'dummy' (granted to this user by the test rules) or 'kmodgui_slow' (2 s each)
WORDS = ["loop", "kmodgui_denied", "kmodgui_x", "-r", "--force", "none", "autoload", "always",
         "force", "dependencies", "install loop /bin/sh", "6.1.0-56-amd64", "../..", "a=1",
         "a=1\ninstall x /bin/sh", "/etc/passwd", "x" * 300]
ALLOWED_PREFIXES = ("org.kmodgui.Error.", "org.freedesktop.DBus.Error.")
FD_KINDS = ["devnull", "pipe", "dir", "self", "opath"]

text = st.one_of(st.sampled_from(WORDS),
                 st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
                         max_size=80))
BASIC = {
    "s": text, "b": st.booleans(), "y": st.integers(0, 255), "n": st.integers(-2**15, 2**15 - 1),
    "q": st.integers(0, 2**16 - 1), "i": st.integers(-2**31, 2**31 - 1),
    "u": st.integers(0, 2**32 - 1), "x": st.integers(-2**63, 2**63 - 1),
    "t": st.integers(0, 2**64 - 1), "d": st.floats(allow_nan=False),
    "o": st.sampled_from(["/", "/org/kmodgui/Helper1", "/a/b_c"]),
}


def typed(depth: int = 0) -> st.SearchStrategy[tuple[str, Any]]:
    """A (signature, value) pair of a random complete type."""
    basic = st.sampled_from(sorted(BASIC)).flatmap(
        lambda s: BASIC[s].map(lambda v, s=s: (s, v)))
    if depth >= 2:
        return basic
    inner = typed(depth + 1)
    array = inner.flatmap(lambda t: st.binary(max_size=8).map(lambda b: ("ay", b))
                          if t[0] == "y" else st.lists(st.just(t[1]), max_size=3).map(
                              lambda vs, t=t: ("a" + t[0], vs)))
    dict_sv = st.dictionaries(text, inner.map(lambda t: Variant(*t)), max_size=3).map(
        lambda d: ("a{sv}", d))
    dict_ss = st.dictionaries(text, text, max_size=3).map(lambda d: ("a{ss}", d))
    struct = st.lists(inner, min_size=1, max_size=3).map(
        lambda ts: ("(" + "".join(t[0] for t in ts) + ")", [t[1] for t in ts]))
    variant = inner.map(lambda t: ("v", Variant(*t)))
    return st.one_of(basic, array, dict_sv, dict_ss, struct, variant)


def value_for(sig: str) -> st.SearchStrategy[Any]:
    """Plausible values for the real API's argument types (to get past the signature check)."""
    if sig == "s":
        return text
    if sig == "b":
        return st.booleans()
    if sig == "as":
        return st.lists(text, max_size=4)
    if sig == "a{ss}":
        return st.dictionaries(text, text, max_size=3)
    if sig == "a{sv}":
        return st.dictionaries(st.sampled_from(["force", "dependencies", "x"]) | text,
                               typed(1).map(lambda t: Variant(*t)), max_size=2)
    raise AssertionError(sig)


def split(signature: str) -> list[str]:
    out, i = [], 0
    while i < len(signature):
        for token in ("a{sv}", "a{ss}", "as", "s", "b", "h"):
            if signature.startswith(token, i):
                out.append(token)
                i += len(token)
                break
    return out


@st.composite
def calls(draw: st.DrawFn) -> dict[str, Any]:
    member = draw(st.sampled_from(MEMBERS) | st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}",
                                                           fullmatch=True))
    interface = draw(st.sampled_from([OURS, OURS, OURS, "org.freedesktop.DBus.Introspectable",
                                      "org.freedesktop.DBus.Peer",
                                      "org.freedesktop.DBus.Properties"]))
    path = draw(st.sampled_from(["/org/kmodgui/Helper1"] * 4 + ["/", "/org", "/x/y"]))
    fds = draw(st.lists(st.sampled_from(FD_KINDS), max_size=3))
    if member in REAL and draw(st.booleans()):
        parts = split(REAL[member])
        body = []
        for part in parts:
            if part == "h":
                if not fds:
                    fds = ["self"]
                body.append(draw(st.integers(0, len(fds) - 1)))
            else:
                body.append(draw(value_for(part)))
        signature = REAL[member]
    else:
        pairs = draw(st.lists(typed(), max_size=4))
        signature = "".join(p[0] for p in pairs)
        body = [p[1] for p in pairs]
        if fds and draw(st.booleans()):
            signature += "h"
            body.append(draw(st.integers(0, len(fds) - 1)))
    return {"member": member, "interface": interface, "path": path, "signature": signature,
            "body": body, "fds": fds, "interactive": draw(st.booleans())}


def open_fd(kind: str) -> int:
    if kind == "devnull":
        return os.open(os.devnull, os.O_RDONLY)
    if kind == "pipe":
        r, w = os.pipe()
        os.close(w)
        return r
    if kind == "dir":
        return os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    if kind == "opath":
        return os.open(__file__, os.O_PATH)
    return os.open(__file__, os.O_RDONLY)


class Fuzzer:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.bus = self.loop.run_until_complete(self._connect())
        self.count = 0

    @staticmethod
    async def _connect() -> Any:
        return await MessageBus(bus_type=BusType.SYSTEM, negotiate_unix_fd=True).connect()

    async def one(self, call: dict[str, Any]) -> None:
        fds = [open_fd(k) for k in call["fds"]]
        flags = MessageFlag.ALLOW_INTERACTIVE_AUTHORIZATION if call["interactive"] else \
            MessageFlag.NONE
        try:
            message = Message(destination=OURS, path=call["path"], interface=call["interface"],
                              member=call["member"], signature=call["signature"],
                              body=call["body"], unix_fds=fds, flags=flags)
            reply = await asyncio.wait_for(self.bus.call(message), 20)
        finally:
            for fd in fds:
                os.close(fd)
        self.count += 1
        assert reply is not None
        if reply.message_type == MessageType.ERROR:
            assert reply.error_name.startswith(ALLOWED_PREFIXES), reply.error_name
            text = " ".join(str(b) for b in reply.body)
            assert "Traceback" not in text and "internal error" not in text, text
        else:
            assert reply.message_type == MessageType.METHOD_RETURN

    def run(self, examples: int) -> int:
        @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(st.lists(calls(), min_size=1, max_size=4))
        def fuzz(batch: list[dict[str, Any]]) -> None:
            for call in batch:
                self.loop.run_until_complete(self.one(call))

        fuzz()
        return self.count


if __name__ == "__main__":
    print(json.dumps({"calls": Fuzzer().run(int(sys.argv[1]))}))
