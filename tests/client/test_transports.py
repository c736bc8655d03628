"""Both transports against the real helper: the same requests give the same answers.

The window's QtDBus transport and the CLI's dbus-fast transport run as
'nobody' on the shared private bus (real dbus-daemon with the project's bus
policy, real polkitd, the activated helper; see tests/conftest.py). The test
rules grant 'nobody' the configuration of module 'dummy' only. Each transport on its own,
on both helper libraries, and the asynchronous Qt calls: tests/helper/test_helper_client.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from kmgtest.tinyko import tiny_ko

pytestmark = pytest.mark.bus

NOBODY = (65534, 65534)
HEADER = "# Written by kmodgui for module dummy. Delete this file to undo these settings.\n"

SCRIPT = """
import json, os, sys
if sys.argv[1] == "bus":
    sys.modules["PySide6"] = None  # the CLI's transport must not need Qt
    from kmodgui.client.bus import BusClient as Client
else:
    from kmodgui.client.qt import QtClient as Client
from kmodgui.client import HelperError, requests

client = Client()

def outcome(request):
    try:
        result = client.run(request)
    except HelperError as e:
        return {"name": e.name, "not_authorized": e.not_authorized,
                "not_installed": e.not_installed, "message": e.message, "log": e.kernel_log,
                "hint": e.hint}
    return {"files": result.files, "warnings": result.warnings, "log": result.kernel_log,
            "keys": sorted(result.values)}

out = {}
if sys.argv[2] == "full":
    fd = os.open(sys.argv[3], os.O_RDONLY)
    out["caps"] = outcome(requests.get_capabilities())
    out["boot"] = outcome(requests.set_load_at_boot("dummy", True))
    out["options"] = outcome(requests.set_persistent_options("dummy", {"numdummies": "2"}))
    out["blacklist"] = outcome(requests.set_blacklist("dummy", "always"))
    out["load"] = outcome(requests.load("loop", {"max_loop": "8"}))
    out["unload"] = outcome(requests.unload("loop", force=True))
    out["invalid"] = outcome(requests.set_blacklist("dummy", "sometimes"))
    out["insert"] = outcome(requests.insert_file(fd, ["a=1"]))
    out["param"] = outcome(requests.set_parameter("loop", "max_part", "1"))
    out["depmod"] = outcome(requests.rebuild_index("6.1.0-56-amd64"))
    out["undo"] = [outcome(requests.set_persistent_options("dummy", {})),
                   outcome(requests.set_blacklist("dummy", "none")),
                   outcome(requests.set_load_at_boot("dummy", False))]
    out["qt"] = any(m.startswith("PySide6.") for m in sys.modules)
else:
    out["caps"] = outcome(requests.get_capabilities())
print(json.dumps(out))
"""


def run_client(bus: Any, transport: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        ["setpriv", f"--reuid={NOBODY[0]}", f"--regid={NOBODY[1]}", "--clear-groups",
         sys.executable, "-c", SCRIPT, transport, *args], env=bus.env, capture_output=True,
        text=True, timeout=120, check=False, cwd="/")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_both_transports_give_the_same_answers(helper_bus_clean: Any) -> None:
    bus = helper_bus_clean
    scratch = Path(tempfile.mkdtemp(dir=bus.directory))
    scratch.chmod(0o755)
    module = scratch / "m.ko"
    module.write_bytes(tiny_ko("m"))   # a module file the helper reads; nobody may insert it
    module.chmod(0o644)
    modprobe = bus.root / "etc" / "modprobe.d" / "kmodgui-dummy.conf"
    boot = bus.root / "etc" / "modules-load.d" / "kmodgui-dummy.conf"
    seen = {}
    for transport in ("qt", "bus"):
        out = run_client(bus, transport, "full", str(module))
        assert out.pop("qt") == (transport == "qt")
        seen[transport] = out
        assert {"version", "kernel-release", "force-unload"} <= set(out["caps"]["keys"])
        assert out["boot"]["files"] == [str(boot)]
        assert out["options"]["files"] == [str(modprobe)] == out["blacklist"]["files"]
        assert out["blacklist"]["warnings"] == []
        # not granted to 'nobody': the client asks for interaction, but no agent runs here
        for key in ("load", "unload", "insert", "param", "depmod"):
            assert out[key]["name"] == "org.kmodgui.Error.NotAuthorized", (key, out[key])
            assert out[key]["not_authorized"] and "administrator" in out[key]["hint"]
        assert out["invalid"]["name"] == "org.freedesktop.DBus.Error.InvalidArgs"
        assert out["invalid"]["log"] == []
        assert all("files" in undo for undo in out["undo"])
        assert not modprobe.exists() and not boot.exists()
    assert seen["qt"] == seen["bus"]
