"""The window on the real kernel tree with a live state: search, filters, details, actions."""

from __future__ import annotations

import subprocess
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QLineEdit, QSpinBox

from kmodgui.client import HelperError, HelperResult, requests
from kmodgui.core.paths import Root
from kmodgui.ui.dialogs.error import ErrorDialog
from kmodgui.ui.module_model import NAME_ROLE, Column

from .conftest import LOADED, RecordingClient


def shown(window: Any) -> list[str]:
    proxy = window.modules_page.proxy
    return [proxy.index(r, 0).data(NAME_ROLE) for r in range(proxy.rowCount())]


def select(window: Any, name: str) -> None:
    assert window.modules_page.select_module(name)
    assert window.modules_page.current_record().name == name


def test_widgets_are_named(window: Any) -> None:
    for name in ("moduleSearch", "stateFilter", "moduleTable", "moduleDetails",
                 "parameterTable", "loadButton", "unloadButton", "insertFileButton",
                 "rebuildIndexButton", "sideBar"):
        assert window.findChild(object, name) is not None, name
    assert window.modules_page.notice.isHidden()  # a helper client is present


def test_read_only_without_helper(qtbot: Any, live_root: Root) -> None:
    from kmodgui.ui.window import MainWindow

    win = MainWindow(live_root, None, full_catalog=False, watch=False)
    qtbot.addWidget(win)
    win.show()
    page = win.modules_page
    assert page.notice.isVisible() and "helper" in page.notice.text()
    assert not page.insert_button.isEnabled() and not page.rebuild_button.isEnabled()
    page.select_module("snd_hda_intel")
    assert not page.load_button.isEnabled()


def test_search_typing_and_state_filter(window: Any, qtbot: Any) -> None:
    page = window.modules_page
    qtbot.keyClicks(page.search, "param:smartscroll")
    assert shown(window) == ["psmouse"]
    page.search.clear()
    qtbot.keyClicks(page.search, "fourth extended")
    assert shown(window) == ["ext4"]
    page.search.clear()
    page.state_filter.setCurrentIndex(page.state_filter.findData("loaded"))
    assert sorted(shown(window)) == sorted(LOADED)
    page.state_filter.setCurrentIndex(page.state_filter.findData("blacklisted"))
    assert {"pcspkr", "floppy"} <= set(shown(window))
    page.state_filter.setCurrentIndex(page.state_filter.findData("configured"))
    assert {"psmouse", "pcspkr", "floppy"} <= set(shown(window))
    assert page.count_label.text().endswith(str(window.model.rowCount()))


def test_selection_survives_typing(window: Any, qtbot: Any) -> None:
    page = window.modules_page
    select(window, "psmouse")
    qtbot.keyClicks(page.search, "psm")
    assert page.current_record().name == "psmouse"
    assert page.table.selectionModel().isRowSelected(page.table.currentIndex().row())
    qtbot.keyClicks(page.search, "zzz")
    assert page.current_record() is None and page.details.record is None


def test_overview_shows_modinfo(window: Any) -> None:
    select(window, "psmouse")
    values = window.modules_page.details.overview.values
    record = window.model.record("psmouse")
    assert values["description"].text() == record.description == "PS/2 mouse driver"
    assert values["file"].text().endswith("psmouse.ko")
    assert "Signed by" in values["signature"].text()
    assert "matches kernel" in values["vermagic"].text()
    assert values["state"].text() == "Loaded"


def test_parameters_show_live_and_configured_values(window: Any) -> None:
    select(window, "psmouse")
    model = window.modules_page.details.parameters.model
    rows = {model.index(r, 0).data(): r for r in range(model.rowCount())}
    rate = rows["rate"]
    assert model.index(rate, 1).data() == "uint"
    assert model.index(rate, 2).data() == "100"
    assert model.index(rate, 3).data() == "60  (local.conf:1)"
    assert model.index(rows["proto"], 3).data() == "imps  (local.conf:1)"
    assert model.flags(model.index(rate, 2)) & Qt.ItemFlag.ItemIsEditable


