"""Find the privileged helper for the window: a :class:`~kmodgui.client.qt.QtClient`, or None.

Without a helper (not installed, no system bus, or another root given with
``-b``), :func:`connect_helper` returns None and the window works read-only.
"""

from __future__ import annotations

from PySide6.QtDBus import QDBusConnection

from kmodgui.client.qt import QtClient
from kmodgui.client.requests import SERVICE
from kmodgui.core.paths import Root


def helper_available(connection: QDBusConnection) -> bool:
    """The helper runs, or the bus can start it."""
    interface = connection.interface()
    if not connection.isConnected() or interface is None:
        return False
    names = interface.call("ListActivatableNames").arguments()
    if names and SERVICE in (names[0] or []):
        return True
    owner = interface.call("NameHasOwner", SERVICE).arguments()
    return bool(owner and owner[0])


def connect_helper(root: Root, connection: QDBusConnection | None = None) -> QtClient | None:
    """A helper client for the window, or None when there is no helper to talk to.

    Only the running system can be changed: for another root (``-b``) the
    window is read-only. The window asks for the capabilities itself.
    """
    if not root.is_host:
        return None
    connection = connection if connection is not None else QDBusConnection.systemBus()
    if not helper_available(connection):
        return None
    return QtClient(connection)
