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
from helperbus import CALLER, HERE, LIBRARIES, NOBODY, HelperBus, private_bus

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
            env=bus.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd="/", text=True)
        self.lines: list[str] = []
        self.bus = bus

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
        pytest.fail(f"the agent never said {prefix!r}: {self.lines} "
                    f"{self.proc.stderr.read() if self.proc.poll() is not None else ''}\n"
                    f"{diagnostics(self.bus)}")

    def leave(self) -> None:
        """The caller's connection goes away; the helper withdraws the check."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("leave\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.communicate(timeout=10)   # waits, and closes the pipes


@pytest.fixture(params=LIBRARIES)
def own_bus(request: pytest.FixtureRequest) -> Iterator[HelperBus]:
    """A bus with a polkitd of its own for each agent test.

    polkitd 122 has been seen to exit right after an authentication is cancelled for a
    caller that has left the bus (it logs "FAILED to authenticate ... [<unknown>]" and
    is gone): what follows an agent test must not depend on that polkitd.
    """
    with private_bus(request.param) as bus:
        yield bus


@pytest.fixture
def stuck(own_bus: HelperBus) -> Iterator[Agent]:
    """'nobody' holding an interactive check that its own agent never answers."""
    bus = own_bus
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


def ok(reply: dict[str, Any], bus: HelperBus | None = None) -> None:
    if reply["type"] != "return":
        pytest.fail(f"{reply}\n{diagnostics(bus) if bus else ''}")


def diagnostics(bus: HelperBus) -> str:
    """The daemons' and the helper's last words, for a failure message."""
    owner = bus.bus_call("NameHasOwner", "s", ["org.freedesktop.PolicyKit1"])["body"]
    polkit_log = bus.directory / "polkit.log"
    polkit = polkit_log.read_text()[-3000:] if polkit_log.exists() else ""
    return (f"polkitd on the bus: {owner}\n{bus.log.read_text()[-3000:]}\n{polkit}\n"
            f"{bus.helper_log.read_text()[-8000:]}")


def finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    assert proc.stdout is not None and proc.stderr is not None
    with proc.stdout, proc.stderr:      # closed afterwards (their stdin already is)
        out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait(120)
    return out, err


def test_an_unanswered_dialog_and_a_flood_block_nobody_else(own_bus: HelperBus,
                                                            stuck: Agent) -> None:
    bus = own_bus
    root_conf = bus.root / "etc" / "modules-load.d" / "kmodgui-kmodgui_rootok.conf"
    bin_conf = bus.root / "etc" / "modules-load.d" / "kmodgui-kmodgui_bin.conf"
    flooders = flood(bus)
    try:
        started = time.monotonic()
        for _ in range(3):
            for reply in (bus.call_root(boot("kmodgui_rootok"))[0],
                          bus.call(boot("kmodgui_bin"), user=BIN)[0],
                          bus.call_root(boot("kmodgui_rootok", False))[0],
                          bus.call(boot("kmodgui_bin", False), user=BIN)[0]):
                if reply["type"] != "return":
                    pytest.fail(f"{reply}\n{diagnostics(bus)}")
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


def test_an_abandoned_check_is_withdrawn(own_bus: HelperBus) -> None:
    """The caller leaves while its dialog is open: the helper cancels the polkit check."""
    bus = own_bus
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
    # and the caller's uid is not held: its next call is not Busy
    assert bus.call(boot("dummy"))[0].get("error_name") != BUSY


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
    ok(bus.call(boot(slow, False))[0], bus)
    ok(bus.call(boot("kmodgui_bin", False), user=BIN)[0], bus)


def test_a_dismissed_dialog_is_a_cancellation_not_a_refusal(own_bus: HelperBus) -> None:
    """The user closed the password dialog: the helper says so by error name
    (``org.freedesktop.PolicyKit1.Error.Cancelled``), and the window stays quiet."""
    own_bus.ensure_helper()
    agent = Agent(own_bus, "--dismiss")
    try:
        agent.wait_for("ready")
        assert agent.wait_for("asked") == "asked org.kmodgui.configure"
        assert agent.wait_for("reply") == "reply org.freedesktop.PolicyKit1.Error.Cancelled"
    finally:
        agent.stop()
    assert not (own_bus.root / "etc" / "modules-load.d" / "kmodgui-kmodgui_askme.conf").exists()
