"""The failure dialog: a plain explanation, the next step, and the kernel's own lines."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kmodgui.client.errors import Explanation
from kmodgui.ui.widgets import match_button_icons


class ErrorDialog(QDialog):
    """Shows one explanation; ``chosen_action`` is set when the user takes the offered step."""

    def __init__(self, explanation: Explanation, kernel_log: list[str], detail: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorDialog")
        self.setWindowTitle(explanation.title)
        self.explanation = explanation
        self.chosen_action = ""
        layout = QVBoxLayout(self)
        title = QLabel(f"<b>{explanation.title}</b>")
        layout.addWidget(title)
        text = QLabel(explanation.text)
        text.setObjectName("errorText")
        text.setWordWrap(True)
        layout.addWidget(text)
        step = QLabel(explanation.next_step)
        step.setObjectName("errorNextStep")
        step.setWordWrap(True)
        layout.addWidget(step)
        if detail and detail not in explanation.text:
            message = QLabel(detail)
            message.setObjectName("errorMessage")
            message.setWordWrap(True)
            layout.addWidget(message)
        if kernel_log:
            layout.addWidget(QLabel(self.tr("The kernel said:")))
            log = QPlainTextEdit("\n".join(kernel_log))
            log.setObjectName("errorKernelLog")
            log.setReadOnly(True)
            log.setMaximumHeight(140)
            layout.addWidget(log)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.action_button: QPushButton | None = None
        labels = {
            "load-dependencies": self.tr("Load with dependencies"),
            "unload-holders": self.tr("Unload those first"),
        }
        if explanation.action in labels:
            self.action_button = buttons.addButton(labels[explanation.action],
                                                   QDialogButtonBox.ButtonRole.AcceptRole)
            self.action_button.setObjectName("errorActionButton")
            match_button_icons(buttons, self.action_button)
            buttons.accepted.connect(self._take_action)
        layout.addWidget(buttons)
        self.setMinimumWidth(440)

    def _take_action(self) -> None:
        self.chosen_action = self.explanation.action
        self.accept()
