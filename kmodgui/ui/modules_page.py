"""The Modules page: search, state filter, the module table, details and actions.

Signals:
    module_selected(str): the current module changed (empty when none).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from kmodgui.client import requests
from kmodgui.core.paths import Root
from kmodgui.core.records import ModuleRecord, ModuleState
from kmodgui.ui.details.pane import DetailsPane
from kmodgui.ui.explain import with_warnings
from kmodgui.ui.module_model import (
    NAME_ROLE,
    RECORD_ROLE,
    STATE_FILTERS,
    Column,
    ModuleFilterProxy,
    ModuleTableModel,
    state_filter_label,
)
from kmodgui.ui.operations import Operation, Operations
from kmodgui.ui.plan import Planner
from kmodgui.ui.widgets import theme_icon

if TYPE_CHECKING:
    from kmodgui.ui.details.aliases import DeviceMatcher
    from kmodgui.ui.dialogs.error import ErrorDialog
    from kmodgui.ui.dialogs.load import LoadDialog
    from kmodgui.ui.dialogs.unload import UnloadDialog
    from kmodgui.ui.pages import (
        PageHost,  # the dialogs are imported when first opened (a quicker start)
    )


@dataclass
class PageServices:
    """What the page needs from the window, injected (no globals)."""

    root: Root
    operations: Operations
    modinfo_text: Callable[[ModuleRecord], str]
    planner: Planner
    devices: DeviceMatcher | None = None
    force_unload: bool = False
    # Preview of a file before InsertFile; returns a dialog or None (set by the window).
    insert_file: Callable[[str], None] | None = None


class ModulesPage(QWidget):
    module_selected = Signal(str)

    def __init__(self, model: ModuleTableModel, services: PageServices,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modulesPage")
        self.model = model
        self.services = services
        self.proxy = ModuleFilterProxy(self)
        self.proxy.setSourceModel(model)
        self._current = ""
        self._dialogs: list[QWidget] = []   # open dialogs, kept alive and findable
        self._editable = False
        self._remembered = ""
        self._resetting = False
        self._build()
        self._connect()
        self.set_editable(services.operations.available)

    # -- construction ---------------------------------------------------------------------
    def _build(self) -> None:
        self.search = QLineEdit()
        self.search.setObjectName("moduleSearch")
        self.search.setClearButtonEnabled(True)
        self.search.setPlaceholderText(self.tr(
            "Search names, descriptions, aliases… (param:, alias:, author:, file:)"))
        self.search.setAccessibleName(self.tr("Search modules"))
        self.state_filter = QComboBox()
        self.state_filter.setObjectName("stateFilter")
        self.state_filter.setAccessibleName(self.tr("Show"))
        for key in STATE_FILTERS:
            self.state_filter.addItem(state_filter_label(key), key)
        self.count_label = QLabel()
        self.count_label.setObjectName("moduleCount")

        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.state_filter)
        top.addWidget(self.count_label)

        self.table = QTableView()
        self.table.setObjectName("moduleTable")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(
            self.table.fontMetrics().height() + 8)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        width = self.table.fontMetrics().horizontalAdvance("M")
        for column, chars in ((Column.NAME, 16), (Column.STATE, 9), (Column.SIZE, 8),
                              (Column.USED_BY, 14)):
            header.resizeSection(column, width * chars)

        self.details = DetailsPane(self.services.root, self.model.record,
                                   self.services.devices)
        self.splitter = splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setObjectName("modulesSplitter")
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([1000, 1000])  # half each, in any window size (remembered after)
        splitter.setChildrenCollapsible(False)

        self.load_button = self._button("loadButton", self.tr("Load"),
                                        ("list-add", "media-playback-start"),
                                        QStyle.StandardPixmap.SP_MediaPlay)
        self.unload_button = self._button("unloadButton", self.tr("Unload"),
                                          ("list-remove", "media-playback-stop"),
                                          QStyle.StandardPixmap.SP_MediaStop)
        self.insert_button = self._button("insertFileButton", self.tr("Insert from File…"),
                                          ("document-open",),
                                          QStyle.StandardPixmap.SP_DialogOpenButton)
        self.rebuild_button = self._button("rebuildIndexButton", self.tr("Rebuild Index"),
                                           ("view-refresh",),
                                           QStyle.StandardPixmap.SP_BrowserReload)
        self.load_button.setToolTip(self.tr("Load the selected module and what it needs"))
        self.unload_button.setToolTip(self.tr("Unload the selected module"))
        self.insert_button.setToolTip(self.tr("Preview a module file, then load it"))
        self.rebuild_button.setToolTip(self.tr("Run depmod for this kernel release"))

        self.notice = QLabel()
        self.notice.setObjectName("pageNotice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.stale_notice = QLabel(self.tr(
            "Module files are newer than the module index; rebuild it so that new "
            "modules can be found."))
        self.stale_notice.setObjectName("staleIndexNotice")
        self.stale_notice.setWordWrap(True)
        self.stale_notice.hide()
        self.progress = QProgressBar()
        self.progress.setObjectName("catalogProgress")
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.progress_label = QLabel()
        self.progress_label.hide()

        actions = QHBoxLayout()
        for button in (self.load_button, self.unload_button):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.progress_label)
        actions.addWidget(self.progress)
        actions.addWidget(self.insert_button)
        actions.addWidget(self.rebuild_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        layout.addLayout(top)
        layout.addWidget(self.notice)
        layout.addWidget(self.stale_notice)
        layout.addWidget(splitter, 1)
        layout.addLayout(actions)

        for keys in (QKeySequence.StandardKey.Find, QKeySequence("/")):
            shortcut = QShortcut(keys, self)
            shortcut.activated.connect(self.focus_search)

    def _button(self, name: str, text: str, icons: tuple[str, ...],
                fallback: QStyle.StandardPixmap) -> QPushButton:
        button = QPushButton(theme_icon(self, icons, fallback), text)
        button.setObjectName(name)
        return button

    def _connect(self) -> None:
        self.search.textChanged.connect(self.proxy.set_query)
        self.search.returnPressed.connect(self._search_enter)
        self.state_filter.currentIndexChanged.connect(
            lambda _i: self.proxy.set_state_filter(self.state_filter.currentData()))
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.activated.connect(self._activated)
        self.table.customContextMenuRequested.connect(self._context_menu)
        for signal in (self.proxy.rowsInserted, self.proxy.rowsRemoved,
                       self.proxy.modelReset, self.proxy.layoutChanged):
            signal.connect(self._update_count)
        # The proxy resets on every keystroke (and when the catalog is replaced).
        self.proxy.modelAboutToBeReset.connect(self._remember_current)
        self.proxy.modelReset.connect(self._restore_current)
        self.model.dataChanged.connect(self._data_changed)
        self.load_button.clicked.connect(lambda: self.request_load())
        self.unload_button.clicked.connect(lambda: self.request_unload())
        self.insert_button.clicked.connect(self.request_insert_file)
        self.rebuild_button.clicked.connect(self.request_rebuild)
        self.details.when_built(self._connect_details)
        ops = self.services.operations
        ops.operation_started.connect(self._operation_started)
        ops.operation_finished.connect(self._operation_finished)
        self._update_count()
        self._update_buttons()

    def _connect_details(self, details: DetailsPane) -> None:
        ops = self.services.operations
        details.overview.copy_modinfo_requested.connect(self.copy_modinfo)
        details.dependencies.module_activated.connect(self.select_module)
        params = details.parameters
        params.set_parameter_requested.connect(
            lambda module, name, value: ops.submit(requests.set_parameter(module, name, value)))
        params.make_permanent_requested.connect(
            lambda module, values: ops.submit(requests.set_persistent_options(module, values)))
        config = details.configuration
        config.blacklist_requested.connect(
            lambda module, mode: ops.submit(requests.set_blacklist(module, mode)))
        config.load_at_boot_requested.connect(
            lambda module, on: ops.submit(requests.set_load_at_boot(module, on)))

    # -- state ----------------------------------------------------------------------------
    def set_editable(self, editable: bool) -> None:
        """Without the helper the page is read-only and says so once, calmly."""
        self._editable = editable
        self.details.set_editable(editable)
        self.insert_button.setEnabled(editable)
        self.rebuild_button.setEnabled(editable)
        if editable:
            self.notice.hide()
        else:
            self.notice.setText(self.tr(
                "Read-only: the kmodgui helper is not installed. To load, unload and "
                "configure modules, install it: the kmodgui-helper package, or, from the "
                "checkout, sudo make -C packaging install-venv."))
            self.notice.show()
        self._update_buttons()

    def current_record(self) -> ModuleRecord | None:
        return self.model.record(self._current) if self._current else None

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def select_module(self, name: str) -> bool:
        """Select ``name`` in the table (clearing filters that hide it)."""
        row = self.model.row_of(name)
        if row is None:
            return False
        source = self.model.index(row, 0)
        index = self.proxy.mapFromSource(source)
        if not index.isValid():
            self.search.clear()
            self.state_filter.setCurrentIndex(0)
            index = self.proxy.mapFromSource(source)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        return True

    def show_progress(self, done: int, total: int, text: str = "") -> None:
        """Catalog filling progress; hidden again when ``done >= total``."""
        busy = total > 0 and done < total
        self.progress.setVisible(busy)
        self.progress_label.setVisible(busy)
        if busy:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.progress_label.setText(text or self.tr("Reading module details…"))

    def set_index_stale(self, stale: bool) -> None:
        self.stale_notice.setVisible(stale)
        if stale:
            self.rebuild_button.setDefault(True)

    def _update_count(self, *_args: object) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(self.tr("%1 of %2").replace("%1", str(shown)).replace(
            "%2", str(total)) if shown != total else self.tr("%1 modules").replace(
            "%1", str(total)))

    def _update_buttons(self) -> None:
        record = self.current_record()
        busy = record is not None and self.model.busy(record.name) is not None
        self.load_button.setEnabled(self._editable and record is not None and not busy
                                    and record.state == ModuleState.AVAILABLE)
        self.unload_button.setEnabled(self._editable and record is not None and not busy
                                      and record.loaded)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._resetting:
            return
        name = (current.data(NAME_ROLE) if current.isValid() else "") or ""
        record = self.model.record(name) if name else None
        if name == self._current and record is self.details.record:
            return
        self._current = name
        self.details.show_record(record)
        self._update_buttons()
        self.module_selected.emit(self._current)

    def _data_changed(self, top_left: QModelIndex, bottom_right: QModelIndex,
                      *_roles: object) -> None:
        row = self.model.row_of(self._current) if self._current else None
        if row is not None and top_left.row() <= row <= bottom_right.row():
            record = self.current_record()
            if record is not self.details.record:
                self.details.show_record(record)
            self._update_buttons()

    def _remember_current(self) -> None:
        self._remembered = self._current
        self._resetting = True

    def _restore_current(self) -> None:
        self._resetting = False
        name = self._remembered
        row = self.model.row_of(name) if name else None
        index = (self.proxy.mapFromSource(self.model.index(row, 0)) if row is not None
                 else QModelIndex())
        if index.isValid():
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)
            if self.model.record(name) is not self.details.record:
                self.details.show_record(self.model.record(name))
        elif self._current:
            self._current = ""
            self.details.show_record(None)
            self.module_selected.emit("")
        self._update_buttons()

    def _search_enter(self) -> None:
        if self.proxy.rowCount():
            index = self.table.currentIndex()
            if not index.isValid():
                index = self.proxy.index(0, 0)
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)
            self.table.setFocus()

    def _activated(self, index: QModelIndex) -> None:
        """Enter or double-click: show the details of that row."""
        record = index.data(RECORD_ROLE)
        if record is not None:
            self.details.setCurrentIndex(0)
            self.details.setFocus()

    def _context_menu(self, position: QPoint) -> None:
        index = self.table.indexAt(position)
        if not index.isValid():
            return
        self.build_context_menu(index.data(RECORD_ROLE)).popup(
            self.table.viewport().mapToGlobal(position))

    def build_context_menu(self, record: ModuleRecord) -> QMenu:
        menu = QMenu(self)
        menu.setObjectName("moduleContextMenu")
        available = self._editable and record.state == ModuleState.AVAILABLE
        items: list[tuple[str, str, Callable[[], object], bool]] = [
            ("load", self.tr("Load"), lambda: self.request_load(record.name), available),
            ("loadWithParameters", self.tr("Load with Parameters…"),
             lambda: self.request_load(record.name, with_parameters=True), available),
            ("unload", self.tr("Unload…"), lambda: self.request_unload(record.name),
             self._editable and record.loaded),
            ("copyName", self.tr("Copy Name"),
             lambda: QGuiApplication.clipboard().setText(record.name), True),
            ("copyModinfo", self.tr("Copy modinfo as Text"),
             lambda: self.copy_modinfo(record.name), True),
        ]
        for name, text, slot, enabled in items:
            action = QAction(text, menu)
            action.setObjectName(name)
            action.setEnabled(enabled)
            action.triggered.connect(slot)
            menu.addAction(action)
        return menu

    # -- actions --------------------------------------------------------------------------
    def _keep(self, dialog: QWidget) -> None:
        self._dialogs.append(dialog)
        dialog.finished.connect(lambda _r: self._dialogs.remove(dialog)  # type: ignore[attr-defined]
                                if dialog in self._dialogs else None)

    def request_load(self, name: str = "", *, with_parameters: bool = False) -> LoadDialog | None:
        from kmodgui.ui.dialogs.load import LoadDialog

        record = self.model.record(name) if name else self.current_record()
        if record is None:
            return None
        plan, problem = self.services.planner.load_plan(record.name)
        dialog = LoadDialog(record, plan, problem=problem,
                            with_parameters=with_parameters, parent=self)
        dialog.accepted.connect(
            lambda: self.services.operations.submit(requests.load(record.name, dialog.params())))
        self._keep(dialog)
        dialog.open()
        return dialog

    def request_unload(self, name: str = "") -> UnloadDialog | None:
        from kmodgui.ui.dialogs.unload import UnloadDialog

        record = self.model.record(name) if name else self.current_record()
        if record is None:
            return None
        dialog = UnloadDialog(record, force_supported=self.services.force_unload, parent=self)

        def go() -> None:
            for module in dialog.plan():
                other = self.model.record(module)
                self.services.operations.submit(
                    requests.unload(module, force=dialog.forced() and module == record.name),
                    holders=other.holders if other else ())

        dialog.accepted.connect(go)
        self._keep(dialog)
        dialog.open()
        return dialog

    def request_insert_file(self) -> None:
        if self.services.insert_file is None:
            return
        path, _filter = QFileDialog.getOpenFileName(
            self, self.tr("Insert Module from File"), os.path.expanduser("~"),
            self.tr("Kernel modules (*.ko *.ko.xz *.ko.zst *.ko.gz);;All files (*)"))
        if path:
            self.services.insert_file(path)

    def request_rebuild(self) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Rebuild Index"),
                          self.tr("Rebuild the module index of kernel %1 (depmod)?").replace(
                              "%1", self.services.root.release),
                          QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("rebuildDialog")
        go = box.addButton(self.tr("Rebuild"), QMessageBox.ButtonRole.AcceptRole)
        go.setObjectName("confirmRebuildButton")
        box.accepted.connect(
            lambda: self.services.operations.submit(
                requests.rebuild_index(self.services.root.release)))
        self._keep(box)
        box.open()
        return box

    def copy_modinfo(self, name: str) -> None:
        record = self.model.record(name)
        if record is not None:
            QGuiApplication.clipboard().setText(self.services.modinfo_text(record))

    # -- operation feedback ---------------------------------------------------------------
    def busy_text(self, method: str) -> str:
        """What a row shows while ``method`` runs on it."""
        if method in ("Load", "InsertFile"):
            return self.tr("Loading…")
        if method == "Unload":
            return self.tr("Unloading…")
        if method == "SetParameter":
            return self.tr("Applying…")
        return self.tr("Saving…")

    def _operation_started(self, operation: Operation) -> None:
        if operation.module:
            self.model.set_busy(operation.module, self.busy_text(operation.method))
            self._update_buttons()

    def _operation_finished(self, operation: Operation) -> None:
        if operation.module:
            self.model.set_busy(operation.module, None)
        if (operation.method == "SetParameter" and operation.state != "done"
                and self.details.built):
            self.details.parameters.model.clear_pending(str(operation.args[1]))
        self._update_buttons()
        if operation.state == "done" and operation.warnings:
            self.notice.setText(with_warnings(self.tr("The change to %1 was made, but:").replace(
                "%1", operation.module or operation.method), operation.warnings))
            self.notice.show()
        if operation.state == "failed" and operation.explanation is not None:
            self.show_failure(operation)

    def show_failure(self, operation: Operation) -> ErrorDialog:
        from kmodgui.ui.dialogs.error import ErrorDialog

        explanation = operation.explanation
        assert explanation is not None  # noqa: S101 - only called for failures
        detail = operation.error.message if operation.error else ""
        dialog = ErrorDialog(explanation, operation.kernel_log, detail, parent=self)

        def follow_up() -> None:
            if dialog.chosen_action == "unload-holders":
                for module in [*explanation.subjects, operation.module]:
                    self.services.operations.submit(requests.unload(module))
            elif dialog.chosen_action == "load-dependencies" and operation.module:
                self.request_load(operation.module)

        dialog.accepted.connect(follow_up)
        self._keep(dialog)
        dialog.open()
        return dialog


def build(host: PageHost) -> ModulesPage:
    """The Modules page of the window (see :mod:`kmodgui.ui.pages`)."""
    return ModulesPage(host.model, host.page_services)
