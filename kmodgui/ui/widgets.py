"""Small widget helpers shared by pages: aligned forms, selectable labels, theme icons."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyle,
    QTableView,
    QWidget,
)


def value_label(parent: QWidget | None = None) -> QLabel:
    """A read-only value in a form: wraps, selectable with mouse and keyboard."""
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                  | Qt.TextInteractionFlag.TextSelectableByKeyboard)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    return label


def aligned_form() -> QFormLayout:
    """A form with labels right-aligned beside their values, as settings panels have."""
    form = QFormLayout()
    form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
    form.setFormAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
    form.setHorizontalSpacing(12)
    form.setVerticalSpacing(6)
    return form


def theme_icon(widget: QWidget, names: tuple[str, ...],
               fallback: QStyle.StandardPixmap) -> QIcon:
    """The first icon of the system theme among ``names``, else a style icon."""
    for name in names:
        if QIcon.hasThemeIcon(name):
            return QIcon.fromTheme(name)
    return widget.style().standardIcon(fallback)


def match_button_icons(box: QDialogButtonBox, button: QPushButton,
                       names: tuple[str, ...] = ("dialog-ok", "dialog-ok-apply")) -> None:
    """Where the style puts icons on dialog buttons (Cancel gets one), give our own
    accept button one too, so the row of buttons looks alike."""
    if box.style().styleHint(QStyle.StyleHint.SH_DialogButtonBox_ButtonsHaveIcons):
        button.setIcon(theme_icon(button, names, QStyle.StandardPixmap.SP_DialogOkButton))


def list_height(view: QAbstractItemView, rows: int) -> int:
    """The height showing exactly ``rows`` rows of ``view`` (no row cut in half)."""
    row = view.sizeHintForRow(0) if view.model() and view.model().rowCount() else (
        view.fontMetrics().height() + 4)
    return row * max(rows, 1) + 2 * view.frameWidth()


def plain_table(view: QTableView, name: str) -> QTableView:
    """A read-mostly table as settings panels show them: row selection, compact rows."""
    view.setObjectName(name)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setWordWrap(False)
    view.setShowGrid(False)
    view.setAlternatingRowColors(True)
    header = view.horizontalHeader()
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return view


def shown_path(base: os.PathLike[str] | str, path: str) -> str:
    """A path as the inspected system sees it: ``/lib/...`` rather than ``<base>/lib/...``."""
    base_text = os.fspath(base).rstrip("/")
    if base_text and path.startswith(base_text + "/"):
        return path[len(base_text):]
    return path
