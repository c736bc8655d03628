"""Parameters tab: declared and live parameters, edited in place through the helper.

An edit does not change the model: it asks for ``SetParameter`` and shows the
requested value as pending until the live value is read again.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from kmodgui.core.names import own_config_name
from kmodgui.core.records import ModuleRecord, Parameter, Source
from kmodgui.ui.widgets import plain_table

Index = QModelIndex | QPersistentModelIndex
PARAMETER_ROLE = Qt.ItemDataRole.UserRole + 1
PARAM_COLUMNS = 5  # name, type, value, configured, description

# parmtype -> (minimum, maximum) for integer types the kernel parses.
INT_RANGES = {
    "byte": (0, 255), "short": (-32768, 32767), "ushort": (0, 65535),
    "int": (-2**31, 2**31 - 1), "uint": (0, 2**32 - 1),
    "long": (-2**63, 2**63 - 1), "ulong": (0, 2**64 - 1), "ullong": (0, 2**64 - 1),
    "hexint": (0, 2**32 - 1),
}


def split_options(value: str) -> list[str]:
    """``a=1 b="x y"`` → ``['a=1', 'b="x y"']``: whitespace outside double quotes."""
    words: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch.isspace() and not quoted:
            if current:
                words.append("".join(current))
                current = []
            continue
        current.append(ch)
    if current:
        words.append("".join(current))
    return words


@dataclass(frozen=True)
class Configured:
    value: str
    source: Source


def configured_values(record: ModuleRecord) -> dict[str, Configured]:
    """Parameter values from ``options`` lines; a later line wins, as the kernel sees it."""
    found: dict[str, Configured] = {}
    for setting in record.settings_of("options"):
        for word in split_options(setting.value):
            name, sep, value = word.partition("=")
            found[name.replace("-", "_")] = Configured(value.strip('"') if sep else "",
                                                       setting.source)
    return found


def _file_name(source: Source) -> str:
    return source.file.rsplit("/", 1)[-1]


def overriding(record: ModuleRecord, name: str, value: str) -> Configured | None:
    """The later ``options`` line that would override ``name=value`` in our file, if any.

    kmod reads modprobe.d files sorted by name across its directories and passes
    every ``options`` line in that order; the kernel keeps the last value of a
    parameter. So a line in a file sorting after ``kmodgui-<module>.conf`` (such
    as Debian's ``/lib/modprobe.d/systemd.conf``) that sets the same parameter
    to another value wins over ours.
    """
    ours = own_config_name(record.name)
    last: Configured | None = None
    for setting in record.settings_of("options"):
        if _file_name(setting.source) <= ours:
            continue
        for word in split_options(setting.value):
            key, sep, found = word.partition("=")
            if key.replace("-", "_") == name:
                last = Configured(found.strip('"') if sep else "", setting.source)
    return last if last is not None and last.value != value else None


def overridden_ours(record: ModuleRecord) -> dict[str, tuple[Configured, Configured]]:
    """Parameter → (our value, the later line overriding it), for values we set in vain."""
    ours = own_config_name(record.name)
    result: dict[str, tuple[Configured, Configured]] = {}
    for setting in record.settings_of("options"):
        if _file_name(setting.source) != ours:
            continue
        for word in split_options(setting.value):
            key, sep, value = word.partition("=")
            mine = Configured(value.strip('"') if sep else "", setting.source)
            key = key.replace("-", "_")
            winner = overriding(record, key, mine.value)
            if winner is not None:
                result[key] = (mine, winner)
            else:
                result.pop(key, None)
    return result


class ParameterModel(QAbstractTableModel):
    """The parameters of one record.

    Signals:
        edit_requested(str module, str parameter, str value): the user edited a value.
    """

    edit_requested = Signal(str, str, str)
    VALUE = 2

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._record: ModuleRecord | None = None
        self._params: list[Parameter] = []
        self._configured: dict[str, Configured] = {}
        self._overridden: dict[str, tuple[Configured, Configured]] = {}
        self._pending: dict[str, str] = {}
        self.editable = True  # False when no helper can apply edits

    def set_record(self, record: ModuleRecord | None) -> None:
        self.beginResetModel()
        same = (record is not None and self._record is not None
                and record.name == self._record.name)
        self._record = record
        self._params = sorted(record.parameters, key=lambda p: p.name) if record else []
        self._configured = configured_values(record) if record else {}
        self._overridden = overridden_ours(record) if record else {}
        if not same:
            self._pending = {}
        else:
            live = {p.name: p.value for p in self._params}
            self._pending = {k: v for k, v in self._pending.items() if live.get(k) != v}
        self.endResetModel()

    def clear_pending(self, name: str) -> None:
        if self._pending.pop(name, None) is not None:
            self._changed(name)

    def _changed(self, name: str) -> None:
        for row, param in enumerate(self._params):
            if param.name == name:
                self.dataChanged.emit(self.index(row, 0), self.index(row, 4))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._params)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else PARAM_COLUMNS

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < PARAM_COLUMNS):
            return (QCoreApplication.translate("ParameterModel", "Name"),
                    QCoreApplication.translate("ParameterModel", "Type"),
                    QCoreApplication.translate("ParameterModel", "Value"),
                    QCoreApplication.translate("ParameterModel", "Configured"),
                    QCoreApplication.translate("ParameterModel", "Description"))[section]
        return None

    def is_editable(self, param: Parameter) -> bool:
        return (self.editable and self._record is not None and self._record.loaded
                and param.writable)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == self.VALUE and self.is_editable(self._params[index.row()]):
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._params):
            return None
        param = self._params[index.row()]
        column = index.column()
        if role == PARAMETER_ROLE:
            return param
        if role == Qt.ItemDataRole.EditRole and column == self.VALUE:
            return self._pending.get(param.name, param.value or "")
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(param, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 3 and param.name in self._overridden:
                mine, winner = self._overridden[param.name]
                return QCoreApplication.translate(
                    "ParameterModel", "%1 sets %2, but it is overridden by %3, which comes "
                    "later and sets %4: the kernel takes the last value.").replace(
                    "%4", winner.value).replace("%3", str(winner.source)).replace(
                    "%2", mine.value).replace("%1", str(mine.source))
            if column == 3 and param.name in self._configured:
                return str(self._configured[param.name].source)
            if column == self.VALUE and self.is_editable(param):
                return QCoreApplication.translate("ParameterModel",
                                                  "Double-click to change the live value")
            return self._display(param, column) or None
        return None

    def _display(self, param: Parameter, column: int) -> str:
        if column == 0:
            return param.name
        if column == 1:
            return param.type or ""
        if column == self.VALUE:
            if param.name in self._pending:
                return QCoreApplication.translate("ParameterModel", "%1 (applying…)").replace(
                    "%1", self._pending[param.name])
            if param.hidden:
                return QCoreApplication.translate("ParameterModel", "(readable by root only)")
            if param.value is None:
                return ""
            return param.value
        if column == 3:
            conf = self._configured.get(param.name)
            if conf is None:
                return ""
            text = f"{conf.value}  ({_file_name(conf.source)}:{conf.source.line})"
            if param.name in self._overridden:
                mine, winner = self._overridden[param.name]
                text = QCoreApplication.translate(
                    "ParameterModel", "%1  (%2 in %3 overridden by %4)").replace(
                    "%4", f"{_file_name(winner.source)}:{winner.source.line}").replace(
                    "%3", f"{_file_name(mine.source)}:{mine.source.line}").replace(
                    "%2", mine.value).replace("%1", conf.value)
            return text
        if column == 4:
            return param.description or ""
        return ""

    def setData(self, index: Index, value: object,
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (role != Qt.ItemDataRole.EditRole or not index.isValid()
                or index.column() != self.VALUE or self._record is None):
            return False
        param = self._params[index.row()]
        text = str(value)
        if not self.is_editable(param) or text == (param.value or ""):
            return False
        self._pending[param.name] = text
        self.dataChanged.emit(index, index)
        self.edit_requested.emit(self._record.name, param.name, text)
        return True

    def parameter(self, row: int) -> Parameter | None:
        return self._params[row] if 0 <= row < len(self._params) else None

    @property
    def record(self) -> ModuleRecord | None:
        return self._record


class ParameterDelegate(QStyledItemDelegate):
    """Editors by parameter type: bool → Y/N choice, integers → spin box, else text."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: Index) -> QWidget:
        param = index.data(PARAMETER_ROLE)
        kind = (param.type or "") if isinstance(param, Parameter) else ""
        if kind in ("bool", "invbool"):
            combo = QComboBox(parent)
            combo.addItems(["Y", "N"])
            return combo
        if kind in INT_RANGES and kind not in ("long", "ulong", "ullong", "uint", "hexint"):
            spin = QSpinBox(parent)
            low, high = INT_RANGES[kind]
            spin.setRange(low, high)
            return spin
        return super().createEditor(parent, option, index)

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        text = str(index.data(Qt.ItemDataRole.EditRole) or "")
        if isinstance(editor, QComboBox):
            editor.setCurrentText("Y" if text.upper() in ("Y", "1") else "N")
        elif isinstance(editor, QSpinBox):
            try:
                editor.setValue(int(text, 0))
            except ValueError:
                editor.setValue(0)
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentText())
        elif isinstance(editor, QSpinBox):
            model.setData(index, str(editor.value()))
        else:
            super().setModelData(editor, model, index)


