"""The Hardware page on captured machines, with the real Operations layer.

The helper client here stands in for D-Bus: on "Load" it does to the copied
sysfs what the kernel does when the driver binds (the guest test does it for
real). Everything else (core, Lookup, models, Operations, explanations) is the
real code.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kmgtest.sysfs_roots import make_root
from PySide6.QtCore import Qt, QTimer

from kmodgui.client import HelperError, HelperResult, Request, requests
from kmodgui.core.devices import CandidateState, Device, scan
from kmodgui.core.paths import Root
from kmodgui.ui import device_model, hardware_page
from kmodgui.ui.device_model import DEVICE_ROLE, NEEDS_DRIVER_ROLE, DeviceTableModel
from kmodgui.ui.hardware_page import HardwarePage
from kmodgui.ui.operations import Operations

NIC = "devices/pci0000:00/0000:00:02.0"


class KernelStandIn:
    """A helper client that answers like the helper and binds e1000 like the kernel."""

    def __init__(self, root: Root, *, bind: bool = True,
                 error: HelperError | None = None) -> None:
        self.root, self.bind, self.error = root, bind, error
        self.calls: list[tuple[str, list[object]]] = []

    def start(self, request: Request, on_reply: Callable[[HelperResult], None],
              on_error: Callable[[HelperError], None]) -> None:
        method, args = request.method, request.args
        self.calls.append((method, [list(a) if isinstance(a, tuple) else a for a in args]))
        if self.error is not None:
            error = self.error
            QTimer.singleShot(10, lambda: on_error(error))
            return
        if method == "Load" and args[0] == "e1000" and self.bind:
            sys_dir = self.root.base / "sys"
            (sys_dir / "bus/pci/drivers/e1000").mkdir()
            (sys_dir / "bus/pci/drivers/e1000/module").symlink_to("../../../../module/e1000")
            (sys_dir / "module/e1000").mkdir(exist_ok=True)
            (sys_dir / "module/e1000/initstate").write_text("live\n")
            (sys_dir / NIC / "driver").symlink_to("../../../bus/pci/drivers/e1000")
            (sys_dir / NIC / "net/ens2").mkdir(parents=True)
        log = ["e1000: Intel(R) PRO/1000 Network Driver"] if method == "Load" else []
        QTimer.singleShot(10, lambda: on_reply(HelperResult(kernel_log=log)))


@pytest.fixture
def pc(kernel_root: Root, tmp_path: Path) -> Root:
    root = make_root(tmp_path / "root", "qemu-pc", kernel_root)
    root.path("/etc/modprobe.d/nic.conf").write_text("blacklist 8139too\n")
    return root


def make_page(qtbot: Any, root: Root, client: KernelStandIn | None) -> HardwarePage:
    operations = Operations(client) if client is not None else None
    page = HardwarePage(root, None, operations)
    qtbot.addWidget(page)
    if operations is not None:
        qtbot.waitUntil(lambda: page.model.rowCount() > 0, timeout=20000)
    return page


def select(page: HardwarePage, syspath: str) -> Device:
    assert page.select_device(syspath)
    device = page.selected_device()
    assert device is not None
    return device


def rows(page: HardwarePage) -> list[Device]:
    return [page.proxy.index(r, 0).data(DEVICE_ROLE) for r in range(page.proxy.rowCount())]


def test_model_passes_qtmodeltester(qtmodeltester: Any, pc: Root) -> None:
    model = DeviceTableModel()
    model.set_devices(scan(pc))
    qtmodeltester.check(model)


def test_table_filter_and_search(qtbot: Any, pc: Root) -> None:
    page = make_page(qtbot, pc, None)
    shown = rows(page)
    assert len(shown) == len(scan(pc)) > 40
    # Devices without a driver first, highlighted; bound ones are not.
    first, last = page.proxy.index(0, 0), page.proxy.index(len(shown) - 1, 0)
    assert first.data(NEEDS_DRIVER_ROLE) and first.data(Qt.ItemDataRole.BackgroundRole)
    assert not last.data(NEEDS_DRIVER_ROLE) and last.data(Qt.ItemDataRole.BackgroundRole) is None
    needs = [d.needs_driver for d in shown]
    assert needs == sorted(needs, reverse=True)

    page.busFilter.setCurrentIndex(page.busFilter.findData("pci"))
    assert {d.bus for d in rows(page)} == {"pci"} and len(rows(page)) == 11
    page.searchField.setText("82540em")
    assert [d.name for d in rows(page)] == ["0000:00:02.0"]
    page.searchField.setText("no driver ethernet")
    assert [d.name for d in rows(page)] == ["0000:00:02.0", "0000:00:04.0"]
    page.busFilter.setCurrentIndex(0)
    page.searchField.setText("usb_storage")
    assert [d.name for d in rows(page)] == ["2-2:1.0"]
    page.searchField.setText("1af4:1005")
    assert [d.name for d in rows(page)] == ["0000:00:05.0"]

    # Sorting by a column, then back to the scan order.
    page.searchField.clear()
    page.deviceTable.sortByColumn(device_model.Column.BUS, Qt.SortOrder.AscendingOrder)
    buses = [d.bus for d in rows(page)]
    assert buses == sorted(buses)


def test_details_without_helper(qtbot: Any, pc: Root) -> None:
    page = make_page(qtbot, pc, None)
    device = select(page, NIC)
    assert page.detailTitle.text() == "Intel Corporation 82540EM Gigabit Ethernet Controller"
    assert page._fields["driver"].text() == "No driver"
    assert page._fields["ids"].text() == "8086:100e"
    assert page.candidateModel.rowCount() == 1
    assert page.candidateModel.row(0)[:2] == ("e1000", "available")
    assert device.needs_driver
    assert not page.enableDriverButton.isEnabled()    # read-only without a helper
    with qtbot.waitSignal(page.module_activated) as jump:
        page.showModuleButton.click()
    assert jump.args == ["e1000"]
    select(page, "devices/pci0000:00/0000:00:07.0")
    assert page._fields["driver"].text() == "xhci_hcd (module xhci_pci)"
    assert page.candidateModel.row(0)[:2] == ("xhci_pci", "loaded")


def test_enable_driver_binds_the_device(qtbot: Any, pc: Root, tmp_path: Path) -> None:
    client = KernelStandIn(pc)
    page = make_page(qtbot, pc, client)
    select(page, NIC)
    assert page.enableDriverButton.isEnabled()
    with qtbot.waitSignal(page.driver_enabled, timeout=10000) as enabled:
        qtbot.mouseClick(page.enableDriverButton, Qt.MouseButton.LeftButton)
    device, bound = enabled.args
    assert bound and device.driver == "e1000" and device.driver_module == "e1000"
    assert client.calls == [("Load", ["e1000", [], {}])]
    assert "now driven by e1000" in page.statusLabel.text()
    assert "Network interface: ens2" in page.statusLabel.text()
    assert "PRO/1000" in page.kernelLog.toPlainText()
    # The table follows: the NIC has its driver, and the candidate is loaded.
    qtbot.waitUntil(lambda: next(d for d in page.model.devices()
                                 if d.syspath == NIC).driver == "e1000", timeout=10000)
    qtbot.waitUntil(lambda: page.candidateModel.rowCount() == 1
                    and page.candidateModel.row(0)[1] == "loaded", timeout=10000)
    assert page.selected_device() is not None and page.selected_device().syspath == NIC
    assert not page.enableDriverButton.isEnabled()
    page.grab().save(str(tmp_path / "hardware-page.png"))
    assert (tmp_path / "hardware-page.png").stat().st_size > 1000
    page._operations.wait_for_background()


def test_enable_driver_that_does_not_bind(qtbot: Any, pc: Root,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardware_page, "BIND_WAIT_MS", 400)
    page = make_page(qtbot, pc, KernelStandIn(pc, bind=False))
    select(page, NIC)
    with qtbot.waitSignal(page.driver_enabled, timeout=10000) as enabled:
        page.enableDriverButton.click()
    assert enabled.args[1] is False
    assert "no driver took the device" in page.statusLabel.text()
    assert page.kernelLog.isVisibleTo(page)
    page._operations.wait_for_background()


def test_failed_load_shows_the_kernel_words(qtbot: Any, pc: Root) -> None:
    error = HelperError("org.kmodgui.Error.UnknownSymbol", "Unknown symbol in module",
                      ["e1000: Unknown symbol e1000_dummy (err -2)"])
    page = make_page(qtbot, pc, KernelStandIn(pc, error=error))
    select(page, NIC)
    with qtbot.waitSignal(page._operations.operation_finished, timeout=10000):
        page.enableDriverButton.click()
    qtbot.waitUntil(lambda: "Missing dependencies" in page.statusLabel.text())
    assert "e1000_dummy" in page.statusLabel.text()
    assert "err -2" in page.kernelLog.toPlainText()
    assert page.enableDriverButton.isEnabled()     # it may be tried again
    page._operations.wait_for_background()


def test_unblacklist_and_load_at_boot(qtbot: Any, pc: Root) -> None:
    client = KernelStandIn(pc)
    page = make_page(qtbot, pc, client)
    rtl = select(page, "devices/pci0000:00/0000:00:04.0")
    assert [c.state for c in rtl.candidates] == [CandidateState.AVAILABLE,
                                                 CandidateState.BLACKLISTED]
    conf = pc.path("/etc/modprobe.d/nic.conf")
    assert page.candidateModel.row(1)[1] == f"blacklisted in {conf}:1"
    assert not page.unblacklistButton.isVisibleTo(page)    # 8139cp is chosen: no blacklist
    page.candidateTable.selectRow(1)
    assert page.unblacklistButton.isVisibleTo(page) and page.unblacklistButton.isEnabled()
    with qtbot.waitSignal(page._operations.operation_finished, timeout=10000):
        page.unblacklistButton.click()
    qtbot.waitUntil(lambda: "no longer blacklisted" in page.statusLabel.text())
    assert client.calls[-1] == ("SetBlacklist", ["8139too", "none", {}])
    page.candidateTable.selectRow(0)
    with qtbot.waitSignal(page._operations.operation_finished, timeout=10000):
        page.loadAtBootButton.click()
    qtbot.waitUntil(lambda: "loaded at every boot" in page.statusLabel.text())
    assert client.calls[-1] == ("SetLoadAtBoot", ["8139cp", True, {}])
    page._operations.wait_for_background()


def test_module_pane_matcher_and_catalog(qtbot: Any, pc: Root) -> None:
    from kmodgui.core.catalog import quick_catalog
    from kmodgui.core.records import ModuleRecord, ModuleState

    page = make_page(qtbot, pc, None)
    rows_for = page.devices_matching
    assert rows_for(ModuleRecord("e1000", ModuleState.AVAILABLE)) == [(
        "Intel Corporation 82540EM Gigabit Ethernet Controller (pci 0000:00:02.0)",
        "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00", "No driver")]
    storage = rows_for(ModuleRecord("usb_storage", ModuleState.LOADED))
    assert [r[2] for r in storage] == ["usb-storage"]   # the module has the driver's name
    assert rows_for(ModuleRecord("ext4", ModuleState.AVAILABLE)) == []
    catalog = quick_catalog(pc)
    catalog.records["e1000"].description = "Intel(R) PRO/1000 Network Driver"
    select(page, NIC)
    page.set_catalog(catalog)
    assert page.candidateModel.row(0) == ("e1000", "available",
                                          "Intel(R) PRO/1000 Network Driver")


class BrokenFinder:
    """A lookup whose index vanished mid-scan (an unexpected error, not a KmodguiError)."""

    config = type("Config", (), {"entries": []})()

    def find(self, name: str) -> list[Any]:
        raise RuntimeError("index vanished")


def test_scan_failure_is_reported_not_raised(qtbot: Any, pc: Root) -> None:
    operations = Operations(KernelStandIn(pc))
    page = HardwarePage(pc, None, operations, finder=BrokenFinder())
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: "Could not read the devices" in page.statusLabel.text(),
                    timeout=10000)
    assert "index vanished" in page.statusLabel.text()
    assert page.model.rowCount() == 0
    operations.wait_for_background()


def test_refresh_during_a_scan_reads_again(qtbot: Any, pc: Root) -> None:
    operations = Operations(KernelStandIn(pc))
    page = HardwarePage(pc, None, operations)      # its first scan is running
    qtbot.addWidget(page)
    with qtbot.waitSignals([page.devices_loaded, page.devices_loaded], timeout=20000):
        page.refresh()
    assert page.model.rowCount() > 40
    operations.wait_for_background()


def test_window_jumps_from_a_device_to_its_module(qtbot: Any, pc: Root) -> None:
    """In the window: the Hardware page is in the side bar; "Show module" opens the module."""
    from kmodgui.ui.window import MainWindow

    window = MainWindow(pc, None, full_catalog=False, watch=False)
    qtbot.addWidget(window)
    page = window.hardware_page
    assert isinstance(page, HardwarePage)
    assert window.findChild(HardwarePage, "hardwarePage") is page
    qtbot.waitUntil(lambda: page.model.rowCount() > 0, timeout=20000)
    window.show_page(page)
    select(page, "devices/pci0000:00/0000:00:07.0")
    page.showModuleButton.click()
    assert window.pages.currentWidget() is window.modules_page
    assert window.modules_page.current_record().name == "xhci_pci"
    window.operations.wait_for_background()


def test_window_rereads_devices_when_modules_change(qtbot: Any, pc: Root) -> None:
    """Someone else loads e1000 and it binds: the window's live refresh updates the page."""
    from kmodgui.ui.window import MainWindow

    window = MainWindow(pc, None, full_catalog=False, watch=False)
    qtbot.addWidget(window)
    page = window.hardware_page
    assert isinstance(page, HardwarePage)
    qtbot.waitUntil(lambda: page.model.rowCount() > 0, timeout=20000)
    KernelStandIn(pc).start(requests.load("e1000"), lambda _r: None, lambda _e: None)
    with pc.proc_modules.open("a") as f:
        f.write("e1000 176128 0 - Live 0x0000000000000000\n")
    with qtbot.waitSignal(page.devices_loaded, timeout=20000):
        assert "e1000" in window.refresh_live()
    nic = next(d for d in page.model.devices() if d.syspath == NIC)
    assert nic.driver == "e1000" and nic.candidates[0].state == CandidateState.LOADED
    window.operations.wait_for_background()


