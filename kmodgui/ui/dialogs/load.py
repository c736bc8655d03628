"""Load confirmation: what modprobe will load with the module, optionally with parameters."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from kmodgui.core.records import ModuleRecord
from kmodgui.ui.dialogs.params_form import ParameterForm
from kmodgui.ui.plan import PlanStep
from kmodgui.ui.widgets import list_height, match_button_icons


class LoadDialog(QDialog):
    """Shows the load plan (dependencies first) and, if asked, the parameter form.

    ``plan`` is what modprobe will do, in order (the core's dependency order);
    ``problem`` is why the plan could not be worked out, if it could not.
    """

    def __init__(self, record: ModuleRecord, plan: Sequence[PlanStep], *,
                 problem: str = "", with_parameters: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("loadDialog")
        self.record = record
        self.setWindowTitle(self.tr("Load %1").replace("%1", record.name))
        layout = QVBoxLayout(self)
        extra = [s.name for s in plan if s.name != record.name and not s.present]
        if problem == "blacklisted":
            intro = self.tr("%1 is blacklisted: modprobe would do nothing.").replace(
                "%1", record.name)
        elif problem:
            intro = problem
        elif extra:
            intro = self.tr("Loading %1 also loads these modules it needs:").replace(
                "%1", record.name)
        else:
            intro = self.tr("%1 needs no other modules.").replace("%1", record.name)
        heading = QLabel(intro)
        heading.setWordWrap(True)
        layout.addWidget(heading)
        self.plan_list = QListWidget()
        self.plan_list.setObjectName("loadPlan")
        for step in plan:
            if step.present:
                self.plan_list.addItem(self.tr("%1 (already there)").replace("%1", step.name))
            elif step.action == "install":
                self.plan_list.addItem(self.tr("%1 (a configured command runs instead)"
                                               ).replace("%1", step.name))
            else:
                self.plan_list.addItem(step.name)
        self.plan_list.setFixedHeight(list_height(self.plan_list,
                                                  min(self.plan_list.count(), 5)))
        layout.addWidget(self.plan_list)
        self.form: ParameterForm | None = None
        if with_parameters:
            layout.addWidget(QLabel(self.tr("Parameters (only the ones you change are passed):")))
            self.form = ParameterForm(record.parameters)
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setWidget(self.form)
            scroll.setMinimumHeight(min(60 + 32 * len(record.parameters), 360))
            layout.addWidget(scroll, 1)
        self.error = QLabel()
        self.error.setObjectName("loadDialogError")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.load_button = buttons.addButton(self.tr("Load"),
                                             QDialogButtonBox.ButtonRole.AcceptRole)
        self.load_button.setObjectName("confirmLoadButton")
        self.load_button.setDefault(True)
        match_button_icons(buttons, self.load_button)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(460, 420 if with_parameters else 300)

    def params(self) -> list[str]:
        return self.form.values() if self.form is not None else []

    def _accept(self) -> None:
        if self.form is not None:
            bad = self.form.invalid()
            if bad:
                self.error.setText(self.tr("Check these values: %1").replace(
                    "%1", ", ".join(bad)))
                self.error.show()
                return
        self.accept()