def test_edit_parameter_in_place_calls_set_parameter(window: Any, client: RecordingClient,
                                                     qtbot: Any) -> None:
    select(window, "psmouse")
    tab = window.modules_page.details.parameters
    window.modules_page.details.setCurrentWidget(tab)
    model = tab.model
    row = next(r for r in range(model.rowCount()) if model.index(r, 0).data() == "rate")
    index = model.index(row, 2)
    tab.table.edit(index)
    editor = tab.table.findChild(QLineEdit)
    assert editor is not None
    editor.selectAll()
    qtbot.keyClicks(editor, "80")
    assert editor.text() == "80", editor.text()
    tab.table.commitData(editor)
    assert [(c.method, c.args) for c in client.calls] == [
        ("SetParameter", ["psmouse", "rate", "80", {}])]
    assert model.index(row, 2).data() == "80 (applying…)"
    assert window.model.busy("psmouse") == "Applying…"
    client.calls[0].on_reply(HelperResult())
    assert window.model.busy("psmouse") is None
    # make permanent sends the live value as the module's option
    tab.table.selectionModel().setCurrentIndex(
        index, QItemSelectionModel.SelectionFlag.ClearAndSelect
        | QItemSelectionModel.SelectionFlag.Rows)
    assert tab.permanent_button.isEnabled()
    qtbot.mouseClick(tab.permanent_button, Qt.MouseButton.LeftButton)
    assert (client.calls[-1].method, client.calls[-1].args) == (
        "SetPersistentOptions", ["psmouse", {"rate": "100"}, {}])


def test_bool_parameter_editor_is_a_choice(window: Any) -> None:
    select(window, "psmouse")
    tab = window.modules_page.details.parameters
    window.modules_page.details.setCurrentWidget(tab)
    model = tab.model
    row = next(r for r in range(model.rowCount())
               if model.index(r, 0).data() == "smartscroll")
    tab.table.edit(model.index(row, 2))
    combo = tab.table.findChild(QComboBox)
    assert combo is not None and combo.currentText() == "Y"


def test_configuration_tab_changes_our_settings(window: Any, client: RecordingClient,
                                                qtbot: Any) -> None:
    select(window, "floppy")
    tab = window.modules_page.details.configuration
    assert tab.blacklist.currentData() == "always"
    kinds = {tab.settings.row(r)[0] for r in range(tab.settings.rowCount())}
    assert {"install", "blacklist"} <= kinds
    tab.blacklist.setCurrentIndex(tab.blacklist.findData("autoload"))
    tab.boot.setChecked(True)
    qtbot.mouseClick(tab.apply_button, Qt.MouseButton.LeftButton)
    assert [(c.method, c.args) for c in client.calls] == [
        ("SetBlacklist", ["floppy", "autoload", {}]),
        ("SetLoadAtBoot", ["floppy", True, {}])]


def test_dependency_tree_walks_by_activation(window: Any) -> None:
    select(window, "ext4")
    tab = window.modules_page.details.dependencies
    depends = tab.tree.topLevelItem(0)
    names = [depends.child(i).text(0) for i in range(depends.childCount())]
    assert sorted(names) == sorted(window.model.record("ext4").depends)
    jbd2 = next(depends.child(i) for i in range(depends.childCount())
                if depends.child(i).text(0) == "jbd2")
    tab.tree.itemActivated.emit(jbd2, 0)
    assert window.modules_page.current_record().name == "jbd2"
    used_by = tab.tree.topLevelItem(1)
    assert "ext4" in [used_by.child(i).text(0) for i in range(used_by.childCount())]


def test_load_shows_what_modprobe_loads(window: Any, client: RecordingClient,
                                        live_root: Root) -> None:
    select(window, "snd_hda_intel")
    page = window.modules_page
    assert page.load_button.isEnabled() and not page.unload_button.isEnabled()
    dialog = page.request_load()
    listed = [dialog.plan_list.item(i).text() for i in range(dialog.plan_list.count())]
    reference = subprocess.run(
        ["modprobe", "-d", str(live_root.base), "-S", live_root.release, "--show-depends",
         "snd_hda_intel"], capture_output=True, text=True, check=True).stdout
    expected = [line.split()[1].rsplit("/", 1)[-1].split(".", 1)[0].replace("-", "_")
                for line in reference.splitlines()]
    assert listed == expected
    dialog.load_button.click()
    assert [(c.method, c.args) for c in client.calls] == [
        ("Load", ["snd_hda_intel", [], {}])]
    assert window.model.busy("snd_hda_intel") == "Loading…"
    state = window.model.index(window.model.row_of("snd_hda_intel"), Column.STATE)
    assert state.data() == "Loading…"


