"""The helper's client: typed Python calls for every method of ``org.kmodgui.Helper1``, on QtDBus.

The window uses the asynchronous calls (:meth:`HelperClient.start` and the
``*_async`` methods return a :class:`HelperCall` whose ``succeeded`` /
``failed`` signals arrive on the GUI thread); the command line uses the
blocking ones, which run the same call in a local event loop. Calls that may
change the system allow interactive authorisation (a polkit password dialog)
and wait up to 25 minutes for it.

PySide6 cannot read a ``QDBusArgument`` from Python, and QtDBus decodes an
``a{sv}`` reply into a dict only when it delivers a call to a slot. So a
successful reply is handed on, unchanged, over a private in-process peer
connection to :class:`_Demarshaller`'s slot, where QtDBus decodes it.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    SLOT,
    QCoreApplication,
    QDeadlineTimer,
    QEventLoop,
    QMetaType,
    QObject,
    Signal,
    Slot,
)
from PySide6.QtDBus import (
    QDBusArgument,
    QDBusConnection,
    QDBusError,
    QDBusMessage,
    QDBusPendingCallWatcher,
    QDBusServer,
    QDBusUnixFileDescriptor,
)

from kmodgui.core.errors import KmodguiError

SERVICE = "org.kmodgui.Helper1"
PATH = "/org/kmodgui/Helper1"
INTERFACE = "org.kmodgui.Helper1"
ERROR_PREFIX = "org.kmodgui.Error."
INTERACTIVE_TIMEOUT_MS = 25 * 60 * 1000  # the polkit dialog may stay open a long time
QUICK_TIMEOUT_MS = 30 * 1000
NOT_INSTALLED = ("org.freedesktop.DBus.Error.ServiceUnknown",
                 "org.freedesktop.DBus.Error.NameHasNoOwner")
NOT_AUTHORIZED = ("org.kmodgui.Error.NotAuthorized",
                  "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
                  "org.freedesktop.DBus.Error.AccessDenied")

HINTS = {
    "NotAuthorized": "Ask an administrator, or authenticate as one when asked.",
    "InteractiveAuthorizationRequired": "Run it again from a session with a polkit "
                                        "authentication agent (or a terminal).",
    "Busy": "Another change is in progress; try again when it has finished.",
    "InUse": "Unload the modules that use it first (or unload with its dependencies).",
    "UnknownSymbol": "Load the modules it depends on first; the kernel log names the "
                     "missing symbols.",
    "InvalidModule": "The file is not a module for the running kernel (wrong kernel "
                     "version or format).",
    "InvalidParameter": "Check the parameter names and values (kmodgui info MODULE lists "
                        "them).",
    "SignatureRejected": "The kernel only accepts signed modules: sign it with a key the "
                         "kernel trusts.",
    "LockedDown": "The kernel is in lockdown mode (often because of Secure Boot).",
    "ModulesDisabled": "Module loading was switched off until the next reboot "
                       "(kernel.modules_disabled).",
    "Disconnected": "Is the system bus (dbus-daemon) running? The helper is reached over it.",
    "ServiceUnknown": "The kmodgui helper is not installed: run 'make -C packaging install' "
                      "as root (see the README).",
}


class HelperError(KmodguiError):
    """A failed helper call: the D-Bus error name, its message and the kernel's words."""

    def __init__(self, name: str, message: str, kernel_log: Sequence[str] = ()) -> None:
        short = name.rsplit(".", 1)[-1]
        super().__init__(message, hint=HINTS.get(short, ""), kernel_log=kernel_log)
        self.name = name

    @property
    def short_name(self) -> str:
        """``InUse`` for ``org.kmodgui.Error.InUse``."""
        return self.name.rsplit(".", 1)[-1]

    @property
    def not_installed(self) -> bool:
        """The helper is not installed (no activatable service of that name)."""
        return self.name in NOT_INSTALLED or self.name.startswith(
            "org.freedesktop.DBus.Error.Spawn.")

    @property
    def not_authorized(self) -> bool:
        return self.name in NOT_AUTHORIZED

    @property
    def dismissed(self) -> bool:
        """The user closed the password dialog instead of authenticating."""
        return self.name == "org.kmodgui.Error.NotAuthorized" and "dismissed" in self.message


@dataclass(frozen=True)
class HelperResult:
    """A successful call: the kernel's messages, the tool's output, the files changed."""

    kernel_log: list[str] = field(default_factory=list)
    output: str = ""
    files: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> HelperResult:
        return cls([str(x) for x in values.get("kernel-log", [])], str(values.get("output", "")),
                   [str(x) for x in values.get("files", [])], dict(values))


