"""The module list: a table model over catalog records and the proxy that filters it.

Filtering must stay instant on 4000+ rows, so each record's search text is
folded once (:class:`~kmodgui.ui.search.SearchText`) and a keystroke computes
one boolean per row in Python before the proxy asks. Sorting happens in the
source model with Python's sort (the proxy keeps source order): a proxy that
sorts calls back into Python for every comparison, which costs ~200 ms when a
filter is widened on 4000 rows.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QLocale,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from kmodgui.core.records import ModuleRecord, ModuleState
from kmodgui.ui.search import SearchIndex, SearchText, parse_query

Index = QModelIndex | QPersistentModelIndex

RECORD_ROLE = Qt.ItemDataRole.UserRole + 1   # the ModuleRecord of the row
NAME_ROLE = Qt.ItemDataRole.UserRole + 2     # the module name (str)
SORT_ROLE = Qt.ItemDataRole.UserRole + 3     # a comparable key for the column


class Column(IntEnum):
    NAME = 0
    STATE = 1
    SIZE = 2
    USED_BY = 3
    DESCRIPTION = 4


_COLUMNS = tuple(Column)
_BY_NAME = operator.attrgetter("name")
_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_ACCESSIBLE = int(Qt.ItemDataRole.AccessibleTextRole.value)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)


# Spelled out at each string (lupdate reads literal translate("Context", "text") calls).
translate = QCoreApplication.translate


def state_label(state: ModuleState) -> str:
    """The word shown for a state (translated)."""
    return {
        ModuleState.LOADED: translate("ModuleModel", "Loaded"),
        ModuleState.BUILTIN: translate("ModuleModel", "Built-in"),
        ModuleState.AVAILABLE: translate("ModuleModel", "Available"),
        ModuleState.EXTERNAL: translate("ModuleModel", "Loaded, not installed"),
    }[state]


def used_by_text(record: ModuleRecord) -> str:
    """``lsmod``'s "Used by" column: the count, then the holders by name."""
    if not record.loaded or record.refcount is None:
        return ""
    holders = ", ".join(record.holders)
    return f"{record.refcount}  {holders}" if holders else str(record.refcount)


def used_by_tooltip(record: ModuleRecord) -> str:
    """The whole "Used by" cell in words, one holder a line (the cell may be cut off)."""
    if not record.loaded or record.refcount is None:
        return ""
    if not record.refcount:
        return translate("ModuleModel", "Not in use")
    count = translate("ModuleModel", "Reference count: %1").replace("%1", str(record.refcount))
    if not record.holders:
        return "\n".join([count, translate("ModuleModel", "Held by programs or the kernel, "
                                            "not by other modules.")])
    return "\n".join([translate("ModuleModel", "Used by these modules:"),
                      *(f"  {holder}" for holder in record.holders), count])


def shown_size(record: ModuleRecord) -> int | None:
    """Memory size when loaded, else the size of the file on disk."""
    return record.size if record.loaded and record.size is not None else record.file_size


