"""The main window: a side bar of pages, the catalog it shows, and its life cycle.

Cold start shows the list at once from the index (``quick_catalog``), then
fills descriptions from the module files in the background with visible
progress (``load_catalog``, cached per user and release, so a warm start is
quick). Loads and unloads by anyone are followed through :class:`LiveWatcher`.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QCoreApplication, QSettings, QSize, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QStyle,
    QWidget,
)

from kmodgui.client import requests
from kmodgui.core import catalog as catalog_module
from kmodgui.core import snapshot
from kmodgui.core.errors import KmodguiError
from kmodgui.core.paths import Root
from kmodgui.core.records import ModuleRecord
from kmodgui.ui.log_page import LogPage
from kmodgui.ui.module_model import ModuleTableModel
from kmodgui.ui.modules_page import ModulesPage, PageServices
from kmodgui.ui.operations import HelperClient, Operation, Operations
from kmodgui.ui.pages import (
    QT_TRANSLATE_NOOP,
    Built,
    FollowsCatalog,
    FollowsLiveState,
    PageEntry,
    build_page,
)
from kmodgui.ui.plan import Planner
from kmodgui.ui.widgets import theme_icon

if TYPE_CHECKING:  # imported when first needed (a quicker start)
    from kmodgui.core.devices import Device
    from kmodgui.core.file_preview import FilePreview
    from kmodgui.ui.dialogs.insert_file import InsertFileDialog
    from kmodgui.ui.live import LiveWatcher

_log = logging.getLogger(__name__)

FIRST_PAINT_MS = 150

# The side bar, in order: a new page is a module with a build(host) function and one line here.
PAGES = (
    PageEntry("modules", QT_TRANSLATE_NOOP("MainWindow", "Modules"),
              ("application-x-sharedlib", "preferences-system", "system-run"),
              QStyle.StandardPixmap.SP_DriveHDIcon, "kmodgui.ui.modules_page", Built.AT_START),
    PageEntry("hardware", QT_TRANSLATE_NOOP("MainWindow", "Hardware"),
              ("computer", "drive-harddisk"), QStyle.StandardPixmap.SP_ComputerIcon,
              "kmodgui.ui.hardware_page"),
    PageEntry("configuration", QT_TRANSLATE_NOOP("MainWindow", "Configuration"),
              ("document-properties", "preferences-other"),
              QStyle.StandardPixmap.SP_FileDialogDetailedView, "kmodgui.ui.config_page",
              Built.AFTER_FIRST_PAINT),
    PageEntry("log", QT_TRANSLATE_NOOP("MainWindow", "Log"),
              ("text-x-generic", "document-open-recent"),
              QStyle.StandardPixmap.SP_FileDialogContentsView, "kmodgui.ui.log_page",
              Built.AT_START),
    PageEntry("workbench", QT_TRANSLATE_NOOP("MainWindow", "Workbench"),
              ("applications-development", "text-x-csrc"),
              QStyle.StandardPixmap.SP_FileDialogNewFolder, "kmodgui.ui.workbench_page"),
)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside (allocations only, nothing to collect)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def window_settings() -> QSettings:
    """Where the window keeps its size and splitter: ``$XDG_CONFIG_HOME/kmodgui/window.conf``,
    looked up at each use (Qt's default location is fixed once per process)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return QSettings(os.path.join(base, "kmodgui", "window.conf"), QSettings.Format.IniFormat)


def _cache_is_warm(root: Root) -> bool:
    """The catalog cache of this root and release exists (a warm start)."""
    try:
        from kmodgui.core.modcache import cache_file
    except ImportError:
        return False
    try:
        return cache_file(root).is_file()
    except OSError:
        return False


class MainWindow(QMainWindow):
    """Signals:
        list_ready(): the list shows every module with its description (a warm start
            emits it at once, from the snapshot or the cache).
        catalog_loaded(): the full catalog (descriptions, parameters) is shown.
        live_updated(list): names whose live state changed and were refreshed.
    """

    catalog_loaded = Signal()
    list_ready = Signal()
    live_updated = Signal(list)

    def __init__(self, root: Root, client: HelperClient | None = None, *,
                 capabilities: dict[str, Any] | None = None, use_cache: bool = True,
                 watch: bool = True, full_catalog: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle(self.tr("Kernel Modules"))
        self.root = root
        self.capabilities: dict[str, Any] = dict(capabilities or {})
        self._use_cache = use_cache
        self._closing = False
        self.operations = Operations(client, self)
        self.model = ModuleTableModel(self)
        self._devices: list[Device] | None = None
        self._devices_error: OSError | KmodguiError | None = None
        # Thousands of records are made at once: the cyclic garbage collector would walk
        # the growing heap again and again (a third of a warm start) for no garbage.
        with gc_paused():
            self._read_catalog_at_start(full_catalog and use_cache)
            self.planner = Planner(root, self.model.record)
            self.page_services = self._page_services()
            self._build_pages()
            self.model.set_records(self.catalog.records.values())  # once the view sorts it
        self._build_layout()
        self._add_quit_shortcuts()
        self.operations.operation_finished.connect(self._operation_finished)
        self.watcher = self._start_watching() if watch else None
        self._schedule_after_first_paint(full_catalog)
        if client is not None and capabilities is None:
            client.start(requests.get_capabilities(),
                         lambda result: self.set_capabilities(result.values), lambda _error: None)

    # -- the steps of __init__ ------------------------------------------------------------
    def _read_catalog_at_start(self, cached: bool) -> None:
        """Warm start: the snapshot of the last list (plus today's live state) paints at once
        and the full catalog follows; without one, the per-user cache makes the full
        catalog quick to read now. Cold start: names and states from the index at once,
        details with visible progress."""
        root = self.root
        shown = snapshot.load(root) if cached else None
        self._warm = shown is None and cached and _cache_is_warm(root)
        if shown is not None:
            self.start_kind = "snapshot"
            self.catalog = catalog_module.Catalog(root, shown)
            catalog_module.apply_live_state(root, shown)
        elif self._warm:
            self.start_kind = "warm"
            self.catalog = catalog_module.load_catalog(root)
        else:
            self.start_kind = "cold"
            self.catalog = catalog_module.quick_catalog(root)

    def _page_services(self) -> PageServices:
        """What the Modules page needs from the window."""
        return PageServices(root=self.root, operations=self.operations,
                            modinfo_text=self._modinfo_text, planner=self.planner,
                            devices=self._device_rows,
                            force_unload=bool(self.capabilities.get("force-unload")),
                            insert_file=self.preview_and_insert)

    def _build_pages(self) -> None:
        """The side bar and the page stack, from :data:`PAGES`; pages not built at start
        have an empty stand-in until first shown."""
        self.side_bar = QListWidget()
        self.side_bar.setObjectName("sideBar")
        self.side_bar.setIconSize(QSize(22, 22))
        self.side_bar.setFrameShape(QListWidget.Shape.NoFrame)
        self.side_bar.setSpacing(2)
        self.pages = QStackedWidget()
        self.pages.setObjectName("pages")
        self._built: dict[str, QWidget] = {}
        titles = [QCoreApplication.translate("MainWindow", entry.title) for entry in PAGES]
        for entry, title in zip(PAGES, titles, strict=True):
            page = self._make_page(entry) if entry.built is Built.AT_START else QWidget()
            item = QListWidgetItem(theme_icon(self, entry.icons, entry.fallback), title)
            item.setSizeHint(QSize(0, self.fontMetrics().height() + 18))
            self.side_bar.addItem(item)
            self.pages.addWidget(page)
        width = max(self.fontMetrics().horizontalAdvance(t) for t in titles)
        self.side_bar.setFixedWidth(width + 22 + 48)
        self.side_bar.currentRowChanged.connect(self._show_row)
        self.side_bar.setCurrentRow(0)

    def _build_layout(self) -> None:
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.side_bar)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self.resize(1000, 680)
        self._restore_layout()

    def _add_quit_shortcuts(self) -> None:
        """Ctrl+Q spelled out too: some platform themes bind no key to StandardKey.Quit.
        (Two shortcuts on one key would be ambiguous and do nothing: add it only if missing.)"""
        keys = [*QKeySequence.keyBindings(QKeySequence.StandardKey.Quit),
                *QKeySequence.keyBindings(QKeySequence.StandardKey.Close)]
        if QKeySequence("Ctrl+Q") not in keys:
            keys.append(QKeySequence("Ctrl+Q"))
        for key in keys:
            shortcut = QShortcut(key, self)
            shortcut.activated.connect(self.close)

    def _start_watching(self) -> LiveWatcher:
        from kmodgui.ui.live import LiveWatcher

        watcher = LiveWatcher(self.root, parent=self)
        watcher.modules_changed.connect(self.refresh_live)
        return watcher

    def _schedule_after_first_paint(self, full_catalog: bool) -> None:
        """After the first paint (a moment later, so they do not delay it): the full
        catalog and the search text."""
        if self.start_kind != "cold":
            QTimer.singleShot(0, self.list_ready.emit)
        later = 0 if self.start_kind == "cold" else FIRST_PAINT_MS
        if self._warm:
            QTimer.singleShot(later, self._warm_loaded)
        elif full_catalog:
            QTimer.singleShot(later, self.load_full_catalog)
        QTimer.singleShot(later, self._after_first_paint)

    def set_capabilities(self, capabilities: dict[str, Any]) -> None:
        """What the helper says the kernel allows (force unload, loading disabled, ...)."""
        self.capabilities = dict(capabilities)
        self.modules_page.services.force_unload = bool(capabilities.get("force-unload"))
        if capabilities.get("modules-disabled"):
            self.modules_page.notice.setText(self.tr(
                "Module loading is disabled until the next reboot "
                "(kernel.modules_disabled): nothing can be loaded or unloaded."))
            self.modules_page.notice.show()

    # -- pages ----------------------------------------------------------------------------
    def page(self, key: str) -> QWidget:
        """The page ``key`` of :data:`PAGES`, built now if it was not yet."""
        built = self._built.get(key)
        if built is not None:
            return built
        index = next(i for i, entry in enumerate(PAGES) if entry.key == key)
        page = self._make_page(PAGES[index])
        slot = self.pages.widget(index)
        current = self.pages.currentIndex()
        if slot is not None:
            self.pages.removeWidget(slot)
            slot.deleteLater()
        self.pages.insertWidget(index, page)
        self.pages.setCurrentIndex(current)
        return page

    def _make_page(self, entry: PageEntry) -> QWidget:
        try:
            page = build_page(entry, self)
        except Exception as exc:  # one broken page must not keep the window from opening
            _log.exception("the %s page could not be built", entry.key)
            page = QLabel(self.tr("This page could not be opened: %1").replace("%1", str(exc)))
            page.setWordWrap(True)
        self._built[entry.key] = page
        return page

    @property
    def modules_page(self) -> ModulesPage:
        page = self.page("modules")
        assert isinstance(page, ModulesPage)  # noqa: S101 - built by modules_page.build
        return page

    @property
    def log_page(self) -> LogPage:
        page = self.page("log")
        assert isinstance(page, LogPage)  # noqa: S101 - built by log_page.build
        return page

    @property
    def config_page(self) -> QWidget:
        """The Configuration page (built on first use)."""
        return self.page("configuration")

    @property
    def hardware_page(self) -> QWidget:
        """The Hardware page (built on first use: reading every device is not needed to
        show the module list)."""
        return self.page("hardware")

    def _show_row(self, row: int) -> None:
        if 0 <= row < len(PAGES):
            self.page(PAGES[row].key)
        self.pages.setCurrentIndex(row)

    def show_page(self, page: QWidget) -> None:
        self.side_bar.setCurrentRow(self.pages.indexOf(page))

    def show_module(self, name: str) -> None:
        self.show_page(self.modules_page)
        self.modules_page.select_module(name)

    # -- catalog --------------------------------------------------------------------------
    def load_full_catalog(self) -> None:
        """Fill descriptions and parameters from the module files in the background."""
        load = getattr(catalog_module, "load_catalog", None)
        if load is None or self._closing:
            self.catalog_loaded.emit()
            return
        root, use_cache = self.root, self._use_cache

        def work(progress: Any) -> object:
            return load(root, use_cache=use_cache, progress=progress)

        self.modules_page.show_progress(0, 1)
        self.operations.run_in_thread(work, self._full_loaded, self._full_failed,
                                      self._progress)

    def _after_first_paint(self) -> None:
        if not self._closing:
            for entry in PAGES:
                if entry.built is Built.AFTER_FIRST_PAINT:
                    self.page(entry.key)
            self.model.search_index()
            self.modules_page.details.build()

    def _warm_loaded(self) -> None:
        if not self._closing:
            self.catalog_loaded.emit()
            self._check_index_age()
            records, root = list(self.catalog.records.values()), self.root
            self.operations.run_in_thread(lambda _p: snapshot.save(root, records),
                                          lambda _ok: None, lambda _error: None)

    def _progress(self, done: int, total: int) -> None:
        if not self._closing:
            self.modules_page.show_progress(done, total)

    def _full_loaded(self, catalog: object) -> None:
        if self._closing or not isinstance(catalog, catalog_module.Catalog):
            return
        self.catalog = catalog
        self.model.set_records(catalog.records.values())
        self.modules_page.show_progress(1, 1)
        for page in self._built.values():
            if isinstance(page, FollowsCatalog):
                page.set_catalog(catalog)
        if self.start_kind == "cold":
            self.list_ready.emit()
        self.catalog_loaded.emit()
        records, root = list(catalog.records.values()), self.root
        self.operations.run_in_thread(lambda _p: snapshot.save(root, records),
                                      lambda _ok: None, lambda _error: None)
        self._check_index_age()

    def _full_failed(self, error: BaseException) -> None:
        self.modules_page.show_progress(1, 1)
        self.modules_page.notice.setText(self.tr(
            "Module details could not be read: %1").replace("%1", str(error)))
        self.modules_page.notice.show()
        self.catalog_loaded.emit()

    def refresh_live(self) -> list[str]:
        """Re-read which modules are loaded and update their rows in place."""
        if self._closing:
            return []
        changed = sorted(catalog_module.refresh_live(self.catalog))
        if changed:
            self.model.apply_changes({n: self.catalog.records.get(n) for n in changed})
        self.live_updated.emit(changed)
        for page in list(self._built.values()):
            if isinstance(page, FollowsLiveState):
                page.modules_changed(changed)
        return changed

    def _check_index_age(self) -> None:
        from kmodgui.core.installed import index_is_stale

        root = self.root
        paths = [r.path for r in self.catalog.records.values() if r.path]
        self.operations.run_in_thread(
            lambda _progress: index_is_stale(root, paths),
            lambda stale: self.modules_page.set_index_stale(bool(stale)), lambda _e: None)

    def _modinfo_text(self, record: ModuleRecord) -> str:
        from kmodgui.core.modinfo import modinfo_text  # when first copied (a quicker start)

        return modinfo_text(self.root, record)

    # -- devices (for the Aliases tab) -----------------------------------------------------
    def _device_rows(self, record: ModuleRecord) -> Sequence[tuple[str, str, str]]:
        """Devices present that the module drives or its aliases match (Aliases tab).

        Devices are read once; a failure to read them is logged and raised again
        on every call, so the tab shows the reason instead of an empty list.
        """
        from kmodgui.core.devices import devices_for_module, read_devices

        if self._devices_error is not None:
            raise self._devices_error
        if self._devices is None:
            try:
                self._devices = read_devices(self.root)
            except (OSError, KmodguiError) as exc:
                _log.warning("cannot read the devices under %s: %s", self.root.sys_bus, exc)
                self._devices_error = exc
                raise
        return [(d.name, d.modalias, d.driver or "")
                for d in devices_for_module(self._devices, record.name, record.aliases)]

    # -- insert from file -------------------------------------------------------------------
    def preview_and_insert(self, path: str) -> None:
        """Preview ``path`` in the background, then confirm, then send it as a descriptor."""
        from kmodgui.core.file_preview import FilePreview, preview_file

        root = self.root
        self.operations.run_in_thread(lambda _p: preview_file(path, root),
                                      self._show_preview,
                                      lambda e: self._show_preview(
                                          FilePreview(path=path, error=str(e))))

    def _show_preview(self, preview: object) -> None:
        self._open_preview(preview)

    def _open_preview(self, preview: object) -> InsertFileDialog | None:
        from kmodgui.core.file_preview import FilePreview
        from kmodgui.ui.dialogs.insert_file import InsertFileDialog

        if self._closing or not isinstance(preview, FilePreview):
            return None
        dialog = InsertFileDialog(preview, self)
        dialog.accepted.connect(lambda: self.insert_file(preview))
        self.preview_dialog = dialog
        dialog.open()
        return dialog

    def insert_file(self, preview: FilePreview) -> Operation | None:
        """Open the file ourselves (as the user) and pass the descriptor to the helper."""
        try:
            fd = os.open(preview.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY)
        except OSError as exc:
            self.modules_page.notice.setText(self.tr("Cannot open %1: %2").replace(
                "%1", preview.path).replace("%2", exc.strerror or str(exc)))
            self.modules_page.notice.show()
            return None
        try:
            return self.operations.submit(requests.insert_file(fd, module=preview.name))
        finally:
            os.close(fd)

    # -- after operations -------------------------------------------------------------------
    def _operation_finished(self, operation: Operation) -> None:
        if operation.state != "done" or self._closing:
            return
        self.refresh_live()
        if operation.request.changes_configuration:
            self.planner.invalidate()
            self.load_full_catalog()

    # -- remembered layout ------------------------------------------------------------------
    def _restore_layout(self) -> None:
        settings = window_settings()
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        splitter = settings.value("window/modulesSplitter")
        if isinstance(splitter, QByteArray) and not splitter.isEmpty():
            self.modules_page.splitter.restoreState(splitter)

    def save_layout(self) -> None:
        """Remember the size and the list/details split for the next start."""
        settings = window_settings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/modulesSplitter", self.modules_page.splitter.saveState())
        settings.sync()

    # -- life -------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop watchers and wait for workers, so nothing outlives the application."""
        if self._closing:
            return
        self._closing = True
        if self.isVisible():   # closed by the user, or the session ending (SIGTERM)
            self.save_layout()
        if self.watcher is not None:
            self.watcher.stop()
        self.operations.wait_for_background()
        self.operations.close_client()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

