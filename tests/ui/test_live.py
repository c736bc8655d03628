"""The list follows loads and unloads by anyone: polling a tree's /proc/modules, and the
kernel uevent socket's message filter."""

from __future__ import annotations

from typing import Any

from kmodgui.core.paths import Root
from kmodgui.ui.live import LiveWatcher, is_module_event, open_uevent_socket
from kmodgui.ui.module_model import Column

from .conftest import LOADED, write_live_state


def test_window_follows_a_load_and_an_unload_within_a_second(qtbot: Any, mutable_root: Root,
                                                             client: Any) -> None:
    from kmodgui.ui.window import MainWindow

    win = MainWindow(mutable_root, client, full_catalog=False)
    qtbot.addWidget(win)
    assert win.watcher is not None and win.watcher.mode == "poll"
    row = win.model.row_of("snd_hda_intel")
    assert win.model.index(row, Column.STATE).data() == "Available"
    now = {"snd_hda_intel": (61440, 0, []), **LOADED}
    with qtbot.waitSignal(win.live_updated, timeout=1500) as blocker:
        write_live_state(mutable_root.base, now)
    assert "snd_hda_intel" in blocker.args[0]
    assert win.model.index(row, Column.STATE).data() == "Loaded"
    assert win.model.index(row, Column.SIZE).data().startswith("60")
    del now["psmouse"]
    with qtbot.waitSignal(win.live_updated, timeout=1500) as blocker:
        write_live_state(mutable_root.base, now)
    assert "psmouse" in blocker.args[0]
    assert win.model.index(win.model.row_of("psmouse"), Column.STATE).data() == "Available"
    win.close()
    assert win.watcher.mode == "off"


def test_unchanged_tree_emits_nothing(qtbot: Any, mutable_root: Root) -> None:
    watcher = LiveWatcher(mutable_root, interval_ms=50)
    with qtbot.assertNotEmitted(watcher.modules_changed, wait=300):
        pass
    watcher.stop()


def test_uevent_filter() -> None:
    add = b"add@/module/dummy\0ACTION=add\0DEVPATH=/module/dummy\0SUBSYSTEM=module\0SEQNUM=5\0"
    other = b"add@/devices/virtual/net/x\0ACTION=add\0SUBSYSTEM=net\0"
    assert is_module_event(add)
    assert not is_module_event(other)
    assert is_module_event(b"libudev\0whatever\0SUBSYSTEM=module\0")


def test_uevent_socket_opens_here() -> None:
    """On this host (root, Linux) the kernel's uevent group can be joined."""
    sock = open_uevent_socket()
    assert sock is not None
    sock.close()
