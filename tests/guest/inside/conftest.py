"""Fixtures for the scenario tests that run inside the guest (see ../harness.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import guestlib
import pytest

#: Modules the scenarios load; whatever a test leaves loaded is removed after it.
TOUCHED = ("kmg_consumer", "kmg_provider", "kmg_hello", "kmg_fresh", "kmg_pinned", "kmg_sleepy",
           "bridge", "stp", "llc", "dummy", "loop", "simplemodule")


@pytest.fixture(scope="session")
def mods() -> Path:
    """The test modules the host built against the matching headers."""
    return guestlib.OUT / "mods"


@pytest.fixture(scope="session")
def release() -> str:
    return os.uname().release


@pytest.fixture(autouse=True)
def clean_kernel() -> Iterator[None]:
    """Each scenario starts from a kernel without the test modules and without our config."""
    yield
    loaded = guestlib.loaded()
    for name in TOUCHED:
        if name in loaded:
            guestlib.root("rmmod", "-f", name)
    guestlib.root("sh", "-c", "rm -f /etc/modprobe.d/kmodgui-*.conf "
                  "/etc/modules-load.d/kmodgui-*.conf")
