"""The Log page: every operation of this session, its result, the kernel's lines, the
explanation shown."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from kmodgui.ui.explain import with_warnings
from kmodgui.ui.operations import Operation, Operations
from kmodgui.ui.rows_model import PAYLOAD_ROLE, RowsModel
from kmodgui.ui.widgets import plain_table

if TYPE_CHECKING:
    from kmodgui.ui.pages import PageHost


class LogPage(QWidget):
    def __init__(self, operations: Operations, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("logPage")
        self.model = RowsModel([self.tr("Time"), self.tr("Operation"), self.tr("Module"),
                                self.tr("Result")], self)
        self._rows: dict[int, int] = {}
        self.table = plain_table(QTableView(), "logTable")
        self.table.setModel(self.model)
        header = self.table.horizontalHeader()
        em = self.fontMetrics().horizontalAdvance("M")
        for column, chars in enumerate((6, 12, 14)):
            header.resizeSection(column, em * chars)
        self.detail = QPlainTextEdit()
        self.detail.setObjectName("logDetail")
        self.detail.setReadOnly(True)
        self.detail.setPlaceholderText(self.tr("Select an operation to see the kernel's "
                                               "messages and the explanation."))
        self.empty = QLabel(self.tr("Nothing has been changed in this session."))
        self.empty.setObjectName("logEmpty")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        title = QLabel(self.tr("Operations of this session"))
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        title.setFont(font)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(title)
        layout.addWidget(self.empty)
        layout.addWidget(splitter, 1)
        operations.operation_started.connect(self.add)
        operations.operation_finished.connect(self.update_operation)
        self.table.selectionModel().currentRowChanged.connect(lambda *_a: self._show())

    def _row(self, operation: Operation) -> tuple[str, str, str, str]:
        result = {
            "running": self.tr("running…"),
            "done": self.tr("done, with warnings") if operation.warnings else self.tr("done"),
            "cancelled": self.tr("cancelled"),
            "failed": self.tr("failed: %1").replace(
                "%1", operation.explanation.title if operation.explanation else ""),
        }.get(operation.state, operation.state)
        return (time.strftime("%H:%M:%S", time.localtime(operation.started)),
                operation.method, operation.module or "", result)

    def add(self, operation: Operation) -> None:
        self._rows[operation.id] = self.model.append_row(self._row(operation), operation)
        self.empty.hide()

    def update_operation(self, operation: Operation) -> None:
        position = self._rows.get(operation.id)
        if position is None:
            self.add(operation)
            return
        self.model.replace_row(position, self._row(operation), operation)
        if self.table.currentIndex().row() == position:
            self._show()

    def describe(self, operation: Operation) -> str:
        """The text of the detail box for one operation."""
        lines = [operation.request.describe(),
                 self._row(operation)[3]]
        if operation.explanation is not None:
            lines += ["", operation.explanation.text, operation.explanation.next_step]
        if operation.error is not None and operation.error.message:
            lines += ["", f"{operation.error.name}: {operation.error.message}"]
        result = operation.result
        if result is not None and result.warnings:
            lines += ["", with_warnings("", result.warnings)]
        if result is not None and result.output:
            lines += ["", result.output.rstrip()]
        if result is not None and result.files:
            lines += ["", self.tr("Files changed:"), *result.files]
        if operation.kernel_log:
            lines += ["", self.tr("Kernel messages:"), *operation.kernel_log]
        return "\n".join(lines)

    def _show(self) -> None:
        index = self.table.currentIndex()
        operation = index.siblingAtColumn(0).data(PAYLOAD_ROLE) if index.isValid() else None
        self.detail.setPlainText(self.describe(operation)
                                 if isinstance(operation, Operation) else "")


def build(host: PageHost) -> LogPage:
    """The Log page of the window (see :mod:`kmodgui.ui.pages`)."""
    return LogPage(host.operations)