@dataclass(frozen=True)
class Request:
    """One method call: member, arguments as QtDBus must marshal them, the timeout."""

    member: str
    arguments: list[Any]
    timeout_ms: int = INTERACTIVE_TIMEOUT_MS
    interactive: bool = True


def _strings(items: Sequence[str]) -> QDBusArgument:
    """An ``as`` (a plain empty Python list would be marshalled as ``av``)."""
    arg = QDBusArgument()
    arg.beginArray(QMetaType(QMetaType.Type.QString))
    for item in items:
        arg.appendVariant(str(item))
    arg.endArray()
    return arg


def _string_map(items: Mapping[str, str]) -> QDBusArgument:
    """An ``a{ss}`` (a dict would be marshalled as ``a{sv}``)."""
    arg = QDBusArgument()
    arg.beginMap(QMetaType(QMetaType.Type.QString), QMetaType(QMetaType.Type.QString))
    for key, value in items.items():
        arg.beginMapEntry()
        arg.appendVariant(str(key))
        arg.appendVariant(str(value))
        arg.endMapEntry()
    arg.endMap()
    return arg


def _params(params: Sequence[str] | Mapping[str, str]) -> list[str]:
    if isinstance(params, Mapping):
        return [f"{k}={v}" for k, v in params.items()]
    return list(params)


# --- the requests, one per method --------------------------------------------------------

def get_capabilities() -> Request:
    return Request("GetCapabilities", [], QUICK_TIMEOUT_MS, interactive=False)


def load(module: str, params: Sequence[str] | Mapping[str, str] = ()) -> Request:
    return Request("Load", [module, _strings(_params(params)), {}])


def unload(module: str, *, dependencies: bool = False, force: bool = False) -> Request:
    options: dict[str, bool] = {}
    if dependencies:
        options["dependencies"] = True
    if force:
        options["force"] = True
    return Request("Unload", [module, options])


def insert_file(file: int | str | os.PathLike[str],
                params: Sequence[str] | Mapping[str, str] = ()) -> Request:
    """Load a module file; a path is opened read-only here, as the calling user."""
    if isinstance(file, int):
        descriptor = QDBusUnixFileDescriptor(file)
    else:
        fd = os.open(file, os.O_RDONLY | os.O_CLOEXEC)
        try:
            descriptor = QDBusUnixFileDescriptor(fd)  # duplicates the descriptor
        finally:
            os.close(fd)
    return Request("InsertFile", [descriptor, _strings(_params(params)), {}])


def set_parameter(module: str, parameter: str, value: str) -> Request:
    return Request("SetParameter", [module, parameter, value, {}])


def set_persistent_options(module: str, params: Mapping[str, str]) -> Request:
    return Request("SetPersistentOptions", [module, _string_map(params), {}])


def set_blacklist(module: str, mode: str) -> Request:
    return Request("SetBlacklist", [module, mode, {}])


def set_load_at_boot(module: str, enabled: bool) -> Request:
    return Request("SetLoadAtBoot", [module, bool(enabled), {}])


def rebuild_index(kernel_release: str) -> Request:
    return Request("RebuildIndex", [kernel_release, {}])


# --- decoding successful replies ----------------------------------------------------------

