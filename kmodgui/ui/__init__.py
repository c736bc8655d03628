"""The Kernel Modules window (PySide6): pages on a side bar over :mod:`kmodgui.core`.

Nothing here is imported by the core or the command line; ``kmodgui gui``
imports :mod:`kmodgui.ui.app` lazily so the rest of the tool works without Qt.
"""
