"""What the scenario tests use inside the guest, as the unprivileged test user.

* :func:`call` and the wrappers below: the helper's D-Bus API, called the way
  any client calls it (system bus, the caller's own credentials), with the
  reply's ``a{sv}`` unwrapped and D-Bus errors raised as :class:`HelperError`.
* :func:`root`: the root agent of ``guest_init.py``, for what only root may do
  (read the kernel log, drop a file into the release directory, run a command
  as another test user).
* :func:`loaded`, :func:`parameter`, :class:`KernelLog`: the kernel's own
  view, to check every operation against.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from kmodgui.core.paths import Root

NAME = "org.kmodgui.Helper1"
OBJECT = "/org/kmodgui/Helper1"
INTERFACE = "org.kmodgui.Helper1"
ERROR = "org.kmodgui.Error."
AGENT_SOCKET = "/run/kmgtest/root.sock"
# What the helper says instead of records a restricted caller may not read (issue 9).
HIDDEN_LINE = re.compile(r"\d+ other kernel messages? not shown")
OUT = Path(os.environ.get("KMGTEST_OUT", "/kmgout"))
SYSTEM = Root.create()


class HelperError(Exception):
    """A D-Bus error reply: its name, message and the kernel log it carried."""

    def __init__(self, name: str, message: str, kernel_log: list[str]) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message
        self.kernel_log = kernel_log

    @property
    def short(self) -> str:
        """The name without the ``org.kmodgui.Error.`` prefix (``InUse``)."""
        return self.name.removeprefix(ERROR)


def _unwrap(value: Any) -> Any:
    if isinstance(value, Variant):
        return _unwrap(value.value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def _variant(value: object) -> Variant:
    if isinstance(value, bool):
        return Variant("b", value)
    if isinstance(value, int):
        return Variant("i", value)
    return Variant("s", str(value))


def options(**opts: object) -> dict[str, Variant]:
    """An ``a{sv}`` options argument from keyword arguments (``dependencies=True``)."""
    return {k: _variant(v) for k, v in opts.items()}


async def _call(member: str, signature: str, body: list[Any], fds: list[int]) -> Message:
    bus = await MessageBus(bus_type=BusType.SYSTEM, negotiate_unix_fd=True).connect()
    try:
        msg = Message(destination=NAME, path=OBJECT, interface=INTERFACE, member=member,
                      signature=signature, body=body, unix_fds=fds)
        reply = await bus.call(msg)
    finally:
        bus.disconnect()
    assert reply is not None
    return reply


def call(member: str, signature: str = "", *body: Any, fds: list[int] | None = None,
         timeout: float = 180) -> dict[str, Any]:
    """Call *member* of the helper; the reply's dictionary, or :class:`HelperError`."""
    reply = asyncio.run(asyncio.wait_for(_call(member, signature, list(body), fds or []),
                                         timeout))
    if reply.message_type == MessageType.ERROR:
        message = reply.body[0] if reply.body else ""
        log = list(reply.body[1]) if len(reply.body) > 1 else []
        raise HelperError(reply.error_name or "", str(message), log)
    return _unwrap(reply.body[0]) if reply.body else {}


def capabilities() -> dict[str, Any]:
    return call("GetCapabilities")


def load(module: str, params: tuple[str, ...] = (), **opts: object) -> dict[str, Any]:
    return call("Load", "sasa{sv}", module, list(params), options(**opts))


def unload(module: str, **opts: object) -> dict[str, Any]:
    return call("Unload", "sa{sv}", module, options(**opts))


def insert_file(path: Path, params: tuple[str, ...] = (), **opts: object) -> dict[str, Any]:
    """InsertFile with a descriptor the caller opened itself (read-only)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return call("InsertFile", "hasa{sv}", 0, list(params), options(**opts), fds=[fd])
    finally:
        os.close(fd)


def set_parameter(module: str, name: str, value: str) -> dict[str, Any]:
    return call("SetParameter", "sssa{sv}", module, name, value, options())


def set_persistent_options(module: str, params: dict[str, str]) -> dict[str, Any]:
    return call("SetPersistentOptions", "sa{ss}a{sv}", module, params, options())


def set_blacklist(module: str, mode: str) -> dict[str, Any]:
    return call("SetBlacklist", "ssa{sv}", module, mode, options())


def set_load_at_boot(module: str, enabled: bool) -> dict[str, Any]:
    return call("SetLoadAtBoot", "sba{sv}", module, enabled, options())


def rebuild_index(release: str) -> dict[str, Any]:
    return call("RebuildIndex", "sa{sv}", release, options())


@dataclass
class Completed:
    """A command's outcome, as the root agent reports it."""

    rc: int
    stdout: str
    stderr: str


def root(*argv: str | Path, user: str = "root", timeout: float = 180) -> Completed:
    """Run *argv* through the guest's root agent, as root or as another test *user*."""
    request = {"argv": [str(a) for a in argv], "user": user, "timeout": timeout}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout + 30)
        s.connect(AGENT_SOCKET)
        s.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    reply = json.loads(data)
    return Completed(reply["rc"], reply["stdout"], reply["stderr"])


def run(*argv: str | Path, timeout: float = 180) -> Completed:
    """Run *argv* as the test user itself (this process's credentials)."""
    import subprocess

    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                       timeout=timeout, check=False)
    return Completed(p.returncode, p.stdout, p.stderr)


def loaded() -> dict[str, dict[str, Any]]:
    """``/proc/modules`` as name → refcount, holders, state; newest module first."""
    mods: dict[str, dict[str, Any]] = {}
    for line in SYSTEM.proc_modules.read_text().splitlines():
        f = line.split()
        holders = [] if f[3] == "-" else [h for h in f[3].split(",") if h]
        mods[f[0]] = {"refcount": int(f[2]), "holders": holders, "state": f[4]}
    return mods


def parameter(module: str, name: str) -> str:
    """The live value of a module parameter, from sysfs."""
    return (SYSTEM.sys_module / module / "parameters" / name).read_text().strip()


def interfaces() -> set[str]:
    """The network interfaces the kernel has (dummy0, …)."""
    return {name for _, name in socket.if_nameindex()}


class KernelLog:
    """The kernel log from the moment of creation on (``dmesg`` through the root agent)."""

    def __init__(self) -> None:
        self._start = len(self._lines())

    @staticmethod
    def _lines() -> list[str]:
        r = root("dmesg", "--notime")
        assert r.rc == 0, r.stderr
        return r.stdout.splitlines()

    def new(self) -> list[str]:
        """What the kernel printed since this object was made."""
        return [line.strip() for line in self._lines()[self._start:]]


def same_log(reply_log: list[str], printed: list[str], *, about: str) -> None:
    """Assert a reply's ``kernel-log`` is what the kernel printed about *about*.

    Every line of the reply was printed by the kernel meanwhile (but the helper's own
    "N other kernel messages not shown", for a caller who may not read the kernel log),
    and every line the kernel printed about *about* (``about: ...``) is in the reply.
    """
    got = [line.strip() for line in reply_log if not HIDDEN_LINE.fullmatch(line.strip())]
    missing_from_kernel = [line for line in got if line not in printed]
    assert not missing_from_kernel, (
        f"reply kernel-log has lines the kernel did not print: {missing_from_kernel}; "
        f"kernel printed {printed}")
    missing_from_reply = [line for line in printed
                          if line.startswith(f"{about}:") and line not in got]
    assert not missing_from_reply, (
        f"kernel printed {missing_from_reply} but the reply's kernel-log is {got}")
