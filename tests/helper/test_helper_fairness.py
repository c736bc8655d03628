"""Issue 9, item 2: nobody can make the helper answer Busy to everyone.

On the real stack: 'nobody' registers a polkit agent for its own process with
the real polkitd, asks for something the rules answer with auth_admin, and
never answers the dialog; meanwhile eight connections of another user flood
calls polkit refuses. Root's calls and an authorised user's calls still go
through; the stuck caller's own second call is Busy; when it leaves, the
helper withdraws the check (polkitd cancels the dialog).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from helperbus import CALLER, HERE, NOBODY, HelperBus

pytestmark = pytest.mark.bus

AGENT = HERE / "polkit_agent.py"
BIN = (2, 2)  # granted configure for kmodgui_bin by the test rules
FLOODER = (1, 1)  # "daemon": granted nothing
BUSY = "org.kmodgui.Error.Busy"
REFUSED = {"org.kmodgui.Error.NotAuthorized",
           "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", BUSY}


def boot(module: str, enabled: bool = True) -> dict[str, Any]:
    return {"member": "SetLoadAtBoot", "signature": "sba{sv}", "body": [module, enabled, {}]}


class Agent:
    """``polkit_agent.py`` as 'nobody', in the background; its report lines as they come."""

    def __init__(self, bus: HelperBus, *args: str) -> None:
        self.proc = subprocess.Popen(
            ["setpriv", f"--reuid={NOBODY[0]}", f"--regid={NOBODY[1]}", "--clear-groups",
             sys.executable, str(AGENT), "kmodgui_askme", *args],
            env=bus.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/", text=True)
        self.lines: list[str] = []

    def wait_for(self, prefix: str, timeout: float = 30) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().strip()
            if not line and self.proc.poll() is not None:
                break
            self.lines.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"the agent never said {prefix!r}: {self.lines} "
                             f"{self.proc.stderr.read() if self.proc.poll() is not None else ''}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def stuck(bus: HelperBus) -> Iterator[Agent]:
    """'nobody' holding an interactive check that its own agent never answers."""
    bus.ensure_helper()
    agent = Agent(bus)
    try:
        agent.wait_for("ready")
        assert agent.wait_for("asked") == "asked org.kmodgui.configure"
        yield agent
    finally:
        agent.stop()


def flood(bus: HelperBus, connections: int = 8, calls: int = 40) -> list[subprocess.Popen[str]]:
    """``connections`` caller processes, each sending ``calls`` refused calls at once."""
    request = json.dumps({"calls": [boot("kmodgui_denied")] * calls, "parallel": True})
    procs = []
    for _ in range(connections):
        proc = subprocess.Popen(
            ["setpriv", f"--reuid={FLOODER[0]}", f"--regid={FLOODER[1]}", "--clear-groups",
             sys.executable, str(CALLER)], env=bus.env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/", text=True)
        assert proc.stdin is not None
        proc.stdin.write(request)
        proc.stdin.close()
        procs.append(proc)
    return procs


def finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait(120)
    return out, err


def test_an_unanswered_dialog_and_a_flood_block_nobody_else(bus: HelperBus,
                                                            stuck: Agent) -> None:
    root_conf = bus.root / "etc" / "modules-load.d" / "kmodgui-kmodgui_rootok.conf"
    bin_conf = bus.root / "etc" / "modules-load.d" / "kmodgui-kmodgui_bin.conf"
    flooders = flood(bus)
    try:
        started = time.monotonic()
        for _ in range(3):
            assert bus.call_root(boot("kmodgui_rootok"))[0]["type"] == "return"
            assert bus.call(boot("kmodgui_bin"), user=BIN)[0]["type"] == "return"
            assert bus.call_root(boot("kmodgui_rootok", False))[0]["type"] == "return"
            assert bus.call(boot("kmodgui_bin", False), user=BIN)[0]["type"] == "return"
        assert time.monotonic() - started < 30
        # the stuck caller itself gets Busy for a second call, at once
        second = bus.call(boot("dummy"))[0]
        assert second["error_name"] == BUSY, second
        assert "your previous request" in second["body"][0]
    finally:
        outputs = [finish(p) for p in flooders]
    assert not root_conf.exists() and not bin_conf.exists()
    for out, err in outputs:
        replies = json.loads(out)
        assert len(replies) == 40, err
        assert {r["error_name"] for r in replies} <= REFUSED, replies
    # the dialog is still open: the caller was neither refused nor served
    assert not any(line.startswith("reply") for line in stuck.lines)


def test_an_abandoned_check_is_withdrawn(bus: HelperBus) -> None:
    """The caller leaves while its dialog is open: the helper cancels the polkit check."""
    bus.ensure_helper()
    agent = Agent(bus, "--leave")
    try:
        agent.wait_for("ready")
        agent.wait_for("asked")
        agent.wait_for("cancelled", timeout=15)
    finally:
        agent.stop()
    log = bus.helper_log.read_text()
    assert "SetLoadAtBoot(kmodgui_askme, True): the caller has gone away; not done " \
           "(during authorisation)" in log
    # and the caller's uid may ask again
    assert bus.call(boot("dummy"))[0]["type"] == "return"
    assert bus.call(boot("dummy", False))[0]["type"] == "return"


def caller(bus: HelperBus, user: tuple[int, int], *calls: dict[str, Any]
           ) -> subprocess.Popen[str]:
    """``helper_caller.py`` as ``user`` in the background (read it with :func:`finish`)."""
    proc = subprocess.Popen(
        ["setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--clear-groups",
         sys.executable, str(CALLER)], env=bus.env, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/", text=True)
    assert proc.stdin is not None
    proc.stdin.write(json.dumps({"calls": list(calls), "parallel": False}))
    proc.stdin.close()
    return proc


def test_others_are_not_refused_while_someone_is_being_authorised(bus: HelperBus) -> None:
    """While polkit takes 2 s over nobody's call, another user's call is done, not Busy."""
    slow = "kmodgui_slow"
    bus.ensure_helper()
    first = caller(bus, NOBODY, boot(slow))
    time.sleep(0.7)  # nobody's check is pending now
    other = bus.call(boot("kmodgui_bin"), user=BIN)[0]
    assert other["type"] == "return", other  # queued behind nobody's call at most, not Busy
    assert json.loads(finish(first)[0])[0]["type"] == "return"
    assert bus.call(boot(slow, False))[0]["type"] == "return"
    assert bus.call(boot("kmodgui_bin", False), user=BIN)[0]["type"] == "return"
