"""Unload confirmation: what holds the module, unloading those first, and forcing."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QVBoxLayout,
    QWidget,
)

from kmodgui.core.records import ModuleRecord
from kmodgui.core.unload import Reason, refusal_for_record
from kmodgui.ui.widgets import list_height, match_button_icons


class UnloadDialog(QDialog):
    """Asks before unloading; offers the holders first and, if the kernel allows, force."""

    def __init__(self, record: ModuleRecord, *, force_supported: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("unloadDialog")
        self.record = record
        self.setWindowTitle(self.tr("Unload %1").replace("%1", record.name))
        layout = QVBoxLayout(self)
        self.refusal = refusal_for_record(record)
        reason = self.refusal.reason if self.refusal is not None else None
        self.holders_first: QCheckBox | None = None
        if reason is Reason.HOLDERS:
            holders = list(record.holders)
            text = QLabel(self.tr("%1 is in use by these modules:").replace("%1", record.name))
            layout.addWidget(text)
            listing = QListWidget()
            listing.setObjectName("unloadHolders")
            listing.addItems(holders)
            listing.setFixedHeight(list_height(listing, min(len(holders), 5)))
            layout.addWidget(listing)
            self.holders_first = QCheckBox(self.tr("Unload those first"))
            self.holders_first.setObjectName("unloadHoldersFirst")
            self.holders_first.setChecked(True)
            layout.addWidget(self.holders_first)
        elif reason is Reason.IN_USE:
            busy = QLabel(self.tr(
                "%1 is in use (%2 references) by a program or device, not by another module. "
                "Unloading fails until it is released.").replace("%1", record.name).replace(
                    "%2", str(record.refcount)))
            busy.setWordWrap(True)
            layout.addWidget(busy)
        elif reason is Reason.BUILTIN:
            layout.addWidget(QLabel(self.tr(
                "%1 is built into the kernel: it cannot be unloaded.").replace("%1", record.name)))
        elif reason is Reason.NOT_LOADED:
            layout.addWidget(QLabel(self.tr("%1 is not loaded.").replace("%1", record.name)))
        else:
            layout.addWidget(QLabel(self.tr("Nothing uses %1. Unload it?").replace(
                "%1", record.name)))
        self.force: QCheckBox | None = None
        if force_supported and reason not in (Reason.BUILTIN, Reason.NOT_LOADED):
            self.force = QCheckBox(self.tr("Force (dangerous)"))
            self.force.setObjectName("forceUnload")
            warning = QLabel(self.tr(
                "Forcing removes the module even while it is in use. The kernel may crash "
                "or lose data. Use it only when you know why the module is stuck."))
            warning.setWordWrap(True)
            warning.setObjectName("forceWarning")
            layout.addWidget(self.force)
            layout.addWidget(warning)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.unload_button = buttons.addButton(self.tr("Unload"),
                                               QDialogButtonBox.ButtonRole.AcceptRole)
        self.unload_button.setObjectName("confirmUnloadButton")
        self.unload_button.setEnabled(reason not in (Reason.BUILTIN, Reason.NOT_LOADED))
        match_button_icons(buttons, self.unload_button)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def unload_holders_first(self) -> bool:
        return self.holders_first is not None and self.holders_first.isChecked()

    def forced(self) -> bool:
        return self.force is not None and self.force.isChecked()

    def plan(self) -> list[str]:
        """Modules to unload, in order: the holders first when asked, then the module."""
        first = list(self.record.holders) if self.unload_holders_first() else []
        return [*first, self.record.name]
