"""The page in an administrative Cockpit session (the bridge is root): reading through
``kmodgui``'s JSON, changing through the real helper on the private bus."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from kmgtest.tinyko import tiny_ko
from webpage import Page
from webstack import WebSystem

pytestmark = [pytest.mark.bus, pytest.mark.kernel]

STATE_LABELS = {"loaded": "Loaded", "builtin": "Built in", "available": "Available",
                "loaded-not-installed": "Loaded, no file"}


def modinfo_rows(text: str) -> list[list[str]]:
    """modinfo's lines as [field, value]; continuation lines (the signature) joined by newline."""
    rows: list[list[str]] = []
    for line in text.splitlines():
        if not line:
            continue
        if line[0].isspace() and rows:
            rows[-1][1] += "\n" + line.strip()
            continue
        field, _, value = line.partition(":")
        rows.append([field, value.strip()])
    return rows


def test_page_loads_in_the_shell_without_console_errors(admin_page: Page) -> None:
    assert admin_page.js("return window.frameElement.name") == "cockpit1:localhost/kmodgui"
    assert admin_page.js("return document.title") == "Kernel modules"
    ours = [e for e in admin_page.console()
            if "/kmodgui/" in e["message"] or e["level"] == "SEVERE"]
    assert ours == []


def test_table_equals_kmodgui_list(admin_page: Page, list_json: dict[str, Any]) -> None:
    expected = [[m["name"], STATE_LABELS[m["state"]]] for m in list_json["modules"]]
    assert len(expected) > 4000
    assert admin_page.table_rows() == expected


def test_search_narrows(admin_page: Page, list_json: dict[str, Any]) -> None:
    page = admin_page
    page.el("search").send_keys("usb")
    rows = page.wait(lambda: (r := page.table_rows()) and len(r) < len(list_json["modules"])
                     and r, "the search to narrow the table")
    expected = [m["name"] for m in list_json["modules"]
                if "usb" in m["name"] or "usb" in m["description"].lower()]
    assert [name for name, _ in rows] == expected
    assert page.el("module-count").text == f"{len(expected)} of {len(list_json['modules'])} modules"
    page.js("const s = document.getElementById('state-filter'); s.value = 'loaded';"
            "s.dispatchEvent(new Event('change'))")
    loaded = [m["name"] for m in list_json["modules"]
              if m["name"] in expected and m["state"].startswith("loaded")]
    assert [name for name, _ in page.table_rows()] == loaded
    page.js("const s = document.getElementById('state-filter'); s.value = 'all';"
            "s.dispatchEvent(new Event('change'))")
    page.el("search").clear()


def test_details_equal_kmodgui_info(admin_page: Page, system: WebSystem,
                                    list_json: dict[str, Any]) -> None:
    page = admin_page
    page.select("usb_storage")
    shown = page.js("return [...document.querySelectorAll('#modinfo tr')]"
                    ".map(tr => [tr.cells[0].textContent, tr.cells[1].textContent])")
    info = system.cli("info", "-m", "usb_storage")
    assert info.returncode == 0, info.stderr
    assert shown == modinfo_rows(info.stdout)
    assert any(field == "signature" and "\n" in value for field, value in shown)
    record = next(m for m in list_json["modules"] if m["name"] == "usb_storage")
    params = page.js("return [...document.querySelectorAll('#parameters tbody tr')]"
                     ".map(tr => tr.dataset.param)")
    assert params == [p["name"] for p in record["parameters"]]
    assert page.el("deps-on").text == ", ".join(record["depends"])
    assert page.el("deps-by").text == (", ".join(record["required_by"]) or "none")


def test_load_preview_equals_kmodgui_deps(admin_page: Page, system: WebSystem) -> None:
    page = admin_page
    page.select("uas")
    page.click("action-load")
    page.wait(lambda: page.js("return document.querySelectorAll('#load-preview li[data-module]')"
                              ".length"), "the load preview")
    shown = page.js("return [...document.querySelectorAll('#load-preview li')]"
                    ".map(li => li.dataset.module)")
    deps = system.cli_json("deps", "--json", "uas")
    assert shown == [step["module"] for step in deps["load_order"]]
    assert len(shown) > 2
    page.js("document.getElementById('load-dialog').close('cancel')")


