"""The detail pane (``moduleDetails``): the tabs for the selected module."""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QWidget

from kmodgui.core.paths import Root
from kmodgui.core.records import ModuleRecord
from kmodgui.ui.details.aliases import AliasesTab, DeviceMatcher
from kmodgui.ui.details.configuration import ConfigurationTab
from kmodgui.ui.details.dependencies import DependenciesTab, Lookup
from kmodgui.ui.details.overview import OverviewTab
from kmodgui.ui.details.parameters import ParametersTab


class DetailsPane(QTabWidget):
    """Overview, parameters, dependencies, aliases and devices, configuration."""

    def __init__(self, root: Root, lookup: Lookup, devices: DeviceMatcher | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("moduleDetails")
        self.setDocumentMode(True)
        self.overview = OverviewTab(root)
        self.parameters = ParametersTab()
        self.dependencies = DependenciesTab(lookup)
        self.aliases = AliasesTab(devices)
        self.configuration = ConfigurationTab()
        self.configuration.base = str(root.base)
        self.addTab(self.overview, self.tr("Overview"))
        self.addTab(self.parameters, self.tr("Parameters"))
        self.addTab(self.dependencies, self.tr("Dependencies"))
        self.addTab(self.aliases, self.tr("Aliases and devices"))
        self.addTab(self.configuration, self.tr("Configuration"))
        self._record: ModuleRecord | None = None

    @property
    def record(self) -> ModuleRecord | None:
        return self._record

    def show_record(self, record: ModuleRecord | None) -> None:
        self._record = record
        for tab in (self.overview, self.parameters, self.dependencies, self.aliases,
                    self.configuration):
            tab.show_record(record)
        count = len(record.parameters) if record else 0
        self.setTabText(1, self.tr("Parameters (%1)").replace("%1", str(count))
                        if count else self.tr("Parameters"))

    def set_editable(self, editable: bool) -> None:
        """Without a helper, nothing can be changed: edits are switched off."""
        self.parameters.model.editable = editable
        self.configuration.editable = editable
        self.show_record(self._record)