class _Demarshaller(QObject):
    """Turns an ``a{sv}`` QDBusArgument into a dict by letting QtDBus deliver it to a slot."""

    def __init__(self) -> None:
        super().__init__()
        self._pending: dict[str, tuple[Callable[[dict[str, Any]], None],
                                       Callable[[HelperError], None]]] = {}
        self._connections: list[QDBusConnection] = []
        self._server = QDBusServer(f"unix:tmpdir={tempfile.gettempdir()}", self)
        self._server.newConnection.connect(self._on_connection)
        self._name = f"kmodgui-demarshal-{uuid.uuid4().hex}"
        self._peer = QDBusConnection.connectToPeer(self._server.address(), self._name)
        deadline = QDeadlineTimer(5000)
        while not self._connections and not deadline.hasExpired():
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if not self._connections:
            raise HelperError("org.kmodgui.Error.Failed",
                              "could not set up the D-Bus reply decoder")

    def _on_connection(self, connection: QDBusConnection) -> None:
        self._connections.append(connection)
        connection.registerObject("/", self, QDBusConnection.RegisterOption.ExportAllSlots)

    @Slot(str, "QVariantMap")
    def take(self, token: str, value: dict[str, Any]) -> None:
        callbacks = self._pending.pop(token, None)
        if callbacks:
            callbacks[0](dict(value))

    @Slot(QDBusError, QDBusMessage)
    def _lost(self, error: QDBusError, sent: QDBusMessage) -> None:
        arguments = sent.arguments()
        callbacks = self._pending.pop(str(arguments[0]) if arguments else "", None)
        if callbacks:
            callbacks[1](HelperError("org.kmodgui.Error.Failed",
                                     f"could not decode the helper's reply: {error.message()}"))

    @Slot()
    def _delivered(self) -> None:
        """The decoder call returned (the value already went to :meth:`take`)."""

    def decode(self, argument: Any, done: Callable[[dict[str, Any]], None],
               failed: Callable[[HelperError], None]) -> None:
        if isinstance(argument, Mapping):  # already decoded (an empty reply, say)
            done(dict(argument))
            return
        token = uuid.uuid4().hex
        self._pending[token] = (done, failed)
        message = QDBusMessage.createMethodCall("", "/", "", "take")
        message.setArguments([token, argument])
        # PySide6 takes SLOT()'s str here, whatever its stubs say
        self._peer.callWithCallback(message, self, SLOT("_delivered()"),  # type: ignore[call-overload]
                                    SLOT("_lost(QDBusError,QDBusMessage)"), QUICK_TIMEOUT_MS)


_demarshaller: _Demarshaller | None = None


def _decoder() -> _Demarshaller:
    global _demarshaller  # one per process, made on first use
    if _demarshaller is None:
        _demarshaller = _Demarshaller()
    return _demarshaller


# --- calls --------------------------------------------------------------------------------

class HelperCall(QObject):
    """One call in flight. Signals: ``succeeded(result)``, ``failed(HelperError)``, ``finished()``.

    ``result`` is a :class:`HelperResult`, or a dict for ``GetCapabilities``.
    """

    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, request: Request, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self.result: HelperResult | dict[str, Any] | None = None
        self.error: HelperError | None = None
        self.done = False
        self._watcher: QDBusPendingCallWatcher | None = None

    def _watch(self, watcher: QDBusPendingCallWatcher) -> None:
        self._watcher = watcher
        watcher.finished.connect(self._on_reply)

    def _on_reply(self, watcher: QDBusPendingCallWatcher) -> None:
        try:
            self._handle_reply(watcher)
        except Exception as exc:  # never leave a caller waiting for a call that cannot end
            if not self.done:
                self._fail(HelperError("org.kmodgui.Error.Failed",
                                       f"could not read the helper's reply: {exc!r}"))

    def _handle_reply(self, watcher: QDBusPendingCallWatcher) -> None:
        reply = watcher.reply()
        watcher.deleteLater()
        self._watcher = None
        if reply.type() == QDBusMessage.MessageType.ErrorMessage:
            self._fail(error_from_reply(reply))
            return
        arguments = reply.arguments()
        if not arguments:
            self._fail(HelperError("org.kmodgui.Error.Failed", "the helper sent an empty reply"))
            return
        _decoder().decode(arguments[0], self._succeed, self._fail)

    def _succeed(self, values: dict[str, Any]) -> None:
        if self.request.member == "GetCapabilities":
            self.result = values
        else:
            self.result = HelperResult.from_dict(values)
        self.done = True
        self.succeeded.emit(self.result)
        self.finished.emit()

    def _fail(self, error: HelperError) -> None:
        self.error = error
        self.done = True
        self.failed.emit(error)
        self.finished.emit()


def error_from_reply(reply: QDBusMessage) -> HelperError:
    """The helper's error body is ``(s message, as kernel_log)``; the bus's own is ``(s)``."""
    arguments = reply.arguments()
    message = arguments[0] if arguments and isinstance(arguments[0], str) \
        else reply.errorMessage()
    log = arguments[1] if len(arguments) > 1 and isinstance(arguments[1], list) else []
    return HelperError(reply.errorName() or "org.kmodgui.Error.Failed", message or
                       "the helper call failed", [str(x) for x in log])


def ensure_application() -> QCoreApplication:
    """QtDBus needs a Qt application object; the command line has none of its own."""
    app = QCoreApplication.instance()
    if app is None:
        app = QCoreApplication([])
        globals()["_application"] = app  # keep it alive
    return app


