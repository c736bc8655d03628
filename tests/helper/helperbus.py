"""A private system bus for the helper tests: real dbus-daemon, real polkitd, callers not root.

The bus configuration includes the project's own bus-policy file; polkitd runs
in a private mount namespace (``unshare -m``) where the project's ``.policy``
and the test ``.rules`` are bind-mounted into the directories it reads; the
helper is started by D-Bus activation from a test service file carrying the
bus address. Everything runs twice: on dbus-fast and on dbus-next 0.2.3.
"""

from __future__ import annotations

import os as _os

_os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # pytest-qt's application, no display

import asyncio
import contextlib
import json
import os
import shutil
import socket as socket_module
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kmgtest import processes

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
POLICY = REPO / "packaging" / "org.kmodgui.policy"
BUS_POLICY = REPO / "packaging" / "org.kmodgui.Helper1.conf"
RULES = HERE / "data" / "50-kmodgui-test.rules"
CALLER = HERE / "helper_caller.py"
NOBODY = (65534, 65534)
DAEMON_USER = (1, 1)  # "daemon": a second unprivileged user
IDLE_TIMEOUT = 4.0
LIBRARIES = ("dbus_fast", "dbus_next")
DBUS_NEXT_DIR = Path(sys.prefix) / "dbus-next-0.2.3"  # made by tests/setup.d/20-helper

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>{services}</servicedir>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Peer"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus"
          send_interface="org.freedesktop.DBus.Debug.Stats"/>
    <deny send_destination="org.freedesktop.DBus"
          send_interface="org.freedesktop.systemd1.Activator"/>
  </policy>
  <include>/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>
  <include>{bus_policy}</include>
</busconfig>
"""

POLKIT_SCRIPT = """set -e
mount --make-rprivate /
mount --bind "$1/actions" /usr/share/polkit-1/actions
mount --bind "$2" /usr/share/polkit-1/actions/org.kmodgui.policy
mount --bind "$1/rules.d" /etc/polkit-1/rules.d
exec /usr/lib/polkit-1/polkitd --no-debug
"""


@dataclass
class HelperBus:
    """One private bus with polkitd and an activatable helper acting on ``root``."""

    library: str
    directory: Path
    address: str
    root: Path
    log: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def helper_log(self) -> Path:
        return self.directory / "helper.log"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": self.address,
                "PYTHONDONTWRITEBYTECODE": "1"}

    def call(self, *calls: dict[str, Any], user: tuple[int, int] | None = NOBODY,
             parallel: bool = False, own_name: str | None = None,
             timeout: float = 60) -> list[dict[str, Any]]:
        """Run ``calls`` in a fresh caller process as ``user`` (None: root); the replies."""
        prefix = [] if user is None else [
            "setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--clear-groups"]
        request = json.dumps({"calls": list(calls), "parallel": parallel,
                              "own_name": own_name})
        done = subprocess.run([*prefix, sys.executable, str(CALLER)], input=request.encode(),
                              env=self.env, capture_output=True, timeout=timeout, check=False,
                              cwd="/")
        assert done.returncode == 0, done.stderr.decode()
        return json.loads(done.stdout)

    def call_root(self, *calls: dict[str, Any]) -> list[dict[str, Any]]:
        """The same as root, in this process (fast; root is always authorised by polkit)."""
        sys.path.insert(0, str(HERE))
        try:
            import helper_caller
        finally:
            sys.path.remove(str(HERE))
        old = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = self.address
        try:
            return asyncio.run(helper_caller.run_calls(list(calls)))
        finally:
            if old is None:
                del os.environ["DBUS_SYSTEM_BUS_ADDRESS"]
            else:
                os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = old

    def bus_call(self, member: str, signature: str = "", body: list[Any] | None = None
                 ) -> dict[str, Any]:
        """A call to the bus daemon itself, as root."""
        return self.call_root({"destination": "org.freedesktop.DBus",
                               "path": "/org/freedesktop/DBus",
                               "interface": "org.freedesktop.DBus", "member": member,
                               "signature": signature, "body": body or []})[0]

    def helper_pid(self) -> int | None:
        reply = self.bus_call("GetConnectionUnixProcessID", "s", ["org.kmodgui.Helper1"])
        return reply["body"][0] if reply["type"] == "return" else None

    def ensure_helper(self) -> int:
        """Activate the helper (a GetCapabilities call) and return its pid."""
        assert self.call_root({"member": "GetCapabilities"})[0]["type"] == "return", \
            self.log.read_text()
        pid = self.helper_pid()
        assert pid, "the helper is not on the bus"
        return pid

    def wait_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.helper_pid() is None:
                return True
            time.sleep(0.2)
        return False

    def snapshot(self) -> dict[str, bytes]:
        """Every file under the helper's root, with content (to prove nothing changed)."""
        return {str(p.relative_to(self.root)): p.read_bytes() if p.is_file() else b"<dir>"
                for p in sorted(self.root.rglob("*"))}