def test_load_failure_shows_the_helpers_explanation(admin_page: Page, clean: WebSystem) -> None:
    """The host kernel cannot load modules: the helper's error is what the page shows."""
    page = admin_page
    page.clear_outcome()
    page.select("uas")
    page.click("action-load")
    page.wait(lambda: page.js("return document.querySelectorAll('#load-preview li[data-module]')"
                              ".length"), "the load preview")
    page.el("load-params").send_keys("delay_use=3")
    page.click("load-confirm")
    outcome = page.outcome()
    assert not outcome["ok"]
    assert outcome["error_name"].startswith("org.kmodgui.Error.")
    assert outcome["error_message"]
    assert outcome["access"] == "no"


def _direct_warnings(system: WebSystem, member: str, signature: str,
                     body: list[Any]) -> list[str]:
    """The same request straight to the helper as root: the warnings it answers with."""
    reply = system.bus.call_root({"member": member, "signature": signature, "body": body})[0]
    assert reply["type"] == "return", reply
    warnings = reply["body"][0].get("warnings")       # a variant: {"$v": ["as", [...]]}
    return list(warnings["$v"][1]) if warnings else []


def test_persistent_options_through_the_helper(admin_page: Page, clean: WebSystem) -> None:
    page, system = admin_page, clean
    page.clear_outcome()
    page.select("dummy")
    page.el("options-input").clear()
    page.el("options-input").send_keys("numdummies=2")
    page.click("options-apply")
    outcome = page.outcome()
    conf = system.conf("modprobe.d", "dummy")
    assert outcome["ok"], (outcome, system.bus.helper_log.read_text()[-1500:])
    assert outcome["files"] == [f"Wrote {conf}"]
    assert "options dummy numdummies=2" in conf.read_text()
    assert outcome["warnings"] == _direct_warnings(
        system, "SetPersistentOptions", "sa{ss}a{sv}", ["dummy", {"numdummies": "2"}, {}])
    page.wait(lambda: any(str(conf) in row for row in page.js(
        "return [...document.querySelectorAll('#config tbody tr')].map(tr => tr.textContent)")),
        "the new setting in the configuration table")


def test_blacklist_through_the_helper(admin_page: Page, clean: WebSystem) -> None:
    page, system = admin_page, clean
    page.clear_outcome()
    page.select("dummy")
    page.js("document.getElementById('blacklist-mode').value = 'always'")
    page.click("blacklist-apply")
    outcome = page.outcome()
    conf = system.conf("modprobe.d", "dummy")
    assert outcome["ok"], (outcome, system.bus.helper_log.read_text()[-1500:])
    text = conf.read_text()
    assert "blacklist dummy" in text and "install dummy /bin/false" in text
    assert outcome["warnings"] == _direct_warnings(
        system, "SetBlacklist", "ssa{sv}", ["dummy", "always", {}])
    page.wait(lambda: page.js("return document.getElementById('blacklist-mode').value")
              == "always" and page.el("config").text.count(str(conf)) >= 2,
              "the blacklist read back")


def test_load_at_boot_through_the_helper(admin_page: Page, clean: WebSystem) -> None:
    page, system = admin_page, clean
    page.clear_outcome()
    page.select("dummy")
    assert not page.el("boot-toggle").is_selected()
    page.click("boot-toggle")
    outcome = page.outcome()
    conf = system.conf("modules-load.d", "dummy")
    assert outcome["ok"], (outcome, system.bus.helper_log.read_text()[-1500:])
    assert conf.read_text().splitlines()[-1] == "dummy"
    page.wait(lambda: page.el("boot-toggle").is_selected() and str(conf) in page.el("config").text,
              "load at boot read back")


def test_admin_session_calls_as_root(admin_page: Page, system: WebSystem) -> None:
    """With administrative access the helper sees uid 0 (its log says so)."""
    log = system.bus.helper_log.read_text()
    assert "uid 0 (" in log and "SetPersistentOptions(dummy" in log


