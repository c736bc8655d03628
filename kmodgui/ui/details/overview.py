"""Overview tab: everything ``modinfo`` shows about a module, laid out for reading."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from kmodgui.core.paths import Root
from kmodgui.core.records import ModuleRecord
from kmodgui.ui.module_model import shown_size, state_label, used_by_text
from kmodgui.ui.widgets import aligned_form, shown_path, value_label


def vermagic_release(vermagic: str) -> str:
    """The kernel release a module was built for: the first word of its vermagic."""
    return vermagic.split(" ", 1)[0] if vermagic else ""


class OverviewTab(QWidget):
    """The modinfo fields of one record in an aligned form.

    Signals:
        copy_modinfo_requested(str): the user asked to copy the module's modinfo text.
    """

    copy_modinfo_requested = Signal(str)

    FIELDS = ("name", "state", "description", "file", "version", "license", "authors",
              "signature", "vermagic", "srcversion", "depends", "firmware", "size",
              "used_by", "taint")

    def __init__(self, root: Root, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._root = root
        self._record: ModuleRecord | None = None
        titles = {
            "name": self.tr("Name"), "state": self.tr("State"),
            "description": self.tr("Description"), "file": self.tr("File"),
            "version": self.tr("Version"), "license": self.tr("License"),
            "authors": self.tr("Authors"), "signature": self.tr("Signature"),
            "vermagic": self.tr("Built for"), "srcversion": self.tr("Source version"),
            "depends": self.tr("Depends on"), "firmware": self.tr("Firmware"),
            "size": self.tr("Size"), "used_by": self.tr("Used by"), "taint": self.tr("Taint"),
        }
        body = QWidget()
        self._form = aligned_form()
        body.setLayout(self._form)
        self.values: dict[str, QLabel] = {}
        for key in self.FIELDS:
            label = value_label()
            label.setObjectName(f"overview_{key}")
            self._form.addRow(titles[key] + ":", label)
            self.values[key] = label
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        self.copy_button = QPushButton(self.tr("Copy modinfo as text"))
        self.copy_button.setObjectName("copyModinfoButton")
        self.copy_button.clicked.connect(self._copy)
        self.copy_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)

    def show_record(self, record: ModuleRecord | None) -> None:
        self._record = record
        self.copy_button.setEnabled(record is not None)
        texts = self._texts(record) if record is not None else {}
        for key, label in self.values.items():
            text = texts.get(key, "")
            label.setText(text)
            self._form.setRowVisible(label, bool(text))

    def _texts(self, record: ModuleRecord) -> dict[str, str]:
        size = shown_size(record)
        return {
            "name": record.name,
            "state": state_label(record.state),
            "description": record.description,
            "file": shown_path(self._root.base, record.path) if record.path else (
                self.tr("(built into the kernel)")
                                    if record.state.value == "builtin" else ""),
            "version": record.version,
            "license": record.license,
            "authors": "\n".join(record.authors),
            "signature": self._signature(record),
            "vermagic": self._vermagic(record),
            "srcversion": record.srcversion,
            "depends": ", ".join(record.depends),
            "firmware": "\n".join(record.firmware),
            "size": "" if size is None else self.locale().formattedDataSize(size),
            "used_by": used_by_text(record),
            "taint": record.taint,
        }

    def _signature(self, record: ModuleRecord) -> str:
        if record.signer or record.sig_key:
            lines = [self.tr("Signed by %1").replace("%1", record.signer or "?")]
            if record.sig_key:
                lines.append(self.tr("Key serial: %1").replace("%1", record.sig_key))
            if record.sig_hashalgo:
                lines.append(self.tr("Hash: %1").replace("%1", record.sig_hashalgo))
            return "\n".join(lines)
        if record.path:
            return self.tr("Not signed")
        return ""

    def _vermagic(self, record: ModuleRecord) -> str:
        if not record.vermagic:
            return ""
        built_for = vermagic_release(record.vermagic)
        if built_for == self._root.release:
            verdict = self.tr("matches kernel %1").replace("%1", self._root.release)
        else:
            verdict = self.tr("does not match kernel %1: the kernel will refuse it"
                              ).replace("%1", self._root.release)
        return f"{record.vermagic.strip()}\n{verdict}"

    def _copy(self) -> None:
        if self._record is not None:
            self.copy_modinfo_requested.emit(self._record.name)
