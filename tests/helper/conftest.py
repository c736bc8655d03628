"""Fixtures of the helper tier (the machinery is in helperbus.py, shared with tests/cli)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helperbus import LIBRARIES, HelperBus, private_bus


@pytest.fixture(scope="session", params=LIBRARIES)
def helper_bus(request: pytest.FixtureRequest) -> Iterator[HelperBus]:
    """A private system bus, polkitd and an activatable helper on one D-Bus library."""
    with private_bus(request.param) as bus:
        yield bus


@pytest.fixture
def bus(helper_bus: HelperBus) -> Iterator[HelperBus]:
    """The bus of the current library; kmodgui's config files are removed afterwards."""
    yield helper_bus
    for path in sorted(helper_bus.root.rglob("kmodgui-*.conf")):
        path.unlink()


@pytest.fixture
def scratch(helper_bus: HelperBus, request: pytest.FixtureRequest) -> Path:
    """A temporary directory unprivileged callers can reach (pytest's own is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="scratch-", dir=helper_bus.directory))
    path.chmod(0o755)
    return path
