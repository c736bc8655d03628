"""An option kmodgui wrote that a later modprobe.d file overrides (Debian's
``/lib/modprobe.d/systemd.conf`` sets ``options dummy numdummies=0``): the
parameters tab says so, and so does "Make permanent", checked against kmod's own
``modprobe --show-depends`` on the same tree."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt

from kmodgui.core.paths import Root
from kmodgui.ui.details.parameters import overriding

from .conftest import RecordingClient, write_live_state


@pytest.fixture
def dummy_root(tmp_path: Path, kernel_root: Root) -> Root:
    """The real kernel with dummy loaded (numdummies=4), set by us and again by systemd.conf."""
    base = tmp_path / "root"
    (base / "lib" / "modprobe.d").mkdir(parents=True)
    (base / "lib" / "modules").symlink_to(kernel_root.modules_dir.parent)
    for part in ("boot", "usr"):
        if (kernel_root.base / part).exists():
            (base / part).symlink_to(kernel_root.base / part)
    (base / "etc" / "modprobe.d").mkdir(parents=True)
    (base / "etc/modprobe.d/kmodgui-dummy.conf").write_text("options dummy numdummies=4\n")
    (base / "lib/modprobe.d/systemd.conf").write_text(
        "# Debian's\noptions bonding max_bonds=0\noptions dummy numdummies=0\n")
    write_live_state(base, {"dummy": (16384, 0, [])})
    params = base / "sys" / "module" / "dummy" / "parameters"
    (params / "numdummies").write_text("4\n")
    (params / "numdummies").chmod(0o444)
    return Root(base, kernel_root.release)


def kmod_options(root: Root, module: str) -> list[str]:
    """The options kmod would pass, in its order (the kernel keeps the last of each)."""
    out = subprocess.run(
        ["modprobe", "-d", str(root.base), "-S", root.release,
         "-C", str(root.path("/etc/modprobe.d")), "-C", str(root.path("/lib/modprobe.d")),
         "--show-depends", module], capture_output=True, text=True, check=True).stdout
    return out.split()[2:]


def test_overridden_option_is_said(qtbot: Any, dummy_root: Root, client: RecordingClient,
                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kmodgui.ui.window import MainWindow

    assert kmod_options(dummy_root, "dummy") == ["numdummies=4", "numdummies=0"]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    win = MainWindow(dummy_root, client, full_catalog=False, watch=False)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.catalog_loaded, timeout=30000):
        win.load_full_catalog()
    assert win.modules_page.select_module("dummy")
    tab = win.modules_page.details.parameters
    win.modules_page.details.setCurrentWidget(tab)
    model = tab.model
    row = next(r for r in range(model.rowCount()) if model.index(r, 0).data() == "numdummies")
    cell = model.index(row, 3)
    # The value shown in effect is kmod's last one; ours is said to be overridden.
    assert cell.data() == "0  (4 in kmodgui-dummy.conf:1 overridden by systemd.conf:3)"
    tip = cell.data(Qt.ItemDataRole.ToolTipRole)
    assert tip == (f"{dummy_root.base}/etc/modprobe.d/kmodgui-dummy.conf:1 sets 4, but it is "
                   f"overridden by {dummy_root.base}/lib/modprobe.d/systemd.conf:3, which "
                   "comes later and sets 0: the kernel takes the last value.")

    assert tab.override_note.isHidden()
    tab.table.selectionModel().setCurrentIndex(
        model.index(row, 2), QItemSelectionModel.SelectionFlag.ClearAndSelect
        | QItemSelectionModel.SelectionFlag.Rows)
    qtbot.mouseClick(tab.permanent_button, Qt.MouseButton.LeftButton)
    assert (client.calls[-1].method, client.calls[-1].args) == (
        "SetPersistentOptions", ["dummy", {"numdummies": "4"}, {}])
    assert not tab.override_note.isHidden()
    assert tab.override_note.text() == (
        f"numdummies=4 will be written to kmodgui-dummy.conf, but {dummy_root.base}"
        "/lib/modprobe.d/systemd.conf:3 comes later and sets numdummies=0, so the module "
        "will get numdummies=0 at its next load. Change or remove that line to use "
        "numdummies=4.")

    # Another module's tab starts without the note; psmouse has no later line.
    assert win.modules_page.select_module("psmouse")
    assert tab.override_note.isHidden()
    win.close()


def test_override_needs_a_later_file_and_another_value(
        dummy_root: Root, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kmodgui.core.catalog import load_catalog

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    record = load_catalog(dummy_root).records["dummy"]
    later = overriding(record, "numdummies", "4")
    assert later is not None and (later.value, later.source.line) == ("0", 3)
    assert overriding(record, "numdummies", "0") is None     # same value: nothing lost
    # Only a file sorting after ours overrides it: renamed to sort first, systemd.conf
    # would come before kmodgui-dummy.conf and kmod would pass our value last.
    (dummy_root.path("/lib/modprobe.d/systemd.conf")).rename(
        dummy_root.path("/lib/modprobe.d/00-systemd.conf"))
    assert kmod_options(dummy_root, "dummy") == ["numdummies=0", "numdummies=4"]
    record = load_catalog(dummy_root).records["dummy"]
    assert overriding(record, "numdummies", "4") is None
