"""Issue 9, item 5: a caller sees the kernel messages of its operation, not other people's.

The records are real: the test tree's ``install`` command for ``kmodgui_klog``
writes two records to the host's ``/dev/kmsg`` while the helper watches the log,
one about the module (``kmodgui_klog: ...``), one about something else. The
helper reads the log as root; 'nobody' (``kernel.dmesg_restrict`` = 1 in the
tree, no adm group) sees only the first and a count of the rest; root, or
anyone once ``dmesg_restrict`` is 0, sees both.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helperbus import HelperBus

pytestmark = pytest.mark.bus

MINE = "kmodgui_klog: loaded for the test"
OTHER = "kmodgui_secret: an audit record of somebody else"
HIDDEN = re.compile(r"\d+ other kernel messages? not shown")
LOAD = {"member": "Load", "signature": "sasa{sv}", "body": ["kmodgui_klog", [], {}],
        "interactive": True}


@pytest.fixture
def klog(bus: HelperBus) -> Iterator[Path]:
    if not Path("/dev/kmsg").exists():
        pytest.fail("the kernel-log tests need /dev/kmsg")
    conf = bus.root / "etc" / "modprobe.d" / "00-klog.conf"
    conf.write_text(f"install kmodgui_klog echo '<6>{MINE}' >/dev/kmsg; "
                    f"echo '<6>{OTHER}' >/dev/kmsg\n")
    restrict = bus.root / "proc" / "sys" / "kernel" / "dmesg_restrict"
    restrict.parent.mkdir(parents=True, exist_ok=True)
    restrict.write_text("1\n")
    yield restrict
    conf.unlink()
    shutil.rmtree(bus.root / "proc" / "sys")


def kernel_log(reply: dict[str, Any]) -> list[str]:
    assert reply["type"] == "return", reply
    return reply["body"][0]["kernel-log"]["$v"][1]


def test_a_restricted_caller_sees_only_its_modules_records(bus: HelperBus, klog: Path) -> None:
    lines = kernel_log(bus.call(LOAD)[0])
    assert MINE in lines, lines
    assert OTHER not in lines, lines
    assert HIDDEN.fullmatch(lines[-1]), lines
    assert all(line.startswith("kmodgui_klog:") for line in lines[:-1]), lines


def test_root_sees_every_record(bus: HelperBus, klog: Path) -> None:
    lines = kernel_log(bus.call_root({**LOAD, "interactive": False})[0])
    assert MINE in lines and OTHER in lines, lines
    assert not any(HIDDEN.fullmatch(line) for line in lines)


def test_without_dmesg_restrict_everyone_sees_every_record(bus: HelperBus,
                                                           klog: Path) -> None:
    klog.write_text("0\n")
    lines = kernel_log(bus.call(LOAD)[0])
    assert MINE in lines and OTHER in lines, lines


def test_records_are_matched_by_their_module_prefix() -> None:
    from kmodgui_helper import kmsg

    records = ["snd_hda_intel: probe", "snd-hda-intel: dash", "snd_hda_intel_x: other",
               "audit: type=1400", "no colon here", "snd_hda_intel"]
    assert kmsg.visible(records, ["snd_hda_intel"], see_all=False) == [
        "snd_hda_intel: probe", "snd-hda-intel: dash", "4 other kernel messages not shown"]
    assert kmsg.visible(records, ["snd_hda_intel"], see_all=True) == records
    assert kmsg.visible(["a: 1"], [], see_all=False) == ["1 other kernel message not shown"]
    assert kmsg.visible([], ["x"], see_all=False) == []
    # a driver's dev_info(): "<driver> <device>: text" (seen in the guest for e1000)
    driver = ["e1000 0000:00:05.0 eth0: Intel(R) PRO/1000 Network Connection",
              "e1000e 0000:00:06.0: other driver", "e1000 no colon follows",
              "audit e1000: type=1400"]
    assert kmsg.visible(driver, ["e1000"], see_all=False) == [
        driver[0], "3 other kernel messages not shown"]