def test_load_with_parameters_form(window: Any, client: RecordingClient) -> None:
    page = window.modules_page
    dialog = page.request_load("loop", with_parameters=True)
    assert dialog.form is not None
    max_part = dialog.form.fields["max_part"]
    assert isinstance(max_part, QSpinBox) and max_part.maximum() == 2**31 - 1
    max_part.setValue(8)
    dialog.load_button.click()
    assert (client.calls[-1].method, client.calls[-1].args) == (
        "Load", ["loop", ["max_part=8"], {}])


def test_parameter_form_widgets_follow_types(window: Any) -> None:
    dialog = window.modules_page.request_load("usbcore" if window.model.record("usbcore")
                                              .state.value == "available" else "snd_hda_intel",
                                              with_parameters=True)
    form = dialog.form
    assert form is not None and form.fields
    record = dialog.record
    for param in record.parameters:
        field = form.fields[param.name]
        kind = (param.type or "").removeprefix("array of ")
        if param.type in ("bool", "invbool"):
            assert isinstance(field, QCheckBox), param
        elif param.type in ("byte", "short", "ushort", "int"):
            assert isinstance(field, QSpinBox), param
        else:
            assert isinstance(field, QLineEdit), param
            if (param.type or "").startswith("array of"):
                assert kind in field.placeholderText()
    dialog.reject()


def test_unload_offers_holders_first_and_force(window: Any, client: RecordingClient) -> None:
    select(window, "jbd2")
    page = window.modules_page
    assert page.unload_button.isEnabled()
    dialog = page.request_unload()
    assert dialog.holders_first is not None and dialog.holders_first.isChecked()
    assert dialog.force is not None and not dialog.force.isChecked()
    assert dialog.plan() == ["ext4", "jbd2"]
    dialog.unload_button.click()
    assert [(c.method, c.args) for c in client.calls] == [
        ("Unload", ["ext4", {}]), ("Unload", ["jbd2", {}])]


def test_failure_shows_explanation_and_kernel_log(window: Any, client: RecordingClient,
                                                  qtbot: Any) -> None:
    client.answer = lambda call: call.on_error(HelperError(
        "org.kmodgui.Error.UnknownSymbol", "Unknown symbol in module",
        ["snd_hda_intel: Unknown symbol snd_hda_codec_new (err -2)"]))
    page = window.modules_page
    page.request_load("snd_hda_intel").load_button.click()
    dialog = page.findChild(ErrorDialog)
    assert dialog is not None and dialog.isVisible()
    assert "snd_hda_codec_new" in dialog.findChild(object, "errorText").text()
    assert "snd_hda_codec_new" in dialog.findChild(object, "errorKernelLog").toPlainText()
    assert dialog.action_button is not None
    assert window.model.busy("snd_hda_intel") is None
    log = window.log_page
    assert log.model.rowCount() == 1 and log.model.row(0)[3].startswith("failed")


def test_dismissed_authorization_is_not_a_failure(window: Any, client: RecordingClient) -> None:
    client.answer = lambda call: call.on_error(HelperError(
        "org.freedesktop.PolicyKit1.Error.Cancelled", "authentication was dismissed", []))
    page = window.modules_page
    page.request_load("snd_hda_intel").load_button.click()
    assert page.findChild(ErrorDialog) is None
    assert window.log_page.model.row(0)[3].startswith("cancelled")
    assert window.model.busy("snd_hda_intel") is None


def test_in_use_failure_offers_unloading_holders(window: Any, client: RecordingClient) -> None:
    client.answer = lambda call: (call.on_error(HelperError(
        "org.kmodgui.Error.InUse", "Module jbd2 is in use", []))
        if len(client.calls) == 1 else None)
    page = window.modules_page
    operation = window.operations.submit(requests.unload("jbd2"), holders=["ext4"])
    assert operation.state == "failed"
    dialog = page.findChild(ErrorDialog)
    assert "ext4" in dialog.findChild(object, "errorText").text()
    dialog.action_button.click()
    assert [(c.method, c.args[0]) for c in client.calls[1:]] == [
        ("Unload", "ext4"), ("Unload", "jbd2")]


def test_rebuild_index(window: Any, client: RecordingClient, live_root: Root) -> None:
    box = window.modules_page.request_rebuild()
    box.findChild(object, "confirmRebuildButton").click()
    assert (client.calls[-1].method, client.calls[-1].args) == (
        "RebuildIndex", [live_root.release, {}])


