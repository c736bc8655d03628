"""Application setup: the QApplication, palette, icon, signals, and a clean exit.

The process must end with exit code 0 however the window is closed (close
button, Ctrl+Q, SIGTERM from the session, Ctrl+C in a terminal), and without
crashing in interpreter teardown: the window is shut down and deleted while
Qt still runs.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from kmodgui.core.paths import Root
from kmodgui.ui.operations import HelperClient

APP_ID = "org.kmodgui.KernelModules"
ICON_FILE = Path(__file__).with_name(f"{APP_ID}.svg")


def application(argv: list[str] | None = None) -> QApplication:
    """The one QApplication, created on first use with our names and icon."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("kmodgui")
    app.setApplicationDisplayName(QCoreApplication.translate("App", "Kernel Modules"))
    app.setOrganizationDomain("kmodgui.org")
    QGuiApplication.setDesktopFileName(APP_ID)
    icon = QIcon.fromTheme(APP_ID)
    if icon.isNull() and ICON_FILE.exists():
        icon = QIcon(str(ICON_FILE))
    app.setWindowIcon(icon)
    return app


def apply_palette(app: QApplication, scheme: str) -> None:
    """Force a light or dark palette (screenshots); ``system`` keeps the platform's."""
    if scheme == "system":
        return
    app.setStyle("Fusion")
    palette = QPalette()
    if scheme == "dark":
        colors = {
            QPalette.ColorRole.Window: "#2b2d30", QPalette.ColorRole.WindowText: "#e6e6e6",
            QPalette.ColorRole.Base: "#1f2023", QPalette.ColorRole.AlternateBase: "#26282b",
            QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#34373b",
            QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.Highlight: "#3d7cc9",
            QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase:
            "#34373b", QPalette.ColorRole.ToolTipText: "#e6e6e6",
            QPalette.ColorRole.PlaceholderText: "#8c8f94", QPalette.ColorRole.Link: "#6aa7ec",
            QPalette.ColorRole.Mid: "#45484d", QPalette.ColorRole.Dark: "#1a1b1d",
            QPalette.ColorRole.Light: "#4a4d52", QPalette.ColorRole.Midlight: "#3c3f44",
        }
        for role, color in colors.items():
            palette.setColor(role, QColor(color))
        disabled = QPalette.ColorGroup.Disabled
        for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                     QPalette.ColorRole.WindowText):
            palette.setColor(disabled, role, QColor("#7a7d82"))
    else:
        palette = app.style().standardPalette()
    app.setPalette(palette)


def _install_signal_handlers(app: QApplication) -> QTimer:
    """SIGINT/SIGTERM quit the event loop normally (exit code 0)."""
    def quit_app(_signum: int, _frame: Any) -> None:
        app.quit()

    signal.signal(signal.SIGINT, quit_app)
    signal.signal(signal.SIGTERM, quit_app)
    # Python runs signal handlers only between bytecodes: wake it up now and then.
    timer = QTimer()
    timer.start(250)
    timer.timeout.connect(lambda: None)
    return timer


def run(root: Root, client: HelperClient | None = None, *,
        capabilities: dict[str, Any] | None = None, palette: str = "system",
        on_shown: Callable[[Any], None] | None = None) -> int:
    """Open the window on ``root`` and run until it is closed; the exit code."""
    from kmodgui.ui.window import MainWindow

    app = application()
    apply_palette(app, palette)
    timer = _install_signal_handlers(app)
    window = MainWindow(root, client, capabilities=capabilities)
    window.show()
    if on_shown is not None:
        on_shown(window)
    code = app.exec()
    window.shutdown()
    timer.stop()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, 0)
    del window
    return code
