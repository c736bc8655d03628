"""One path for background work: helper calls and slow reads, results on the GUI thread.

Helper calls go through a :class:`HelperClient` (the QtDBus client adapts to
it); each call becomes an :class:`Operation` that the Log page lists and the
module list shows as busy. Slow reads (the full catalog, a file preview) run
in a worker thread with :meth:`Operations.run_in_thread`. Either way, success
and failure arrive as signals on the GUI thread.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from kmodgui.client import Explanation, HelperError, HelperResult, Request
from kmodgui.ui.explain import explain

ReplyCallback = Callable[[HelperResult], None]
ErrorCallback = Callable[[HelperError], None]


class HelperClient(Protocol):
    """What the window needs from a transport: send a request, answer on the GUI thread.

    :class:`kmodgui.client.qt.QtClient` is the real one.
    """

    def start(self, request: Request, on_reply: ReplyCallback,
              on_error: ErrorCallback) -> object: ...


@dataclass
class Operation:
    """One helper call of this session, as the Log page shows it."""

    id: int
    request: Request
    started: float = field(default_factory=time.time)
    state: str = "running"            # running, done, failed, cancelled
    finished: float | None = None
    result: HelperResult | None = None
    error: HelperError | None = None
    explanation: Explanation | None = None

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def module(self) -> str:
        return self.request.module

    @property
    def args(self) -> tuple[object, ...]:
        return self.request.args

    @property
    def kernel_log(self) -> list[str]:
        if self.error is not None:
            return self.error.kernel_log
        return self.result.kernel_log if self.result is not None else []

    @property
    def warnings(self) -> list[str]:
        return self.result.warnings if self.result is not None else []


class _Relay(QObject):
    """Carries a worker thread's outcome to the GUI thread.

    It lives in the GUI thread and its signals are connected to its own slots,
    so a signal emitted from the worker is queued and the callbacks run here.
    """

    done = Signal(object)
    failed = Signal(object)
    progress = Signal(int, int)

    def __init__(self, on_done: Callable[[object], None],
                 on_error: Callable[[BaseException], None],
                 on_progress: Callable[[int, int], None] | None) -> None:
        super().__init__()
        self._on_done, self._on_error, self._on_progress = on_done, on_error, on_progress
        self.done.connect(self._done)
        self.failed.connect(self._failed)
        self.progress.connect(self._progress)

    @Slot(object)
    def _done(self, value: object) -> None:
        self._on_done(value)

    @Slot(object)
    def _failed(self, error: object) -> None:
        self._on_error(error)  # type: ignore[arg-type]

    @Slot(int, int)
    def _progress(self, done: int, total: int) -> None:
        if self._on_progress is not None:
            self._on_progress(done, total)


class _Job(QRunnable):
    def __init__(self, work: Callable[[Callable[[int, int], None]], object],
                 relay: _Relay) -> None:
        super().__init__()
        self._work = work
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._work(self._relay.progress.emit)
        except Exception as exc:  # delivered to the GUI thread, never raised in the pool
            self._deliver(self._relay.failed, exc)
        else:
            self._deliver(self._relay.done, result)

    @staticmethod
    def _deliver(signal: Any, value: object) -> None:
        # The application may be tearing down (its relay deleted): nobody is waiting.
        with contextlib.suppress(RuntimeError):
            signal.emit(value)


class Operations(QObject):
    """The window's only way to change the system or do slow work.

    Signals:
        operation_started(Operation)
        operation_finished(Operation): done, failed or cancelled; ``explanation`` set on failure.
    """

    operation_started = Signal(object)
    operation_finished = Signal(object)

    def __init__(self, client: HelperClient | None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._client = client
        self._ids = itertools.count(1)
        self._relays: set[_Relay] = set()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self.history: list[Operation] = []

    def close_client(self) -> None:
        """Let the client release its connection (and thread), if it has any."""
        close = getattr(self._client, "close", None)
        if callable(close):
            close()

    @property
    def available(self) -> bool:
        """True when a helper client exists; without it the window is read-only."""
        return self._client is not None

    # -- helper calls ---------------------------------------------------------------------
    def submit(self, request: Request, *, holders: Sequence[str] = ()) -> Operation:
        """Send ``request`` to the helper; the outcome arrives as operation_finished.

        ``holders`` (the modules using ``request.module``) make an InUse failure precise.
        """
        operation = Operation(next(self._ids), request)
        self.history.append(operation)
        self.operation_started.emit(operation)
        if self._client is None:
            self._fail(operation, HelperError("org.freedesktop.DBus.Error.ServiceUnknown",
                                              self.tr("The helper is not installed.")), holders)
            return operation

        def on_reply(result: HelperResult) -> None:
            operation.state = "done"
            operation.result = result
            operation.finished = time.time()
            self.operation_finished.emit(operation)

        def on_error(error: HelperError) -> None:
            self._fail(operation, error, holders)

        try:
            self._client.start(request, on_reply, on_error)
        except Exception as exc:  # a client that fails synchronously is a failure, not a crash
            self._fail(operation, HelperError("org.kmodgui.Error.Failed", str(exc)), holders)
        return operation

    def _fail(self, operation: Operation, error: HelperError, holders: Sequence[str]) -> None:
        operation.error = error
        operation.explanation = explain(error, module=operation.module, holders=holders)
        operation.state = "cancelled" if operation.explanation.quiet else "failed"
        operation.finished = time.time()
        self.operation_finished.emit(operation)

    # -- background reads -----------------------------------------------------------------
    def run_in_thread(self, work: Callable[[Callable[[int, int], None]], object],
                      on_done: Callable[[object], None],
                      on_error: Callable[[BaseException], None],
                      on_progress: Callable[[int, int], None] | None = None) -> None:
        """Run ``work(progress)`` off the GUI thread; the callbacks run on the GUI thread."""
        def finish(callback: Callable[[Any], None], value: object) -> None:
            self._relays.discard(relay)
            callback(value)

        relay = _Relay(lambda value: finish(on_done, value),
                       lambda error: finish(on_error, error), on_progress)
        self._relays.add(relay)
        self._pool.start(_Job(work, relay))

    def wait_for_background(self, msecs: int = 30000) -> bool:
        """Block until background work ends (used at exit so no thread outlives Qt)."""
        return self._pool.waitForDone(msecs)
