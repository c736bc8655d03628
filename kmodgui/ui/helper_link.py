"""Connect the window to the privileged helper through :mod:`kmodgui.client`.

The window's operations need one thing from a client: ``call(method, args,
on_reply, on_error)`` with the outcome delivered on the GUI thread (see
:class:`~kmodgui.ui.operations.HelperClient`). :class:`WindowClient` gives it
over :class:`kmodgui.client.HelperClient`'s asynchronous calls (QtDBus,
interactive authorization allowed, a long timeout for the password dialog).
Without a helper, :func:`connect_helper` returns None and the window works
read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtDBus import QDBusConnection

from kmodgui import client as helper_client
from kmodgui.core.paths import Root
from kmodgui.ui.operations import CallError, ErrorCallback, ReplyCallback


def request_for(method: str, args: Sequence[Any]) -> helper_client.Request:
    """The client's request for one of the window's calls; ValueError if it is not one."""
    try:
        if method == "GetCapabilities" and not args:
            return helper_client.get_capabilities()
        if method == "Load":
            module, params, _options = args
            return helper_client.load(str(module), [str(p) for p in params])
        if method == "Unload":
            module, options = args
            return helper_client.unload(str(module), force=bool(options.get("force")),
                                        dependencies=bool(options.get("dependencies")))
        if method == "InsertFile":
            fd, params, _options = args
            return helper_client.insert_file(int(fd), [str(p) for p in params])
        if method == "SetParameter":
            module, parameter, value, _options = args
            return helper_client.set_parameter(str(module), str(parameter), str(value))
        if method == "SetPersistentOptions":
            module, params, _options = args
            return helper_client.set_persistent_options(
                str(module), {str(k): str(v) for k, v in dict(params).items()})
        if method == "SetBlacklist":
            module, mode, _options = args
            return helper_client.set_blacklist(str(module), str(mode))
        if method == "SetLoadAtBoot":
            module, enabled, _options = args
            return helper_client.set_load_at_boot(str(module), bool(enabled))
        if method == "RebuildIndex":
            release, _options = args
            return helper_client.rebuild_index(str(release))
    except (TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"bad arguments for {method}: {exc}") from exc
    raise ValueError(f"unknown helper method {method!r}")


def _result_dict(result: object) -> dict[str, Any]:
    if isinstance(result, helper_client.HelperResult):
        return dict(result.values)
    return dict(result) if isinstance(result, dict) else {}


class WindowClient:
    """:class:`~kmodgui.ui.operations.HelperClient` over :class:`kmodgui.client.HelperClient`."""

    def __init__(self, client: helper_client.HelperClient) -> None:
        self.client = client

    def call(self, method: str, args: Sequence[Any], on_reply: ReplyCallback,
             on_error: ErrorCallback) -> None:
        pending = self.client.start(request_for(method, args))

        def failed(error: object) -> None:
            name = getattr(error, "name", "org.kmodgui.Error.Failed")
            on_error(CallError(str(name), str(getattr(error, "message", error)),
                               [str(line) for line in getattr(error, "kernel_log", [])]))

        if pending.done:  # failed at once (no bus connection)
            if pending.error is not None:
                failed(pending.error)
            else:
                on_reply(_result_dict(pending.result))
            return
        pending.succeeded.connect(lambda result: on_reply(_result_dict(result)))
        pending.failed.connect(failed)


def helper_available(connection: QDBusConnection) -> bool:
    """The helper runs, or the bus can start it."""
    interface = connection.interface()
    if not connection.isConnected() or interface is None:
        return False
    names = interface.call("ListActivatableNames").arguments()
    if names and helper_client.SERVICE in (names[0] or []):
        return True
    owner = interface.call("NameHasOwner", helper_client.SERVICE).arguments()
    return bool(owner and owner[0])


def connect_helper(root: Root, connection: QDBusConnection | None = None
                   ) -> WindowClient | None:
    """A helper client for the window, or None when there is no helper to talk to.

    Only the running system can be changed: for another root (``-b``) the
    window is read-only. The window asks for the capabilities itself.
    """
    if not root.is_host:
        return None
    connection = connection if connection is not None else QDBusConnection.systemBus()
    if not helper_available(connection):
        return None
    return WindowClient(helper_client.HelperClient(connection))
