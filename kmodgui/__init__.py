"""kmodgui: Kernel Modules, a settings applet for Linux kernel modules."""

__version__ = "0.1.0"
