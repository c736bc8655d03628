"""The detail pane (``moduleDetails``): the tabs for the selected module.

The tab titles are there from the first paint; the tabs themselves (and their
modules) are built when a module is first shown or a tab is first asked for,
so a start shows the module list without paying for five forms nobody has
looked at yet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTabWidget, QWidget

from kmodgui.core.paths import Root
from kmodgui.core.records import ModuleRecord

if TYPE_CHECKING:
    from kmodgui.ui.details.aliases import AliasesTab, DeviceMatcher
    from kmodgui.ui.details.configuration import ConfigurationTab
    from kmodgui.ui.details.dependencies import DependenciesTab, Lookup
    from kmodgui.ui.details.overview import OverviewTab
    from kmodgui.ui.details.parameters import ParametersTab


class _Tabs:
    """The five tabs, built together."""

    def __init__(self, root: Root, lookup: Lookup, devices: DeviceMatcher | None) -> None:
        from kmodgui.ui.details.aliases import AliasesTab
        from kmodgui.ui.details.configuration import ConfigurationTab
        from kmodgui.ui.details.dependencies import DependenciesTab
        from kmodgui.ui.details.overview import OverviewTab
        from kmodgui.ui.details.parameters import ParametersTab

        self.overview = OverviewTab(root)
        self.parameters = ParametersTab()
        self.dependencies = DependenciesTab(lookup)
        self.aliases = AliasesTab(devices)
        self.configuration = ConfigurationTab()
        self.configuration.base = str(root.base)

    def all(self) -> tuple[QWidget, ...]:
        return (self.overview, self.parameters, self.dependencies, self.aliases,
                self.configuration)


class DetailsPane(QTabWidget):
    """Overview, parameters, dependencies, aliases and devices, configuration."""

    def __init__(self, root: Root, lookup: Lookup, devices: DeviceMatcher | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("moduleDetails")
        self.setDocumentMode(True)
        self._root, self._lookup, self._devices = root, lookup, devices
        self._tabs: _Tabs | None = None
        self._editable = False
        self._hooks: list[Callable[[DetailsPane], None]] = []
        self._record: ModuleRecord | None = None
        hint = QLabel(self.tr("Select a module to see its details."))
        hint.setObjectName("detailsHint")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setEnabled(False)
        for title, page in zip(self._titles(), (hint, QWidget(), QWidget(), QWidget(),
                                                 QWidget()), strict=True):
            self.addTab(page, title)

    def _titles(self) -> tuple[str, ...]:
        return (self.tr("Overview"), self.tr("Parameters"), self.tr("Dependencies"),
                self.tr("Aliases and devices"), self.tr("Configuration"))

    # -- building ---------------------------------------------------------------------------
    @property
    def built(self) -> bool:
        return self._tabs is not None

    def when_built(self, hook: Callable[[DetailsPane], None]) -> None:
        """Call ``hook(pane)`` once the tabs exist (at once if they do): wiring their
        signals must not build them."""
        if self._tabs is not None:
            hook(self)
        else:
            self._hooks.append(hook)

    def _built_tabs(self) -> _Tabs:
        if self._tabs is None:
            tabs = _Tabs(self._root, self._lookup, self._devices)
            self._tabs = tabs
            current = self.currentIndex()
            self.blockSignals(True)
            try:
                for index, (title, tab) in enumerate(zip(self._titles(), tabs.all(),
                                                         strict=True)):
                    old = self.widget(index)
                    self.removeTab(index)
                    self.insertTab(index, tab, title)
                    if old is not None:
                        old.deleteLater()
                self.setCurrentIndex(current)
            finally:
                self.blockSignals(False)
            tabs.parameters.model.editable = self._editable
            tabs.configuration.editable = self._editable
            hooks, self._hooks = self._hooks, []
            for hook in hooks:
                hook(self)
            self.show_record(self._record)
        return self._tabs

    def build(self) -> None:
        """Build the tabs now (after the first paint, so the first click is quick)."""
        self._built_tabs()

    @property
    def overview(self) -> OverviewTab:
        return self._built_tabs().overview

    @property
    def parameters(self) -> ParametersTab:
        return self._built_tabs().parameters

    @property
    def dependencies(self) -> DependenciesTab:
        return self._built_tabs().dependencies

    @property
    def aliases(self) -> AliasesTab:
        return self._built_tabs().aliases

    @property
    def configuration(self) -> ConfigurationTab:
        return self._built_tabs().configuration

    # -- showing ------------------------------------------------------------------------------
    @property
    def record(self) -> ModuleRecord | None:
        return self._record

    def show_record(self, record: ModuleRecord | None) -> None:
        self._record = record
        if self._tabs is None:
            if record is None:
                return
            self._built_tabs()   # shows the record once built
            return
        for tab in self._tabs.all():
            tab.show_record(record)  # type: ignore[attr-defined]
        count = len(record.parameters) if record else 0
        self.setTabText(1, self.tr("Parameters (%1)").replace("%1", str(count))
                        if count else self.tr("Parameters"))

    def set_editable(self, editable: bool) -> None:
        """Without a helper, nothing can be changed: edits are switched off."""
        self._editable = editable
        if self._tabs is not None:
            self._tabs.parameters.model.editable = editable
            self._tabs.configuration.editable = editable
            self.show_record(self._record)
