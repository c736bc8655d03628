"""Fixtures of the hardware tests: each captured scenario as a root over the real kernel tree."""

from __future__ import annotations

import os

import pytest
from kmgtest.sysfs_roots import SCENARIOS, make_root

from kmodgui.core.paths import Root

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")   # before pytest-qt makes the QApplication


@pytest.fixture(scope="session", params=SCENARIOS)
def captured_root(request: pytest.FixtureRequest, kernel_root: Root,
                  tmp_path_factory: pytest.TempPathFactory) -> Root:
    """Each captured scenario as a :class:`Root` over the real kernel tree."""
    scenario = request.param
    return make_root(tmp_path_factory.mktemp(scenario), scenario, kernel_root)
