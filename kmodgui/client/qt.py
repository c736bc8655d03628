"""The window's transport: a request carried over QtDBus, asynchronously, on the GUI thread.

:meth:`QtClient.start` sends a :class:`~kmodgui.client.requests.Request` and
returns a :class:`HelperCall` whose ``succeeded`` / ``failed`` signals arrive
on the GUI thread; calls that may change the system allow interactive
authorisation (a polkit password dialog) and wait up to 25 minutes for it.
The command line uses :mod:`kmodgui.client.bus` instead (no Qt needed).

PySide6 cannot read a ``QDBusArgument`` from Python, and QtDBus decodes an
``a{sv}`` reply into a dict only when it delivers a call to a slot. So a
successful reply is handed on, unchanged, over a private in-process peer
connection to :class:`_Demarshaller`'s slot, where QtDBus decodes it.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable, Mapping
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

from kmodgui.client.errors import DISCONNECTED, FAILED, HelperError
from kmodgui.client.requests import INTERFACE, PATH, SERVICE, HelperResult, Request

QUICK_TIMEOUT_MS = 30 * 1000


def _strings(items: Any) -> QDBusArgument:
    """An ``as`` (a plain empty Python list would be marshalled as ``av``)."""
    arg = QDBusArgument()
    arg.beginArray(QMetaType(QMetaType.Type.QString))
    for item in items:
        arg.appendVariant(str(item))
    arg.endArray()
    return arg


def _string_map(items: Mapping[str, Any]) -> QDBusArgument:
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


def marshal(request: Request) -> list[Any]:
    """The arguments as QtDBus must marshal them (``h`` duplicates the caller's descriptor)."""
    out: list[Any] = []
    for kind, value in zip(request.types, request.args, strict=True):
        if kind == "h":
            out.append(QDBusUnixFileDescriptor(int(value)))  # type: ignore[arg-type]
        elif kind == "as":
            out.append(_strings(value))
        elif kind == "a{ss}":
            assert isinstance(value, Mapping)  # noqa: S101 - the builders make it so
            out.append(_string_map(value))
        elif kind == "a{sv}":
            assert isinstance(value, Mapping)  # noqa: S101
            out.append(dict(value))
        else:
            out.append(value)
    return out


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
            raise HelperError(FAILED,
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
            callbacks[1](HelperError(FAILED,
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
    """One call in flight. Signals: ``succeeded(HelperResult)``, ``failed(HelperError)``,
    ``finished()``."""

    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, request: Request, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self.result: HelperResult | None = None
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
                self._fail(HelperError(FAILED,
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
            self._fail(HelperError(FAILED, "the helper sent an empty reply"))
            return
        _decoder().decode(arguments[0], self._succeed, self._fail)

    def _succeed(self, values: dict[str, Any]) -> None:
        self.result = HelperResult.from_values(values)
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
    return HelperError(reply.errorName() or FAILED, message or "the helper call failed",
                       [str(x) for x in log])


class QtClient(QObject):
    """Requests over QtDBus; ``connection`` defaults to the system bus.

    ``start`` is what the window's :class:`~kmodgui.ui.operations.Operations` needs;
    ``run`` blocks in a local event loop (for tests and scripts).
    """

    def __init__(self, connection: QDBusConnection | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        if QCoreApplication.instance() is None:  # QtDBus needs an application object
            self._application = QCoreApplication([])
        self.connection = connection if connection is not None else QDBusConnection.systemBus()

    def start(self, request: Request,
              on_reply: Callable[[HelperResult], None] | None = None,
              on_error: Callable[[HelperError], None] | None = None) -> HelperCall:
        """Send ``request`` and return at once; the outcome goes to the callbacks (on the
        GUI thread) and to the :class:`HelperCall`'s signals."""
        call = HelperCall(request, self)
        if on_reply is not None:
            call.succeeded.connect(on_reply)
        if on_error is not None:
            call.failed.connect(on_error)
        if not self.connection.isConnected():
            call._fail(HelperError(DISCONNECTED, "cannot connect to the system bus"))
            return call
        message = QDBusMessage.createMethodCall(SERVICE, PATH, INTERFACE, request.method)
        message.setArguments(marshal(request))
        message.setInteractiveAuthorizationAllowed(request.interactive)
        pending = self.connection.asyncCall(message, int(request.timeout * 1000))
        call._watch(QDBusPendingCallWatcher(pending, call))
        return call

    def run(self, request: Request) -> HelperResult:
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
            raise HelperError(FAILED, "the helper call did not finish")
        return call.result
