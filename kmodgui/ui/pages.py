"""The window's pages: one small interface and one list, so a new page is one file and one line.

A page is a plain ``QWidget`` made by a ``build(host)`` function from what the
window offers (:class:`PageHost`). The window lists its pages as
:class:`PageEntry` values (title, icons, builder, built at once or when first
shown) and builds the side bar from that list. A page that wants to follow the
catalog or the live state implements :class:`FollowsCatalog` or
:class:`FollowsLiveState`; a page that wants to open a module in the Modules
page calls :meth:`PageHost.show_module`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from PySide6.QtWidgets import QStyle, QWidget

if TYPE_CHECKING:
    from kmodgui.core.catalog import Catalog
    from kmodgui.core.paths import Root
    from kmodgui.ui.module_model import ModuleTableModel
    from kmodgui.ui.modules_page import PageServices
    from kmodgui.ui.operations import Operations


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:
    """Marks a page title for lupdate (context ``"MainWindow"``); the window translates it."""
    return text


class PageHost(Protocol):
    """What the window offers its pages."""

    @property
    def root(self) -> Root: ...

    @property
    def catalog(self) -> Catalog: ...

    @property
    def operations(self) -> Operations: ...

    @property
    def model(self) -> ModuleTableModel: ...

    @property
    def page_services(self) -> PageServices: ...

    def show_module(self, name: str) -> None: ...


@runtime_checkable
class FollowsCatalog(Protocol):
    """A page shown from the catalog: told when the full (or a newer) catalog is read."""

    def set_catalog(self, catalog: Catalog) -> None: ...


@runtime_checkable
class FollowsLiveState(Protocol):
    """A page told which modules were loaded or unloaded (by anyone) since the last time."""

    def modules_changed(self, names: Sequence[str]) -> None: ...


class Built(Enum):
    """When the window builds a page."""

    AT_START = "at start"                    # with the window
    AFTER_FIRST_PAINT = "after first paint"  # a moment later, so it is ready when clicked
    WHEN_SHOWN = "when shown"                # only if the user opens it


@dataclass(frozen=True)
class PageEntry:
    """One line of the side bar. ``title`` is marked with QT_TRANSLATE_NOOP("MainWindow").

    ``module`` holds the page and a ``build(host) -> QWidget`` function; it is imported
    when the page is built, so a page nobody opens costs nothing at start.
    """

    key: str
    title: str
    icons: tuple[str, ...]              # theme icon names, first found wins
    fallback: QStyle.StandardPixmap     # when the theme has none of them
    module: str
    built: Built = Built.WHEN_SHOWN




def build_page(entry: PageEntry, host: PageHost) -> QWidget:
    """The page of ``entry``, made by its module's ``build(host)``."""
    build: Callable[[PageHost], object] = importlib.import_module(entry.module).build
    page = build(host)
    if not isinstance(page, QWidget):
        raise TypeError(f"{entry.module}.build made {type(page).__name__}, not a QWidget")
    return page
