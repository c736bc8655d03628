"""A form built from a module's parameter types, for "load with parameters".

bool → check box, small integers → spin box with the type's range, wide
integers → text with an integer check, strings → text, arrays → a
comma-separated list. Only the fields the user changes are passed on.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel, QLineEdit, QSpinBox, QWidget

from kmodgui.core.records import Parameter
from kmodgui.ui.details.parameters import INT_RANGES
from kmodgui.ui.widgets import aligned_form

SPIN_TYPES = ("byte", "short", "ushort", "int")   # ranges that fit a QSpinBox
INTEGER = r"[-+]?(0[xX][0-9a-fA-F]+|[0-9]+)"
SAFE_VALUE = re.compile(r"[^\x00-\x1f\x7f]*")


def element_type(parmtype: str | None) -> tuple[str, bool]:
    """``array of int`` → (``int``, True); ``charp`` → (``charp``, False)."""
    kind = (parmtype or "").strip()
    if kind.startswith("array of "):
        return kind.removeprefix("array of ").strip(), True
    return kind, False


def format_param(name: str, value: str) -> str:
    """``name=value`` as modprobe passes it; values with spaces are quoted for the kernel."""
    if any(ch.isspace() for ch in value) and not (value.startswith('"') and value.endswith('"')):
        value = f'"{value}"'
    return f"{name}={value}"


class ParameterForm(QWidget):
    """One field per parameter; :meth:`values` returns the ones the user set."""

    def __init__(self, parameters: list[Parameter], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form: QFormLayout = aligned_form()
        self.setLayout(self.form)
        self.fields: dict[str, QWidget] = {}
        self._touched: set[str] = set()
        for param in sorted(parameters, key=lambda p: p.name):
            field = self._field(param)
            field.setObjectName(f"param_{param.name}")
            tip = param.description or ""
            if param.type:
                tip = f"{tip}\n({param.type})" if tip else f"({param.type})"
            field.setToolTip(tip)
            label = QLabel(param.name + ":")
            label.setToolTip(tip)
            self.form.addRow(label, field)
            self.fields[param.name] = field
        if not parameters:
            self.form.addRow(QLabel(self.tr("This module has no parameters.")))

    def _touch(self, name: str) -> None:
        self._touched.add(name)

    def _field(self, param: Parameter) -> QWidget:
        kind, is_array = element_type(param.type)
        name = param.name
        if not is_array and kind in ("bool", "invbool"):
            box = QCheckBox(self.tr("enabled"))
            box.setChecked((param.value or "").upper() in ("Y", "1"))
            box.toggled.connect(lambda _on, n=name: self._touch(n))
            return box
        if not is_array and kind in SPIN_TYPES:
            spin = QSpinBox()
            low, high = INT_RANGES[kind]
            spin.setRange(low, high)
            try:
                spin.setValue(int(param.value or "0", 0))
            except ValueError:
                spin.setValue(0)
            spin.valueChanged.connect(lambda _v, n=name: self._touch(n))
            return spin
        edit = QLineEdit()
        if kind in INT_RANGES:
            pattern = INTEGER if not is_array else f"{INTEGER}(,{INTEGER})*"
            edit.setValidator(QRegularExpressionValidator(QRegularExpression(pattern), edit))
        if is_array:
            edit.setPlaceholderText(self.tr("comma-separated list of %1").replace("%1", kind))
        elif param.value:
            edit.setPlaceholderText(param.value)
        edit.textEdited.connect(lambda _t, n=name: self._touch(n))
        return edit

    def values(self) -> list[str]:
        """``name=value`` strings for the fields the user changed, in form order."""
        out: list[str] = []
        for name, field in self.fields.items():
            if name not in self._touched:
                continue
            if isinstance(field, QCheckBox):
                value = "Y" if field.isChecked() else "N"
            elif isinstance(field, QSpinBox):
                value = str(field.value())
            elif isinstance(field, QLineEdit):
                value = field.text().strip()
                if not value:
                    continue
            else:
                continue
            out.append(format_param(name, value))
        return out

    def invalid(self) -> list[str]:
        """Names of fields whose text fails their type check or holds control characters."""
        bad: list[str] = []
        for name, field in self.fields.items():
            if isinstance(field, QLineEdit) and field.text():
                if not field.hasAcceptableInput() or not SAFE_VALUE.fullmatch(field.text()):
                    bad.append(name)
        return bad
