"""Warm start: the list snapshot paints at once, and only while the catalog cache is unchanged."""

from __future__ import annotations

import json
from typing import Any

from kmodgui.core import snapshot
from kmodgui.core.catalog import load_catalog
from kmodgui.core.modcache import cache_file
from kmodgui.core.paths import Root


def test_start_kinds_cold_then_snapshot(qtbot: Any, live_root: Root) -> None:
    from kmodgui.ui.window import MainWindow

    first = MainWindow(live_root, None, watch=False)
    qtbot.addWidget(first)
    assert first.start_kind == "cold"
    assert first.model.rowCount() > 4000  # at once, from the index
    assert first.model.record("ext4").description == ""
    with qtbot.waitSignal(first.catalog_loaded, timeout=30000):
        qtbot.waitUntil(lambda: not first.modules_page.progress.isHidden(), timeout=5000)
    assert first.modules_page.progress.isHidden()
    assert first.model.record("ext4").description == "Fourth Extended Filesystem"
    first.close()  # waits for the snapshot to be written
    assert snapshot.snapshot_path(live_root).is_file()

    second = MainWindow(live_root, None, watch=False)
    qtbot.addWidget(second)
    assert second.start_kind == "snapshot"
    record = second.model.record("psmouse")
    assert record.description == "PS/2 mouse driver"
    assert record.state.value == "loaded"  # today's live state, not the snapshot's
    with qtbot.waitSignal(second.catalog_loaded, timeout=30000):
        pass
    assert second.model.record("psmouse").parameters  # the full catalog replaced it
    second.close()


def test_snapshot_is_only_valid_with_its_cache(kernel_root: Root) -> None:
    catalog = load_catalog(kernel_root)
    assert snapshot.save(kernel_root, list(catalog.records.values()))
    loaded = snapshot.load(kernel_root)
    assert loaded is not None and len(loaded) == len(catalog.records)
    assert loaded["ext4"].description == catalog.records["ext4"].description
    cache = cache_file(kernel_root)
    cache.write_bytes(cache.read_bytes() + b" ")  # the catalog cache changed
    assert snapshot.load(kernel_root) is None
    snapshot.save(kernel_root, list(catalog.records.values()))
    snapshot.snapshot_path(kernel_root).write_bytes(b"\x00not json")
    assert snapshot.load(kernel_root) is None
    st = cache.stat()
    tree = str(kernel_root.base.resolve())
    bad_state = [3, tree, str(cache), [st.st_size, st.st_mtime_ns],
                 [["x", "nonsense", None, None, ""]]]
    snapshot.snapshot_path(kernel_root).write_text(json.dumps(bad_state))
    assert snapshot.load(kernel_root) is None
    good = [3, tree, str(cache), [st.st_size, st.st_mtime_ns],
            [["x", "builtin", None, None, "X"]]]
    snapshot.snapshot_path(kernel_root).write_text(json.dumps(good))
    assert snapshot.load(kernel_root)["x"].description == "X"
    other_tree = [3, tree + "-other", *good[2:]]  # another tree whose name collides
    snapshot.snapshot_path(kernel_root).write_text(json.dumps(other_tree))
    assert snapshot.load(kernel_root) is None
