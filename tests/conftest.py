"""Shared fixtures: the real Debian kernel tree, the private system bus, an isolated home for
every test; and the tier markers, applied from the fixtures a test uses.

A test that uses the kernel tree is marked ``kernel``, one that uses the private bus
``bus``, one that boots the guest ``guest``: ``pytest -m "not kernel and not bus and not
guest"`` is the quick check (no fetched kernel, no root, no network). Shared helpers live
in the ``kmgtest`` package.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kmodgui.core.paths import Root

CACHE = Path(os.environ.get("KMODGUI_TEST_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kmodgui-tests")
REAL_HOME = Path.home()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own HOME and XDG directories, so no cache leaks between tests."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (("XDG_CACHE_HOME", ".cache"), ("XDG_CONFIG_HOME", ".config"),
                     ("XDG_DATA_HOME", ".local/share"), ("XDG_STATE_HOME", ".local/state")):
        monkeypatch.setenv(var, str(home / sub))
    return home


@pytest.fixture(scope="session")
def kernel_root() -> Root:
    """The extracted, depmod-indexed Debian kernel package that ``tests/fetch-kernel`` made."""
    base = CACHE / "current" / "root"
    releases = sorted(p.name for p in (base / "lib" / "modules").glob("*") if p.is_dir())
    if not releases:
        pytest.fail(f"no kernel tree under {base}: run tests/fetch-kernel (tests/run does)")
    return Root(base, releases[-1])


@pytest.fixture(scope="session")
def kernel_modules(kernel_root: Root) -> list[Path]:
    """Every module file of the real kernel tree, sorted."""
    return sorted(p for p in kernel_root.modules_dir.rglob("*.ko*") if p.is_file())


@pytest.fixture(scope="session")
def system_bus() -> Iterator[Any]:
    """The helper tier's private system bus (dbus-daemon with the project's policy, real
    polkitd, the activatable helper on dbus-fast), shared by the client, CLI and window tiers.
    """
    from kmgtest import helperbus

    with helperbus.load().private_bus("dbus_fast") as bus:
        yield bus


@pytest.fixture
def helper_bus_clean(system_bus: Any) -> Iterator[Any]:
    """:func:`system_bus`, with kmodgui's config files removed after the test."""
    yield system_bus
    for path in sorted(system_bus.root.rglob("kmodgui-*.conf")):
        path.unlink()


# The fixtures that make a test need a tier (their users are found through the whole fixture
# closure, so a fixture built on kernel_root marks its users too).
@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The .debs and RPMs, built once per session for the packaging and systemd tiers."""
    from kmgtest.packages import build

    return build(tmp_path_factory.mktemp("dist"))


TIER_FIXTURES = {
    "kernel": {"kernel_root", "kernel_modules", "trixie_root"},
    "bus": {"system_bus", "helper_bus"},
    "guest": {"guest", "guest_modules", "systemd_guest"},
    "packages": {"built"},
}


# Known leaks in test code owned elsewhere, excepted from "warnings are errors" until fixed:
# tests/helper/test_helper_polkit.py's fake_bus never closes the fake polkit's stdout pipe.
LEAKS = {"tests/helper/test_helper_polkit.py": "ignore:unclosed file:ResourceWarning"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        leak = LEAKS.get(item.nodeid.split("::", 1)[0])
        if leak is not None:
            item.add_marker(pytest.mark.filterwarnings(leak))
        used = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in TIER_FIXTURES.items():
            if used & fixtures and item.get_closest_marker(marker) is None:
                item.add_marker(getattr(pytest.mark, marker))
