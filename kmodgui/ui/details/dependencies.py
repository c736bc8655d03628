"""Dependencies tab: depends on, used by and soft dependencies as a walkable tree.

Children are filled when a branch is expanded, so deep chains cost nothing
until asked; activating a name selects that module in the list.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from kmodgui.core.records import ModuleRecord

NAME_ROLE = Qt.ItemDataRole.UserRole + 1
FILLED_ROLE = Qt.ItemDataRole.UserRole + 2

Lookup = Callable[[str], ModuleRecord | None]


class DependenciesTab(QWidget):
    """Signals:
        module_activated(str): the user activated a module name in the tree.
    """

    module_activated = Signal(str)

    def __init__(self, lookup: Lookup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lookup = lookup
        self.tree = QTreeWidget()
        self.tree.setObjectName("dependencyTree")
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.tree.itemExpanded.connect(self._fill)
        self.tree.itemActivated.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)

    def show_record(self, record: ModuleRecord | None) -> None:
        self.tree.clear()
        if record is None:
            return
        groups = (
            (self.tr("Depends on"), record.depends, "depends"),
            (self.tr("Used by"), sorted(set(record.required_by) | set(record.holders)),
             "used_by"),
            (self.tr("Soft dependencies loaded before"), record.softdep_pre, "depends"),
            (self.tr("Soft dependencies loaded after"), record.softdep_post, "depends"),
        )
        for title, names, direction in groups:
            top = QTreeWidgetItem([f"{title} ({len(names)})"])
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.tree.addTopLevelItem(top)
            for name in names:
                top.addChild(self._item(name, direction))
            top.setExpanded(bool(names))

    def _item(self, name: str, direction: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem([name])
        item.setData(0, NAME_ROLE, (name, direction))
        other = self._lookup(name)
        if other is None:
            item.setToolTip(0, self.tr("Not installed for this kernel"))
        else:
            item.setToolTip(0, other.description or name)
            if self._next(other, direction):
                item.setChildIndicatorPolicy(
                    QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
        return item

    @staticmethod
    def _next(record: ModuleRecord, direction: str) -> list[str]:
        if direction == "depends":
            return record.depends
        return sorted(set(record.required_by) | set(record.holders))

    def _fill(self, item: QTreeWidgetItem) -> None:
        data = item.data(0, NAME_ROLE)
        if not data or item.data(0, FILLED_ROLE):
            return
        item.setData(0, FILLED_ROLE, True)
        name, direction = data
        record = self._lookup(name)
        if record is None:
            return
        for child in self._next(record, direction):
            item.addChild(self._item(child, direction))
        item.setChildIndicatorPolicy(
            QTreeWidgetItem.ChildIndicatorPolicy.DontShowIndicatorWhenChildless)

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        data = item.data(0, NAME_ROLE)
        if data:
            self.module_activated.emit(data[0])
