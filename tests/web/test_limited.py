"""The page in a limited Cockpit session: the bridge runs as ``nobody``, so the helper sees
that user and polkit decides, with the helper tier's test rules (nobody may configure the
module ``dummy``, nothing else)."""

from __future__ import annotations

import pytest
from webpage import Page
from webstack import WebSystem

pytestmark = [pytest.mark.bus, pytest.mark.kernel]


def test_the_session_is_not_root(limited_page: Page) -> None:
    assert limited_page.session.user == "nobody"
    ours = [e for e in limited_page.console()
            if "/kmodgui/" in e["message"] or e["level"] == "SEVERE"]
    assert ours == []


def test_a_polkit_rule_lets_the_user_configure(limited_page: Page, clean: WebSystem) -> None:
    page, system = limited_page, clean
    page.clear_outcome()
    page.select("dummy")
    page.click("boot-toggle")
    outcome = page.outcome()
    assert outcome["ok"], (outcome, system.bus.helper_log.read_text()[-1500:])
    assert system.conf("modules-load.d", "dummy").read_text().splitlines()[-1] == "dummy"
    assert "uid 65534 (" in system.bus.helper_log.read_text()


def test_without_a_rule_the_page_says_access_is_needed(limited_page: Page,
                                                       clean: WebSystem) -> None:
    page, system = limited_page, clean
    page.clear_outcome()
    page.select("psmouse")
    page.js("document.getElementById('blacklist-mode').value = 'autoload'")
    page.click("blacklist-apply")
    outcome = page.outcome()
    assert not outcome["ok"]
    assert outcome["access"] == "yes"
    assert outcome["error_name"] in ("org.kmodgui.Error.NotAuthorized",
                                     "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired")
    assert outcome["error_title"] == "Administrative access is needed"
    assert "Limited access" in outcome["error_hint"]
    assert not system.conf("modprobe.d", "psmouse").exists()
