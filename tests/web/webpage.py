"""The kmodgui page inside Cockpit's shell, as the tests drive it through Selenium."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from webstack import CockpitSession

FRAME = "cockpit1:localhost/kmodgui"


class Page:
    """The kmodgui page inside Cockpit's shell, in one browser."""

    def __init__(self, driver: Any, session: CockpitSession) -> None:
        self.driver = driver
        self.session = session

    def open(self, style: str = "light", timeout: float = 90) -> None:
        from selenium.webdriver.common.by import By

        self.driver.get(self.session.url + "/")
        self.driver.execute_script("localStorage.setItem('shell:style', arguments[0])", style)
        self.driver.get(self.session.url + "/kmodgui")
        self.wait(lambda: self.driver.find_elements(By.CSS_SELECTOR, f"iframe[name='{FRAME}']"),
                  "the page's frame in the shell", timeout)
        self.driver.switch_to.frame(
            self.driver.find_element(By.CSS_SELECTOR, f"iframe[name='{FRAME}']"))
        try:
            self.wait(lambda: self.js("return document.querySelectorAll('#modules-table tbody tr')"
                                      ".length") > 0, "the module table", timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {self.el('list-status').text}; "
                                 f"{self.session.log.read_text()[-2000:]}") from None

    def wait(self, predicate: Callable[[], Any], what: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def el(self, element_id: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.ID, element_id)

    def click(self, element_id: str) -> None:
        """Click a control once the page around it has stopped moving.

        The details pane grows while its parts are read (modinfo, configuration): a click
        aimed where the control was a moment ago lands elsewhere and changes nothing.
        """
        where = ("const e = document.getElementById(arguments[0]);"
                 "e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
                 "return [r.x, r.y, r.width, r.height]")
        last: list[Any] = []

        def settled() -> bool:
            nonlocal last
            now = self.js(where, element_id)
            steady, last = now == last, now
            return steady

        self.wait(settled, f"{element_id} to stop moving")
        self.el(element_id).click()

    def visible(self, element_id: str) -> bool:
        return bool(self.js("const e = document.getElementById(arguments[0]);"
                            "return !!e && !e.closest('[hidden]') && e.offsetParent !== null",
                            element_id))

    def table_rows(self) -> list[list[str]]:
        return self.js("return [...document.querySelectorAll('#modules-table tbody tr')]"  # type: ignore[no-any-return]
                       ".map(tr => [tr.dataset.name, tr.cells[1].textContent])")

    def idle(self, timeout: float = 60) -> None:
        """Wait until no re-read is under way (one follows every operation)."""
        self.wait(lambda: self.js("return document.body.dataset.reading") == "no",
                  "the page to finish reading", timeout)

    def select(self, module: str, timeout: float = 30) -> None:
        self.idle(max(timeout, 60))
        self.el("search").clear()
        self.el("search").send_keys(module)
        self.js("document.querySelector(`#modules-table tbody tr[data-name='${arguments[0]}']`)"
                ".click()", module)
        self.wait(lambda: self.js("return document.getElementById('details').dataset.module")
                  == module and self.js("return document.getElementById('modinfo').dataset.module")
                  == module,
                  f"the details of {module}", timeout)

    def outcome(self, timeout: float = 150) -> dict[str, Any]:
        """What the page shows after an operation: result or error, with their lines."""
        try:
            self.wait(lambda: self.visible("result") or self.visible("error"),
                      "the helper's answer", timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; {self.diagnosis()}") from None
        return self.js("""
            const text = id => document.getElementById(id).textContent;
            const items = id => [...document.querySelectorAll('#' + id + ' li')]
                .map(li => li.textContent);
            const err = document.getElementById('error');
            return {ok: !document.getElementById('result').hidden, title: text('result-title'),
                    files: items('result-files'), warnings: items('result-warnings'),
                    error_title: text('error-title'), error_message: text('error-message'),
                    error_hint: text('error-hint'), access: err.dataset.access,
                    error_name: err.dataset.name, kernel: text('error-kernel')};""")

    def diagnosis(self) -> str:
        """What the page, the browser, cockpit-ws and the helper were doing (for a failure)."""
        page = self.js("return {busy: document.body.classList.contains('kg-busy'),"
                       " reading: document.body.dataset.reading,"
                       " outcome: !document.getElementById('outcome').hidden}")
        console = [entry.get("message", "") for entry in self.console()][-10:]
        return (f"page {page}; console {console}; cockpit-ws: "
                f"{_tail(self.session.log)}; helper: {_tail(self.session.helper_log)}")

    def clear_outcome(self) -> None:
        self.js("document.getElementById('outcome').hidden = true;"
                "document.getElementById('result').hidden = true;"
                "document.getElementById('error').hidden = true;")

    def console(self) -> list[dict[str, Any]]:
        return self.driver.get_log("browser")  # type: ignore[no-any-return]


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-1500:] if log.exists() else "(no log)"
