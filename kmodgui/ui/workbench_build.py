"""One module build off the GUI thread, its log lines and its end delivered on the GUI thread.

The core's :class:`~kmodgui.core.workbench.runner.BuildProcess` blocks on
make's output; here it runs in a thread of its own (a build takes seconds and
must not hold one of the window's two background slots) and every line
crosses to the GUI thread as a queued signal, so the page shows the log
live and never waits for make. After a build that produced modules, the
files are read (``describe_module``) in the same thread.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from kmodgui.core.errors import KmodguiError
from kmodgui.core.workbench.check import BuiltModule, describe_module
from kmodgui.core.workbench.runner import BuildProcess, BuildRequest, BuildResult


@dataclass
class BuildOutcome:
    """A finished build and what its modules say about themselves."""

    result: BuildResult
    modules: list[BuiltModule] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)   # .ko files that are no module


class BuildJob(QObject):
    """Runs one build in a worker thread.

    Signals (all received on the GUI thread):
        line_received(str): one line of make's output, as it comes.
        build_finished(BuildOutcome): make ended (or was cancelled); the result is parsed.
        build_refused(Exception): the build could not start (as root, no folder, ...).
    """

    line_received = Signal(str)
    build_finished = Signal(object)
    build_refused = Signal(object)

    def __init__(self, request: BuildRequest, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self._process: BuildProcess | None = None
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="kmodgui-build", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def cancel(self) -> None:
        """Stop make (and what it started); build_finished still comes, marked cancelled."""
        self._cancelled.set()
        with self._lock:
            if self._process is not None:
                self._process.cancel()

    def wait(self, seconds: float | None = None) -> bool:
        """Block until the worker ends (at exit); False when it is still running."""
        if self._thread.ident is not None:
            self._thread.join(seconds)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            process = BuildProcess(self.request)
        except (KmodguiError, OSError) as exc:
            self._emit(self.build_refused, exc)
            return
        with process:
            with self._lock:
                self._process = process
            if self._cancelled.is_set():
                process.cancel()
            staging, source = process.result.staging_dir, str(process.result.source_dir)
            for line in process.lines():  # shown with the user's folder, not the copy's
                self._emit(self.line_received,
                           line.replace(str(staging), source) if staging else line)
            result = process.wait()
        outcome = BuildOutcome(result)
        target = self.request.root
        for ko in result.modules:
            try:
                outcome.modules.append(describe_module(ko, target))
            except (KmodguiError, OSError) as exc:
                outcome.unreadable.append(f"{ko}: {exc}")
        self._emit(self.build_finished, outcome)

    @staticmethod
    def _emit(signal: Any, value: object) -> None:
        # The window may be closing (this object deleted): nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            signal.emit(value)
