"""Every helper error becomes a plain explanation with a next step."""

from __future__ import annotations

from typing import Any

import pytest

from kmodgui.ui.explain import explain

ERRORS = ("NotAuthorized", "Busy", "NotFound", "AlreadyLoaded", "NotLoaded", "InUse",
          "UnknownSymbol", "InvalidModule", "InvalidParameter", "SignatureRejected",
          "LockedDown", "ModulesDisabled", "Failed")


@pytest.mark.parametrize("name", ERRORS)
def test_each_error_has_words_and_a_next_step(qapp: Any, name: str) -> None:
    result = explain(f"org.kmodgui.Error.{name}", "message from the helper", [],
                     module="dummy", holders=["a"])
    assert result.title and result.text and result.next_step
    assert not result.quiet


def test_only_a_dismissed_dialog_is_quiet(qapp: Any) -> None:
    assert explain("org.kmodgui.Error.NotAuthorized", "authentication was dismissed").quiet
    denied = explain("org.kmodgui.Error.NotAuthorized", "not authorized")
    assert not denied.quiet and "not allowed" in denied.text
    assert not explain("org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", "").quiet


def test_specific_explanations(qapp: Any) -> None:
    unknown = explain("org.kmodgui.Error.UnknownSymbol", "", [
        "[  1.0] dummy: Unknown symbol foo_bar (err -2)",
        "[  1.0] dummy: Unknown symbol baz (err -2)"], module="dummy")
    assert "baz, foo_bar" in unknown.text and unknown.action == "load-dependencies"
    in_use = explain("org.kmodgui.Error.InUse", "", [], module="jbd2", holders=["ext4"])
    assert "ext4" in in_use.text and in_use.action == "unload-holders"
    assert in_use.subjects == ["ext4"]
    assert "Secure Boot" in explain("org.kmodgui.Error.SignatureRejected", "", []).text
    assert "another kernel" in explain("org.kmodgui.Error.InvalidModule", "", []).text
    assert "reboot" in explain("org.kmodgui.Error.ModulesDisabled", "", []).next_step
    gone = explain("org.freedesktop.DBus.Error.ServiceUnknown", "", [])
    assert "helper" in gone.text
    odd = explain("org.example.Strange", "something odd", [])
    assert odd.text == "something odd"
