"""Issue 9, item 1: a parameter value never becomes shell text in an ``install`` command.

The test tree carries a vendor line as modprobe.d(5) documents it (and older
alsa-base.conf shipped), ``install M /sbin/modprobe --ignore-install M $CMDLINE_OPTS``,
and the test rules grant 'nobody' loading and configuring that one module. kmod
pastes the options unquoted into ``system()``: a value with shell syntax would
run as root, by Load at once, or from a saved modprobe.d file at every later load.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helperbus import HelperBus

pytestmark = pytest.mark.bus

INVALID = "org.freedesktop.DBus.Error.InvalidArgs"
MODULE = "kmodgui_vendor"
VENDOR_LINE = f"install {MODULE} /sbin/modprobe --ignore-install {MODULE} $CMDLINE_OPTS\n"


@pytest.fixture
def vendor(bus: HelperBus, scratch: Path) -> Iterator[Path]:
    """The vendor file in the helper's tree; the directory a payload would write into."""
    conf = bus.root / "etc" / "modprobe.d" / "00-vendor.conf"
    conf.write_text(VENDOR_LINE)
    scratch.chmod(0o777)
    yield scratch
    conf.unlink()


def load(params: list[str]) -> dict[str, Any]:
    return {"member": "Load", "signature": "sasa{sv}", "body": [MODULE, params, {}],
            "interactive": True}


def options(params: dict[str, str]) -> dict[str, Any]:
    return {"member": "SetPersistentOptions", "signature": "sa{ss}a{sv}",
            "body": [MODULE, params, {}], "interactive": True}


def payloads(target: Path) -> list[str]:
    """Values that the old validator let through, each creating ``target`` as root."""
    return [f"1;id>{target}", f"1|id>{target}", f"$(id>{target})", f"`id>{target}`",
            f"1&&id>{target}", f"1&id>{target}&", f"{{id,}}>{target}", f"<{target}"]


def plain_modprobe(bus: HelperBus) -> subprocess.CompletedProcess[str]:
    """What boot or udev does later: ``modprobe M`` reading the tree's configuration."""
    return subprocess.run(["modprobe", "-C", str(bus.root / "etc" / "modprobe.d"), MODULE],
                          capture_output=True, text=True, timeout=30, check=False)


def test_load_runs_no_payload(bus: HelperBus, vendor: Path) -> None:
    target = vendor / "pwned-load"
    values = payloads(target)
    replies = bus.call(*(load([f"p={v}"]) for v in values))
    for value, reply in zip(values, replies, strict=True):
        assert reply["error_name"] == INVALID, (value, reply)
        assert "may not contain" in reply["body"][0]
    assert not target.exists()
    # the control: the grant holds, and a plain value reaches modprobe's install command
    control = bus.call(load(["p=1,2:x/y+z=w@v%u^t~s-r.q"]))[0]
    assert control["error_name"] not in (INVALID, "org.kmodgui.Error.NotAuthorized"), control


def test_refusal_names_the_character(bus: HelperBus, vendor: Path) -> None:
    reply = bus.call(load(["p=1;id"]))[0]
    assert reply["error_name"] == INVALID
    assert "';'" in reply["body"][0], reply
    reply = bus.call(options({"p": "a b"}))[0]
    assert "' '" in reply["body"][0] or "U+0020" in reply["body"][0], reply


def test_saved_options_run_no_payload_at_the_next_load(bus: HelperBus, vendor: Path) -> None:
    target = vendor / "pwned-conf"
    saved = bus.root / "etc" / "modprobe.d" / f"kmodgui-{MODULE}.conf"
    values = payloads(target)
    replies = bus.call(*(options({"p": v}) for v in values))
    for value, reply in zip(values, replies, strict=True):
        assert reply["error_name"] == INVALID, (value, reply)
    assert not saved.exists()
    plain_modprobe(bus)
    assert not target.exists()
    # the control: a plain value is saved, and kmod's own modprobe reads it
    assert bus.call(options({"p": "1"}))[0]["type"] == "return"
    assert f"options {MODULE} p=1" in saved.read_text()
    plain_modprobe(bus)
    assert not target.exists()


def test_cmdline_opts_in_a_value_is_refused_at_once(bus: HelperBus, vendor: Path) -> None:
    """kmod's substitution of ``$CMDLINE_OPTS`` inside itself never ends."""
    started = time.monotonic()
    replies = bus.call(load(["p=$CMDLINE_OPTS"]), options({"p": "$CMDLINE_OPTS"}))
    assert [r["error_name"] for r in replies] == [INVALID, INVALID], replies
    assert "'$'" in replies[0]["body"][0]
    assert time.monotonic() - started < 5
    assert bus.call({"member": "GetCapabilities"})[0]["type"] == "return"


def test_a_live_sysfs_write_keeps_the_wider_set() -> None:
    """SetParameter writes once to sysfs (no shell, no file): ';' is no danger there."""
    from kmodgui_helper import validate
    from kmodgui_helper.errors import HelperError

    assert validate.sysfs_value("a;b") == "a;b"
    with pytest.raises(HelperError, match="';'"):
        validate.value("a;b")
    for text in ("a b", "1\n", "", "'x'"):
        with pytest.raises(HelperError):
            validate.sysfs_value(text)
