"""The system model: everything kmodgui knows about kernel modules, without Qt.

Readers take a :class:`~kmodgui.core.paths.Root` so that a mounted image, a
test tree or another kernel release can be inspected like the running system.
"""
