"""Scenarios on a guest booted with ``module.sig_enforce=1``, then ``modules_disabled``.

Run inside the guest as ``kmguser`` (issue 6, scenarios 7 and 10), in file
order: the last test switches module loading off for good.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from guestlib import (
    HIDDEN_LINE,
    HelperError,
    KernelLog,
    capabilities,
    insert_file,
    interfaces,
    load,
    loaded,
    root,
    unload,
)


# 7 ---------------------------------------------------------------------------
def test_signature_enforced_is_reported() -> None:
    caps = capabilities()
    assert caps["signature-enforced"] is True
    assert caps["modules-disabled"] is False


def test_unsigned_module_is_rejected(mods: Path) -> None:
    log = KernelLog()
    with pytest.raises(HelperError) as e:
        insert_file(mods / "kmg_hello.ko")
    assert e.value.short == "SignatureRejected"
    words = "Loading of unsigned module is rejected"
    assert any(words in line for line in log.new())
    # The kernel does not name the module in that line, and kmguser may not read the
    # kernel log (dmesg_restrict=1): the helper shows only how many lines it left out.
    assert not any(words in line for line in e.value.kernel_log), e.value.kernel_log
    assert any(HIDDEN_LINE.fullmatch(line) for line in e.value.kernel_log), e.value.kernel_log
    assert "kmg_hello" not in loaded()


def test_signed_in_tree_module_still_loads() -> None:
    load("dummy", ("numdummies=2",))
    assert "dummy" in loaded()
    assert {"dummy0", "dummy1"} <= interfaces()
    unload("dummy")
    assert "dummy" not in loaded()


# 10 (irreversible: keep last) -------------------------------------------------
def test_modules_disabled(mods: Path) -> None:
    load("dummy")
    r = root("sysctl", "-w", "kernel.modules_disabled=1")
    assert r.rc == 0, r.stderr
    assert capabilities()["modules-disabled"] is True

    for attempt in (lambda: load("bridge"), lambda: insert_file(mods / "kmg_hello.ko"),
                    lambda: unload("dummy")):
        with pytest.raises(HelperError) as e:
            attempt()
        assert e.value.short == "ModulesDisabled", e.value
    now = loaded()
    assert "dummy" in now
    assert "bridge" not in now
