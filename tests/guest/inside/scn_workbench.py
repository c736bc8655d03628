"""Issue 12: the note's cycle with the workbench's own module, on the real kernel.

Run inside the guest as ``kmguser``. ``simplemodule.ko`` is what ``kmodgui
new simplemodule`` + ``kmodgui build`` made on the host (as 'nobody', against
this kernel's headers: ../wbbuild.py). Here, through the helper only:
insert → listed in /proc/modules and by ``kmodgui list`` → "In init module"
in the kernel log and in the helper's reply → the parameter changed live →
unload → the exit message; twice, since a module that leaks breaks the
second round. Then the same by clicks on the window's Workbench page.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from guestlib import (
    Completed,
    HelperError,
    KernelLog,
    capabilities,
    loaded,
    parameter,
    run,
    same_log,
)

KMODGUI = (sys.executable, "-m", "kmodgui")
TIMEOUT = 120_000  # ms; the guest is emulated
NAME = "simplemodule"


def helper_up() -> None:
    """Have the helper running before a timed step. It exits after 30 s idle, and on a busy
    host the emulated guest can take longer than dbus-daemon's 25 s activation timeout to
    start it again (the helper still comes up, and the next call finds it)."""
    for attempt in range(3):
        try:
            capabilities()
            return
        except HelperError:
            if attempt == 2:
                raise


def through_helper(*args: str | Path) -> Completed:
    """``kmodgui ARGS`` (a command that calls the helper), with the helper up."""
    helper_up()
    return run(*KMODGUI, *args)


def test_new_writes_the_template_the_host_built(tmp_path: Path) -> None:
    done = run(*KMODGUI, "new", NAME, tmp_path / NAME)
    assert done.rc == 0, done.stderr
    source = (tmp_path / NAME / f"{NAME}.c").read_text()
    assert 'pr_info("In init module\\n");' in source
    assert "module_param(count, int, 0644);" in source
    assert (tmp_path / NAME / "Kbuild").read_text() == f"obj-m := {NAME}.o\n"


def test_the_notes_cycle_twice(mods: Path, release: str) -> None:
    ko = mods / f"{NAME}.ko"
    info = run(*KMODGUI, "info", ko)
    assert info.rc == 0, info.stderr
    assert f"vermagic:       {release} SMP" in info.stdout
    assert "parm:           count:" in info.stdout
    for round_ in (1, 2):
        log = KernelLog()
        inserted = through_helper("insert", ko, "count=3")
        assert inserted.rc == 0, (round_, inserted.stdout, inserted.stderr)
        printed = log.new()
        assert f"{NAME}: In init module" in printed, printed
        assert f"{NAME}: count is 3" in printed
        reply = [line.removeprefix("kernel: ") for line in inserted.stdout.splitlines()
                 if line.startswith("kernel: ")]
        same_log(reply, printed, about=NAME)        # the helper passed the kernel's words on
        print(f"round {round_}: insert -> kernel log {printed}")

        assert NAME in loaded() and loaded()[NAME]["state"] == "Live"
        listing = run(*KMODGUI, "list", "--json")
        assert listing.rc == 0, listing.stderr
        rows = json.loads(listing.stdout)
        rows = rows if isinstance(rows, list) else rows.get("modules", [])
        assert any(r.get("name") == NAME for r in rows), listing.stdout[:2000]
        assert parameter(NAME, "count") == "3"

        changed = through_helper("set-param", NAME, "count", str(10 + round_))
        assert changed.rc == 0, changed.stderr
        assert parameter(NAME, "count") == str(10 + round_)   # live, in sysfs

        log = KernelLog()
        unloaded = through_helper("unload", NAME)
        assert unloaded.rc == 0, unloaded.stderr
        printed = log.new()
        exit_line = f"{NAME}: In exit module (count was {10 + round_})"
        assert exit_line in printed, printed
        assert f"kernel: {exit_line}" in unloaded.stdout, unloaded.stdout
        assert NAME not in loaded()
        print(f"round {round_}: unload -> kernel log {printed}")


def test_the_cycle_by_clicks_on_the_workbench_page(qtbot: Any, mods: Path,
                                                   tmp_path: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QPushButton, QSpinBox

    from kmodgui.core.paths import Root
    from kmodgui.core.records import ModuleState
    from kmodgui.ui.helper_link import connect_helper
    from kmodgui.ui.window import MainWindow
    from kmodgui.ui.workbench_page import WorkbenchPage

    folder = tmp_path / NAME
    folder.mkdir()
    shutil.copy(mods / f"{NAME}.ko", folder)
    system = Root.create()
    client = connect_helper(system)
    assert client is not None, "the window found no helper on the system bus"
    window = MainWindow(system, client)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: "kernel-release" in window.capabilities, timeout=TIMEOUT)
    page = window.page("workbench")
    assert isinstance(page, WorkbenchPage)
    window.show_page(page)
    page.set_folder(folder)
    assert page.built is not None and page.built.problems == []

    def click(name: str) -> None:
        button = page.findChild(QPushButton, name)
        assert button is not None and button.isEnabled(), name
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    page.findChild(QSpinBox, "param_count").setValue(5)
    log = KernelLog()
    helper_up()
    with qtbot.waitSignal(page.module_loaded, timeout=TIMEOUT):
        click("loadBuiltButton")
    shown = page.kernel_log.toPlainText()
    assert f"{NAME}: In init module" in shown and f"{NAME}: count is 5" in shown, shown
    assert f"{NAME}: In init module" in log.new()
    assert NAME in loaded() and parameter(NAME, "count") == "5"
    assert 'tainted "O"' in page.notice.text()             # out-of-tree, in plain words

    # the Modules page has it, loaded; its Parameters tab changes it live (as for any module)
    qtbot.waitUntil(lambda: page.show_button.isEnabled(), timeout=TIMEOUT)
    click("showBuiltButton")
    modules = window.modules_page
    assert window.pages.currentWidget() is modules
    record = modules.current_record()
    assert record is not None and record.name == NAME
    assert record.state in (ModuleState.LOADED, ModuleState.EXTERNAL) and record.loaded

    window.show_page(page)
    log = KernelLog()
    helper_up()
    with qtbot.waitSignal(page.module_unloaded, timeout=TIMEOUT):
        click("unloadBuiltButton")
    exit_line = f"{NAME}: In exit module (count was 5)"
    assert exit_line in page.kernel_log.toPlainText()
    assert exit_line in log.new()
    assert NAME not in loaded()
    print("page kernel log:\n" + page.kernel_log.toPlainText())
    window.close()
