"""Aliases tab: the module's aliases and the devices present that match them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import (
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from kmodgui.core.errors import KmodguiError
from kmodgui.core.records import ModuleRecord
from kmodgui.ui.rows_model import RowsModel
from kmodgui.ui.widgets import plain_table

# (module record) -> rows of (device path, modalias, bound driver) present on the system.
DeviceMatcher = Callable[[ModuleRecord], Sequence[tuple[str, str, str]]]


class AliasesTab(QWidget):
    def __init__(self, devices: DeviceMatcher | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._devices = devices
        self.aliases = RowsModel([self.tr("Alias")], self)
        self.device_rows = RowsModel([self.tr("Device"), self.tr("Modalias"),
                                      self.tr("Driver in use")], self)
        alias_view = self._view(self.aliases, "aliasTable")
        device_view = self._view(self.device_rows, "deviceTable")
        self.device_note = QLabel()
        self.device_note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(self.tr("Aliases the module answers to:")))
        layout.addWidget(alias_view, 2)
        layout.addWidget(QLabel(self.tr("Devices present that match them:")))
        layout.addWidget(self.device_note)
        layout.addWidget(device_view, 1)

    @staticmethod
    def _view(model: RowsModel, name: str) -> QTableView:
        view = plain_table(QTableView(), name)
        view.setModel(model)
        return view

    def show_record(self, record: ModuleRecord | None) -> None:
        self.aliases.set_rows([(a,) for a in record.aliases] if record else [])
        rows: Sequence[tuple[str, str, str]] = []
        failure = ""
        if record is not None and self._devices is not None:
            try:
                rows = self._devices(record)
            except OSError as exc:
                failure = exc.strerror or str(exc)
            except KmodguiError as exc:
                failure = exc.message
        self.device_rows.set_rows(rows)
        if record is None:
            self.device_note.setText("")
        elif failure:
            self.device_note.setText(
                self.tr("The devices could not be read: %1").replace("%1", failure))
        elif self._devices is None:
            self.device_note.setText(self.tr("Device matching is not available."))
        elif not rows:
            self.device_note.setText(self.tr("No device present on this system matches."))
        else:
            self.device_note.setText("")
        self.device_note.setVisible(bool(self.device_note.text()))
