"""The Workbench page: write, build, load and watch one's own kernel module by clicking.

The note's cycle (``make -C /lib/modules/R/build M=$PWD modules``, ``insmod``,
``lsmod``, ``dmesg``, ``rmmod``) on one page. A module starts from the core's
template; the build is the core's (:mod:`kmodgui.core.workbench.runner`, run by
:class:`~kmodgui.ui.workbench_build.BuildJob` off the GUI thread, its log shown
live) and never runs as root: a window running as root shows the core's
refusal instead. Loading goes through the window's own operations, exactly as
Modules → Insert from file does (``InsertFile`` with a descriptor the window
opened as the user), with parameters from the module's ``parm`` list; the
module's kernel messages from the helper's reply are shown beside it. What
would make the kernel refuse the file (another release, no signature where
signatures are enforced) is said before any privileged call.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QModelIndex, QProcess, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from kmodgui.client import requests
from kmodgui.core.errors import KmodguiError
from kmodgui.core.loaded import read_sys_module
from kmodgui.core.paths import Root
from kmodgui.core.records import Parameter
from kmodgui.core.workbench.check import BuiltModule, describe_module
from kmodgui.core.workbench.headers import releases_with_headers
from kmodgui.core.workbench.logparse import Diagnostic, Severity
from kmodgui.core.workbench.runner import BuildRequest
from kmodgui.ui.dialogs.params_form import ParameterForm
from kmodgui.ui.operations import Operation, Operations
from kmodgui.ui.pages import PageHost
from kmodgui.ui.rows_model import PAYLOAD_ROLE, RowsModel
from kmodgui.ui.widgets import aligned_form, plain_table
from kmodgui.ui.workbench_build import BuildJob, BuildOutcome

# Editors that open a file at a line, by the desktop file the desktop uses for C sources.
EDITORS_AT_LINE: dict[str, tuple[str, ...]] = {
    "org.kde.kate.desktop": ("kate", "--line", "{line}", "{file}"),
    "org.kde.kwrite.desktop": ("kwrite", "--line", "{line}", "{file}"),
    "code.desktop": ("code", "--goto", "{file}:{line}"),
    "org.gnome.gedit.desktop": ("gedit", "+{line}", "{file}"),
    "org.gnome.TextEditor.desktop": ("gnome-text-editor", "+{line}", "{file}"),
    "org.xfce.mousepad.desktop": ("mousepad", "--line", "{line}", "{file}"),
    "emacs.desktop": ("emacs", "+{line}", "{file}"),
    "gvim.desktop": ("gvim", "+{line}", "{file}"),
}


def desktop_editor_at_line(path: str, line: int) -> list[str] | None:
    """The command that opens ``path`` at ``line`` in the desktop's editor for C files,
    when the desktop names one we know the line option of; None otherwise."""
    xdg_mime = shutil.which("xdg-mime")
    if xdg_mime is None:
        return None
    try:
        done = subprocess.run([xdg_mime, "query", "default", "text/x-csrc"],
                              capture_output=True, text=True, timeout=3, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    pattern = EDITORS_AT_LINE.get(done.stdout.strip())
    if pattern is None or shutil.which(pattern[0]) is None:
        return None
    return [part.format(file=path, line=line) for part in pattern]


def open_location(path: str, line: int | None) -> bool:
    """Open ``path`` (at ``line`` where the desktop's editor takes one); False if nothing
    could open it."""
    if line is not None:
        command = desktop_editor_at_line(path, line)
        if command is not None and QProcess.startDetached(command[0], command[1:])[0]:
            return True
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def kbuild_stage(line: str) -> str:
    """What kbuild is doing, from one of its short log lines (``  CC [M]  x.o``); ""."""
    words = line.split()
    if not words or not line.startswith("  "):
        return ""
    stages = {"CC": "Compiling", "MODPOST": "Checking symbols", "LD": "Linking",
              "BTF": "Type data"}
    stage = stages.get(words[0])
    if stage is None:
        return ""
    return f"{stage} {os.path.basename(words[-1])}"


class NewModuleDialog(QDialog):
    """Asks a module name and the folder for it; refuses names kmod would not load."""

    def __init__(self, start: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("newModuleDialog")
        self.setWindowTitle(self.tr("New Module"))
        layout = QVBoxLayout(self)
        form = aligned_form()
        self.name = QLineEdit("simplemodule")
        self.name.setObjectName("newModuleName")
        self.folder = QLineEdit(os.path.join(start, "simplemodule"))
        self.folder.setObjectName("newModuleFolder")
        browse = QPushButton(self.tr("Choose…"))
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form.addRow(self.tr("Module name:"), self.name)
        form.addRow(self.tr("Folder:"), row)
        layout.addLayout(form)
        self.problem = QLabel()
        self.problem.setObjectName("newModuleProblem")
        self.problem.setWordWrap(True)
        layout.addWidget(self.problem)
        layout.addWidget(QLabel(self.tr(
            "The folder gets NAME.c (prints \"In init module\" when loaded), a Kbuild file "
            "and a Makefile. Existing files are never overwritten.")))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setObjectName("createModuleButton")
        self.ok_button.setText(self.tr("Create"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._start = start
        self._folder_follows = True
        self.name.textEdited.connect(self._name_edited)
        self.folder.textEdited.connect(self._folder_edited)
        self.setMinimumWidth(480)

    def _name_edited(self, text: str) -> None:
        if self._folder_follows:
            self.folder.setText(os.path.join(self._start, text.strip()))

    def _folder_edited(self, _text: str) -> None:
        self._folder_follows = False

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, self.tr("Folder for the Module"),
                                                  self._start)
        if chosen:
            self.folder.setText(os.path.join(chosen, self.name.text().strip()))
            self._folder_follows = False


class WorkbenchPage(QWidget):
    """The Workbench page.

    Signals:
        build_finished(BuildOutcome): a build ended (failed, cancelled or with a module).
        build_refused(str): a build could not start; the reason, as shown.
        module_loaded(str), module_unloaded(str): the built module went in or out.
        action_failed(Operation): a load or unload the helper refused (explained on the page).
    """

    build_finished = Signal(object)
    build_refused = Signal(str)
    module_loaded = Signal(str)
    module_unloaded = Signal(str)
    action_failed = Signal(object)

    def __init__(self, root: Root, operations: Operations,
                 show_module: Callable[[str], None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("workbenchPage")
        self.root = root
        self.operations = operations
        self._show_module = show_module
        self.open_location: Callable[[str, int | None], bool] = open_location
        self.job: BuildJob | None = None
        self.outcome: BuildOutcome | None = None
        self.built: BuiltModule | None = None
        self._pending: dict[int, str] = {}     # operation id -> "load" / "unload"
        self._reloading = False
        self._form_params: list[tuple[str, str]] | None = None
        self._building = False
        self._build_ui()
        self.fill_releases()
        self._update_buttons()
        operations.operation_finished.connect(self._operation_finished)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop_build)

    # -- the widgets -------------------------------------------------------------------------
    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.new_button = QPushButton(self.tr("New from Template…"))
        self.new_button.setObjectName("newModuleButton")
        self.folder_edit = QLineEdit()
        self.folder_edit.setObjectName("workbenchFolder")
        self.folder_edit.setPlaceholderText(self.tr("The module's folder (with its Kbuild)"))
        self.choose_button = QPushButton(self.tr("Choose…"))
        self.choose_button.setObjectName("chooseFolderButton")
        self.open_folder_button = QPushButton(self.tr("Open Folder"))
        self.open_folder_button.setObjectName("openFolderButton")
        self.open_editor_button = QPushButton(self.tr("Open in Editor"))
        self.open_editor_button.setObjectName("openEditorButton")
        top.addWidget(self.new_button)
        top.addWidget(QLabel(self.tr("Folder:")))
        top.addWidget(self.folder_edit, 1)
        for button in (self.choose_button, self.open_folder_button, self.open_editor_button):
            top.addWidget(button)
        layout.addLayout(top)

        build_row = QHBoxLayout()
        self.release_box = QComboBox()
        self.release_box.setObjectName("targetRelease")
        self.release_box.setToolTip(self.tr("The kernel to build for: its build tree "
                                            "(/lib/modules/RELEASE/build) must be installed"))
        self.build_button = QPushButton(self.tr("Build"))
        self.build_button.setObjectName("buildButton")
        self.cancel_button = QPushButton(self.tr("Stop"))
        self.cancel_button.setObjectName("cancelBuildButton")
        self.progress = QProgressBar()
        self.progress.setObjectName("buildProgress")
        self.progress.setRange(0, 0)  # busy: kbuild does not say how much is left
        self.progress.setMaximumWidth(160)
        self.progress.hide()
        self.status = QLabel()
        self.status.setObjectName("buildStatus")
        build_row.addWidget(QLabel(self.tr("Kernel:")))
        build_row.addWidget(self.release_box)
        build_row.addWidget(self.build_button)
        build_row.addWidget(self.cancel_button)
        build_row.addWidget(self.progress)
        build_row.addWidget(self.status, 1)
        layout.addLayout(build_row)

        self.notice = QLabel()
        self.notice.setObjectName("workbenchNotice")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.hide()
        layout.addWidget(self.notice)

        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.log = QPlainTextEdit()
        self.log.setObjectName("buildLog")
        self.log.setReadOnly(True)
        self.log.setFont(fixed)
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.log.setMaximumBlockCount(20000)
        self.log.setPlaceholderText(self.tr("make's output appears here while it builds."))
        self.diagnostics_model = RowsModel([self.tr("Kind"), self.tr("Where"),
                                            self.tr("What")], self)
        self.diagnostics = plain_table(QTableView(), "diagnosticsList")
        self.diagnostics.setModel(self.diagnostics_model)
        self.diagnostics.setWordWrap(True)
        self.diagnostics.setToolTip(self.tr("Double-click a row to open the file at its line"))
        self.diagnostics.activated.connect(self._open_diagnostic)

        actions = QHBoxLayout()
        self.load_button = QPushButton(self.tr("Load"))
        self.load_button.setObjectName("loadBuiltButton")
        self.unload_button = QPushButton(self.tr("Unload"))
        self.unload_button.setObjectName("unloadBuiltButton")
        self.reload_button = QPushButton(self.tr("Reload"))
        self.reload_button.setObjectName("reloadBuiltButton")
        self.reload_button.setToolTip(self.tr("Unload, build again, load"))
        self.sign_button = QPushButton(self.tr("Sign…"))
        self.sign_button.setObjectName("signButton")
        self.show_button = QPushButton(self.tr("Show in Modules"))
        self.show_button.setObjectName("showBuiltButton")
        self.module_label = QLabel()
        self.module_label.setObjectName("builtModuleLabel")
        for button in (self.load_button, self.unload_button, self.reload_button,
                       self.sign_button, self.show_button):
            actions.addWidget(button)
        actions.addWidget(self.module_label, 1)

        self.kernel_log = QPlainTextEdit()
        self.kernel_log.setObjectName("workbenchKernelLog")
        self.kernel_log.setReadOnly(True)
        self.kernel_log.setFont(fixed)
        self.kernel_log.setPlaceholderText(self.tr(
            "The module's kernel messages (its pr_info lines) appear here when it is "
            "loaded and unloaded."))
        self.params_area = QScrollArea()
        self.params_area.setObjectName("workbenchParameters")
        self.params_area.setWidgetResizable(True)
        self.params_form = ParameterForm([])
        self.params_area.setWidget(self.params_form)
        self.params_area.setMinimumWidth(220)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.kernel_log)
        lower.addWidget(self.params_area)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 1)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addLayout(actions)
        bottom_layout.addWidget(lower, 1)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.log)
        self.splitter.addWidget(self.diagnostics)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setStretchFactor(2, 2)
        layout.addWidget(self.splitter, 1)

        self.new_button.clicked.connect(self.ask_new_module)
        self.choose_button.clicked.connect(self._choose_folder)
        self.open_folder_button.clicked.connect(self.open_folder)
        self.open_editor_button.clicked.connect(self.open_editor)
        self.folder_edit.editingFinished.connect(self._folder_changed)
        self.build_button.clicked.connect(self.start_build)
        self.cancel_button.clicked.connect(self.stop_build)
        self.load_button.clicked.connect(self.load_built)
        self.unload_button.clicked.connect(self.unload_built)
        self.reload_button.clicked.connect(self.reload_built)
        self.sign_button.clicked.connect(self.sign_built)
        self.show_button.clicked.connect(self.show_in_modules)

    # -- folder and release ------------------------------------------------------------------
    def fill_releases(self) -> None:
        """Releases with a build tree, the running kernel first (listed even without one,
        so that building for it says which headers package is missing)."""
        found = releases_with_headers(self.root)
        self.release_box.clear()
        if self.root.release not in found:
            self.release_box.addItem(self.tr("%1 (no headers)").replace("%1", self.root.release),
                                     self.root.release)
        for release in found:
            self.release_box.addItem(release, release)
        if self.root.release in found:
            self.release_box.setCurrentIndex(self.release_box.findData(self.root.release))

    def target(self) -> Root:
        """The root of the kernel chosen to build for."""
        release = self.release_box.currentData()
        return self.root.with_release(release) if isinstance(release, str) else self.root

    def folder(self) -> Path | None:
        text = self.folder_edit.text().strip()
        return Path(os.path.expanduser(text)) if text else None

    def set_folder(self, path: str | os.PathLike[str]) -> None:
        self.folder_edit.setText(os.fspath(path))
        self._folder_changed()

    def _folder_changed(self) -> None:
        """A folder with a module built earlier can be loaded without building again."""
        folder = self.folder()
        self.built = None
        if folder is not None and folder.is_dir():
            for ko in sorted(folder.glob("*.ko")):
                self.built = self._describe(ko)
                if self.built is not None:
                    break
        self._show_built()
        self._update_buttons()

    def _choose_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, self.tr("Module Folder"),
                                                  self.folder_edit.text()
                                                  or os.path.expanduser("~"))
        if chosen:
            self.set_folder(chosen)

    def ask_new_module(self) -> NewModuleDialog:
        """The New from Template dialog (non-modal; Create writes the files)."""
        folder = self.folder()
        start = str(folder.parent) if folder is not None else os.path.expanduser("~")
        dialog = NewModuleDialog(start, self)
        dialog.accepted.connect(lambda: self.create_module(dialog.name.text().strip(),
                                                           dialog.folder.text().strip()))
        dialog.open()
        return dialog

    def create_module(self, name: str, folder: str) -> list[Path]:
        """Write the core's template into ``folder``; shows why not when it cannot."""
        from kmodgui.core.workbench.template import create

        if not folder:
            self.show_notice(self.tr("Choose a folder for the new module."))
            return []
        try:
            written = create(name, Path(os.path.expanduser(folder)))
        except KmodguiError as exc:
            self.show_notice(self._error_text(exc))
            return []
        self.set_folder(folder)
        self.show_notice(self.tr("Created %1. Build it, then load it.").replace(
            "%1", ", ".join(p.name for p in written)))
        return written

    def sources(self) -> list[Path]:
        folder = self.folder()
        return sorted(folder.glob("*.c")) if folder is not None and folder.is_dir() else []

    def open_folder(self) -> bool:
        folder = self.folder()
        if folder is None or not folder.is_dir():
            self.show_notice(self.tr("There is no folder to open yet."))
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def open_editor(self) -> bool:
        sources = self.sources()
        if not sources:
            self.show_notice(self.tr("The folder has no C source file to open."))
            return False
        return self.open_location(str(sources[0]), None)

    # -- building ----------------------------------------------------------------------------
    @property
    def building(self) -> bool:
        """A build was started and its end not shown yet (the worker may still be exiting)."""
        return self._building

    def start_build(self) -> BuildJob | None:
        """Build the folder for the chosen kernel in the background; None if it cannot start."""
        if self.building:
            return None
        folder = self.folder()
        if folder is None:
            self.show_notice(self.tr("Choose the module's folder first (or make one with New "
                                     "from Template)."))
            return None
        self.log.clear()
        self.diagnostics_model.set_rows([])
        self.hide_notice()
        job = BuildJob(BuildRequest(folder, self.target()), self)
        job.line_received.connect(self._line)
        job.build_finished.connect(self.show_outcome)
        job.build_refused.connect(self._refused)
        self.job = job
        self.status.setText(self.tr("Building for %1…").replace("%1", self.target().release))
        self.progress.show()
        self._building = True
        job.start()
        self._update_buttons()
        return job

    def stop_build(self) -> None:
        """Stop a running build (and, at exit, wait for its thread)."""
        job = self.job
        if job is not None and job.running:
            job.cancel()
            job.wait(10)

    def _line(self, line: str) -> None:
        self.log.appendPlainText(line)
        stage = kbuild_stage(line)
        if stage:
            self.status.setText(stage + "…")

    def _refused(self, error: object) -> None:
        self._building = False
        self.progress.hide()
        self._reloading = False
        text = self._error_text(error) if isinstance(error, Exception) else str(error)
        self.status.setText(self.tr("Not built"))
        self.show_notice(text)
        self._update_buttons()
        self.build_refused.emit(text)

    def show_outcome(self, outcome: object) -> None:
        """Show a finished build: status, diagnostics, the module it made (then load it when
        reloading)."""
        if not isinstance(outcome, BuildOutcome):
            return
        self._building = False
        self.outcome = outcome
        result = outcome.result
        self.progress.hide()
        self._show_diagnostics(result.diagnostics)
        if result.staging_dir is not None:
            self.log.appendPlainText(self.tr(
                "(built in a copy at %1: kbuild cannot build where the path has spaces; the "
                "messages name your own files)").replace("%1", str(result.staging_dir)))
        errors = len(result.errors)
        if result.cancelled:
            self.status.setText(self.tr("Build stopped"))
        elif result.ok:
            self.status.setText(self.tr("Built in %1 s").replace("%1", f"{result.seconds:.1f}"))
        else:
            self.status.setText(self.tr("Build failed: %n error(s)", "", errors))
        if outcome.modules:
            self.built = outcome.modules[0]
        elif self.built is not None and not self.built.path.is_file():
            self.built = None      # a failed build keeps the last module only while it exists
        self._show_built()
        problems = [p for m in outcome.modules for p in m.problems] + outcome.unreadable
        if not result.ok and not result.cancelled:
            first = next((d for d in result.diagnostics if d.severity is Severity.ERROR), None)
            if first is not None and first.file is None and first.hint:
                self.show_notice(f"{first.message}\n{first.hint}")  # headers missing, ...
        if problems:
            self.show_notice("\n".join(problems))
        self._update_buttons()
        self.build_finished.emit(outcome)
        if self._reloading:
            self._reloading = False
            if result.ok and self.built is not None:
                self.load_built()

    def _show_diagnostics(self, diagnostics: Sequence[Diagnostic]) -> None:
        rows, payloads = [], []
        for diagnostic in diagnostics:
            where = diagnostic.location
            folder = self.folder()
            if folder is not None and where.startswith(str(folder) + "/"):
                where = where[len(str(folder)) + 1:]
            what = diagnostic.message
            if diagnostic.function:
                what += self.tr(" (in %1)").replace("%1", diagnostic.function)
            if diagnostic.hint:
                what += "\n" + diagnostic.hint
            rows.append((self._severity_text(diagnostic.severity), where, what))
            payloads.append(diagnostic)
        self.diagnostics_model.set_rows(rows, payloads)
        self.diagnostics.resizeColumnsToContents()
        self.diagnostics.resizeRowsToContents()

    def _severity_text(self, severity: Severity) -> str:
        return {Severity.ERROR: self.tr("error"), Severity.WARNING: self.tr("warning"),
                Severity.NOTE: self.tr("note"), Severity.HARMLESS: self.tr("harmless")
                }[severity]

    def diagnostic_at(self, row: int) -> Diagnostic | None:
        payload = self.diagnostics_model.payload(row)
        return payload if isinstance(payload, Diagnostic) else None

    def _open_diagnostic(self, index: QModelIndex) -> None:
        payload = index.data(PAYLOAD_ROLE)
        folder = self.folder()
        if isinstance(payload, Diagnostic) and payload.file:
            path = payload.file
            if not os.path.isabs(path) and folder is not None:
                path = str(folder / path)
            self.open_location(path, payload.line)

    # -- the built module --------------------------------------------------------------------
    def _describe(self, ko: Path) -> BuiltModule | None:
        try:
            return describe_module(ko, self.root)
        except (KmodguiError, OSError):
            return None

    def _show_built(self) -> None:
        module = self.built
        declared = [(p.name, p.type) for p in (module.parameters if module else [])]
        if declared != self._form_params:  # a rebuild keeps what was typed
            live = self._live_values(module.name) if module else {}
            params = [Parameter(p.name, p.type or None, p.description or None,
                                value=live.get(p.name))
                      for p in (module.parameters if module else [])]
            form = ParameterForm(params)
            form.setObjectName("workbenchParameterForm")
            self.params_area.setWidget(form)
            self.params_form = form
            self._form_params = declared
        if module is None:
            self.module_label.setText("")
            return
        signed = (self.tr("signed by %1").replace("%1", module.signer) if module.signer
                  else self.tr("not signed"))
        self.module_label.setText(self.tr("%1 — built for %2, %3").replace(
            "%1", module.path.name).replace("%2", module.vermagic.built_for or "?"
                                            ).replace("%3", signed))

    def _live_values(self, name: str) -> dict[str, str]:
        """The loaded module's parameter values (sysfs), to start the form from."""
        found = read_sys_module(self.root, name)
        return {p.name: p.value for p in found.parameters if p.value is not None} if found \
            else {}

    def is_loaded(self) -> bool:
        """The built module is in the running kernel now (``/sys/module/NAME``)."""
        if self.built is None:
            return False
        found = read_sys_module(self.root, self.built.name)
        return found is not None and found.initstate is not None

    def _update_buttons(self) -> None:
        busy = self.building or bool(self._pending)
        has_module = self.built is not None
        loaded = self.is_loaded()
        self.build_button.setEnabled(not busy)
        self.cancel_button.setVisible(self.building)
        self.release_box.setEnabled(not self.building)
        self.load_button.setEnabled(has_module and not busy and self.operations.available)
        self.unload_button.setEnabled(has_module and not busy and self.operations.available)
        self.reload_button.setEnabled(self.folder() is not None and not busy
                                      and self.operations.available)
        self.sign_button.setEnabled(has_module and not busy)
        self.show_button.setEnabled(has_module and loaded and self._show_module is not None)
        self.open_folder_button.setEnabled(self.folder() is not None)
        self.open_editor_button.setEnabled(bool(self.sources()))

    # -- load, unload, reload ----------------------------------------------------------------
    def parameters(self) -> list[str]:
        return self.params_form.values()

    def load_built(self) -> Operation | None:
        """Insert the built file through the helper (a descriptor, as Insert from file does).

        Refused here, before any password prompt, when the kernel will surely refuse it.
        """
        if self.built is None:
            self.show_notice(self.tr("Build the module first."))
            return None
        module = self._describe(self.built.path)  # signed or rebuilt since?
        if module is None:
            self.show_notice(self.tr("%1 is not a module file any more: build again.")
                             .replace("%1", str(self.built.path)))
            return None
        self.built = module
        invalid = self.params_form.invalid()
        if invalid:
            self.show_notice(self.tr("These parameter values are not valid: %1").replace(
                "%1", ", ".join(invalid)))
            return None
        if module.problems:
            self.show_notice(self.tr("Not loaded: %1").replace("%1", "\n".join(module.problems)))
            self._kernel_log_header(self.tr("Load %1 refused before asking the helper")
                                    .replace("%1", module.path.name))
            self.kernel_log.appendPlainText("\n".join(module.problems))
            return None
        params = self.parameters()
        try:
            fd = os.open(module.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY)
        except OSError as exc:
            self.show_notice(self.tr("Cannot open %1: %2").replace("%1", str(module.path))
                             .replace("%2", exc.strerror or str(exc)))
            return None
        self.hide_notice()
        self._kernel_log_header(" ".join([self.tr("Load"), module.path.name, *params]))
        try:
            operation = self.operations.submit(requests.insert_file(fd, params,
                                                                    module=module.name))
        finally:
            os.close(fd)
        return self._track(operation, "load")

    def unload_built(self) -> Operation | None:
        if self.built is None:
            return None
        self.hide_notice()
        self._kernel_log_header(self.tr("Unload %1").replace("%1", self.built.name))
        return self._track(self.operations.submit(requests.unload(self.built.name)), "unload")

    def reload_built(self) -> None:
        """Unload (when loaded), build again, load."""
        self._reloading = True
        if self.is_loaded():
            if self.unload_built() is None:
                self._reloading = False
        elif self.start_build() is None:
            self._reloading = False

    def _track(self, operation: Operation, kind: str) -> Operation:
        if operation.state == "running":
            self._pending[operation.id] = kind
            self._update_buttons()
        else:  # answered at once (no helper, a client that failed synchronously)
            self._pending[operation.id] = kind
            self._operation_finished(operation)
        return operation

    def _operation_finished(self, operation: Operation) -> None:
        kind = self._pending.pop(operation.id, None)
        if kind is None:
            return
        if operation.state == "done":
            lines = operation.kernel_log
            self.kernel_log.appendPlainText("\n".join(lines) if lines else self.tr(
                "(the kernel printed nothing the helper could pass on)"))
            name = operation.module or (self.built.name if self.built else "")
            if kind == "load":
                self._after_load(name)
            else:
                self.module_unloaded.emit(name)
                if self._reloading and self.start_build() is None:
                    self._reloading = False
        else:
            self._reloading = False
            explanation = operation.explanation
            if explanation is not None:
                parts = [explanation.title, explanation.text, explanation.next_step]
                text = "\n".join(p for p in parts if p)
                self.kernel_log.appendPlainText(text)
                if operation.kernel_log:
                    self.kernel_log.appendPlainText(self.tr("The kernel said:"))
                    self.kernel_log.appendPlainText("\n".join(operation.kernel_log))
                if not explanation.quiet:
                    self.show_notice(text)
            self.action_failed.emit(operation)
        self._update_buttons()

    def _after_load(self, name: str) -> None:
        found = read_sys_module(self.root, name)
        taint = found.taint if found is not None else ""
        words = [text for letter, text in self.taint_words().items() if letter in taint]
        if words:
            self.show_notice("\n".join(words))
        self.module_loaded.emit(name)

    def taint_words(self) -> dict[str, str]:
        """Taint flags a freshly built module brings, in plain words
        (Documentation/admin-guide/tainted-kernels.rst)."""
        return {
            "O": self.tr("The kernel is now tainted \"O\": an out-of-tree module is loaded. "
                         "That is expected for your own module and harmless; kernel developers "
                         "ask for bug reports from a kernel without it, so unload the module "
                         "before reporting a bug."),
            "E": self.tr("The kernel is now tainted \"E\": an unsigned module is loaded on a "
                         "kernel that can check signatures (it printed \"module verification "
                         "failed\"). It still works; sign the module (Sign…) to load it where "
                         "signatures are enforced."),
            "P": self.tr("The kernel is now tainted \"P\": the module's license is not "
                         "GPL-compatible."),
        }

    def _kernel_log_header(self, text: str) -> None:
        self.kernel_log.appendPlainText(f"▶ {text}")

    def show_in_modules(self) -> None:
        """The built module on the Modules page (its Parameters tab changes values live)."""
        if self.built is not None and self._show_module is not None:
            self._show_module(self.built.name)

    # -- signing -----------------------------------------------------------------------------
    def sign_built(self) -> None:
        """Sign the built file with kmodgui's key (made on first use, as keygen does)."""
        from kmodgui.core.workbench.signing import find_key

        if self.built is None:
            return
        module = self.built
        target = self.root.with_release(module.vermagic.built_for or self.root.release)
        key = find_key(target)
        make_key = False
        if key is None:
            answer = QMessageBox.question(
                self, self.tr("Make a Signing Key?"),
                self.tr("There is no signing key yet. Make one now (as kmodgui keygen does: "
                        "private key readable by you alone)? The kernel trusts it only after "
                        "you enroll it with mokutil and reboot."))
            if answer != QMessageBox.StandardButton.Yes:
                return
            make_key = True
        self.status.setText(self.tr("Signing %1…").replace("%1", module.path.name))

        def work(_progress: Callable[[int, int], None]) -> object:
            from kmodgui.core.workbench.signing import generate_key, sign_module

            signing_key = generate_key() if make_key else key
            assert signing_key is not None  # noqa: S101 - made or found above
            return sign_module(module.path, target, signing_key)

        self.operations.run_in_thread(work, self._signed, self._sign_failed)

    def _signed(self, result: object) -> None:
        from kmodgui.core.workbench.signing import SignResult, enrollment_steps

        if not isinstance(result, SignResult):
            return
        self.status.setText(self.tr("Signed with %1").replace("%1", result.sig_hashalgo))
        self.built = self._describe(result.module)
        self._show_built()
        self.show_notice(self.tr("Signed by %1. The kernel accepts it only once the key is "
                                 "enrolled:").replace("%1", result.signer) + "\n"
                         + "\n".join(enrollment_steps(result.key)))
        self._update_buttons()

    def _sign_failed(self, error: BaseException) -> None:
        self.status.setText(self.tr("Not signed"))
        self.show_notice(self._error_text(error))

    # -- words -------------------------------------------------------------------------------
    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.show()

    def hide_notice(self) -> None:
        self.notice.clear()
        self.notice.hide()

    @staticmethod
    def _error_text(error: BaseException) -> str:
        if isinstance(error, KmodguiError):
            return f"{error.message}\n{error.hint}" if error.hint else error.message
        return str(error)

    # -- FollowsLiveState --------------------------------------------------------------------
    def modules_changed(self, names: Sequence[str]) -> None:
        if self.built is not None and self.built.name in names:
            self._update_buttons()


def build(host: PageHost) -> WorkbenchPage:
    """The Workbench page of the window (see :mod:`kmodgui.ui.pages`)."""
    return WorkbenchPage(host.root, host.operations, host.show_module)
