"""Fixtures of the web tier (machinery in webstack.py): the system, Cockpit sessions, a browser
on the page inside Cockpit's shell."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webpage import Page
from webstack import NOBODY, WebSystem, chromium, cockpit_session, web_system


@pytest.fixture(scope="session")
def system(kernel_root: Any) -> Iterator[WebSystem]:
    with web_system(kernel_root) as made:
        yield made


@pytest.fixture(scope="session")
def list_json(system: WebSystem) -> dict[str, Any]:
    """``kmodgui list --state all --json`` of the tree, as the page reads it (warms the cache)."""
    return system.cli_json("list", "--state", "all", "--json")  # type: ignore[no-any-return]


def _page(system: WebSystem, user: tuple[int, int] | None, tmp: Path) -> Iterator[Page]:
    with cockpit_session(system, user) as session:
        driver = chromium(tmp / "profile")
        try:
            yield Page(driver, session)
        finally:
            driver.quit()


@pytest.fixture(scope="module")
def admin_page(system: WebSystem, list_json: dict[str, Any],
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    """An administrative session (the bridge is root) with the page open."""
    for page in _page(system, None, tmp_path_factory.mktemp("admin")):
        page.open()
        yield page


@pytest.fixture(scope="module")
def limited_page(system: WebSystem, list_json: dict[str, Any],
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    """A limited session: the bridge runs as nobody, polkit decides with the test rules."""
    for page in _page(system, NOBODY, tmp_path_factory.mktemp("limited")):
        page.open()
        yield page


@pytest.fixture
def clean(system: WebSystem) -> Iterator[WebSystem]:
    """kmodgui's own files are removed before and after the test."""
    system.clean()
    yield system
    system.clean()
