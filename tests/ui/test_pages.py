"""One page pattern: the side bar is the PAGES list; a page is a module with build(host)."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel, QStyle

from kmodgui.core.paths import Root
from kmodgui.ui import window as window_module
from kmodgui.ui.pages import Built, PageEntry, PageHost


def test_every_page_is_built_from_the_list(qtbot: Any, live_root: Root) -> None:
    window = window_module.MainWindow(live_root, None, full_catalog=False, watch=False)
    qtbot.addWidget(window)
    assert window.side_bar.count() == window.pages.count() == len(window_module.PAGES)
    for row, entry in enumerate(window_module.PAGES):
        window.side_bar.setCurrentRow(row)
        assert window.pages.currentWidget() is window.page(entry.key)
        assert not isinstance(window.page(entry.key), QLabel), entry.key  # not the error page
    window.operations.wait_for_background()


def test_a_new_page_is_a_module_and_a_line(qtbot: Any, live_root: Root,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[str] = []
    module = types.ModuleType("kmodgui_test_page")

    def build(host: PageHost) -> QLabel:
        label = QLabel(f"{len(host.catalog.records)} modules under {host.root.base}")
        label.setObjectName("testPage")
        shown.append(label.text())
        return label

    module.build = build  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kmodgui_test_page", module)
    entry = PageEntry("test", "Test", ("text-x-generic",),
                      QStyle.StandardPixmap.SP_FileIcon, "kmodgui_test_page")
    monkeypatch.setattr(window_module, "PAGES", (*window_module.PAGES, entry))
    window = window_module.MainWindow(live_root, None, full_catalog=False, watch=False)
    qtbot.addWidget(window)
    assert shown == []                               # Built.WHEN_SHOWN: not yet
    window.side_bar.setCurrentRow(len(window_module.PAGES) - 1)
    page = window.pages.currentWidget()
    assert page is not None and page.objectName() == "testPage"
    assert len(shown) == 1 and "modules under" in shown[0]
    assert entry.built is Built.WHEN_SHOWN
    window.operations.wait_for_background()


def test_a_broken_page_does_not_keep_the_window_from_opening(
        qtbot: Any, live_root: Root, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = PageEntry("broken", "Broken", (), QStyle.StandardPixmap.SP_FileIcon,
                      "kmodgui_no_such_page_module")
    monkeypatch.setattr(window_module, "PAGES", (*window_module.PAGES, entry))
    window = window_module.MainWindow(live_root, None, full_catalog=False, watch=False)
    qtbot.addWidget(window)
    page = window.page("broken")
    assert isinstance(page, QLabel) and "could not be opened" in page.text()
    window.operations.wait_for_background()
