"""Thousands of random calls from an unprivileged caller: the helper survives, nothing changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from helperbus import HERE, NOBODY

from kmodgui.core.paths import Root

pytestmark = pytest.mark.bus

EXAMPLES = int(os.environ.get("KMODGUI_FUZZ_EXAMPLES", "800"))


def fd_count(pid: int) -> int:
    return len(os.listdir(Root().proc_modules.parent / str(pid) / "fd"))


def test_fuzzing_leaves_the_helper_alive_and_nothing_changed(bus: Any, scratch: Path) -> None:
    pid = bus.ensure_helper()
    before, fds = bus.snapshot(), fd_count(pid)
    # The fuzzer may take longer to start than the helper's 4 s idle timeout on a busy
    # machine: a ping a second keeps this helper (the one whose survival is checked) up.
    stop = threading.Event()

    def keep_alive() -> None:
        while not stop.wait(1):
            bus.call_root({"interface": "org.freedesktop.DBus.Peer", "member": "Ping"})

    pinger = threading.Thread(target=keep_alive, daemon=True)
    pinger.start()
    try:
        done = subprocess.run(
            ["setpriv", f"--reuid={NOBODY[0]}", f"--regid={NOBODY[1]}", "--clear-groups",
             sys.executable, str(HERE / "helper_fuzz.py"), str(EXAMPLES)],
            env={**bus.env, "HOME": str(scratch)}, cwd=scratch, capture_output=True,
            text=True, timeout=600, check=False)
    finally:
        stop.set()
        pinger.join(10)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    calls = json.loads(done.stdout.splitlines()[-1])["calls"]
    assert calls >= 1000
    assert bus.helper_pid() == pid, \
        "the helper died or restarted:\n" + bus.helper_log.read_text()[-4000:]
    assert bus.call({"member": "GetCapabilities"})[0]["type"] == "return"
    assert bus.snapshot() == before
    assert fd_count(pid) == fds
    log = bus.helper_log.read_text()
    assert "Traceback" not in log and "unexpected" not in log
