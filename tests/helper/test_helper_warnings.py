"""Issue 9, item 4: a configuration write says when a line elsewhere overrides it.

kmod runs only the first ``install`` line for a module (file order), so an
earlier vendor line beats our ``install M /bin/false``; ``options`` all apply in
order, so a later line wins. The reply's ``warnings`` name that line as
``file:line``; kmod's own ``modprobe -c`` is the reference for what applies.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helperbus import HelperBus

pytestmark = pytest.mark.bus


def call(member: str, signature: str, *body: Any) -> dict[str, Any]:
    return {"member": member, "signature": signature, "body": [*body, {}]}


def warnings(reply: dict[str, Any]) -> list[str]:
    assert reply["type"] == "return", reply
    return reply["body"][0]["warnings"]["$v"][1]


@pytest.fixture
def planted(bus: HelperBus) -> Iterator[dict[str, Path]]:
    """An earlier vendor install line, a later options line, another load-at-boot file."""
    files = {
        "install": bus.root / "etc" / "modprobe.d" / "00-vendor.conf",
        "options": bus.root / "etc" / "modprobe.d" / "zz-local.conf",
        "boot": bus.root / "etc" / "modules-load.d" / "vendor.conf",
    }
    files["install"].write_text("# vendor\ninstall dummy /sbin/modprobe --ignore-install dummy\n")
    files["options"].write_text("options dummy numdummies=5\n")
    files["boot"].write_text("dummy\n")
    yield files
    for path in files.values():
        path.unlink()


def test_an_earlier_install_line_beats_never_load(bus: HelperBus,
                                                  planted: dict[str, Path]) -> None:
    reply = bus.call(call("SetBlacklist", "ssa{sv}", "dummy", "always"))[0]
    found = warnings(reply)
    assert len(found) == 1, found
    assert found[0].startswith(f"{planted['install']}:2 has an earlier install line for dummy")
    # kmod agrees: its first install line for dummy is the vendor's
    dump = subprocess.run(["modprobe", "-C", str(bus.root / "etc" / "modprobe.d"), "-c"],
                          capture_output=True, text=True, check=True).stdout
    installs = [line for line in dump.splitlines() if line.startswith("install dummy ")]
    assert installs[0] == "install dummy /sbin/modprobe --ignore-install dummy"


def test_a_later_options_line_wins(bus: HelperBus, planted: dict[str, Path]) -> None:
    found = warnings(bus.call(call("SetPersistentOptions", "sa{ss}a{sv}", "dummy",
                                   {"numdummies": "2"}))[0])
    assert found == [f"{planted['options']}:1 sets numdummies=5 for dummy after "
                     "kmodgui-dummy.conf, so that value wins over ours"], found
    # a parameter nobody else sets: no warning
    assert warnings(bus.call(call("SetPersistentOptions", "sa{ss}a{sv}", "dummy",
                                  {"other": "1"}))[0]) == []


def test_load_at_boot_off_while_another_file_loads_it(bus: HelperBus,
                                                      planted: dict[str, Path]) -> None:
    assert warnings(bus.call(call("SetLoadAtBoot", "sba{sv}", "dummy", True))[0]) == []
    found = warnings(bus.call(call("SetLoadAtBoot", "sba{sv}", "dummy", False))[0])
    assert found == [f"{planted['boot']}:1 still loads dummy at boot"], found


def test_no_warnings_without_overrides(bus: HelperBus) -> None:
    replies = bus.call(call("SetBlacklist", "ssa{sv}", "dummy", "always"),
                       call("SetPersistentOptions", "sa{ss}a{sv}", "dummy", {"a": "1"}),
                       call("SetBlacklist", "ssa{sv}", "dummy", "none"),
                       call("SetPersistentOptions", "sa{ss}a{sv}", "dummy", {}))
    assert [warnings(r) for r in replies] == [[], [], [], []]