def test_hardware_lists_devices_without_driver_first(admin_page: Page,
                                                     system: WebSystem) -> None:
    page = admin_page
    page.click("tab-hardware")
    page.wait(lambda: page.js("return document.querySelectorAll('#devices-table tbody tr')"
                              ".length"), "the device list")
    shown = page.js("return [...document.querySelectorAll('#devices-table tbody tr')]"
                    ".map(tr => [tr.dataset.device, tr.classList.contains('kg-waiting')])")
    devices = system.cli_json("devices", "--json")
    waiting = {d["syspath"] for d in devices
               if d["bindable"] and not d["driver"] and d["candidates"]}
    assert sorted(path for path, _ in shown) == sorted(d["syspath"] for d in devices)
    assert waiting, "the capture has NICs without a driver"
    assert {name for name, w in shown[:len(waiting)]} == waiting
    assert all(w for _, w in shown[:len(waiting)]) and not any(w for _, w in shown[len(waiting):])
    enable = page.js("return [...document.querySelectorAll('#devices-table button[data-enable]')]"
                     ".map(b => b.dataset.enable)")
    assert "e1000" in enable and ("8139cp" in enable or "8139too" in enable)
    # Enable asks the helper to load the driver (this host's kernel cannot: its answer shows)
    page.clear_outcome()
    page.js("document.querySelector(\"#devices-table button[data-enable='e1000']\").click()")
    outcome = page.outcome()
    assert not outcome["ok"] and outcome["error_name"].startswith("org.kmodgui.Error."), outcome
    assert "Load(e1000, 0 parameters)" in system.bus.helper_log.read_text()
    page.idle()
    page.click("tab-modules")


def _upload(page: Page, module: Path) -> dict[str, Any]:
    page.idle()
    page.clear_outcome()
    page.click("insert-file")
    page.el("insert-input").send_keys(str(module))
    page.click("insert-confirm")
    return page.outcome()


def test_load_from_file_uploads_and_runs_kmodgui_insert(admin_page: Page, system: WebSystem,
                                                        tmp_path: Path) -> None:
    """The page uploads the file and runs ``kmodgui insert`` (which passes the descriptor);
    this host's kernel cannot load it, so the page shows the command's explanation."""
    page = admin_page
    before = set(system.bus.directory.parent.glob("kmodgui-upload.*"))
    # built for this kernel's release: kmodgui insert asks the helper
    mine = tmp_path / "kmg_upload.ko"
    mine.write_bytes(tiny_ko("kmg_upload", f"vermagic={os.uname().release} SMP\0".encode()))
    mine.chmod(0o644)
    outcome = _upload(page, mine)
    assert not outcome["ok"]
    assert outcome["error_message"].startswith("kmodgui: "), outcome
    log = system.bus.helper_log.read_text()
    assert "InsertFile(" in log and "uid 0 (" in log
    # a module of another release: refused by kmodgui insert itself, with the reason
    module = next(system.modules_dir.rglob("dummy.ko*"))
    calls = log.count("InsertFile(")
    outcome = _upload(page, module)
    assert not outcome["ok"]
    assert f"built for {system.modules_dir.name}, not {os.uname().release}" in \
        outcome["error_message"], outcome
    assert system.bus.helper_log.read_text().count("InsertFile(") == calls
    assert set(system.bus.directory.parent.glob("kmodgui-upload.*")) == before  # removed


def test_dark_theme_follows_cockpit(admin_page: Page) -> None:
    page = admin_page
    background = "return getComputedStyle(document.body).backgroundColor"
    light = page.js(background)
    page.js("window.dispatchEvent(new CustomEvent('cockpit-style', {detail: {style: 'dark'}}))")
    assert page.js("return document.documentElement.classList.contains('pf-theme-dark')")
    assert page.js(background) != light
    page.js("window.dispatchEvent(new CustomEvent('cockpit-style', {detail: {style: 'light'}}))")
    assert page.js(background) == light


def test_set_a_parameter_live_through_the_helper(admin_page: Page, system: WebSystem) -> None:
    page = admin_page
    page.clear_outcome()
    page.select("usb_storage")
    live = system.root / "sys" / "module" / "usb_storage" / "parameters" / "delay_use"
    field = page.driver.find_element(
        "css selector", "#parameters tr[data-param='delay_use'] input")
    assert field.get_attribute("value") == "1"
    field.clear()
    field.send_keys("3")
    page.driver.find_element("css selector",
                             "#parameters tr[data-param='delay_use'] button").click()
    outcome = page.outcome()
    assert outcome["ok"], (outcome, system.bus.helper_log.read_text()[-1500:])
    assert live.read_text().strip() == "3"
    page.idle()
    page.wait(lambda: page.driver.find_element(
        "css selector", "#parameters tr[data-param='delay_use'] input").get_attribute("value")
        == "3", "the new live value read back")