def _wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _accepts(path: Path) -> bool:
    """True once the daemon listens: a socket file exists right after bind(), before listen()."""
    probe = socket_module.socket(socket_module.AF_UNIX, socket_module.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def _helper_exec(library: str, bus: HelperBus, extra: dict[str, str] | None = None) -> str:
    env = [*(f"{k}={v}" for k, v in (extra or {}).items()),
           f"DBUS_SYSTEM_BUS_ADDRESS={bus.address}", f"KMODGUI_HELPER_ROOT={bus.root}",
           f"KMODGUI_HELPER_IDLE_TIMEOUT={IDLE_TIMEOUT}", f"KMODGUI_HELPER_DBUS={library}",
           "PYTHONDONTWRITEBYTECODE=1"]
    if library == "dbus_next":
        env.append(f"PYTHONPATH={DBUS_NEXT_DIR}")
    command = " ".join(["exec", "/usr/bin/env", "-i", *env, sys.executable, "-m",
                        "kmodgui_helper", f"2>>{bus.helper_log}"])
    # dbus-daemon discards an activated service's output: keep it for the tests
    return f"/bin/sh -c '{command}'"


def _check_tools() -> None:
    missing = [t for t in ("dbus-daemon", "setpriv", "unshare") if not shutil.which(t)]
    if not Path("/usr/lib/polkit-1/polkitd").exists():
        missing.append("polkitd")
    if missing or os.geteuid() != 0:
        pytest.fail(f"the helper tier needs root and {', '.join(missing) or 'nothing else'} "
                    "(tests/run installs them)")


@contextlib.contextmanager
def private_bus(library: str, *, polkit: bool = True, helper: bool = True,
                helper_env: dict[str, str] | None = None) -> Iterator[HelperBus]:
    """Start dbus-daemon (and polkitd, and an activatable helper, unless told not to)."""
    _check_tools()
    if library == "dbus_next" and not (DBUS_NEXT_DIR / "dbus_next").is_dir():
        pytest.fail(f"dbus-next 0.2.3 is not in {DBUS_NEXT_DIR}: run tests/setup.d/20-helper")
    # not under pytest's 0700 temporary directory: polkitd and callers are not root
    directory = Path(tempfile.mkdtemp(prefix=f"kmodgui-helper-{library}-"))
    directory.chmod(0o755)
    socket = directory / "system_bus_socket"
    services = directory / "services"
    services.mkdir()
    root = directory / "root"
    (root / "etc" / "modprobe.d").mkdir(parents=True)
    (root / "etc" / "modules-load.d").mkdir(parents=True)
    bus = HelperBus(library, directory, f"unix:path={socket}", root, directory / "bus.log")
    config = directory / "bus.conf"
    config.write_text(BUS_CONFIG.format(socket=socket, services=services,
                                        bus_policy=BUS_POLICY))
    if helper:
        (services / "org.kmodgui.Helper1.service").write_text(
            "[D-BUS Service]\nName=org.kmodgui.Helper1\n"
            f"Exec={_helper_exec(library, bus, helper_env)}\nUser=root\n")
    log = bus.log.open("wb")
    daemon = subprocess.Popen(["dbus-daemon", f"--config-file={config}", "--nofork",
                               "--nopidfile"], stdout=log, stderr=subprocess.STDOUT)
    bus.processes.append(daemon)
    try:
        _wait_for(lambda: _accepts(socket), 10, "dbus-daemon")
        if polkit:
            _start_polkitd(bus)
        yield bus
    finally:
        _stop(bus, daemon)
        log.close()
        shutil.rmtree(directory, ignore_errors=True)


def _stop(bus: HelperBus, daemon: subprocess.Popen[bytes]) -> None:
    """Stop everything started for ``bus``, whatever state it is in."""
    pids = []
    if daemon.poll() is None:   # the activated services: the helper and polkitd
        for name in ("org.kmodgui.Helper1", "org.freedesktop.PolicyKit1"):
            with contextlib.suppress(Exception):
                reply = bus.bus_call("GetConnectionUnixProcessID", "s", [name])
                if reply["type"] == "return":
                    pids.append(reply["body"][0])
    for proc in reversed(bus.processes):
        with contextlib.suppress(Exception):
            processes.stop(proc)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 15)


def _start_polkitd(bus: HelperBus) -> None:
    """polkitd's view: the system's actions plus the project's, and only the test rules.

    polkitd is D-Bus activated, as on a real system: polkitd 122 can exit when a
    caller leaves while it looks the caller up (a known polkit bug, seen under load);
    the next CheckAuthorization starts it again instead of every later test being
    refused by a bus without polkit.
    """
    polkit = bus.directory / "polkit"
    (polkit / "actions").mkdir(parents=True)
    (polkit / "rules.d").mkdir()
    for action in Path("/usr/share/polkit-1/actions").glob("*.policy"):
        shutil.copy(action, polkit / "actions" / action.name)
    (polkit / "actions" / POLICY.name).write_text("")  # the project's file is mounted here
    shutil.copy(RULES, polkit / "rules.d" / RULES.name)
    for p in (polkit, polkit / "actions", polkit / "rules.d"):
        p.chmod(0o755)
    script = POLKIT_SCRIPT
    if os.environ.get("KMODGUI_TEST_POLKIT_DEBUG"):  # polkitd's own messages, in polkit.log
        script = script.replace(" --no-debug", "")
    (polkit / "mounts.sh").write_text(script)
    start = polkit / "start.sh"
    # dbus-daemon discards an activated service's output: keep it beside the bus log
    start.write_text(f"#!/bin/sh\nexec >>{bus.directory / 'polkit.log'} 2>&1\n"
                     f"export DBUS_SYSTEM_BUS_ADDRESS='{bus.address}'\n"
                     f"exec unshare -m sh {polkit}/mounts.sh {polkit} {POLICY}\n")
    start.chmod(0o755)
    services = bus.directory / "services"
    (services / "org.freedesktop.PolicyKit1.service").write_text(
        "[D-BUS Service]\nName=org.freedesktop.PolicyKit1\n"
        f"Exec={start}\nUser=root\n")
    bus.bus_call("ReloadConfig", "", [])
    reply = bus.bus_call("StartServiceByName", "su", ["org.freedesktop.PolicyKit1", 0])
    assert reply["type"] == "return", reply
    _wait_for(lambda: bus.bus_call("NameHasOwner", "s", ["org.freedesktop.PolicyKit1"])
              ["body"] == [True], 15, "polkitd on the bus")
