"""One table from error name to words: every helper error has an entry, each explains itself."""

from __future__ import annotations

import pytest
from kmodgui_helper import errors as helper_errors

from kmodgui.client.errors import (
    CANCELLED,
    ERRORS,
    UNKNOWN,
    HelperError,
    error_text,
    explain,
)

KMODGUI = ("NotAuthorized", "Busy", "NotFound", "AlreadyLoaded", "NotLoaded", "InUse",
           "UnknownSymbol", "InvalidModule", "InvalidParameter", "SignatureRejected",
           "LockedDown", "ModulesDisabled", "Failed")


def test_every_helper_error_name_has_an_entry() -> None:
    names = {getattr(helper_errors, n) for n in dir(helper_errors)
             if isinstance(getattr(helper_errors, n), str)
             and getattr(helper_errors, n).startswith(("org.kmodgui.Error.",
                                                      "org.freedesktop.DBus.Error.",
                                                      "org.freedesktop.PolicyKit1.Error."))}
    assert helper_errors.ALL_HELPER_ERRORS <= names
    missing = sorted(n for n in names if n != helper_errors.PREFIX and n not in ERRORS)
    assert not missing
    assert CANCELLED in ERRORS


@pytest.mark.parametrize("name", KMODGUI)
def test_each_error_has_words_and_a_next_step(name: str) -> None:
    result = explain(HelperError(f"org.kmodgui.Error.{name}", "message from the helper"),
                     module="dummy", holders=["a"])
    assert result.title and result.text and result.next_step
    assert not result.quiet


def test_only_a_cancelled_dialog_is_quiet() -> None:
    """Told apart by the error's name, whatever its message says."""
    assert explain(HelperError(CANCELLED, "")).quiet
    assert HelperError(CANCELLED, "").cancelled
    denied = explain(HelperError("org.kmodgui.Error.NotAuthorized",
                                 "authentication was dismissed"))
    assert not denied.quiet and "not allowed" in denied.text
    assert not explain(HelperError(
        "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", "")).quiet


def test_specific_explanations() -> None:
    unknown = explain(HelperError("org.kmodgui.Error.UnknownSymbol", "", [
        "[  1.0] dummy: Unknown symbol foo_bar (err -2)",
        "[  1.0] dummy: Unknown symbol baz (err -2)"]), module="dummy")
    assert "baz, foo_bar" in unknown.text and unknown.action == "load-dependencies"
    in_use = explain(HelperError("org.kmodgui.Error.InUse", ""), module="jbd2",
                     holders=["ext4"])
    assert "ext4" in in_use.text and in_use.action == "unload-holders"
    assert in_use.subjects == ["ext4"]
    assert "Secure Boot" in explain(HelperError("org.kmodgui.Error.SignatureRejected", "")).text
    assert "another kernel" in explain(HelperError("org.kmodgui.Error.InvalidModule", "")).text
    assert "reboot" in explain(HelperError("org.kmodgui.Error.ModulesDisabled", "")).next_step
    gone = explain(HelperError("org.freedesktop.DBus.Error.ServiceUnknown", ""))
    assert gone.title == "Helper not reachable"
    odd = explain(HelperError("org.example.Strange", "something odd"))
    assert odd.text == "something odd" and error_text("org.example.Strange") is UNKNOWN
    init = explain(HelperError("org.kmodgui.Error.Failed",
                               "the module's init has not returned after 60 s"))
    assert init.text == "the module's init has not returned after 60 s"
    refused = explain(HelperError("org.freedesktop.DBus.Error.InvalidArgs",
                                  "a parameter value may not contain '\\n'"))
    assert "'\\n'" in refused.text


def test_terminal_hints() -> None:
    """The CLI's hints: as before for the names that had one, none for the others."""
    assert "administrator" in HelperError("org.kmodgui.Error.NotAuthorized", "").hint
    assert "another change" in HelperError("org.kmodgui.Error.Busy", "").hint.lower()
    assert "make -C packaging install" in HelperError(
        "org.freedesktop.DBus.Error.ServiceUnknown", "").hint
    assert "make -C packaging install" in HelperError(
        "org.freedesktop.DBus.Error.Spawn.ChildExited", "").hint
    assert HelperError("org.kmodgui.Error.NotFound", "").hint == ""
    assert HelperError("org.kmodgui.Error.Failed", "").hint == ""


def test_translation_applies_to_the_words_before_names_go_in() -> None:
    seen: list[str] = []

    def translate(text: str) -> str:
        seen.append(text)
        return "»" + text

    result = explain(HelperError("org.kmodgui.Error.NotLoaded", ""), module="loop",
                     translate=translate)
    assert result.text == "»loop is not loaded." and "{module} is not loaded." in seen
