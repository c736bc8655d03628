"""The Hardware page: every device, the driver it uses, and one click to enable a missing one.

"My Wi-Fi doesn't work" is why most people open a module manager. The page
lists every device with a modalias (devices without a driver first,
highlighted), filters by bus and by text, and for the selected device shows
its driver and the candidate modules (what ``modprobe -R`` names). "Enable
driver" loads a candidate through the helper and then says whether the
device is now bound; "Load at boot" and "Unblacklist" fix the next boot.

Its collaborators are narrow: a :class:`~kmodgui.core.paths.Root` to read
sysfs, a catalog (anything with ``records``: name → ModuleRecord) for the
candidates' states, and the window's :class:`~kmodgui.ui.operations.Operations`
(``load``, ``set_load_at_boot``, ``set_blacklist``, ``run_in_thread`` and its
``operation_finished`` signal). Without operations the page is read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QItemSelection,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from kmodgui.client import requests
from kmodgui.core.devices import (
    Candidate,
    CandidateState,
    Device,
    Finder,
    devices_for_module,
    network_interfaces,
    read_device,
    scan,
)
from kmodgui.core.hwids import HardwareNames
from kmodgui.core.modprobe_config import BlacklistMode
from kmodgui.core.paths import Root
from kmodgui.core.records import ModuleRecord
from kmodgui.ui.explain import with_warnings
from kmodgui.ui.rows_model import RowsModel
from kmodgui.ui.widgets import aligned_form, value_label

Index = QModelIndex | QPersistentModelIndex

DEVICE_ROLE = Qt.ItemDataRole.UserRole + 1        # the Device of the row
NEEDS_DRIVER_ROLE = Qt.ItemDataRole.UserRole + 2  # bool: no driver bound, candidates exist
SORT_ROLE = Qt.ItemDataRole.UserRole + 3          # a comparable key for the column

# How long to wait for the kernel to bind a driver after its module loaded
# (USB and some PCI drivers probe asynchronously).
BIND_WAIT_MS = 5000
BIND_POLL_MS = 200


# Spelled out at each string (lupdate reads literal translate("Context", "text") calls).
translate = QCoreApplication.translate


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


def _records_of(catalog: object) -> Mapping[str, ModuleRecord] | None:
    """The catalog's records: a ``records`` attribute or the mapping itself."""
    if catalog is None:
        return None
    records = getattr(catalog, "records", catalog)
    return records if isinstance(records, Mapping) else None


