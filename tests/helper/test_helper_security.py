"""Hostile input, descriptors, polkit rules, name ownership: the helper trusts nothing."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from kmgtest.tinyko import tiny_ko

from kmodgui.core.paths import Root

pytestmark = pytest.mark.bus

INVALID = "org.freedesktop.DBus.Error.InvalidArgs"
REFUSED = {"org.kmodgui.Error.NotAuthorized",
           "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"}
SLOW = "kmodgui_slow"  # the test rules make polkit take 2 s for this module


def v(signature: str, value: Any) -> dict[str, Any]:
    return {"$v": [signature, value]}


def load(module: Any, params: Any = (), options: Any = None) -> dict[str, Any]:
    return {"member": "Load", "signature": "sasa{sv}",
            "body": [module, list(params), options or {}], "interactive": True}


HOSTILE_MODULES = ["dummy\n", "-dummy", "--help", "../dummy", "dum/my", "dum my",
                   "x" * 57, "", "dümmy", " dummy", "dummy;reboot", "$(reboot)", "a" * 100_000]

HOSTILE_CALLS = [
    *(load(m) for m in HOSTILE_MODULES),
    *(load(SLOW, p) for p in (
        [f"a=1\ninstall {SLOW} /bin/sh"], ["-a=1"], ["a=1 b=2"], ["a"], ['a="x"'], ["a=#x"],
        ["a=x\\"], ["a=" + "x" * 2000], ["a=1", "a=2"], [f"p{i}=1" for i in range(65)],
        ["a=1\r"], ["=1"], ["a/b=1"], ["a=1\tinstall"])),
    load(SLOW, [], {"force": v("b", True)}),
    load(SLOW, [], {"": v("s", "")}),
    *({"member": "Unload", "signature": "sa{sv}", "body": [SLOW, o], "interactive": True}
      for o in ({"force": v("s", "yes")}, {"Force": v("b", True)},
                {"dependencies": v("i", 1)}, {"dependencies ": v("b", True)},
                {"force": v("b", True), "dependencies": v("b", True)})),
    *({"member": "SetPersistentOptions", "signature": "sa{ss}a{sv}", "body": [SLOW, p, {}],
       "interactive": True}
      for p in ({"a": f"1\ninstall {SLOW} /bin/sh"}, {f"install {SLOW} /bin/sh #": "1"},
                {"a": "1 install"}, {"a": ""}, {"a\n": "1"}, {"-a": "1"})),
    *({"member": "SetBlacklist", "signature": "ssa{sv}", "body": [SLOW, m, {}],
       "interactive": True} for m in ("always\n", "ALWAYS", "never", "", "none ")),
    *({"member": "SetParameter", "signature": "sssa{sv}", "body": [SLOW, p, val, {}],
       "interactive": True}
      for p, val in (("../x", "1"), ("x", "1\n"), ("x/../../y", "1"), ("x", ""), ("", "1"))),
    *({"member": "RebuildIndex", "signature": "sa{sv}", "body": [r, {}], "interactive": True}
      for r in ("../../etc", "-a", "6.1.0\n", "", "6.1/../x", ".hidden")),
    {"member": "SetLoadAtBoot", "signature": "sba{sv}", "body": [SLOW, True, {"x": v("b", True)}],
     "interactive": True},
    # wrong signatures
    {"member": "Load", "signature": "s", "body": [SLOW], "interactive": True},
    {"member": "SetLoadAtBoot", "signature": "ssa{sv}", "body": [SLOW, "yes", {}],
     "interactive": True},
    # InsertFile without a descriptor
    {"member": "InsertFile", "signature": "hasa{sv}", "body": [0, [], {}], "interactive": True},
]


def test_hostile_input_is_invalid_args_before_polkit(bus: Any) -> None:
    started = time.monotonic()
    replies = bus.call(*HOSTILE_CALLS)
    elapsed = time.monotonic() - started
    for call, reply in zip(HOSTILE_CALLS, replies, strict=True):
        assert reply["error_name"] == INVALID, (call, reply)
        assert reply["signature"] == "sas"
    # polkit takes 2 s per call for this module: it was never asked
    assert elapsed < 5, elapsed


def test_nul_cannot_reach_the_helper_and_is_refused_anyway(bus: Any) -> None:
    """D-Bus strings cannot carry NUL; the validators refuse it as well."""
    from kmodgui_helper import validate
    from kmodgui_helper.errors import HelperError

    assert bus.call(load("dummy\x00"), load(SLOW, ["a=\x00"]))[0]["type"] == "unsendable"
    for check, text in ((validate.module, "dummy\x00"), (validate.value, "1\x00"),
                        (validate.parameter, "a\x00")):
        with pytest.raises(HelperError) as caught:
            check(text)
        assert caught.value.name == INVALID


def test_polkit_is_asked_for_valid_input(bus: Any) -> None:
    """The control for the test above: a valid call for the same module waits for polkit."""
    started = time.monotonic()
    reply = bus.call({"member": "SetLoadAtBoot", "signature": "sba{sv}",
                      "body": [SLOW, False, {}]})[0]
    assert reply["type"] == "return", reply
    assert time.monotonic() - started >= 2


def descriptor_cases(scratch: Path) -> list[str]:
    secret = scratch / "secret.ko"
    secret.write_bytes(b"\x7fELF" + b"\0" * 60)
    secret.chmod(0o600)  # the caller cannot read it: an O_PATH descriptor must not help
    writable = scratch / "writable.ko"
    writable.write_bytes(b"\x7fELF" + b"\0" * 60)
    writable.chmod(0o666)
    empty = scratch / "empty.ko"
    empty.touch()
    empty.chmod(0o644)
    return [f"dir:{scratch}", "devnull", "pipe", f"opath:{secret}", f"rdwr:{writable}",
            f"rdonly:{empty}"]


def insert(fd_spec: str, interactive: bool = True) -> dict[str, Any]:
    return {"member": "InsertFile", "signature": "hasa{sv}", "body": [0, [], {}],
            "fds": [fd_spec], "interactive": interactive}


def test_bad_descriptors_are_refused(bus: Any, scratch: Path) -> None:
    cases = descriptor_cases(scratch)
    replies = bus.call(*(insert(c) for c in cases))
    for case, reply in zip(cases, replies, strict=True):
        assert reply["error_name"] == INVALID, (case, reply)
    good = scratch / "good.ko"
    good.write_bytes(tiny_ko("kmodgui_fake"))
    good.chmod(0o644)
    reply = bus.call(insert(f"rdonly:{good}"))[0]
    assert reply["error_name"] == "org.kmodgui.Error.NotAuthorized", reply


def fd_count(pid: int) -> int:
    return len(os.listdir(Root().proc_modules.parent / str(pid) / "fd"))


def test_descriptors_never_leak(bus: Any, scratch: Path) -> None:
    pid = bus.ensure_helper()
    good = scratch / "good.ko"
    good.write_bytes(tiny_ko("kmodgui_fake"))
    good.chmod(0o644)
    before = fd_count(pid)
    cases = [*descriptor_cases(scratch), f"rdonly:{good}"]
    calls: list[dict[str, Any]] = []
    for i in range(25):
        spec = cases[i % len(cases)]
        calls += [
            insert(spec, interactive=bool(i % 2)),
            {"member": "NoSuchMethod", "signature": "h", "body": [0], "fds": [spec]},
            {"member": "Load", "signature": "h", "body": [0], "fds": [spec]},
            {"member": "GetCapabilities", "signature": "h", "body": [0], "fds": [spec]},
            {"member": "InsertFile", "signature": "hhasa{sv}", "body": [0, 1, [], {}],
             "fds": [spec, "devnull"]},
            {"interface": "org.freedesktop.DBus.Introspectable", "member": "Introspect",
             "signature": "h", "body": [0], "fds": [spec]},
            {"interface": "org.freedesktop.DBus.Peer", "member": "Ping", "signature": "h",
             "body": [0], "fds": [spec]},
            {"interface": "org.freedesktop.DBus.Properties", "member": "GetAll",
             "signature": "sh", "body": ["org.kmodgui.Helper1", 0], "fds": [spec]},
            {"path": "/elsewhere", "member": "Load", "signature": "h", "body": [0],
             "fds": [spec]},
            {"member": "Load", "signature": "sasa{sv}", "body": ["loop", [], {}],
             "fds": [spec, spec]},
        ]
    replies = bus.call(*calls)
    assert all(r["type"] == "error" for r in replies)
    assert bus.helper_pid() == pid, "the helper restarted"
    assert fd_count(pid) == before


def boot(module: str) -> dict[str, Any]:
    return {"member": "SetLoadAtBoot", "signature": "sba{sv}", "body": [module, True, {}],
            "interactive": True}


def test_a_rule_for_one_module_and_user_grants_exactly_that(bus: Any) -> None:
    target = bus.root / "etc" / "modules-load.d" / "kmodgui-dummy.conf"
    granted, other_module, other_action = bus.call(boot("dummy"), boot("loop"),
                                                   load("dummy"))
    assert granted["type"] == "return", granted
    assert granted["body"][0]["files"] == {"$v": ["as", [str(target)]]}
    assert target.read_text().splitlines()[-1] == "dummy"
    # the helper logs who did what
    assert "uid 65534 (" in bus.helper_log.read_text()
    assert "SetLoadAtBoot(dummy, True): done" in bus.helper_log.read_text()
    assert other_module["error_name"] in REFUSED
    assert other_action["error_name"] in REFUSED
    target.unlink()
    other_user = bus.call(boot("dummy"), user=(1, 1))[0]
    assert other_user["error_name"] in REFUSED
    assert not target.exists()
    denied = bus.call(boot("kmodgui_denied"))[0]
    assert denied["error_name"] == "org.kmodgui.Error.NotAuthorized"


def test_forcing_a_module_out_is_its_own_action(bus: Any) -> None:
    """'nobody' may unload kmodgui_unloadable, but not force it out."""
    def unload(options: dict[str, Any]) -> dict[str, Any]:
        return {"member": "Unload", "signature": "sa{sv}",
                "body": ["kmodgui_unloadable", options], "interactive": True}

    plain, forced = bus.call(unload({}), unload({"force": v("b", True)}))
    # authorised: rmmod ran, and the module is not loaded (here, or anywhere)
    assert plain["error_name"] == "org.kmodgui.Error.NotLoaded", plain
    assert forced["error_name"] == "org.kmodgui.Error.NotAuthorized", forced
    assert "org.kmodgui.force-unload" in forced["body"][0]


def test_a_rule_can_grant_one_parameter(bus: Any) -> None:
    params = bus.root / "sys" / "module" / "kmodgui_fake" / "parameters"
    params.mkdir(parents=True)
    try:
        for name in ("level", "other"):
            (params / name).write_text("1")
            (params / name).chmod(0o644)

        def set_parameter(parameter: str) -> dict[str, Any]:
            return {"member": "SetParameter", "signature": "sssa{sv}",
                    "body": ["kmodgui_fake", parameter, "5", {}], "interactive": True}

        level, other = bus.call(set_parameter("level"), set_parameter("other"))
        assert level["type"] == "return", level
        assert other["error_name"] == "org.kmodgui.Error.NotAuthorized", other
        assert (params / "level").read_text() == "5"
        assert (params / "other").read_text() == "1"
    finally:
        shutil.rmtree(bus.root / "sys")


@pytest.mark.parametrize("user", [(65534, 65534), (1, 1)])
def test_non_root_cannot_own_the_name(bus: Any, user: tuple[int, int]) -> None:
    reply = bus.call(own_name="org.kmodgui.Helper1", user=user)[0]
    assert reply["type"] == "error"
    assert reply["error_name"] == "org.freedesktop.DBus.Error.AccessDenied"


def test_bus_policy_allows_only_our_interfaces(bus: Any) -> None:
    bus.ensure_helper()
    replies = bus.call(
        {"interface": "org.freedesktop.DBus.Properties", "member": "Set",
         "signature": "ssv", "body": ["org.kmodgui.Helper1", "x", v("s", "y")]},
        {"interface": "org.kmodgui.Other", "member": "Load", "signature": "sasa{sv}",
         "body": ["loop", [], {}]},
        {"interface": "org.freedesktop.DBus.Peer", "member": "Ping"},
        {"interface": "org.freedesktop.DBus.Properties", "member": "GetAll",
         "signature": "s", "body": ["org.kmodgui.Helper1"]},
    )
    assert replies[0]["error_name"] == "org.freedesktop.DBus.Error.AccessDenied"
    assert replies[1]["error_name"] == "org.freedesktop.DBus.Error.AccessDenied"
    assert replies[2]["type"] == "return"
    assert replies[3] == {"type": "return", "error_name": None, "signature": "a{sv}",
                          "body": [{}]}


def test_forcing_a_module_out_needs_the_unload_action_as_well(bus: Any) -> None:
    """A rule granting only force-unload does not let a caller unload (force is in addition)."""
    reply = bus.call({"member": "Unload", "signature": "sa{sv}",
                      "body": ["kmodgui_forceonly", {"force": v("b", True)}],
                      "interactive": True})[0]
    assert reply["error_name"] in REFUSED, reply
    assert "org.kmodgui.unload" in reply["body"][0]


PEER = "org.freedesktop.DBus.Peer"


def test_peer_is_answered_without_tracebacks(bus: Any) -> None:
    """dbus-next 0.2.3 answers a second GetMachineId with a Python traceback; we answer Peer."""
    bus.ensure_helper()
    machine_id = Path("/etc/machine-id").read_text().strip()
    replies = bus.call({"interface": PEER, "member": "GetMachineId"},
                       {"interface": PEER, "member": "GetMachineId"},
                       {"interface": PEER, "member": "Ping"},
                       {"interface": PEER, "member": "Ping", "signature": "s", "body": ["x"]},
                       {"interface": PEER, "member": "Nope"})
    assert [r["body"] for r in replies[:2]] == [[machine_id], [machine_id]], replies
    assert replies[2]["type"] == "return"
    assert replies[3]["error_name"] == INVALID
    assert replies[4]["error_name"] == "org.freedesktop.DBus.Error.UnknownMethod"
    for reply in replies:
        assert "Traceback" not in str(reply) and 'File "' not in str(reply), reply


def test_a_stalling_file_system_cannot_hang_the_helper(bus: Any, scratch: Path) -> None:
    """A descriptor on a FUSE file whose server never answers: validation must not ask it.

    Before polkit, anyone can send such a descriptor; an ``fstat`` that waits for the
    server would freeze the whole helper (no Busy, no idle exit) for as long as the
    caller likes.
    """
    import stallfs

    bus.ensure_helper()
    with stallfs.mounted(scratch / "fuse") as fs:
        started = time.monotonic()
        reply = bus.call(insert(f"rdonly:{fs.file}"), timeout=20)[0]
        assert reply["error_name"] == "org.kmodgui.Error.NotAuthorized", reply
        assert time.monotonic() - started < 10
        assert fs.stalled == 0
        assert bus.call({"member": "GetCapabilities"})[0]["type"] == "return"


def test_bus_policy_also_guards_the_unique_name(bus: Any) -> None:
    """Sending to the helper's unique name instead of the well-known one gains nothing."""
    bus.ensure_helper()
    unique = bus.bus_call("GetNameOwner", "s", ["org.kmodgui.Helper1"])["body"][0]
    replies = bus.call(
        {"destination": unique, "interface": "org.kmodgui.Other", "member": "Load",
         "signature": "sasa{sv}", "body": ["loop", [], {}]},
        {"destination": unique, "interface": "org.freedesktop.DBus.Properties",
         "member": "Set", "signature": "ssv", "body": ["org.kmodgui.Helper1", "x", v("s", "y")]},
        {"destination": unique, "member": "GetCapabilities"},
    )
    assert replies[0]["error_name"] == "org.freedesktop.DBus.Error.AccessDenied", replies[0]
    assert replies[1]["error_name"] == "org.freedesktop.DBus.Error.AccessDenied", replies[1]
    assert replies[2]["type"] == "return", replies[2]


def test_refusals_are_logged_with_the_callers_uid(bus: Any) -> None:
    reply = bus.call(boot("kmodgui_denied"), user=(1, 1))[0]
    assert reply["error_name"] == "org.kmodgui.Error.NotAuthorized"
    lines = [line for line in bus.helper_log.read_text().splitlines()
             if "SetLoadAtBoot(kmodgui_denied, True): not authorised" in line]
    assert lines and "uid 1 (" in lines[-1], lines
