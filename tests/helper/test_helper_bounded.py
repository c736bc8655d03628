"""Issue 9, item 3: nothing a caller can make wait hangs the helper.

A FIFO where the helper's own config file goes, an ``install`` command that
never ends (and leaves a child holding the output pipe): each call fails in
bounded time, the children are gone, and the helper answers the next call.
(A module whose init never returns is proven in the guest tier.) This bus runs
the helper with a 3 s tool timeout, so the test need not wait 120 s.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helperbus import LIBRARIES, HelperBus, private_bus

pytestmark = pytest.mark.bus

TOOL_TIMEOUT = 3.0


@pytest.fixture(scope="module", params=LIBRARIES)
def short_bus(request: pytest.FixtureRequest) -> Iterator[HelperBus]:
    with private_bus(request.param,
                     helper_env={"KMODGUI_HELPER_TOOL_TIMEOUT": str(TOOL_TIMEOUT)}) as bus:
        yield bus


def blacklist(module: str) -> dict[str, Any]:
    return {"member": "SetBlacklist", "signature": "ssa{sv}", "body": [module, "always", {}]}


def test_a_fifo_in_place_of_the_config_file(short_bus: HelperBus) -> None:
    fifo = short_bus.root / "etc" / "modprobe.d" / "kmodgui-kmodgui_fifo.conf"
    os.mkfifo(fifo)
    try:
        started = time.monotonic()
        reply = short_bus.call_root(blacklist("kmodgui_fifo"))[0]
        assert reply["error_name"] == "org.kmodgui.Error.Failed", reply
        assert "not a regular file" in reply["body"][0]
        assert time.monotonic() - started < 5
        assert fifo.exists() and not fifo.is_file()  # left alone
        assert short_bus.call_root({"member": "GetCapabilities"})[0]["type"] == "return"
    finally:
        fifo.unlink()


def processes_running(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmdline:
                found.append(int(entry.name))
    return found


def test_a_tool_that_never_ends_is_killed_with_its_children(short_bus: HelperBus) -> None:
    """``install M sleep & sleep``: the background sleep would hold the output pipe."""
    conf = short_bus.root / "etc" / "modprobe.d" / "00-sleeper.conf"
    conf.write_text("install kmodgui_sleeper /bin/sleep 987 & /bin/sleep 986\n")
    try:
        started = time.monotonic()
        reply = short_bus.call_root({"member": "Load", "signature": "sasa{sv}",
                                     "body": ["kmodgui_sleeper", [], {}]})[0]
        elapsed = time.monotonic() - started
        assert reply["error_name"] == "org.kmodgui.Error.Failed", reply
        assert "did not finish within 3 s" in reply["body"][0]
        assert elapsed < TOOL_TIMEOUT + 8, elapsed
        deadline = time.monotonic() + 5
        while processes_running("sleep 98") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_running("sleep 98") == []
        # the queue is free again
        target = short_bus.root / "etc" / "modprobe.d" / "kmodgui-kmodgui_after.conf"
        assert short_bus.call_root(blacklist("kmodgui_after"))[0]["type"] == "return"
        target.unlink()
    finally:
        conf.unlink()
