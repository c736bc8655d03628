"""The module table model and its filter proxy, on the real kernel's catalog."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from kmodgui.core.catalog import Catalog, load_catalog
from kmodgui.core.paths import Root
from kmodgui.core.records import ModuleRecord, ModuleState
from kmodgui.ui.module_model import (
    NAME_ROLE,
    RECORD_ROLE,
    Column,
    ModuleFilterProxy,
    ModuleTableModel,
    passes_state,
)


@pytest.fixture(scope="module")
def catalog(kernel_root: Root) -> Catalog:
    return load_catalog(kernel_root, use_cache=False)


@pytest.fixture
def model(qapp: Any, catalog: Catalog) -> ModuleTableModel:
    model = ModuleTableModel()
    model.set_records(catalog.records.values())
    return model


def names(proxy: ModuleFilterProxy) -> list[str]:
    return [proxy.index(row, 0).data(NAME_ROLE) for row in range(proxy.rowCount())]


def test_models_pass_qtmodeltester(qtmodeltester: Any, catalog: Catalog) -> None:
    # A slice of the real catalog: the tester walks every index several times.
    model = ModuleTableModel()
    model.set_records(r for r in catalog.records.values() if r.name.startswith(("s", "b")))
    assert model.rowCount() > 300
    qtmodeltester.check(model)
    proxy = ModuleFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    proxy.set_query("usb")
    proxy.set_state_filter("available")
    qtmodeltester.check(proxy)
    proxy.sort(Column.SIZE, Qt.SortOrder.DescendingOrder)
    model.apply_changes({"snd": None})
    qtmodeltester.check(proxy)


def test_all_modules_and_columns(model: ModuleTableModel, catalog: Catalog) -> None:
    assert model.rowCount() == len(catalog.records) > 4000
    row = model.row_of("ext4")
    assert row is not None
    assert model.index(row, Column.NAME).data() == "ext4"
    assert model.index(row, Column.STATE).data() == "Available"
    assert model.index(row, Column.DESCRIPTION).data() == "Fourth Extended Filesystem"
    assert model.index(row, Column.SIZE).data().endswith("MiB")
    assert model.index(row, 0).data(RECORD_ROLE) is catalog.records["ext4"]
    builtin = next(r for r in catalog.records.values() if r.state == ModuleState.BUILTIN)
    assert model.index(model.row_of(builtin.name), Column.STATE).data() == "Built-in"


def test_sorting_happens_in_the_source(model: ModuleTableModel) -> None:
    proxy = ModuleFilterProxy()
    proxy.setSourceModel(model)
    proxy.sort(Column.NAME, Qt.SortOrder.DescendingOrder)
    shown = names(proxy)
    assert shown == sorted(shown, reverse=True)
    proxy.sort(Column.SIZE, Qt.SortOrder.AscendingOrder)
    sizes = [model.record(n).file_size or 0 for n in names(proxy)]
    assert sizes == sorted(sizes)


def test_search_and_state_filter(model: ModuleTableModel, catalog: Catalog) -> None:
    proxy = ModuleFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_query("param:debug")
    expected = {r.name for r in catalog.records.values()
                if any("debug" in p.name.lower() for p in r.parameters)}
    assert set(names(proxy)) == expected
    proxy.set_state_filter("builtin")
    assert set(names(proxy)) == {n for n in expected
                                 if catalog.records[n].state == ModuleState.BUILTIN}
    proxy.set_query("")
    assert set(names(proxy)) == {r.name for r in catalog.records.values()
                                 if r.state == ModuleState.BUILTIN}
    proxy.set_state_filter("all")
    assert proxy.rowCount() == model.rowCount()
    with pytest.raises(ValueError, match="unknown state filter"):
        proxy.set_state_filter("nonsense")


def test_changes_in_place_keep_filters_right(model: ModuleTableModel) -> None:
    proxy = ModuleFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_state_filter("loaded")
    assert proxy.rowCount() == 0
    ext4 = model.record("ext4")
    loaded = ModuleRecord(**{**ext4.__dict__, "state": ModuleState.LOADED,
                             "refcount": 2, "holders": ["a", "b"]})
    extra = ModuleRecord("outoftree", ModuleState.EXTERNAL, refcount=0, size=4096)
    model.apply_changes({"ext4": loaded, "outoftree": extra})
    assert sorted(names(proxy)) == ["ext4", "outoftree"]
    assert model.index(model.row_of("ext4"), Column.USED_BY).data() == "2  a, b"
    model.apply_changes({"outoftree": None})
    assert names(proxy) == ["ext4"] and model.row_of("outoftree") is None


def test_busy_rows_show_the_operation(model: ModuleTableModel) -> None:
    row = model.row_of("ext4")
    model.set_busy("ext4", "Loading…")
    assert model.index(row, Column.STATE).data() == "Loading…"
    model.set_busy("ext4", None)
    assert model.index(row, Column.STATE).data() == "Available"


def test_state_filters_mean_what_they_say(catalog: Catalog) -> None:
    record = ModuleRecord("x", ModuleState.LOADED)
    assert passes_state(record, "loaded") and not passes_state(record, "available")
    assert not passes_state(record, "configured") and not passes_state(record, "blacklisted")