class ModuleTableModel(QAbstractTableModel):
    """One row per module record; rows keep their order until :meth:`sort`.

    Busy rows (an operation running on them) show the operation in the state
    column until :meth:`set_busy` clears it.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._records: list[ModuleRecord] = []
        self._search: dict[str, SearchText] = {}   # by name, folded on first search
        self._rows: dict[str, int] = {}
        self._busy: dict[str, str] = {}
        self._index: SearchIndex | None = None
        self._texts: dict[int, tuple[str, ...]] = {}   # row -> display strings
        self._sort: tuple[int, Qt.SortOrder] = (Column.NAME, Qt.SortOrder.AscendingOrder)
        self._locale = QLocale()

    # -- Qt model interface ---------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation != Qt.Orientation.Horizontal or role != _DISPLAY:
            return None
        if 0 <= section < len(Column):
            return (translate("ModuleModel", "Name"), translate("ModuleModel", "State"),
                    translate("ModuleModel", "Size"), translate("ModuleModel", "Used by"),
                    translate("ModuleModel", "Description"))[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        # Painting asks for many roles per cell: plain int comparisons, cached strings.
        row = index.row()
        if row < 0 or row >= len(self._records):
            return None
        if role == _DISPLAY or role == _ACCESSIBLE:
            texts = self._texts.get(row)
            if texts is None:
                record = self._records[row]
                texts = self._texts[row] = tuple(self._display(record, c) for c in _COLUMNS)
            return texts[index.column()]
        if role == RECORD_ROLE:
            return self._records[row]
        if role == NAME_ROLE:
            return self._records[row].name
        if role == SORT_ROLE:
            return self._sort_key(self._records[row], index.column())
        if role == _TOOLTIP:
            record = self._records[row]
            if index.column() == Column.STATE and record.name in self._busy:
                return self._busy[record.name]
            if index.column() == Column.USED_BY:
                return used_by_tooltip(record) or None
            return record.description or None
        return None

    def _display(self, record: ModuleRecord, column: int) -> str:
        if column == Column.NAME:
            return record.name
        if column == Column.STATE:
            busy = self._busy.get(record.name)
            return busy if busy else state_label(record.state)
        if column == Column.SIZE:
            size = shown_size(record)
            return "" if size is None else self._locale.formattedDataSize(size)
        if column == Column.USED_BY:
            return used_by_text(record)
        if column == Column.DESCRIPTION:
            return record.description.split("\n", 1)[0]
        return ""

    @staticmethod
    def _sort_key(record: ModuleRecord, column: int) -> object:
        if column == Column.STATE:
            return (record.state.value, record.name)
        if column == Column.SIZE:
            return (shown_size(record) or 0, record.name)
        if column == Column.USED_BY:
            return (record.refcount or 0, record.name)
        if column == Column.DESCRIPTION:
            return (record.description.lower(), record.name)
        return record.name

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Reorder the rows in Python (fast), keeping persistent indexes valid."""
        if not 0 <= column < len(Column):
            return
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        old_persistent = self.persistentIndexList()
        old_names = [self._records[i.row()].name for i in old_persistent]
        self._apply_sort()
        new_indexes = [self.index(self._rows[name], i.column())
                       for name, i in zip(old_names, old_persistent, strict=True)]
        self.changePersistentIndexList(old_persistent, new_indexes)
        self.layoutChanged.emit()

    def _apply_sort(self) -> None:
        column, order = self._sort
        key: Callable[[ModuleRecord], Any] = (
            _BY_NAME if column == Column.NAME else (lambda r: self._sort_key(r, column)))
        self._records = sorted(self._records, key=key,
                               reverse=order == Qt.SortOrder.DescendingOrder)
        self._rows = {r.name: i for i, r in enumerate(self._records)}
        self._index = None
        self._texts.clear()

    # -- our interface --------------------------------------------------------------------
    def set_records(self, records: Iterable[ModuleRecord]) -> None:
        """Replace every row (a new catalog)."""
        self.beginResetModel()
        self._records = list(records)
        self._search = {}        # folded lazily: see search_texts()
        self._apply_sort()
        self.endResetModel()

    def apply_changes(self, changes: Mapping[str, ModuleRecord | None]) -> None:
        """Change, add (new names) or remove (``None``) rows in place.

        Selection and scroll position survive, which a reset would lose; meant
        for the few rows a load or unload touches.
        """
        removed = sorted((self._rows[n] for n, r in changes.items()
                          if r is None and n in self._rows), reverse=True)
        for row in removed:
            self.beginRemoveRows(QModelIndex(), row, row)
            self._search.pop(self._records[row].name, None)
            del self._records[row]
            self._rows = {r.name: i for i, r in enumerate(self._records)}
            self._texts.clear()
            self._index = None
            self.endRemoveRows()
        self._index = None
        self._texts.clear()
        last = len(Column) - 1
        new: list[ModuleRecord] = []
        for name, record in changes.items():
            if record is None:
                continue
            position = self._rows.get(name)
            if position is None:
                new.append(record)
            else:  # the catalog may have changed the record in place: always refresh
                self._records[position] = record
                self._search.pop(name, None)
                self.dataChanged.emit(self.index(position, 0), self.index(position, last))
        if new:
            start = len(self._records)
            self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
            self._records.extend(new)
            self._rows.update((r.name, start + i) for i, r in enumerate(new))
            self._index = None
            self.endInsertRows()

    def set_busy(self, name: str, text: str | None) -> None:
        """Show ``text`` (e.g. "Loading…") in the row's state column; ``None`` clears it."""
        if text:
            self._busy[name] = text
        else:
            self._busy.pop(name, None)
        row = self._rows.get(name)
        if row is not None:
            self._texts.pop(row, None)
            index = self.index(row, Column.STATE)
            self.dataChanged.emit(index, index)

    def busy(self, name: str) -> str | None:
        return self._busy.get(name)

    def record(self, name: str) -> ModuleRecord | None:
        row = self._rows.get(name)
        return None if row is None else self._records[row]

    def row_of(self, name: str) -> int | None:
        return self._rows.get(name)

    def records(self) -> list[ModuleRecord]:
        return list(self._records)

    def search_texts(self) -> list[SearchText]:
        """The folded search text of every row, in row order (computed once per record)."""
        texts = self._search
        out = []
        for record in self._records:
            text = texts.get(record.name)
            if text is None:
                text = texts[record.name] = SearchText.of(record)
            out.append(text)
        return out

    def search_index(self) -> SearchIndex:
        """Column-wise search text, rebuilt lazily after rows change."""
        if self._index is None:
            self._index = SearchIndex(self.search_texts())
        return self._index