class ParametersTab(QWidget):
    """Table of parameters plus "make permanent" for the selected one.

    Signals:
        set_parameter_requested(str module, str parameter, str value)
        make_permanent_requested(str module, dict values)
    """

    set_parameter_requested = Signal(str, str, str)
    make_permanent_requested = Signal(str, dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ParameterModel(self)
        self.model.edit_requested.connect(self.set_parameter_requested)
        self.table = plain_table(QTableView(), "parameterTable")
        self.table.setModel(self.model)
        self.table.setItemDelegate(ParameterDelegate(self.table))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        header = self.table.horizontalHeader()
        header.resizeSection(0, 150)
        header.resizeSection(1, 80)
        header.resizeSection(2, 110)
        header.resizeSection(3, 160)
        self.empty = QLabel(self.tr("This module has no parameters."))
        self.empty.setObjectName("parametersEmpty")
        self.permanent_button = QPushButton(self.tr("Make permanent"))
        self.permanent_button.setObjectName("makePermanentButton")
        self.permanent_button.setToolTip(self.tr(
            "Write the current value to the module's options file so it applies at every load"))
        self.permanent_button.setEnabled(False)
        self.permanent_button.clicked.connect(self._make_permanent)
        # Said after "Make permanent" when a later modprobe.d line will override the value.
        self.override_note = QLabel()
        self.override_note.setObjectName("parameterOverrideNote")
        self.override_note.setWordWrap(True)
        self.override_note.hide()
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.model.modelReset.connect(self._update_buttons)
        buttons = QHBoxLayout()
        buttons.addWidget(self.empty)
        buttons.addStretch(1)
        buttons.addWidget(self.permanent_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.override_note)
        layout.addLayout(buttons)

    def show_record(self, record: ModuleRecord | None) -> None:
        current = self.model.record
        if record is None or current is None or record.name != current.name:
            self.override_note.hide()
        self.model.set_record(record)
        self.empty.setVisible(record is not None and not record.parameters)

    def selected_parameter(self) -> Parameter | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.parameter(rows[0].row()) if rows else None

    def _update_buttons(self, *_args: object) -> None:
        param = self.selected_parameter()
        self.permanent_button.setEnabled(
            self.model.editable and param is not None and param.value is not None
            and not param.hidden)

    def _make_permanent(self) -> None:
        param = self.selected_parameter()
        record = self.model.record
        if param is None or record is None or param.value is None:
            return
        winner = overriding(record, param.name, param.value)
        if winner is None:
            self.override_note.hide()
        else:
            self.override_note.setText(self.tr(
                "%1 will be written to %2, but %3 comes later and sets %4, so the module "
                "will get %4 at its next load. Change or remove that line to use %1.").replace(
                "%4", f"{param.name}={winner.value}").replace(
                "%3", str(winner.source)).replace(
                "%2", own_config_name(record.name)).replace("%1", f"{param.name}={param.value}"))
            self.override_note.show()
        self.make_permanent_requested.emit(record.name, {param.name: param.value})
