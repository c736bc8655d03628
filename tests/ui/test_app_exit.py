"""The process exits with code 0 however the window is closed, and never crashes at exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from kmodgui.core.paths import Root

DRIVER = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from kmodgui.ui.app import application
    how = sys.argv[1]
    app = application()

    def act():
        window = next(w for w in QApplication.topLevelWidgets()
                      if w.objectName() == "mainWindow" and w.isVisible())
        print("shown", flush=True)
        if how == "close":
            window.close()
        elif how == "quit-shortcut":
            from PySide6.QtTest import QTest
            from PySide6.QtCore import Qt
            window.activateWindow()
            QTest.qWaitForWindowActive(window)
            QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)

    def poll():
        if any(w.objectName() == "mainWindow" and w.isVisible()
               for w in QApplication.topLevelWidgets()):
            act()
        else:
            QTimer.singleShot(50, poll)

    QTimer.singleShot(50, poll)
    from kmodgui.cli import main
    sys.exit(main(sys.argv[2:]))
""")


def start(root: Root, how: str) -> subprocess.Popen[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, how, "gui", "-b", str(root.base), "-k", root.release,
         "--read-only"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.parametrize("how", ["close", "quit-shortcut", "SIGTERM", "SIGINT"])
def test_exit_code_is_zero(live_root: Root, how: str) -> None:
    proc = start(live_root, how)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "shown"
        if how.startswith("SIG"):
            proc.send_signal(getattr(signal, how))
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Fatal" not in err and "Traceback" not in err, err


def test_gui_without_pyside_says_one_clear_line(live_root: Root) -> None:
    code = ("import sys; sys.modules['PySide6'] = None; sys.modules['PySide6.QtWidgets'] = None\n"
            "from kmodgui.cli import main\n"
            f"sys.exit(main(['-b', {str(live_root.base)!r}, '-k', {live_root.release!r}]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "PySide6" in lines[0] and "Traceback" not in proc.stderr


def test_gui_on_a_root_without_modules(tmp_path: object) -> None:
    proc = subprocess.run([sys.executable, "-m", "kmodgui", "-b", str(tmp_path), "-k", "1.2.3"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 1
    assert "no modules for kernel 1.2.3" in proc.stderr
