"""``kmodgui`` with no arguments opens the window even where the kernel has no modules."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from kmodgui.core.paths import Root

CLOSE_WHEN_SHOWN = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from kmodgui.ui.app import application
    app = application()

    def poll():
        windows = [w for w in QApplication.topLevelWidgets()
                   if w.objectName() == "mainWindow" and w.isVisible()]
        if windows:
            print("shown", flush=True)
            windows[0].close()
        else:
            QTimer.singleShot(50, poll)

    QTimer.singleShot(50, poll)
    from kmodgui.cli import main
    sys.exit(main(["--read-only"] if len(sys.argv) < 2 else sys.argv[1:]))
""")


def test_bare_kmodgui_opens_the_window_on_the_running_system() -> None:
    proc = subprocess.run([sys.executable, "-c", CLOSE_WHEN_SHOWN], capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["shown"]
    host = Root()
    if not host.modules_dir.is_dir() and not host.proc_modules.exists():
        assert f"no modules for kernel {host.release} under /" in proc.stderr
    assert "Traceback" not in proc.stderr