def test_keyboard_and_context_menu(window: Any, qtbot: Any) -> None:
    page = window.modules_page
    window.activateWindow()
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is page.search
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_Slash)
    assert QApplication.focusWidget() is page.search
    qtbot.keyClicks(page.search, "psmouse")
    qtbot.keyClick(page.search, Qt.Key.Key_Return)
    assert page.current_record().name == "psmouse"
    assert QApplication.focusWidget() is page.table
    menu = page.build_context_menu(page.current_record())
    actions = {a.objectName(): a for a in menu.actions()}
    assert not actions["load"].isEnabled() and actions["unload"].isEnabled()
    actions["copyModinfo"].trigger()
    reference = subprocess.run(["modinfo", "-b", str(window.root.base), "-k",
                                window.root.release, "psmouse"], capture_output=True,
                               text=True, check=True).stdout
    assert QGuiApplication.clipboard().text() == reference
    actions["copyName"].trigger()
    assert QGuiApplication.clipboard().text() == "psmouse"


def test_config_page_lists_settings_with_sources(window: Any) -> None:
    page = window.config_page
    rows = [page.model.row(r) for r in range(page.model.rowCount())]
    assert ("psmouse", "options", "rate=60 proto=imps") == rows[
        [r[0] for r in rows].index("psmouse")][:3]
    floppy = [r for r in rows if r[0] == "floppy"]
    assert floppy and all(r[3] == "yes (kmodgui)" for r in floppy)
    assert {r[4] for r in floppy} == {"/etc/modprobe.d/kmodgui-floppy.conf:1",
                                      "/etc/modprobe.d/kmodgui-floppy.conf:2"}
    assert all(r[3] == "no" for r in rows if r[0] == "pcspkr")
    softdeps = [r for r in rows if r[0] == "ext4" and r[1] == "softdep"]
    assert softdeps and all(r[2].startswith("pre:") for r in softdeps)
    page.filter.setText("pcspkr")
    assert page.proxy.rowCount() == 1
    page.table.selectRow(0)
    page.open_button.click()
    assert window.modules_page.current_record().name == "pcspkr"
    assert window.pages.currentWidget() is window.modules_page


def test_stale_index_offers_a_rebuild(qtbot: Any, kernel_root: Root, tmp_path: Any) -> None:
    """Module files newer than modules.dep: the page says so and offers Rebuild Index."""
    import os
    import shutil

    from kmodgui.ui.window import MainWindow

    release_dir = tmp_path / "root" / "lib" / "modules" / kernel_root.release
    release_dir.mkdir(parents=True)
    for entry in kernel_root.modules_dir.iterdir():
        if entry.name == "modules.dep":
            shutil.copy(entry, release_dir / entry.name)
            os.utime(release_dir / entry.name, (0, 0))
        else:
            (release_dir / entry.name).symlink_to(entry)
    root = Root(tmp_path / "root", kernel_root.release)
    win = MainWindow(root, RecordingClient(), capabilities={}, watch=False)
    qtbot.addWidget(win)
    win.show()
    page = win.modules_page
    qtbot.waitUntil(page.stale_notice.isVisible, timeout=30000)
    assert page.rebuild_button.isDefault()
    win.close()


def test_fresh_index_is_not_stale(window: Any, qtbot: Any) -> None:
    assert window.operations.wait_for_background()
    qtbot.wait(50)  # deliver the age check's queued result
    assert not window.modules_page.stale_notice.isVisible()


def test_used_by_cell_has_the_whole_list_as_tooltip(window: Any) -> None:
    model = window.model
    row = model.row_of("jbd2")
    cell = model.index(row, Column.USED_BY)
    assert cell.data() == "1  ext4"
    tip = cell.data(Qt.ItemDataRole.ToolTipRole)
    assert tip.splitlines() == ["Used by these modules:", "  ext4", "Reference count: 1"]
    unused = model.index(model.row_of("psmouse"), Column.USED_BY)
    assert unused.data(Qt.ItemDataRole.ToolTipRole) == "Not in use"
    available = model.index(model.row_of("floppy"), Column.USED_BY)
    assert available.data(Qt.ItemDataRole.ToolTipRole) is None
    header = window.modules_page.table.horizontalHeader()
    em = window.modules_page.table.fontMetrics().horizontalAdvance("M")
    assert header.sectionSize(Column.USED_BY) >= 12 * em


