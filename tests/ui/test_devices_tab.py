"""The Aliases tab lists the devices present that a module's aliases match, on a /sys
captured from a real kernel under qemu, checked against ``modprobe -R``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kmgtest import sysfs_roots

from kmodgui.core.paths import Root


@pytest.mark.parametrize("module", ["e1000", "ahci", "xhci_pci"])
def test_devices_matching_a_module(qtbot: Any, tmp_path: Path, kernel_root: Root,
                                   module: str) -> None:
    from kmodgui.core.devices import read_devices
    from kmodgui.ui.window import MainWindow

    root = sysfs_roots.make_root(tmp_path / "root", "qemu-pc", kernel_root)
    window = MainWindow(root, None, full_catalog=False, watch=False)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.catalog_loaded, timeout=30000):
        window.load_full_catalog()
    assert window.modules_page.select_module(module)
    tab = window.modules_page.details.aliases
    shown = {tab.device_rows.row(r)[0] for r in range(tab.device_rows.rowCount())}
    resolve = sysfs_roots.modprobe_resolve(root)
    expected = {d.name for d in read_devices(root)
                if module in resolve(d.modalias) or d.driver_module == module}
    assert shown == expected
    assert shown, f"qemu's pc machine has a device for {module}"
    window.close()


def test_unreadable_devices_show_the_reason(qtbot: Any, tmp_path: Path, kernel_root: Root,
                                            monkeypatch: pytest.MonkeyPatch,
                                            caplog: pytest.LogCaptureFixture) -> None:
    """A failure to read /sys is said in the tab and logged, not shown as "no device"."""
    import kmodgui.core.devices
    from kmodgui.ui.window import MainWindow

    calls: list[Root] = []

    def unreadable(root: Root) -> list[Any]:
        calls.append(root)
        raise PermissionError(13, "Permission denied", str(root.sys_bus))

    monkeypatch.setattr(kmodgui.core.devices, "read_devices", unreadable)
    root = sysfs_roots.make_root(tmp_path / "root", "qemu-pc", kernel_root)
    window = MainWindow(root, None, full_catalog=False, watch=False)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.catalog_loaded, timeout=30000):
        window.load_full_catalog()
    for module in ("e1000", "ahci"):
        assert window.modules_page.select_module(module)
        tab = window.modules_page.details.aliases
        assert tab.device_rows.rowCount() == 0
        assert tab.device_note.text() == "The devices could not be read: Permission denied"
    assert len(calls) == 1                      # read once; the failure is remembered
    assert "cannot read the devices" in caplog.text and "Permission denied" in caplog.text
    window.close()