# State filter keys, in the order the combo box lists them.
STATE_FILTERS = ("all", "loaded", "builtin", "available", "configured", "blacklisted")


def state_filter_label(key: str) -> str:
    return {
        "all": translate("ModuleModel", "All modules"),
        "loaded": translate("ModuleModel", "Loaded"),
        "builtin": translate("ModuleModel", "Built-in"),
        "available": translate("ModuleModel", "Available"),
        "configured": translate("ModuleModel", "Configured"),
        "blacklisted": translate("ModuleModel", "Blacklisted"),
    }[key]


def passes_state(record: ModuleRecord, key: str) -> bool:
    """Whether a record belongs under a state filter key."""
    if key == "loaded":
        return record.loaded
    if key == "builtin":
        return record.state == ModuleState.BUILTIN
    if key == "available":
        return record.state == ModuleState.AVAILABLE
    if key == "configured":
        return bool(record.settings)
    if key == "blacklisted":
        return record.blacklisted
    return True


class ModuleFilterProxy(QSortFilterProxyModel):
    """Filters rows by the search query and state filter; sorting is forwarded to the source."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._query = ""
        self._state = "all"
        self._accept: list[bool] | None = None
        self.setDynamicSortFilter(False)

    def setSourceModel(self, model: ModuleTableModel) -> None:  # type: ignore[override]
        old = self.sourceModel()
        if old is not None:
            old.modelReset.disconnect(self._recompute)
            old.rowsInserted.disconnect(self._recompute)
            old.rowsRemoved.disconnect(self._recompute)
            old.layoutChanged.disconnect(self._recompute)
            old.dataChanged.disconnect(self._on_data_changed)
        # Recompute before the proxy reacts to the same signal: connect first.
        model.modelReset.connect(self._recompute)
        model.rowsInserted.connect(self._recompute)
        model.rowsRemoved.connect(self._recompute)
        model.layoutChanged.connect(self._recompute)
        model.dataChanged.connect(self._on_data_changed)
        super().setSourceModel(model)
        self._recompute()

    def source(self) -> ModuleTableModel:
        model = self.sourceModel()
        if not isinstance(model, ModuleTableModel):
            raise TypeError("the proxy has no module model")
        return model

    @property
    def query(self) -> str:
        return self._query

    @property
    def state_filter(self) -> str:
        return self._state

    def set_query(self, query: str) -> None:
        if query != self._query:
            self._refilter(query, self._state)

    def set_state_filter(self, key: str) -> None:
        if key not in STATE_FILTERS:
            raise ValueError(f"unknown state filter {key!r}")
        if key != self._state:
            self._refilter(self._query, key)

    def _refilter(self, query: str, state: str) -> None:
        # A reset, not an incremental filter change: removing hundreds of scattered
        # row ranges one by one makes the view do O(rows) work per range.
        self.beginResetModel()
        self._query, self._state = query, state
        self._recompute()
        self.endResetModel()

    def _recompute(self, *_args: object) -> None:
        model = self.sourceModel()
        if not isinstance(model, ModuleTableModel):
            self._accept = None
            return
        terms = parse_query(self._query)
        state = self._state
        if not terms and state == "all":
            self._accept = None
            return
        selected = model.search_index().select(terms)
        if state == "all":
            self._accept = selected
            return
        records = model.records()
        if selected is None:
            self._accept = [passes_state(r, state) for r in records]
        else:
            self._accept = [keep and passes_state(r, state)
                            for keep, r in zip(selected, records, strict=True)]

    def _on_data_changed(self, *_args: object) -> None:
        # A changed row may now pass or fail the state filter.
        if self._state != "all" or self._query:
            self.beginFilterChange()
            self._recompute()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        accept = self._accept
        if accept is None:
            return True
        return 0 <= source_row < len(accept) and accept[source_row]

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort in the source model (Python's sort), keep the proxy in source order."""
        model = self.sourceModel()
        if isinstance(model, ModuleTableModel):
            model.sort(column, order)
