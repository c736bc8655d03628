"""A small read-only table model over a list of row tuples, for the short tables.

Pages with a few dozen to a few hundred rows (settings, log, aliases) share
it; the module list has its own model because it must stay fast at 4000+.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex
PAYLOAD_ROLE = Qt.ItemDataRole.UserRole + 1  # the object a row stands for


class RowsModel(QAbstractTableModel):
    """Rows of strings with fixed headers; each row may carry a payload object."""

    def __init__(self, headers: Sequence[str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._headers = list(headers)
        self._rows: list[tuple[str, ...]] = []
        self._payloads: list[object] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._headers)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self._headers)):
            return self._headers[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return row[index.column()] if index.column() < len(row) else ""
        if role == PAYLOAD_ROLE:
            return self._payloads[index.row()]
        return None

    def set_rows(self, rows: Sequence[Sequence[str]],
                 payloads: Sequence[object] | None = None) -> None:
        self.beginResetModel()
        self._rows = [tuple(r) for r in rows]
        self._payloads = list(payloads) if payloads is not None else [None] * len(self._rows)
        self.endResetModel()

    def append_row(self, row: Sequence[str], payload: object = None) -> int:
        position = len(self._rows)
        self.beginInsertRows(QModelIndex(), position, position)
        self._rows.append(tuple(row))
        self._payloads.append(payload)
        self.endInsertRows()
        return position

    def replace_row(self, position: int, row: Sequence[str], payload: object = None) -> None:
        if not 0 <= position < len(self._rows):
            return
        self._rows[position] = tuple(row)
        self._payloads[position] = payload
        self.dataChanged.emit(self.index(position, 0),
                              self.index(position, len(self._headers) - 1))

    def row(self, position: int) -> tuple[str, ...]:
        return self._rows[position]

    def payload(self, position: int) -> object:
        return self._payloads[position]
