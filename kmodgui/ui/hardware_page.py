"""The Hardware page: every device, the driver it uses, and one click to enable a missing one.

"My Wi-Fi doesn't work" is why most people open a module manager. The page
lists every device with a modalias (devices without a driver first,
highlighted), filters by bus and by text, and for the selected device shows
its driver and the candidate modules (what ``modprobe -R`` names). "Enable
driver" loads a candidate through the helper and then says whether the
device is now bound; "Load at boot" and "Unblacklist" fix the next boot.

Its collaborators are narrow: a :class:`~kmodgui.core.paths.Root` to read
sysfs, the window's :class:`~kmodgui.core.catalog.Catalog` for the
candidates' descriptions (a newer one arrives through :meth:`HardwarePage.set_catalog`),
and the window's :class:`~kmodgui.ui.operations.Operations` (``submit``,
``run_in_thread`` and its ``operation_finished`` signal). Without operations the
page is read-only. The device list's model is :mod:`kmodgui.ui.device_model`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QCoreApplication,
    QItemSelection,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
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
from kmodgui.ui.device_model import (
    DEVICE_ROLE,
    Column,
    DeviceFilterProxy,
    DeviceTableModel,
    candidate_label,
    driver_label,
    enable_choice,
)
from kmodgui.ui.explain import with_warnings
from kmodgui.ui.operations import Operations
from kmodgui.ui.rows_model import RowsModel
from kmodgui.ui.widgets import aligned_form, value_label

if TYPE_CHECKING:
    from kmodgui.core.catalog import Catalog
    from kmodgui.ui.operations import Operations
    from kmodgui.ui.pages import PageHost

# How long to wait for the kernel to bind a driver after its module loaded
# (USB and some PCI drivers probe asynchronously).
BIND_WAIT_MS = 5000
BIND_POLL_MS = 200


# Spelled out at each string (lupdate reads literal translate("Context", "text") calls).
translate = QCoreApplication.translate


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

    def __init__(self, root: Root, catalog: Catalog | None, operations: Operations | None,
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
        top = self._build_filters()
        self._build_device_table()
        details = self._build_details()
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.deviceTable)
        splitter.addWidget(details)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([2000, 1000])  # two thirds for the devices, in any window size
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self._connect()
        self._show_device(None)

    def _build_filters(self) -> QHBoxLayout:
        """The search field, the bus filter and Refresh, in one row."""
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
        return top

    def _build_device_table(self) -> None:
        """The device list: scan order until a column is clicked; the name takes the room."""
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

    def _build_details(self) -> QWidget:
        """Title, the device's facts, its candidates with the buttons, status and kernel log."""
        details = QWidget(self)
        details.setObjectName("deviceDetails")
        self.detailTitle = QLabel(details)
        self.detailTitle.setObjectName("deviceTitle")
        self.detailTitle.setWordWrap(True)
        title_font = self.detailTitle.font()
        title_font.setBold(True)
        title_font.setPointSizeF(title_font.pointSizeF() * 1.2)
        self.detailTitle.setFont(title_font)
        self.detailHint = QLabel(translate(
            "HardwarePage", "Select a device to see its driver and the modules that can "
            "drive it."), details)
        self.detailHint.setObjectName("deviceHint")
        self.detailHint.setWordWrap(True)
        self.detailHint.setEnabled(False)
        side = QVBoxLayout(details)
        side.addWidget(self.detailTitle)
        side.addWidget(self.detailHint)
        side.addLayout(self._build_facts(details))
        side.addWidget(self._build_candidate_box(details))
        self._build_status(details)
        side.addWidget(self.statusLabel)
        side.addWidget(self.kernelLog)
        side.addStretch(1)
        return details

    def _build_facts(self, details: QWidget) -> QFormLayout:
        """Class, bus, kernel name, IDs, modalias, driver, interfaces: one label each."""
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
        return form

    def _build_candidate_box(self, details: QWidget) -> QWidget:
        """The candidates and the buttons, shown only for a selected device (empty tables
        and disabled buttons are noise)."""
        self.candidateTable = self._build_candidate_table(details)
        self.candidateBox = QWidget(details)
        self.candidateBox.setObjectName("candidateBox")
        box = QVBoxLayout(self.candidateBox)
        box.setContentsMargins(0, 6, 0, 0)
        box.addWidget(QLabel(
            translate("HardwarePage", "Modules that can drive this device:"), details))
        box.addWidget(self.candidateTable)
        box.addLayout(self._build_buttons(details))
        self.candidateBox.hide()
        return self.candidateBox

    def _build_status(self, details: QWidget) -> None:
        """What the last action did, in words, and the kernel's own lines."""
        self.statusLabel = QLabel(details)
        self.statusLabel.setObjectName("deviceStatus")
        self.statusLabel.setWordWrap(True)
        self.statusLabel.setTextFormat(Qt.TextFormat.PlainText)
        self.kernelLog = QPlainTextEdit(details)
        self.kernelLog.setObjectName("deviceKernelLog")
        self.kernelLog.setReadOnly(True)
        self.kernelLog.setMaximumHeight(110)
        self.kernelLog.hide()

    def _build_candidate_table(self, details: QWidget) -> QTableView:
        self.candidateModel = RowsModel([translate("HardwarePage", "Module"),
                                         translate("HardwarePage", "State"),
                                         translate("HardwarePage", "Description")], self)
        table = QTableView(details)
        table.setObjectName("candidateTable")
        table.setModel(self.candidateModel)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.verticalHeader().hide()
        table.setWordWrap(False)
        candidate_header = table.horizontalHeader()
        candidate_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        candidate_header.setStretchLastSection(True)
        table.setMaximumHeight(140)
        return table

    def _build_buttons(self, details: QWidget) -> QHBoxLayout:
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
        return buttons

    def _connect(self) -> None:
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

    def set_catalog(self, catalog: Catalog) -> None:
        """Use a newer catalog (the window's full one) for candidate descriptions."""
        self._catalog = catalog
        self._show_device(self._selected)

    def modules_changed(self, names: Sequence[str]) -> None:
        """Modules came or went (anyone's doing): read the devices again."""
        if names:
            self.refresh()

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
        records = self._catalog.records if self._catalog is not None else {}
        rows = [(c.module, candidate_label(c),
                 (record.description if (record := records.get(c.module)) else "") or "")
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


def build(host: PageHost) -> HardwarePage:
    """The Hardware page of the window (see :mod:`kmodgui.ui.pages`)."""
    page = HardwarePage(host.root, host.catalog, host.operations)
    page.module_activated.connect(host.show_module)
    return page
