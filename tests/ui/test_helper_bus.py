"""The window against the real helper: a private system bus, real polkitd, D-Bus activation.

The bus fixture is the helper tier's own (``tests/helper/conftest.py``). The
window's QtDBus client marshals every argument with the helper's exact
types; here the host kernel cannot load modules, so loads show the failure
path, while configuration writes succeed in the helper's scratch root.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from kmodgui.core.paths import Root
from kmodgui.ui.dialogs.error import ErrorDialog
from kmodgui.ui.helper_link import DBusFastHelper, build_body, connect_helper
from kmodgui.ui.operations import Operation

_spec = importlib.util.spec_from_file_location(
    "kmodgui_helper_bus_fixtures", Path(__file__).parents[1] / "helper" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_fixtures = sys.modules.setdefault(_spec.name, importlib.util.module_from_spec(_spec))
if not hasattr(_fixtures, "helper_bus"):
    _spec.loader.exec_module(_fixtures)
helper_bus = _fixtures.helper_bus  # the session fixture: dbus-daemon, polkitd, helper

# One helper library is enough here: the helper tier runs both.
on_bus = pytest.mark.parametrize("helper_bus", ["dbus_fast"], indirect=True)


@pytest.fixture
def bus_window(qtbot: Any, helper_bus: Any, live_root: Root) -> Any:
    from kmodgui.ui.window import MainWindow

    client = DBusFastHelper(helper_bus.address)
    assert client.connect() and client.available()
    window = MainWindow(live_root, client, full_catalog=False, watch=False)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: "kernel-release" in window.capabilities, timeout=20000)
    yield window
    window.close()
    for path in sorted(helper_bus.root.rglob("kmodgui-*.conf")):
        path.unlink()


def finish(qtbot: Any, window: Any, start: Any) -> Operation:
    with qtbot.waitSignal(window.operations.operation_finished, timeout=30000) as blocker:
        start()
    return blocker.args[0]


def test_bodies_use_the_helper_types(qapp: Any, tmp_path: Path) -> None:
    assert build_body("Load", ["dummy", [], {}])[:2] == ("sasa{sv}", ["dummy", [], {}])
    signature, body, _ = build_body("Unload", ["dummy", {"force": True}])
    assert signature == "sa{sv}" and body[1]["force"].signature == "b"
    assert build_body("SetPersistentOptions", ["d", {"a": 1}, {}])[1][1] == {"a": "1"}
    path = tmp_path / "file"
    path.write_bytes(b"x")
    with path.open("rb") as handle:
        signature, body, fds = build_body("InsertFile", [handle.fileno(), [], {}])
    assert signature == "hasa{sv}" and body[0] == 0 and len(fds) == 1
    assert os.read(fds[0], 1) == b"x"  # a duplicate: still open after ours was closed
    os.close(fds[0])
    with pytest.raises(ValueError, match="takes 3 arguments"):
        build_body("Load", ["dummy"])
    with pytest.raises(ValueError, match="unknown helper method"):
        build_body("Explode", [])


def test_no_helper_for_another_root(live_root: Root) -> None:
    assert connect_helper(live_root, "unix:path=/nonexistent") is None


@pytest.mark.bus
@on_bus
def test_replies_arrive_on_the_gui_thread(qtbot: Any, helper_bus: Any) -> None:
    client = DBusFastHelper(helper_bus.address)
    assert client.connect()
    seen: list[tuple[str, Any]] = []
    client.call("GetCapabilities", [], lambda r: seen.append((threading.current_thread().name,
                                                              r)), seen.append)
    qtbot.waitUntil(lambda: bool(seen), timeout=20000)
    client.close()
    thread, result = seen[0]
    assert thread == threading.main_thread().name
    assert isinstance(result, dict) and isinstance(result["modules-disabled"], bool)


@pytest.mark.bus
@on_bus
def test_capabilities_reach_the_window(bus_window: Any) -> None:
    caps = bus_window.capabilities
    assert isinstance(caps["force-unload"], bool)
    assert bus_window.modules_page.services.force_unload == caps["force-unload"]


@pytest.mark.bus
@on_bus
def test_load_reaches_the_helper_and_the_failure_is_explained(qtbot: Any, bus_window: Any,
                                                              helper_bus: Any) -> None:
    page = bus_window.modules_page
    page.select_module("snd_hda_intel")
    qtbot.mouseClick(page.load_button, _left())
    dialog = page.findChild(object, "loadDialog")
    assert dialog is not None
    operation = finish(qtbot, bus_window, dialog.load_button.click)
    assert (operation.method, operation.args) == ("Load", ("snd_hda_intel", [], {}))
    assert operation.state == "failed"
    assert operation.error is not None
    assert operation.error.name.startswith("org.kmodgui.Error.")
    assert "snd_hda_intel" in operation.error.message
    error = page.findChild(ErrorDialog)
    assert error is not None and error.isVisible()
    assert error.windowTitle() == operation.explanation.title
    assert bus_window.model.busy("snd_hda_intel") is None
    assert bus_window.log_page.model.row(0)[3].startswith("failed")


@pytest.mark.bus
@on_bus
def test_configuration_writes_go_through(qtbot: Any, bus_window: Any, helper_bus: Any) -> None:
    ops = bus_window.operations
    operation = finish(qtbot, bus_window,
                       lambda: ops.set_persistent_options("psmouse", {"rate": "100"}))
    assert operation.state == "done", operation.error
    written = helper_bus.root / "etc" / "modprobe.d" / "kmodgui-psmouse.conf"
    assert "options psmouse rate=100" in written.read_text()
    assert str(written).endswith(tuple(str(f) for f in operation.result.get("files", [])))
    operation = finish(qtbot, bus_window, lambda: ops.set_load_at_boot("psmouse", True))
    assert operation.state == "done", operation.error
    boot = helper_bus.root / "etc" / "modules-load.d" / "kmodgui-psmouse.conf"
    assert "psmouse" in boot.read_text().split()
    operation = finish(qtbot, bus_window, lambda: ops.set_blacklist("psmouse", "always"))
    assert operation.state == "done", operation.error
    assert "blacklist psmouse" in written.read_text()


@pytest.mark.bus
@on_bus
def test_bad_arguments_are_refused_without_a_crash(qtbot: Any, bus_window: Any) -> None:
    operation = finish(qtbot, bus_window,
                       lambda: bus_window.operations.set_blacklist("psmouse", "sometimes"))
    assert operation.state == "failed"
    assert operation.error.name in ("org.freedesktop.DBus.Error.InvalidArgs",
                                    "org.kmodgui.Error.InvalidParameter")


def _left() -> Any:
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton
