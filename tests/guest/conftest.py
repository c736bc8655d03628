"""Host side of the guest tier: build the test modules, boot each guest configuration once.

Every configuration in ``plans.PLANS`` boots once per session; the tests in
``test_guest.py`` then read its results. The scenario files in ``inside/``
run only inside the guest.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from modbuild import build_test_modules
from plans import PLANS, Outcome, run_plan
from wbbuild import build_workbench_modules

from kmodgui.core.paths import Root

# The scenario files are collected by the pytest that runs inside the guest only.
collect_ignore = [] if os.environ.get("KMGTEST_IN_GUEST") else ["inside"]


def cache_dir(kernel_root: Root) -> Path:
    """The test cache directory (the kernel tree is ``<cache>/current/root``)."""
    return kernel_root.base.parent.parent


@pytest.fixture(scope="session")
def guest_modules(kernel_root: Root) -> dict[str, Path]:
    """The test modules, built against the headers matching the kernel tree."""
    cache = cache_dir(kernel_root)
    return {**build_test_modules(kernel_root, cache), **build_workbench_modules(kernel_root, cache)}


@pytest.fixture(scope="session")
def guest(kernel_root: Root, guest_modules: dict[str, Path],
          tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Outcome]:
    """``guest("default")``: that configuration's outcome, booting it on first use."""
    outcomes: dict[str, Outcome] = {}

    def get(name: str) -> Outcome:
        if name not in outcomes:
            workdir = tmp_path_factory.mktemp(f"guest-{name}")
            outcomes[name] = run_plan(name, PLANS[name], kernel_root, guest_modules, workdir,
                                      cache_dir(kernel_root))
        return outcomes[name]

    return get
