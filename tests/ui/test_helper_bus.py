"""The window against the real helper: a private system bus, real polkitd, D-Bus activation.

The bus machinery is the helper tier's own (``tests/helper/helperbus.py``, shared
through ``tests/conftest.py``). The window calls through :mod:`kmodgui.client.qt`
(QtDBus) as it does in use.
The host kernel cannot load modules, so loads show the failure path, while
configuration writes succeed in the helper's scratch root.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtDBus import QDBusConnection

from kmodgui.client import HelperResult, requests
from kmodgui.client.qt import QtClient, marshal
from kmodgui.core.paths import Root
from kmodgui.ui.dialogs.error import ErrorDialog
from kmodgui.ui.helper_link import connect_helper, helper_available
from kmodgui.ui.operations import Operation


@pytest.fixture
def helper_bus(helper_bus_clean: Any) -> Any:
    """The shared private bus (tests/conftest.py); one library is enough here."""
    return helper_bus_clean


@pytest.fixture
def bus_window(qtbot: Any, helper_bus: Any, live_root: Root) -> Any:
    from kmodgui.ui.window import MainWindow

    connection = QDBusConnection.connectToBus(helper_bus.address, "kmodgui-ui-test")
    assert helper_available(connection)
    window = MainWindow(live_root, QtClient(connection), full_catalog=False, watch=False)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: "kernel-release" in window.capabilities, timeout=20000)
    yield window
    window.close()


def finish(qtbot: Any, window: Any, start: Any) -> Operation:
    with qtbot.waitSignal(window.operations.operation_finished, timeout=30000) as blocker:
        start()
    return blocker.args[0]


def test_requests_are_marshalled_with_the_helper_types(qapp: Any) -> None:
    load = marshal(requests.load("dummy"))
    assert load[0] == "dummy" and load[1].currentSignature() == "as"
    assert marshal(requests.unload("dummy", force=True)) == ["dummy", {"force": True}]
    options = marshal(requests.set_persistent_options("d", {"a": "1"}))
    assert options[1].currentSignature() == "a{ss}"


def test_no_helper_for_another_root(live_root: Root) -> None:
    assert connect_helper(live_root) is None


def test_replies_arrive_on_the_gui_thread(qtbot: Any, helper_bus: Any) -> None:
    connection = QDBusConnection.connectToBus(helper_bus.address, "kmodgui-ui-thread")
    assert helper_available(connection)
    client = QtClient(connection)
    seen: list[tuple[str, Any]] = []
    client.start(requests.get_capabilities(),
                 lambda r: seen.append((threading.current_thread().name, r)), seen.append)
    qtbot.waitUntil(lambda: bool(seen), timeout=20000)
    thread, result = seen[0]
    assert thread == threading.main_thread().name
    assert isinstance(result, HelperResult)
    assert isinstance(result.values["modules-disabled"], bool)


def test_capabilities_reach_the_window(bus_window: Any) -> None:
    caps = bus_window.capabilities
    assert isinstance(caps["force-unload"], bool)
    assert bus_window.modules_page.services.force_unload == caps["force-unload"]


def test_load_reaches_the_helper_and_the_failure_is_explained(qtbot: Any, bus_window: Any,
                                                              helper_bus: Any) -> None:
    page = bus_window.modules_page
    page.select_module("snd_hda_intel")
    qtbot.mouseClick(page.load_button, _left())
    dialog = page.findChild(object, "loadDialog")
    assert dialog is not None
    operation = finish(qtbot, bus_window, dialog.load_button.click)
    assert (operation.method, operation.args) == ("Load", ("snd_hda_intel", (), {}))
    assert operation.state == "failed"
    assert operation.error is not None
    assert operation.error.name.startswith("org.kmodgui.Error.")
    assert "snd_hda_intel" in operation.error.message
    error = page.findChild(ErrorDialog)
    assert error is not None and error.isVisible()
    assert error.windowTitle() == operation.explanation.title
    assert bus_window.model.busy("snd_hda_intel") is None
    assert bus_window.log_page.model.row(0)[3].startswith("failed")


def test_configuration_writes_go_through(qtbot: Any, bus_window: Any, helper_bus: Any) -> None:
    ops = bus_window.operations
    operation = finish(qtbot, bus_window,
                       lambda: ops.submit(requests.set_persistent_options("psmouse",
                                                                          {"rate": "100"})))
    assert operation.state == "done", operation.error
    written = helper_bus.root / "etc" / "modprobe.d" / "kmodgui-psmouse.conf"
    assert "options psmouse rate=100" in written.read_text()
    assert operation.result is not None and operation.result.files == [str(written)]
    operation = finish(qtbot, bus_window,
                       lambda: ops.submit(requests.set_load_at_boot("psmouse", True)))
    assert operation.state == "done", operation.error
    boot = helper_bus.root / "etc" / "modules-load.d" / "kmodgui-psmouse.conf"
    assert "psmouse" in boot.read_text().split()
    operation = finish(qtbot, bus_window,
                       lambda: ops.submit(requests.set_blacklist("psmouse", "always")))
    assert operation.state == "done", operation.error
    assert "blacklist psmouse" in written.read_text()


def test_bad_arguments_are_refused_without_a_crash(qtbot: Any, bus_window: Any) -> None:
    operation = finish(qtbot, bus_window,
                       lambda: bus_window.operations.submit(
                           requests.set_blacklist("psmouse", "sometimes")))
    assert operation.state == "failed"
    assert operation.error.name in ("org.freedesktop.DBus.Error.InvalidArgs",
                                    "org.kmodgui.Error.InvalidParameter")


def _left() -> Any:
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_connect_helper_on_this_system(qapp: Any, helper_bus: Any, tmp_path: Path) -> None:
    """For the running system (not an image), a bus with the helper gives a client; a bus
    without it (here: nothing activatable there) gives None, so the window is read-only."""
    host = Root(Path("/"), "6.1.0-56-amd64")
    connection = QDBusConnection.connectToBus(helper_bus.address, "kmodgui-ui-host")
    client = connect_helper(host, connection)
    assert isinstance(client, QtClient)
    gone = QDBusConnection.connectToBus(f"unix:path={tmp_path}/nothing", "kmodgui-ui-none")
    assert connect_helper(host, gone) is None
