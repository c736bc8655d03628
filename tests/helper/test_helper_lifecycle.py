"""One operation at a time, callers that go away, idle exit and re-activation."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest
from helperbus import DBUS_NEXT_DIR, IDLE_TIMEOUT, NOBODY

pytestmark = pytest.mark.bus

SLOW = "kmodgui_slow"  # the test rules make polkit take 2 s (and grant 'nobody') for it


def boot(module: str, enabled: bool = True) -> dict[str, Any]:
    return {"member": "SetLoadAtBoot", "signature": "sba{sv}", "body": [module, enabled, {}]}


def test_runs_on_the_chosen_library(bus: Any) -> None:
    bus.ensure_helper()
    assert f", {bus.library})" in bus.helper_log.read_text()


def test_a_callers_second_call_during_its_authorisation_is_busy(bus: Any) -> None:
    """One pending authorisation per caller uid: the other call of the same user is Busy."""
    boot_conf = bus.root / "etc" / "modules-load.d" / f"kmodgui-{SLOW}.conf"
    blacklist_conf = bus.root / "etc" / "modprobe.d" / f"kmodgui-{SLOW}.conf"
    replies = bus.call(boot(SLOW), {"member": "SetBlacklist", "signature": "ssa{sv}",
                                    "body": [SLOW, "autoload", {}]}, parallel=True)
    kinds = sorted(r.get("error_name") or r["type"] for r in replies)
    assert kinds == ["org.kmodgui.Error.Busy", "return"], replies
    assert "your previous request" in str(replies)
    assert boot_conf.exists() != blacklist_conf.exists()  # exactly one of them was done
    # the caller may go on afterwards
    assert bus.call(boot(SLOW, False), {"member": "SetBlacklist", "signature": "ssa{sv}",
                                        "body": [SLOW, "none", {}]})[0]["type"] == "return"
    assert not boot_conf.exists() and not blacklist_conf.exists()


def test_a_caller_that_disconnects_is_not_served(bus: Any) -> None:
    target = bus.root / "etc" / "modules-load.d" / f"kmodgui-{SLOW}.conf"
    bus.ensure_helper()
    bus.call({**boot(SLOW), "disconnect": True})
    time.sleep(3)
    assert not target.exists()
    assert "has gone away; not done" in bus.helper_log.read_text()


def test_idle_exit_and_reactivation(bus: Any) -> None:
    first = bus.ensure_helper()
    assert bus.wait_gone(IDLE_TIMEOUT + 5), "the helper did not exit when idle"
    second = bus.ensure_helper()
    assert second != first
    assert bus.call({"member": "GetCapabilities"})[0]["type"] == "return"


def run_by_hand(bus: Any, user: tuple[int, int] | None, *args: str,
                ) -> subprocess.CompletedProcess[str]:
    prefix = [] if user is None else [
        "setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--clear-groups"]
    env = {**bus.env, "KMODGUI_HELPER_ROOT": str(bus.root),
           "KMODGUI_HELPER_DBUS": bus.library}
    if bus.library == "dbus_next":
        env["PYTHONPATH"] = str(DBUS_NEXT_DIR)
    return subprocess.run([*prefix, sys.executable, "-m", "kmodgui_helper", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False, cwd="/")


def test_a_non_root_helper_cannot_take_the_name(bus: Any) -> None:
    assert bus.wait_gone(IDLE_TIMEOUT + 5)
    done = run_by_hand(bus, NOBODY, "--idle-timeout", "1")
    assert done.returncode == 1
    assert "cannot own org.kmodgui.Helper1" in done.stderr
    assert "Traceback" not in done.stderr


def test_started_by_hand_it_uses_the_bus_in_the_environment(bus: Any) -> None:
    assert bus.wait_gone(IDLE_TIMEOUT + 5)
    started = time.monotonic()
    env_done = run_by_hand(bus, None, "--idle-timeout", "1")
    assert env_done.returncode == 0, env_done.stderr
    assert "serving org.kmodgui.Helper1 on :" in env_done.stderr
    assert "idle for 1 s: exiting" in env_done.stderr
    assert time.monotonic() - started < 15


def test_a_caller_gone_during_polkit_frees_the_slot_at_once(bus: Any) -> None:
    """The helper stops waiting for polkit (and cancels the check) when the caller leaves."""
    bus.ensure_helper()
    bus.call({**boot(SLOW), "disconnect": True, "interactive": True})  # polkit takes 2 s
    time.sleep(0.3)
    target = bus.root / "etc" / "modules-load.d" / "kmodgui-kmodgui_next.conf"
    reply = bus.call_root(boot("kmodgui_next"))[0]
    assert reply["type"] == "return", reply  # not Busy
    assert target.exists()
    target.unlink()
    assert not (bus.root / "etc" / "modules-load.d" / f"kmodgui-{SLOW}.conf").exists()


def test_a_polkitd_that_died_is_started_again_for_the_next_check(bus: Any) -> None:
    """polkitd 122 can exit when a caller leaves during a check (a polkit bug); on a real
    system D-Bus starts it again for the next CheckAuthorization, and so does the test bus:
    the helper's next check goes to the new polkitd (it asks the bus name, never a pid)."""
    import os
    import signal

    reply = bus.bus_call("GetConnectionUnixProcessID", "s", ["org.freedesktop.PolicyKit1"])
    assert reply["type"] == "return", reply
    old = reply["body"][0]
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while bus.bus_call("NameHasOwner", "s", ["org.freedesktop.PolicyKit1"])["body"] != [False]:
        assert time.monotonic() < deadline, "polkitd did not go away"
        time.sleep(0.05)
    assert bus.call(boot("dummy"))[0]["type"] == "return"     # granted to nobody by the rules
    assert bus.call(boot("dummy", False))[0]["type"] == "return"
    reply = bus.bus_call("GetConnectionUnixProcessID", "s", ["org.freedesktop.PolicyKit1"])
    assert reply["type"] == "return" and reply["body"][0] != old
