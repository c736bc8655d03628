"""The Configuration page: every modprobe.d and modules-load.d setting in effect.

Settings are grouped by module (sorted by it) with the file and line each comes
from. Files kmodgui writes (``kmodgui-<module>.conf``) are marked as ours and
are changed from the module's Configuration tab; the others are read-only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from kmodgui.core.configuration import EffectiveSetting, read_configuration
from kmodgui.ui.rows_model import PAYLOAD_ROLE, RowsModel
from kmodgui.ui.widgets import plain_table, shown_path

if TYPE_CHECKING:
    from kmodgui.core.catalog import Catalog
    from kmodgui.core.paths import Root
    from kmodgui.ui.pages import PageHost

ConfigRow = EffectiveSetting  # one row of the page: a setting in effect, with its source


class ConfigPage(QWidget):
    """Signals:
        module_requested(str): show this module's page (to edit our settings there).
    """

    module_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("configPage")
        self.model = RowsModel([self.tr("Module"), self.tr("Setting"), self.tr("Value"),
                                self.tr("Editable"), self.tr("File")], self)
        self._base = ""
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        title = QLabel(self.tr("Settings in effect from modprobe.d and modules-load.d"))
        title.setObjectName("pageTitle")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        title.setFont(font)
        self.filter = QLineEdit()
        self.filter.setObjectName("configFilter")
        self.filter.setClearButtonEnabled(True)
        self.filter.setPlaceholderText(self.tr("Filter by module, setting or file"))
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = plain_table(QTableView(), "configTable")
        self.table.setModel(self.proxy)
        header = self.table.horizontalHeader()
        em = self.fontMetrics().horizontalAdvance("M")
        for column, chars in enumerate((14, 7, 24, 11)):
            header.resizeSection(column, em * chars)
        self.empty = QLabel(self.tr("No module settings are configured on this system."))
        self.empty.setObjectName("configEmpty")
        self.open_button = QPushButton(self.tr("Show Module"))
        self.open_button.setObjectName("configShowModuleButton")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self._open)
        self.table.doubleClicked.connect(lambda _i: self._open())
        self.table.selectionModel().selectionChanged.connect(
            lambda *_a: self.open_button.setEnabled(self.selected() is not None))
        note = QLabel(self.tr("Files named kmodgui-<module>.conf are kmodgui's own; change "
                              "them from the module's Configuration tab. Other files are "
                              "shown read-only."))
        note.setWordWrap(True)
        note.setObjectName("configNote")
        buttons = QHBoxLayout()   # the note on its own line: no word broken beside a button
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(title)
        layout.addWidget(self.filter)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addWidget(note)
        layout.addLayout(buttons)

    def set_rows(self, rows: list[ConfigRow], base: str = "") -> None:
        """Show ``rows``; file names are shown relative to the inspected root ``base``."""
        rows = sorted(rows, key=lambda r: (r.module, r.source.file, r.source.line))
        self.model.set_rows(
            [(r.module, r.kind, self._value_text(r, base),
              self.tr("yes (kmodgui)") if r.ours else self.tr("no"),
              f"{shown_path(base, r.source.file)}:{r.source.line}") for r in rows],
            rows)
        self.empty.setVisible(not rows)

    def _value_text(self, row: ConfigRow, base: str) -> str:
        """The value, and for a line kmod never uses, the line it uses instead."""
        value = row.value
        if row.kind == "softdep" and not value:
            # kmod keeps such a line as a softdep with nothing in it: it is the module's first
            # softdep line all the same, so later ones are not used (modprobe -c shows it).
            value = self.tr("(empty: no pre: or post:)")
        if row.shadowed_by is None:
            return value
        first = f"{shown_path(base, row.shadowed_by.file)}:{row.shadowed_by.line}"
        text = self.tr("%1 (ignored: %2 comes first)").replace("%2", first)
        return text.replace("%1", value)

    def selected(self) -> ConfigRow | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        payload = rows[0].data(PAYLOAD_ROLE)
        return payload if isinstance(payload, ConfigRow) else None

    def _open(self) -> None:
        row = self.selected()
        if row is not None:
            self.module_requested.emit(row.module)


class WindowConfigPage(ConfigPage):
    """The Configuration page in the window: read from the window's root, again whenever
    the catalog is read again (after a configuration change)."""

    def __init__(self, root: Root, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.root = root
        self.read()

    def read(self) -> None:
        self.set_rows(read_configuration(self.root).settings, str(self.root.base))

    def set_catalog(self, catalog: Catalog) -> None:
        self.read()


def build(host: PageHost) -> WindowConfigPage:
    """The Configuration page of the window (see :mod:`kmodgui.ui.pages`)."""
    page = WindowConfigPage(host.root)
    page.module_requested.connect(host.show_module)
    return page
