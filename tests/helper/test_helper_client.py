"""kmodgui.client against the real helper: the requests over both transports (QtDBus for the
window, dbus-fast for the CLI) as an unprivileged user, and asynchronously in Qt."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helperbus import NOBODY, HelperBus, private_bus
from kmgtest.tinyko import tiny_ko

pytestmark = pytest.mark.bus

HEADER = "# Written by kmodgui for module dummy. Delete this file to undo these settings.\n"

SCRIPT = """
import json, os, sys
from kmodgui.client import HelperError, requests
if sys.argv[1] == "bus":
    sys.modules["PySide6"] = None  # the CLI's transport needs no Qt
    from kmodgui.client.bus import BusClient as Client
else:
    from kmodgui.client.qt import QtClient as Client

c = Client()
out = {}

def err(f):
    try:
        f()
    except HelperError as e:
        return {"name": e.name, "short": e.short_name, "not_authorized": e.not_authorized,
                "not_installed": e.not_installed, "message": e.message, "log": e.kernel_log,
                "hint": e.hint}
    return None

if sys.argv[2] == "full":
    out["caps"] = c.run(requests.get_capabilities()).values
    out["boot"] = c.run(requests.set_load_at_boot("dummy", True)).files
    out["options"] = c.run(requests.set_persistent_options(
        "dummy", {"numdummies": "2", "x": "y"})).files
    out["blacklist"] = c.run(requests.set_blacklist("dummy", "always")).files
    out["load"] = err(lambda: c.run(requests.load("loop", {"max_loop": "8"})))
    out["unload"] = err(lambda: c.run(requests.unload("loop", force=True)))
    out["invalid"] = err(lambda: c.run(requests.set_blacklist("dummy", "sometimes")))
    fd = os.open(sys.argv[3], os.O_RDONLY)
    out["insert"] = err(lambda: c.run(requests.insert_file(fd, ["a=1"])))
    out["param"] = err(lambda: c.run(requests.set_parameter("loop", "max_part", "1")))
    out["depmod"] = err(lambda: c.run(requests.rebuild_index("6.1.0-56-amd64")))
else:
    out["caps"] = err(lambda: c.run(requests.get_capabilities()))
print(json.dumps(out))
"""


def run_client(bus: HelperBus, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        ["setpriv", f"--reuid={NOBODY[0]}", f"--regid={NOBODY[1]}", "--clear-groups",
         sys.executable, "-c", SCRIPT, *args], env=bus.env, capture_output=True, text=True,
        timeout=120, check=False, cwd="/")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("transport", ["qt", "bus"])
def test_typed_calls_as_an_unprivileged_user(bus: HelperBus, scratch: Path,
                                             transport: str) -> None:
    module = scratch / "m.ko"
    module.write_bytes(tiny_ko("kmodgui_fake"))
    module.chmod(0o644)
    out = run_client(bus, transport, "full", str(module))
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


@pytest.mark.parametrize("transport", ["qt", "bus"])
def test_helper_not_installed_is_told_apart(transport: str) -> None:
    with private_bus("dbus_fast", polkit=False, helper=False) as bare:
        out = run_client(bare, transport, "caps")
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

    from kmodgui.client import HelperError, HelperResult, requests
    from kmodgui.client.qt import QtClient

    connection = QDBusConnection.connectToBus(bus.address, f"kmodgui-test-{bus.library}")
    try:
        client = QtClient(connection)
        call = client.start(requests.get_capabilities())
        with qtbot.waitSignal(call.succeeded, timeout=20000) as caps:
            pass
        assert set(caps.args[0].values) >= {"version", "kernel-release", "force-unload"}
        # root is authorised by polkit; the module does not exist under the helper's root
        call = client.start(requests.load("kmodgui_absent", ["a=1"]))
        with qtbot.waitSignal(call.failed, timeout=20000) as failed:
            pass
        error = failed.args[0]
        assert isinstance(error, HelperError) and error.short_name == "NotFound"
        call = client.start(requests.set_load_at_boot("kmodgui_async", True))
        with qtbot.waitSignal(call.succeeded, timeout=20000) as done:
            pass
        result = done.args[0]
        assert isinstance(result, HelperResult)
        target = bus.root / "etc" / "modules-load.d" / "kmodgui-kmodgui_async.conf"
        assert result.files == [str(target)] and target.exists()
        assert client.run(requests.set_load_at_boot("kmodgui_async", False)).files == \
            [str(target)]
    finally:
        QDBusConnection.disconnectFromBus(f"kmodgui-test-{bus.library}")
