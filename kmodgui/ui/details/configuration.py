"""Configuration tab: options, blacklist and load-at-boot for one module, with sources.

What is in effect is listed with the file and line it comes from; our own
settings (blacklist mode, load at boot) are changed through the helper.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from kmodgui.core.records import ModuleRecord
from kmodgui.ui.rows_model import RowsModel
from kmodgui.ui.widgets import aligned_form, plain_table, shown_path

BLACKLIST_MODES = ("none", "autoload", "always")
NEVER_LOAD_COMMANDS = ("/bin/false", "/bin/true", "/usr/bin/false", "/usr/bin/true")


def blacklist_mode(record: ModuleRecord) -> str:
    """``always`` when an install command refuses the module, ``autoload`` for a blacklist line."""
    for setting in record.settings_of("install"):
        words = setting.value.split()
        # "install M /bin/false": the command follows the module name.
        if any(word in NEVER_LOAD_COMMANDS for word in words[:2]):
            return "always"
    return "autoload" if record.blacklisted else "none"


class ConfigurationTab(QWidget):
    """Signals:
        blacklist_requested(str module, str mode)
        load_at_boot_requested(str module, bool enabled)
    """

    blacklist_requested = Signal(str, str)
    load_at_boot_requested = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._record: ModuleRecord | None = None
        self.base = ""   # the inspected root, to show file names as that system sees them
        self.settings = RowsModel([self.tr("Setting"), self.tr("Value"), self.tr("From")], self)
        view = plain_table(QTableView(), "moduleSettingsTable")
        view.setModel(self.settings)
        view.horizontalHeader().resizeSection(0, 90)
        view.horizontalHeader().resizeSection(1, 220)

        self.blacklist = QComboBox()
        self.blacklist.setObjectName("blacklistMode")
        for mode, text in zip(BLACKLIST_MODES, (
                self.tr("Load normally"),
                self.tr("Do not load automatically (blacklist)"),
                self.tr("Never load")), strict=True):
            self.blacklist.addItem(text, mode)
        self.boot = QCheckBox(self.tr("Load at boot"))
        self.boot.setObjectName("loadAtBoot")
        self.apply_button = QPushButton(self.tr("Apply"))
        self.apply_button.setObjectName("applyConfigurationButton")
        self.apply_button.setEnabled(False)
        self.blacklist.currentIndexChanged.connect(self._update_apply)
        self.boot.toggled.connect(self._update_apply)
        self.apply_button.clicked.connect(self._apply)
        self.editable = True

        box = QGroupBox(self.tr("Our settings"))
        form = aligned_form()
        form.addRow(self.tr("Automatic loading:"), self.blacklist)
        form.addRow("", self.boot)
        apply_row = QHBoxLayout()
        apply_row.addStretch(1)
        apply_row.addWidget(self.apply_button)
        form.addRow(apply_row)
        box.setLayout(form)
        layout = QVBoxLayout(self)
        layout.addWidget(view, 1)
        layout.addWidget(box)

    def show_record(self, record: ModuleRecord | None) -> None:
        self._record = record
        rows = ([(s.kind, s.value, f"{shown_path(self.base, s.source.file)}:{s.source.line}")
                 for s in record.settings] if record else [])
        self.settings.set_rows(rows)
        for widget in (self.blacklist, self.boot):
            widget.blockSignals(True)
        if record is not None:
            self.blacklist.setCurrentIndex(BLACKLIST_MODES.index(blacklist_mode(record)))
            self.boot.setChecked(record.load_at_boot)
        for widget in (self.blacklist, self.boot):
            widget.blockSignals(False)
        builtin = record is not None and record.state.value == "builtin"
        self.blacklist.setEnabled(record is not None and self.editable and not builtin)
        self.boot.setEnabled(record is not None and self.editable and not builtin)
        self._update_apply()

    def _update_apply(self, *_args: object) -> None:
        record = self._record
        changed = record is not None and (
            self.blacklist.currentData() != blacklist_mode(record)
            or self.boot.isChecked() != record.load_at_boot)
        self.apply_button.setEnabled(bool(changed) and self.editable)

    def _apply(self) -> None:
        record = self._record
        if record is None:
            return
        if self.blacklist.currentData() != blacklist_mode(record):
            self.blacklist_requested.emit(record.name, self.blacklist.currentData())
        if self.boot.isChecked() != record.load_at_boot:
            self.load_at_boot_requested.emit(record.name, self.boot.isChecked())
        self.apply_button.setEnabled(False)
