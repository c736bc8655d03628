"""kmodgui's privileged helper: the D-Bus service ``org.kmodgui.Helper1``.

The only part of kmodgui that runs as root. It validates what it is sent, asks
polkit about the caller, then does exactly one well-defined thing.
"""

from kmodgui import __version__

BUS_NAME = "org.kmodgui.Helper1"
OBJECT_PATH = "/org/kmodgui/Helper1"
INTERFACE = "org.kmodgui.Helper1"

__all__ = ["BUS_NAME", "INTERFACE", "OBJECT_PATH", "__version__"]
