"""The live helper's API: frozen introspection, public capabilities, authorisation everywhere."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from kmgtest.tinyko import tiny_ko
from kmodgui_helper import api

pytestmark = pytest.mark.bus

CHECKED_IN = Path(api.__file__).with_name("org.kmodgui.Helper1.xml")
REFUSED = {"org.kmodgui.Error.NotAuthorized",
           "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"}


def introspect(bus: Any) -> str:
    reply = bus.call({"interface": "org.freedesktop.DBus.Introspectable",
                      "member": "Introspect"})[0]
    assert reply["type"] == "return", reply
    return reply["body"][0]


def test_live_introspection_is_the_checked_in_api(bus: Any) -> None:
    assert introspect(bus) == CHECKED_IN.read_text()


def test_capabilities_are_public_and_typed(bus: Any) -> None:
    reply = bus.call({"member": "GetCapabilities"})[0]
    assert reply["type"] == "return"
    values = reply["body"][0]
    assert {k: v["$v"][0] for k, v in values.items()} == {
        "version": "s", "kernel-release": "s", "modules-disabled": "b", "lockdown": "s",
        "signature-enforced": "b", "force-unload": "b"}


SAMPLES = {"module": "loop", "parameter": "max_loop", "value": "8", "mode": "autoload",
           "enabled": True, "kernel_release": "6.1.0-56-amd64", "file": 0, "options": {}}


def sample(name: str, signature: str) -> Any:
    """A valid argument of the API by name (module 'loop', no options)."""
    if name == "params":
        return {"max_loop": "8"} if signature == "a{ss}" else ["max_loop=8"]
    return SAMPLES[name]


def test_every_method_but_capabilities_needs_authorisation(bus: Any, scratch: Path) -> None:
    """Walk the live interface: each method with valid arguments is refused for 'nobody'."""
    tree = ET.fromstring(introspect(bus))  # noqa: S314 - our own helper, in a test
    interface = tree.find("interface[@name='org.kmodgui.Helper1']")
    assert interface is not None
    module = scratch / "fake.ko"
    module.write_bytes(tiny_ko("kmodgui_fake"))
    module.chmod(0o644)
    calls, names = [], []
    for method in interface.findall("method"):
        name = method.get("name")
        if name == "GetCapabilities":
            continue
        args = [a for a in method.findall("arg") if a.get("direction") == "in"]
        signature = "".join(a.get("type") for a in args)
        body = [sample(a.get("name"), a.get("type")) for a in args]
        for interactive in (False, True):
            calls.append({"member": name, "signature": signature, "body": body,
                          "interactive": interactive,
                          "fds": [f"rdonly:{module}"] if "h" in signature else []})
            names.append(name)
    assert len(set(names)) == len(api.METHODS) - 1
    before = bus.snapshot()
    replies = bus.call(*calls)
    for name, reply in zip(names, replies, strict=True):
        assert reply["type"] == "error" and reply["error_name"] in REFUSED, (name, reply)
    assert bus.snapshot() == before
    # forced unload is its own action, refused as well
    reply = bus.call({"member": "Unload", "signature": "sa{sv}",
                      "body": ["loop", {"force": {"$v": ["b", True]}}], "interactive": True})
    assert reply[0]["error_name"] == "org.kmodgui.Error.NotAuthorized"


def test_interactive_flag_decides_challenge_or_refusal(bus: Any) -> None:
    call = {"member": "SetLoadAtBoot", "signature": "sba{sv}", "body": ["loop", True, {}]}
    without, with_flag = bus.call(call, {**call, "interactive": True})
    # no session, so polkit's allow_any (auth_admin) applies: a challenge
    assert without["error_name"] == "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"
    # allowed to interact, but no authentication agent is running: refused
    assert with_flag["error_name"] == "org.kmodgui.Error.NotAuthorized"
    assert with_flag["signature"] == "sas"


def test_error_bodies_are_message_and_kernel_log(bus: Any) -> None:
    reply = bus.call({"member": "Load", "signature": "sasa{sv}", "body": ["-x", [], {}]})[0]
    assert reply["error_name"] == "org.freedesktop.DBus.Error.InvalidArgs"
    assert reply["signature"] == "sas"
    message, log = reply["body"]
    assert "module name" in message and log == []
    assert "Traceback" not in message
