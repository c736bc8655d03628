"""Insert-file confirmation: the file's modinfo and what would stop the kernel taking it."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from kmodgui.core.file_preview import FilePreview
from kmodgui.ui.widgets import aligned_form, match_button_icons, value_label


class InsertFileDialog(QDialog):
    """Shows a :class:`FilePreview`; the Load button is offered only for a readable module."""

    def __init__(self, preview: FilePreview, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("insertFileDialog")
        self.preview = preview
        self.setWindowTitle(self.tr("Insert Module from File"))
        layout = QVBoxLayout(self)
        form = aligned_form()
        self.checks: dict[str, QLabel] = {}

        def row(key: str, title: str, text: str) -> None:
            label = value_label()
            label.setObjectName(f"insert_{key}")
            label.setText(text)
            form.addRow(title, label)
            self.checks[key] = label

        row("file", self.tr("File:"), preview.path)
        if preview.error:
            row("error", self.tr("Problem:"), preview.error)
        else:
            row("name", self.tr("Module:"), preview.name)
            if preview.vermagic_matches:
                verdict = self.tr("built for this kernel (%1)").replace(
                    "%1", preview.vermagic.split(" ", 1)[0])
            else:
                verdict = self.tr("built for %1, not for this kernel: it will be refused"
                                  ).replace("%1", preview.vermagic.strip() or self.tr("unknown"))
            row("vermagic", self.tr("Kernel:"), verdict)
            row("signature", self.tr("Signature:"),
                self.tr("signed by %1").replace("%1", preview.signer or "?")
                if preview.signed else self.tr("not signed (refused where Secure Boot "
                                                "enforces signatures)"))
            row("symbols", self.tr("Symbols:"), self._symbols_text())
        layout.addLayout(form)
        if preview.modinfo:
            layout.addWidget(QLabel(self.tr("modinfo:")))
            text = QPlainTextEdit("\n".join(f"{k}: {v}" for k, v in preview.modinfo))
            text.setObjectName("insertModinfo")
            text.setReadOnly(True)
            layout.addWidget(text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.load_button = buttons.addButton(self.tr("Load"),
                                             QDialogButtonBox.ButtonRole.AcceptRole)
        self.load_button.setObjectName("confirmInsertButton")
        match_button_icons(buttons, self.load_button)
        self.load_button.setEnabled(not preview.error)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 480)

    def _symbols_text(self) -> str:
        preview = self.preview
        if preview.imported == 0:
            return self.tr("no symbol version table to check")
        parts: list[str] = []
        if not preview.symbols_known:
            parts.append(self.tr("the kernel's symbol map is missing; not checked"))
        elif preview.unresolved:
            shown = ", ".join(preview.unresolved[:10])
            more = "…" if len(preview.unresolved) > 10 else ""
            parts.append(self.tr("%1 cannot be resolved: %2").replace(
                "%1", str(len(preview.unresolved))).replace("%2", shown + more))
        else:
            parts.append(self.tr("all %1 imported symbols can be resolved").replace(
                "%1", str(preview.imported)))
        modules = sorted({m for ms in preview.from_modules.values() for m in ms})
        if modules:
            parts.append(self.tr("needs these modules loaded first: %1").replace(
                "%1", ", ".join(modules[:10])))
        return "\n".join(parts)