def test_no_driver_highlight_follows_the_palette() -> None:
    from PySide6.QtGui import QColor, QPalette

    for base, text in (("#ffffff", "#000000"), ("#1f2023", "#e6e6e6")):
        palette = QPalette()
        palette.setColor(QPalette.ColorRole.Base, QColor(base))
        palette.setColor(QPalette.ColorRole.Text, QColor(text))
        tint = device_model.warning_background(palette)
        # a warm tint (red above blue), close to the base's lightness, text still readable
        assert tint.red() > tint.blue()
        assert abs(tint.lightness() - QColor(base).lightness()) < 90
        assert abs(tint.lightness() - QColor(text).lightness()) > 110


def test_window_gives_the_page_its_full_catalog(qtbot: Any, pc: Root) -> None:
    """After a cold start the candidates' descriptions come from the full catalog, not the
    quick one (which has none)."""
    from kmodgui.ui.window import MainWindow

    window = MainWindow(pc, None, full_catalog=False, use_cache=False, watch=False)
    qtbot.addWidget(window)
    page = window.hardware_page
    assert isinstance(page, HardwarePage)
    qtbot.waitUntil(lambda: page.model.rowCount() > 0, timeout=20000)
    select(page, NIC)
    assert page.candidateModel.row(0)[:2] == ("e1000", "available")
    assert page.candidateModel.row(0)[2] == ""          # the quick catalog: no descriptions
    with qtbot.waitSignal(window.catalog_loaded, timeout=60000):
        window.load_full_catalog()
    assert page.candidateModel.row(0)[2] == "Intel(R) PRO/1000 Network Driver"
    window.operations.wait_for_background()
