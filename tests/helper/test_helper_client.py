"""kmodgui.client against the real helper: typed calls as an unprivileged user, async in Qt."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helperbus import NOBODY, HelperBus, private_bus
from tinyko import tiny_ko

pytestmark = pytest.mark.bus

HEADER = "# Written by kmodgui for module dummy. Delete this file to undo these settings.\n"

SCRIPT = """
import json, sys
from kmodgui import client

c = client.HelperClient()
out = {}

def err(f):
    try:
        f()
    except client.HelperError as e:
        return {"name": e.name, "short": e.short_name, "not_authorized": e.not_authorized,
                "not_installed": e.not_installed, "message": e.message, "log": e.kernel_log,
                "hint": e.hint}
    return None

if sys.argv[1] == "full":
    out["caps"] = c.get_capabilities()
    out["boot"] = c.set_load_at_boot("dummy", True).files
    out["options"] = c.set_persistent_options("dummy", {"numdummies": "2", "x": "y"}).files
    out["blacklist"] = c.set_blacklist("dummy", "always").files
    out["load"] = err(lambda: c.load("loop", {"max_loop": "8"}))
    out["unload"] = err(lambda: c.unload("loop", force=True))
    out["invalid"] = err(lambda: c.set_blacklist("dummy", "sometimes"))
    out["insert"] = err(lambda: c.insert_file(sys.argv[2], ["a=1"]))
    out["param"] = err(lambda: c.set_parameter("loop", "max_part", "1"))
    out["depmod"] = err(lambda: c.rebuild_index("6.1.0-56-amd64"))
else:
    out["caps"] = err(c.get_capabilities)
print(json.dumps(out))
"""


def run_client(bus: HelperBus, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        ["setpriv", f"--reuid={NOBODY[0]}", f"--regid={NOBODY[1]}", "--clear-groups",
         sys.executable, "-c", SCRIPT, *args], env=bus.env, capture_output=True, text=True,
        timeout=120, check=False, cwd="/")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_typed_calls_as_an_unprivileged_user(bus: HelperBus, scratch: Path) -> None:
    module = scratch / "m.ko"
    module.write_bytes(tiny_ko("kmodgui_fake"))
    module.chmod(0o644)
    out = run_client(bus, "full", str(module))
    assert out["caps"]["version"] and isinstance(out["caps"]["modules-disabled"], bool)
    modprobe = bus.root / "etc" / "modprobe.d" / "kmodgui-dummy.conf"
    load = bus.root / "etc" / "modules-load.d" / "kmodgui-dummy.conf"
    assert out["boot"] == [str(load)]
    assert out["options"] == [str(modprobe)] == out["blacklist"]
    assert modprobe.read_text() == (HEADER + "options dummy numdummies=2 x=y\n"
                                    "blacklist dummy\ninstall dummy /bin/false\n")
    # not granted to 'nobody': the client asks for interaction, but no agent runs here
    for key in ("load", "unload", "insert", "param", "depmod"):
        assert out[key]["name"] == "org.kmodgui.Error.NotAuthorized", (key, out[key])
        assert out[key]["not_authorized"] and out[key]["hint"]
    assert out["invalid"]["name"] == "org.freedesktop.DBus.Error.InvalidArgs"
    assert out["invalid"]["log"] == []


def test_helper_not_installed_is_told_apart() -> None:
    with private_bus("dbus_fast", polkit=False, helper=False) as bare:
        out = run_client(bare, "caps")
    assert out["caps"]["name"] == "org.freedesktop.DBus.Error.ServiceUnknown"
    assert out["caps"]["not_installed"] and not out["caps"]["not_authorized"]
    assert "make -C packaging install" in out["caps"]["hint"]


def test_without_polkit_everything_is_refused_even_for_root() -> None:
    """Fail closed: no polkit on the bus means no authorisation for anyone."""
    with private_bus("dbus_fast", polkit=False) as bare:
        reply = bare.call_root({"member": "SetLoadAtBoot", "signature": "sba{sv}",
                                "body": ["dummy", True, {}]})[0]
        assert reply["error_name"] == "org.kmodgui.Error.NotAuthorized", reply
        assert not (bare.root / "etc" / "modules-load.d" / "kmodgui-dummy.conf").exists()
        assert bare.call_root({"member": "GetCapabilities"})[0]["type"] == "return"


def test_asynchronous_calls_report_on_signals(qtbot: Any, bus: HelperBus) -> None:
    from PySide6.QtDBus import QDBusConnection

    from kmodgui.client import HelperClient, HelperError, HelperResult

    connection = QDBusConnection.connectToBus(bus.address, f"kmodgui-test-{bus.library}")
    try:
        client = HelperClient(connection)
        call = client.get_capabilities_async()
        with qtbot.waitSignal(call.succeeded, timeout=20000) as caps:
            pass
        assert set(caps.args[0]) >= {"version", "kernel-release", "force-unload"}
        # root is authorised by polkit; the module does not exist under the helper's root
        call = client.load_async("kmodgui_absent", ["a=1"])
        with qtbot.waitSignal(call.failed, timeout=20000) as failed:
            pass
        error = failed.args[0]
        assert isinstance(error, HelperError) and error.short_name == "NotFound"
        call = client.set_load_at_boot_async("kmodgui_async", True)
        with qtbot.waitSignal(call.succeeded, timeout=20000) as done:
            pass
        result = done.args[0]
        assert isinstance(result, HelperResult)
        target = bus.root / "etc" / "modules-load.d" / "kmodgui-kmodgui_async.conf"
        assert result.files == [str(target)] and target.exists()
        assert client.set_load_at_boot("kmodgui_async", False).files == [str(target)]
    finally:
        QDBusConnection.disconnectFromBus(f"kmodgui-test-{bus.library}")
