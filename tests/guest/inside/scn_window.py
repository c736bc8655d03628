"""Scenario 13: the window itself, offscreen in the guest, loads and unloads a module.

Run inside the guest as ``kmguser`` with ``QT_QPA_PLATFORM=offscreen``. The
window is the application's own (``MainWindow`` on the running system, with
the client it makes for itself); the test only clicks, as a user would, and
checks the row against the kernel.
"""

from __future__ import annotations

from typing import Any

from guestlib import loaded
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QTableView, QWidget

from kmodgui.core.paths import Root
from kmodgui.core.records import ModuleState
from kmodgui.ui.helper_link import connect_helper
from kmodgui.ui.module_model import Column, state_label
from kmodgui.ui.window import MainWindow

TIMEOUT = 120_000  # ms; the guest is emulated


def _row_state(table: QTableView, name: str) -> str | None:
    model = table.model()
    for row in range(model.rowCount()):
        if model.index(row, Column.NAME).data() == name:
            return model.index(row, Column.STATE).data()
    return None


def _click_and_confirm(qtbot: Any, window: QWidget, button: str, dialog: str,
                       confirm: str) -> None:
    push = window.findChild(QPushButton, button)
    assert push is not None, button
    qtbot.waitUntil(push.isEnabled, timeout=TIMEOUT)
    qtbot.mouseClick(push, Qt.MouseButton.LeftButton)
    box: list[QWidget] = []

    def shown() -> bool:
        found = window.findChild(QWidget, dialog)
        if found is not None and found.isVisible():
            box[:] = [found]
        return bool(box)

    qtbot.waitUntil(shown, timeout=TIMEOUT)
    ok = box[0].findChild(QPushButton, confirm)
    assert ok is not None, confirm
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)


def test_window_loads_and_unloads_dummy(qtbot: Any) -> None:
    system = Root.create()
    assert "dummy" not in loaded()
    client = connect_helper(system)
    assert client is not None, "the window found no helper on the system bus"
    window = MainWindow(system, client)
    qtbot.addWidget(window)
    window.show()
    page = window.findChild(QWidget, "modulesPage")
    table = window.findChild(QTableView, "moduleTable")
    assert page is not None and table is not None
    qtbot.waitUntil(lambda: "kernel-release" in window.capabilities, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: page.select_module("dummy"), timeout=TIMEOUT)
    assert _row_state(table, "dummy") == state_label(ModuleState.AVAILABLE)

    _click_and_confirm(qtbot, window, "loadButton", "loadDialog", "confirmLoadButton")
    qtbot.waitUntil(lambda: "dummy" in loaded()
                    and _row_state(table, "dummy") == state_label(ModuleState.LOADED),
                    timeout=TIMEOUT)

    page.select_module("dummy")
    _click_and_confirm(qtbot, window, "unloadButton", "unloadDialog", "confirmUnloadButton")
    qtbot.waitUntil(lambda: "dummy" not in loaded()
                    and _row_state(table, "dummy") == state_label(ModuleState.AVAILABLE),
                    timeout=TIMEOUT)
    window.close()