class HelperClient(QObject):
    """Typed access to the helper. ``connection`` defaults to the system bus."""

    def __init__(self, connection: QDBusConnection | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        ensure_application()
        self.connection = connection if connection is not None else QDBusConnection.systemBus()

    # generic
    def start(self, request: Request) -> HelperCall:
        """Send ``request`` and return at once; the :class:`HelperCall` reports the outcome."""
        call = HelperCall(request, self)
        message = QDBusMessage.createMethodCall(SERVICE, PATH, INTERFACE, request.member)
        message.setArguments(request.arguments)
        message.setInteractiveAuthorizationAllowed(request.interactive)
        if not self.connection.isConnected():
            call._fail(HelperError("org.freedesktop.DBus.Error.Disconnected",
                                   "cannot connect to the system bus"))
            return call
        pending = self.connection.asyncCall(message, request.timeout_ms)
        call._watch(QDBusPendingCallWatcher(pending, call))
        return call

    def run(self, request: Request) -> HelperResult | dict[str, Any]:
        """Send ``request`` and wait for the outcome; raises :class:`HelperError`."""
        call = self.start(request)
        if not call.done:
            loop = QEventLoop()
            call.finished.connect(loop.quit)
            if not call.done:
                loop.exec()
        if call.error is not None:
            raise call.error
        if call.result is None:
            raise HelperError("org.kmodgui.Error.Failed", "the helper call did not finish")
        return call.result

    def _run(self, request: Request) -> HelperResult:
        result = self.run(request)
        if not isinstance(result, HelperResult):
            raise HelperError("org.kmodgui.Error.Failed", "unexpected reply from the helper")
        return result

    # blocking, typed
    def get_capabilities(self) -> dict[str, Any]:
        result = self.run(get_capabilities())
        return result if isinstance(result, dict) else dict(result.values)

    def load(self, module: str, params: Sequence[str] | Mapping[str, str] = ()) -> HelperResult:
        return self._run(load(module, params))

    def unload(self, module: str, *, dependencies: bool = False,
               force: bool = False) -> HelperResult:
        return self._run(unload(module, dependencies=dependencies, force=force))

    def insert_file(self, file: int | str | os.PathLike[str],
                    params: Sequence[str] | Mapping[str, str] = ()) -> HelperResult:
        return self._run(insert_file(file, params))

    def set_parameter(self, module: str, parameter: str, value: str) -> HelperResult:
        return self._run(set_parameter(module, parameter, value))

    def set_persistent_options(self, module: str, params: Mapping[str, str]) -> HelperResult:
        return self._run(set_persistent_options(module, params))

    def set_blacklist(self, module: str, mode: str) -> HelperResult:
        return self._run(set_blacklist(module, mode))

    def set_load_at_boot(self, module: str, enabled: bool) -> HelperResult:
        return self._run(set_load_at_boot(module, enabled))

    def rebuild_index(self, kernel_release: str) -> HelperResult:
        return self._run(rebuild_index(kernel_release))

    # asynchronous, typed (for the window)
    def get_capabilities_async(self) -> HelperCall:
        return self.start(get_capabilities())

    def load_async(self, module: str,
                   params: Sequence[str] | Mapping[str, str] = ()) -> HelperCall:
        return self.start(load(module, params))

    def unload_async(self, module: str, *, dependencies: bool = False,
                     force: bool = False) -> HelperCall:
        return self.start(unload(module, dependencies=dependencies, force=force))

    def insert_file_async(self, file: int | str | os.PathLike[str],
                          params: Sequence[str] | Mapping[str, str] = ()) -> HelperCall:
        return self.start(insert_file(file, params))

    def set_parameter_async(self, module: str, parameter: str, value: str) -> HelperCall:
        return self.start(set_parameter(module, parameter, value))

    def set_persistent_options_async(self, module: str,
                                     params: Mapping[str, str]) -> HelperCall:
        return self.start(set_persistent_options(module, params))

    def set_blacklist_async(self, module: str, mode: str) -> HelperCall:
        return self.start(set_blacklist(module, mode))

    def set_load_at_boot_async(self, module: str, enabled: bool) -> HelperCall:
        return self.start(set_load_at_boot(module, enabled))

    def rebuild_index_async(self, kernel_release: str) -> HelperCall:
        return self.start(rebuild_index(kernel_release))


__all__ = ["HelperCall", "HelperClient", "HelperError", "HelperResult", "Request"]