class HardwarePage(QWidget):
    """Devices, their drivers and candidate modules; enables a missing driver.

    Signals:
        devices_loaded(list): a scan finished (the list of Device, in table order)
        module_activated(str): the user asked to see a module (jump to the Modules page)
        driver_enabled(object, bool): after "Enable driver": the Device as now read, and
            whether a driver is bound to it
    """

    devices_loaded = Signal(list)
    module_activated = Signal(str)
    driver_enabled = Signal(object, bool)

    def __init__(self, root: Root, catalog: object, operations: Any,
                 parent: QWidget | None = None, *, finder: Finder | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hardwarePage")
        self._root = root
        self._catalog = catalog
        self._operations = operations
        self._finder = finder
        self._names = HardwareNames(root)   # pci.ids/usb.ids parsed once, not per scan
        self._pending: dict[int, Callable[[Any], None]] = {}   # operation id → its follow-up
        self._selected: Device | None = None
        self._scanning = False
        self._scan_again = False
        self._build()
        if operations is not None:
            operations.operation_finished.connect(self._on_operation_finished)
        self.refresh()

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.busFilter = QComboBox(self)
        self.busFilter.setObjectName("busFilter")
        self.busFilter.addItem(translate("HardwarePage", "All buses"), "")
        self.searchField = QLineEdit(self)
        self.searchField.setObjectName("deviceSearch")
        self.searchField.setPlaceholderText(
            translate("HardwarePage", "Search devices, IDs, drivers, modules"))
        self.searchField.setClearButtonEnabled(True)
        self.refreshButton = QPushButton(translate("HardwarePage", "Refresh"), self)
        self.refreshButton.setObjectName("refreshDevicesButton")
        top = QHBoxLayout()
        top.addWidget(self.searchField, 1)
        top.addWidget(self.busFilter)
        top.addWidget(self.refreshButton)

        self.model = DeviceTableModel(self)
        self.proxy = DeviceFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.deviceTable = QTableView(self)
        self.deviceTable.setObjectName("deviceTable")
        self.deviceTable.setModel(self.proxy)
        self.deviceTable.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.deviceTable.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.deviceTable.setSortingEnabled(True)
        self.deviceTable.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # keep scan order
        self.deviceTable.verticalHeader().hide()
        self.deviceTable.setWordWrap(False)
        self.deviceTable.verticalHeader().setDefaultSectionSize(
            self.fontMetrics().height() + 8)
        self.deviceTable.setAlternatingRowColors(True)
        self.deviceTable.setShowGrid(False)
        header = self.deviceTable.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # The device's name matters most: it takes the room left; the rest in text widths.
        header.setSectionResizeMode(Column.DEVICE, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(self.fontMetrics().horizontalAdvance("M") * 3)
        em = self.fontMetrics().horizontalAdvance("M")
        for column, chars in ((Column.BUS, 7), (Column.DRIVER, 9), (Column.CANDIDATES, 12),
                              (Column.NAME, 10)):
            header.resizeSection(column, em * chars)

        details = QWidget(self)
        details.setObjectName("deviceDetails")
        self.detailTitle = QLabel(details)
        self.detailTitle.setObjectName("deviceTitle")
        self.detailTitle.setWordWrap(True)
        title_font = self.detailTitle.font()
        title_font.setBold(True)
        title_font.setPointSizeF(title_font.pointSizeF() * 1.2)
        self.detailTitle.setFont(title_font)
        form = aligned_form()
        self._form = form
        self._fields: dict[str, QLabel] = {}
        for key, label in (("kind", translate("HardwarePage", "Class")),
                           ("bus", translate("HardwarePage", "Bus")),
                           ("name", translate("HardwarePage", "Kernel name")),
                           ("ids", translate("HardwarePage", "IDs")),
                           ("modalias", translate("HardwarePage", "Modalias")),
                           ("driver", translate("HardwarePage", "Driver")),
                           ("interfaces", translate("HardwarePage", "Network interfaces"))):
            field = value_label(details)
            field.setObjectName(f"device_{key}")
            # A modalias is one long word: it must not push the device list aside (it is
            # cut at the edge instead, and shown whole as the tooltip).
            field.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            field.setMinimumWidth(1)   # not the longest word's width
            self._fields[key] = field
            form.addRow(label + ":", field)
        self.candidateModel = RowsModel([translate("HardwarePage", "Module"),
                                         translate("HardwarePage", "State"),
                                         translate("HardwarePage", "Description")], self)
        self.candidateTable = QTableView(details)
        self.candidateTable.setObjectName("candidateTable")
        self.candidateTable.setModel(self.candidateModel)
        self.candidateTable.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.candidateTable.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.candidateTable.verticalHeader().hide()
        self.candidateTable.setWordWrap(False)
        candidate_header = self.candidateTable.horizontalHeader()
        candidate_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        candidate_header.setStretchLastSection(True)
        self.candidateTable.setMaximumHeight(140)

        self.enableDriverButton = QPushButton(translate("HardwarePage", "Enable driver"), details)
        self.enableDriverButton.setObjectName("enableDriverButton")
        self.loadAtBootButton = QPushButton(translate("HardwarePage", "Load at boot"), details)
        self.loadAtBootButton.setObjectName("loadAtBootButton")
        self.unblacklistButton = QPushButton(translate("HardwarePage", "Unblacklist"), details)
        self.unblacklistButton.setObjectName("unblacklistButton")
        self.showModuleButton = QPushButton(translate("HardwarePage", "Show module"), details)
        self.showModuleButton.setObjectName("showModuleButton")
        buttons = QHBoxLayout()
        for button in (self.enableDriverButton, self.loadAtBootButton,
                       self.unblacklistButton, self.showModuleButton):
            buttons.addWidget(button)
        buttons.addStretch(1)

        self.statusLabel = QLabel(details)
        self.statusLabel.setObjectName("deviceStatus")
        self.statusLabel.setWordWrap(True)
        self.statusLabel.setTextFormat(Qt.TextFormat.PlainText)
        self.kernelLog = QPlainTextEdit(details)
        self.kernelLog.setObjectName("deviceKernelLog")
        self.kernelLog.setReadOnly(True)
        self.kernelLog.setMaximumHeight(110)
        self.kernelLog.hide()

        side = QVBoxLayout(details)
        self.detailHint = QLabel(translate(
            "HardwarePage", "Select a device to see its driver and the modules that can "
            "drive it."), details)
        self.detailHint.setObjectName("deviceHint")
        self.detailHint.setWordWrap(True)
        self.detailHint.setEnabled(False)
        # Shown only for a selected device (empty tables and disabled buttons are noise).
        self.candidateBox = QWidget(details)
        self.candidateBox.setObjectName("candidateBox")
        box = QVBoxLayout(self.candidateBox)
        box.setContentsMargins(0, 6, 0, 0)
        box.addWidget(QLabel(
            translate("HardwarePage", "Modules that can drive this device:"), details))
        box.addWidget(self.candidateTable)
        box.addLayout(buttons)
        self.candidateBox.hide()
        side.addWidget(self.detailTitle)
        side.addWidget(self.detailHint)
        side.addLayout(form)
        side.addWidget(self.candidateBox)
        side.addWidget(self.statusLabel)
        side.addWidget(self.kernelLog)
        side.addStretch(1)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.deviceTable)
        splitter.addWidget(details)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([2000, 1000])  # two thirds for the devices, in any window size
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

        self.searchField.textChanged.connect(self.proxy.set_search)
        self.busFilter.currentIndexChanged.connect(
            lambda _i: self.proxy.set_bus(self.busFilter.currentData() or ""))
        self.refreshButton.clicked.connect(self.refresh)
        self.deviceTable.selectionModel().selectionChanged.connect(self._on_selection)
        self.candidateTable.selectionModel().selectionChanged.connect(
            lambda *_: self._update_buttons())
        self.enableDriverButton.clicked.connect(self.enable_driver)
        self.loadAtBootButton.clicked.connect(self.load_at_boot)
        self.unblacklistButton.clicked.connect(self.unblacklist)
        self.showModuleButton.clicked.connect(self._show_module)
        self._show_device(None)

    # -- scanning -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read sysfs again (in the background when the window has an operations object)."""
        if self._scanning:
            self._scan_again = True     # something changed during the scan: read again after
            return
        self._scanning = True
        def work(_progress: Callable[[int, int], None] | None = None) -> list[Device]:
            return scan(self._root, self._finder, self._names)

        runner = getattr(self._operations, "run_in_thread", None)
        if runner is None:
            self._on_scanned(work())
        else:
            runner(work, self._on_scanned, self._on_scan_failed)

    def _scan_done(self) -> None:
        self._scanning = False
        if self._scan_again:
            self._scan_again = False
            QTimer.singleShot(0, self.refresh)

    def _on_scan_failed(self, error: BaseException) -> None:
        self._scan_done()
        self._set_status(translate("HardwarePage", "Could not read the devices: {error}").format(
            error=error))

    def _on_scanned(self, result: object) -> None:
        self._scan_done()
        devices = list(result) if isinstance(result, list) else []
        keep = self._selected.syspath if self._selected else None
        self.model.set_devices(devices)
        self._fill_buses(devices)
        self._select_syspath(keep)
        self.devices_loaded.emit(devices)

    def _fill_buses(self, devices: Sequence[Device]) -> None:
        current = self.busFilter.currentData() or ""
        self.busFilter.blockSignals(True)
        self.busFilter.clear()
        self.busFilter.addItem(translate("HardwarePage", "All buses"), "")
        for bus in sorted({d.bus for d in devices}):
            self.busFilter.addItem(bus, bus)
        self.busFilter.setCurrentIndex(max(0, self.busFilter.findData(current)))
        self.busFilter.blockSignals(False)

    def _select_syspath(self, syspath: str | None) -> None:
        if syspath is None:
            self._show_device(None)
            return
        for row in range(self.proxy.rowCount()):
            device = self.proxy.index(row, 0).data(DEVICE_ROLE)
            if isinstance(device, Device) and device.syspath == syspath:
                self.deviceTable.selectRow(row)
                self._show_device(device)
                return
        self._show_device(None)

    def set_catalog(self, catalog: object) -> None:
        """Use a newer catalog (the window's full one) for candidate descriptions."""
        self._catalog = catalog
        self._show_device(self._selected)

    def devices_matching(self, record: ModuleRecord) -> list[tuple[str, str, str]]:
        """Rows (device, modalias, driver in use) for the module's detail pane.

        The devices the module drives or could drive, from the page's last
        scan (the window passes this as the Aliases tab's device matcher).
        """
        return [(f"{d.description} ({d.bus} {d.name})", d.modalias, driver_label(d))
                for d in devices_for_module(self.model.devices(), record.name)]

    def select_device(self, syspath: str) -> bool:
        """Select the device at ``syspath`` (e.g. coming from a module's detail pane)."""
        self.proxy.set_bus("")
        self.busFilter.setCurrentIndex(0)
        self.searchField.clear()
        self._select_syspath(syspath)
        return self._selected is not None and self._selected.syspath == syspath

    # -- details --------------------------------------------------------------------------
    def _on_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.deviceTable.selectionModel().selectedRows()
        device = rows[0].data(DEVICE_ROLE) if rows else None
        self._show_device(device if isinstance(device, Device) else None)

    def _show_device(self, device: Device | None) -> None:
        same = (device is not None and self._selected is not None
                and device.syspath == self._selected.syspath)
        if not same:
            self._set_status("")
        self._selected = device
        self.detailTitle.setText(device.description if device
                                 else translate("HardwarePage", "No device selected"))
        values = {
            "kind": device.kind or "" if device else "",
            "bus": device.bus if device else "",
            "name": device.name if device else "",
            "ids": device.ids if device else "",
            "modalias": device.modalias if device else "",
            "driver": driver_label(device) if device else "",
            "interfaces": ", ".join(network_interfaces(self._root, device.syspath))
            if device else "",
        }
        for key, text in values.items():
            self._fields[key].setText(text)
            self._fields[key].setToolTip(text)
            self._form.setRowVisible(self._fields[key], device is not None and (
                bool(text) or key in ("driver", "bus")))
        self.detailHint.setVisible(device is None)
        self.candidateBox.setVisible(device is not None)
        records = _records_of(self._catalog) or {}
        rows = [(c.module, candidate_label(c),
                 getattr(records.get(c.module), "description", "") or "")
                for c in device.candidates] if device else []
        self.candidateModel.set_rows(rows, list(device.candidates) if device else [])
        if device is not None and device.candidates:
            choice = enable_choice(device) or device.candidates[0]
            self.candidateTable.selectRow(device.candidates.index(choice))
        self._update_buttons()

    def selected_device(self) -> Device | None:
        return self._selected

    def selected_candidate(self) -> Candidate | None:
        """The candidate chosen in the candidate table, else the one Enable would load."""
        rows = self.candidateTable.selectionModel().selectedRows()
        if rows:
            payload = self.candidateModel.payload(rows[0].row())
            if isinstance(payload, Candidate):
                return payload
        return enable_choice(self._selected) if self._selected else None

    def _update_buttons(self) -> None:
        device, candidate = self._selected, self.selected_candidate()
        writable = self._operations is not None and bool(
            getattr(self._operations, "available", True))
        busy = bool(self._pending)
        loadable = candidate is not None and candidate.state in (
            CandidateState.AVAILABLE, CandidateState.BLACKLISTED)
        self.enableDriverButton.setEnabled(
            writable and not busy and device is not None and device.needs_driver and loadable)
        self.loadAtBootButton.setEnabled(
            writable and not busy and candidate is not None
            and candidate.state != CandidateState.BUILTIN
            and candidate.state != CandidateState.UNKNOWN)
        self.unblacklistButton.setEnabled(
            writable and not busy and candidate is not None and bool(candidate.blacklisted_by))
        self.unblacklistButton.setVisible(candidate is not None and bool(candidate.blacklisted_by))
        module = candidate.module if candidate else (device.driver_module if device else None)
        self.showModuleButton.setEnabled(bool(module))
        if not writable and self._operations is None:
            self.enableDriverButton.setToolTip(
                translate("HardwarePage", "Changing the system needs the helper."))

    def _set_status(self, text: str, kernel_log: Sequence[str] = ()) -> None:
        self.statusLabel.setText(text)
        self.kernelLog.setPlainText("\n".join(kernel_log))
        self.kernelLog.setVisible(bool(kernel_log))

    def _show_module(self) -> None:
        candidate = self.selected_candidate()
        module = candidate.module if candidate else (
            self._selected.driver_module if self._selected else None)
        if module:
            self.module_activated.emit(module)

    # -- actions --------------------------------------------------------------------------
    def _start(self, operation: Any, done: Callable[[Any], None]) -> None:
        self._pending[int(operation.id)] = done
        self._update_buttons()
        if operation.state != "running":        # a client that answered at once
            self._on_operation_finished(operation)

    def enable_driver(self) -> None:
        """Load the chosen candidate through the helper, then check that the device is bound."""
        device, candidate = self._selected, self.selected_candidate()
        if device is None or candidate is None or self._operations is None:
            return
        self._set_status(
            translate("HardwarePage", "Loading {module}…").format(module=candidate.module))
        operation = self._operations.submit(requests.load(candidate.module))
        self._start(operation, lambda op: self._after_load(op, device, candidate.module))

    def load_at_boot(self) -> None:
        candidate = self.selected_candidate()
        if candidate is None or self._operations is None or self._selected is None:
            return
        operation = self._operations.submit(requests.set_load_at_boot(candidate.module, True))
        self._start(operation, lambda op: self._report(
            op, translate("HardwarePage", "{module} will be loaded at every boot.").format(
                module=candidate.module)))

    def unblacklist(self) -> None:
        candidate = self.selected_candidate()
        if candidate is None or self._operations is None or self._selected is None:
            return
        operation = self._operations.submit(
            requests.set_blacklist(candidate.module, BlacklistMode.NONE))
        self._start(operation, lambda op: self._report(
            op, translate("HardwarePage", "{module} is no longer blacklisted.").format(
                module=candidate.module),
            rescan=True))

    def _on_operation_finished(self, operation: Any) -> None:
        done = self._pending.pop(int(operation.id), None)
        if done is None:
            return
        self._update_buttons()
        done(operation)

    def _failure_text(self, operation: Any) -> str:
        explanation = getattr(operation, "explanation", None)
        if explanation is not None:
            return f"{explanation.title}\n{explanation.text}\n{explanation.next_step}".strip()
        error = getattr(operation, "error", None)
        return (error.message if error is not None
                else translate("HardwarePage", "The operation failed."))

    def _report(self, operation: Any, success: str, *, rescan: bool = False) -> None:
        if operation.state == "done":
            self._set_status(with_warnings(success, operation.warnings), operation.kernel_log)
            if rescan:
                self.refresh()
        elif operation.state == "cancelled":
            self._set_status("")
        else:
            self._set_status(self._failure_text(operation), operation.kernel_log)

    def _after_load(self, operation: Any, device: Device, module: str) -> None:
        if operation.state != "done":
            if operation.state == "cancelled":
                self._set_status("")
            else:
                self._set_status(self._failure_text(operation), operation.kernel_log)
            return
        self._set_status(translate("HardwarePage", "{module} is loaded; waiting for the device "
                                   "to bind…").format(module=module), operation.kernel_log)
        self._wait_for_bind(device, module, list(operation.kernel_log), BIND_WAIT_MS)

    def _wait_for_bind(self, device: Device, module: str, kernel_log: list[str],
                       remaining: int) -> None:
        now = read_device(self._root, device.syspath)
        bound = now is not None and now.driver is not None
        if not bound and remaining > 0:
            QTimer.singleShot(BIND_POLL_MS, lambda: self._wait_for_bind(
                device, module, kernel_log, remaining - BIND_POLL_MS))
            return
        if bound and now is not None:
            interfaces = network_interfaces(self._root, device.syspath)
            text = translate("HardwarePage", "The device is now driven by {driver}.").format(
                driver=driver_label(now))
            if interfaces:
                text += " " + translate("HardwarePage", "Network interface: {names}.").format(
                    names=", ".join(interfaces))
        else:
            text = translate("HardwarePage", "{module} is loaded, but no driver took the device. "
                       "The kernel's messages may say why.").format(module=module)
        self._set_status(text, kernel_log)
        self.driver_enabled.emit(now if now is not None else device, bound)
        self.refresh()
