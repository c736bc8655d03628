"""The Hardware page's device list: a table model over :class:`~kmodgui.core.devices.Device`
records and the proxy that filters it by bus and by text.

Devices that need a driver (none bound, a candidate module exists) are marked
(``NEEDS_DRIVER_ROLE``) and tinted with the palette's calm warning colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont, QGuiApplication, QPalette

from kmodgui.core.devices import Candidate, CandidateState, Device

# Spelled out at each string (lupdate reads literal translate("Context", "text") calls).
translate = QCoreApplication.translate

Index = QModelIndex | QPersistentModelIndex

DEVICE_ROLE = Qt.ItemDataRole.UserRole + 1        # the Device of the row
NEEDS_DRIVER_ROLE = Qt.ItemDataRole.UserRole + 2  # bool: no driver bound, candidates exist
SORT_ROLE = Qt.ItemDataRole.UserRole + 3          # a comparable key for the column


class Column(IntEnum):
    DEVICE = 0
    BUS = 1
    DRIVER = 2
    CANDIDATES = 3
    NAME = 4


def candidate_label(candidate: Candidate) -> str:
    """The state of a candidate in words, with the blacklist's file when there is one."""
    words = {
        CandidateState.LOADED: translate("HardwarePage", "loaded"),
        CandidateState.BUILTIN: translate("HardwarePage", "built-in"),
        CandidateState.BLACKLISTED: translate("HardwarePage", "blacklisted"),
        CandidateState.AVAILABLE: translate("HardwarePage", "available"),
        CandidateState.UNKNOWN: translate("HardwarePage", "not installed"),
    }[candidate.state]
    if candidate.blacklisted_by:
        files = ", ".join(str(s) for s in candidate.blacklisted_by)
        if candidate.state == CandidateState.BLACKLISTED:
            return translate("HardwarePage", "blacklisted in {files}").format(files=files)
        return translate("HardwarePage", "{state}; blacklisted in {files}").format(
            state=words, files=files)
    return words


def driver_label(device: Device) -> str:
    if device.driver is None:
        return translate("HardwarePage", "No driver") if device.bindable else "—"
    if device.driver_builtin:
        return translate("HardwarePage", "{driver} (built-in)").format(driver=device.driver)
    if device.driver_module and device.driver_module != device.driver.replace("-", "_"):
        return translate("HardwarePage", "{driver} (module {module})").format(driver=device.driver,
                                                        module=device.driver_module)
    return device.driver


def enable_choice(device: Device) -> Candidate | None:
    """The candidate "Enable driver" loads: the first one not already in the kernel."""
    for candidate in device.candidates:
        if candidate.state in (CandidateState.AVAILABLE, CandidateState.BLACKLISTED):
            return candidate
    return None


WARNING_HUE = QColor(240, 165, 0)  # amber: a device waiting for a driver
WARNING_MIX = 0.22                  # how much of it is blended into the base colour


def warning_background(palette: QPalette) -> QColor:
    """A calm amber tint of the palette's base colour: pale on a light theme, dark
    ochre on a dark one, so the palette's own text colour stays readable on it."""
    base = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Base)
    mix = WARNING_MIX
    return QColor.fromRgbF(
        base.redF() * (1 - mix) + WARNING_HUE.redF() * mix,
        base.greenF() * (1 - mix) + WARNING_HUE.greenF() * mix,
        base.blueF() * (1 - mix) + WARNING_HUE.blueF() * mix)


def _highlighted(device: Device) -> bool:
    """No driver, and a module that could drive it exists: the rows worth a look."""
    return device.needs_driver and bool(device.candidates)


class DeviceTableModel(QAbstractTableModel):
    """One row per device; devices that need a driver carry a highlight."""


    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._devices: list[Device] = []

    def set_devices(self, devices: Sequence[Device]) -> None:
        self.beginResetModel()
        self._devices = list(devices)
        self.endResetModel()

    def devices(self) -> list[Device]:
        return list(self._devices)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._devices)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(Column)):
            return (translate("HardwarePage", "Device"), translate("HardwarePage", "Bus"),
                    translate("HardwarePage", "Driver"),
                    translate("HardwarePage", "Candidate modules"),
                    translate("HardwarePage", "Kernel name"))[section]
        return None

    def _text(self, device: Device, column: int) -> str:
        if column == Column.DEVICE:
            return device.description
        if column == Column.BUS:
            return device.bus
        if column == Column.DRIVER:
            return driver_label(device)
        if column == Column.CANDIDATES:
            return ", ".join(device.candidate_names())
        return device.name

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._devices):
            return None
        device = self._devices[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(device, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == Column.DEVICE:
                return f"{device.description}\n{device.modalias}"
            return self._text(device, column)
        if role == DEVICE_ROLE:
            return device
        if role == NEEDS_DRIVER_ROLE:
            return _highlighted(device)
        if role == SORT_ROLE:
            if column == Column.DEVICE:
                return (0 if device.needs_driver and device.candidates else
                        1 if device.needs_driver else 2, device.description.casefold())
            return self._text(device, column).casefold()
        if _highlighted(device):
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(warning_background(QGuiApplication.palette()))
            if role == Qt.ItemDataRole.FontRole and column == Column.DRIVER:
                font = QFont()
                font.setBold(True)
                return font
        return None


class DeviceFilterProxy(QSortFilterProxyModel):
    """Filters by bus (exact) and by words (every word in name, IDs, modalias, driver, modules)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bus = ""
        self._words: list[str] = []
        self.setSortRole(SORT_ROLE)

    def set_bus(self, bus: str) -> None:
        self.beginFilterChange()
        self._bus = bus
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_search(self, text: str) -> None:
        self.beginFilterChange()
        self._words = text.casefold().split()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        device = model.data(model.index(source_row, 0, source_parent), DEVICE_ROLE)
        if not isinstance(device, Device):
            return False
        if self._bus and device.bus != self._bus:
            return False
        if not self._words:
            return True
        haystack = " ".join((
            device.description, device.name, device.bus, device.modalias, device.ids,
            device.kind or "", device.driver or "", device.driver_module or "",
            " ".join(device.candidate_names()),
            translate("HardwarePage", "no driver") if device.needs_driver else "",
        )).casefold()
        return all(word in haystack for word in self._words)