def test_details_are_built_after_the_first_paint(qtbot: Any, live_root: Root,
                                                 shared_cache: Any,
                                                 monkeypatch: Any) -> None:
    from kmodgui.ui.window import MainWindow

    monkeypatch.setenv("XDG_CACHE_HOME", str(shared_cache))
    win = MainWindow(live_root, None, watch=False, full_catalog=False)
    qtbot.addWidget(win)
    details = win.modules_page.details
    assert not details.built and details.count() == 5   # titles at once, tabs later
    assert details.tabText(1) == "Parameters"
    win.show()
    qtbot.waitUntil(lambda: details.built, timeout=5000)
    assert details.widget(0) is details.overview
    assert win.modules_page.select_module("psmouse")
    assert details.overview.values["name"].text() == "psmouse"
    assert details.tabText(1).startswith("Parameters (")
    win.close()


def test_window_remembers_its_size_and_split(qtbot: Any, live_root: Root) -> None:
    from kmodgui.ui.window import MainWindow

    first = MainWindow(live_root, None, watch=False, full_catalog=False)
    qtbot.addWidget(first)
    first.show()
    first.resize(760, 560)  # within the offscreen screen (800x800)
    splitter = first.modules_page.splitter
    total = sum(splitter.sizes())
    splitter.setSizes([total - 150, 150])
    qtbot.waitUntil(lambda: first.size().width() == 760)
    wanted = splitter.sizes()
    first.close()

    second = MainWindow(live_root, None, watch=False, full_catalog=False)
    qtbot.addWidget(second)
    second.show()
    assert (second.width(), second.height()) == (760, 560)
    assert second.modules_page.splitter.sizes() == wanted
    second.close()


def test_config_page_marks_lines_kmod_ignores(qtbot: Any, mutable_root: Root) -> None:
    """Only the first install/remove/softdep line for a module counts; later ones say so,
    exactly where ``kmodgui config`` (and kmod) find them ineffective."""
    from kmodgui.core.modprobe_config import ModprobeConfig
    from kmodgui.ui.widgets import shown_path
    from kmodgui.ui.window import MainWindow

    conf = mutable_root.path("/etc/modprobe.d")
    (conf / "zz-local.conf").write_text("install floppy /bin/true\nremove floppy /bin/true\n"
                                        "remove floppy /bin/false\n")
    win = MainWindow(mutable_root, None, full_catalog=False, watch=False)
    qtbot.addWidget(win)
    page = win.config_page    # built on first use, reading the configuration
    rows = {page.model.row(r)[4]: page.model.row(r) for r in range(page.model.rowCount())}
    assert rows["/etc/modprobe.d/kmodgui-floppy.conf:1"][2] == "/bin/false"
    assert rows["/etc/modprobe.d/zz-local.conf:1"][2] == (
        "/bin/true (ignored: /etc/modprobe.d/kmodgui-floppy.conf:1 comes first)")
    assert rows["/etc/modprobe.d/zz-local.conf:2"][2] == "/bin/true"
    assert rows["/etc/modprobe.d/zz-local.conf:3"][2] == (
        "/bin/false (ignored: /etc/modprobe.d/zz-local.conf:2 comes first)")
    config = ModprobeConfig.load(mutable_root)
    ignored = {f"{shown_path(mutable_root.base, e.source.file)}:{e.source.line}"
               for e in config.entries if config.shadowed_by(e) is not None}
    assert ignored == {k for k, r in rows.items() if "comes first)" in r[2]}
    # modules.softdep's "softdep cifs gcm" lines have no pre:/post:, yet kmod keeps the
    # first as cifs's softdep (``modprobe -c`` prints "softdep cifs"), so the rest yield.
    softdep = f"/lib/modules/{mutable_root.release}/modules.softdep"
    assert rows[f"{softdep}:5"][2] == "(empty: no pre: or post:)"
    assert rows[f"{softdep}:6"][2] == (
        f"(empty: no pre: or post:) (ignored: {softdep}:5 comes first)")
    win.close()


def test_warnings_of_a_change_are_said(window: Any, client: RecordingClient) -> None:
    """The helper's warnings (a line elsewhere overrides ours) in the notice and the Log."""
    warning = "/lib/modprobe.d/00-vendor.conf:3: 'install floppy /bin/true' comes first"
    client.answer = lambda call: call.on_reply(HelperResult(warnings=[warning]))
    window.operations.submit(requests.set_blacklist("floppy", "always"))
    notice = window.modules_page.notice
    assert not notice.isHidden() and f"Warning: {warning}" in notice.text()
    log = window.log_page
    assert log.model.row(0)[3] == "done, with warnings"
    assert f"Warning: {warning}" in log.describe(window.operations.history[0])
