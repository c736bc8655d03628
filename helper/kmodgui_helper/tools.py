"""Every program the helper runs: absolute paths, argv lists, ``--``, a clean environment.

No shell, no client text as a program name, a timeout on everything, output
captured (stdout and stderr together, as a user would see them in a terminal).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from dataclasses import dataclass

CLEAN_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
TIMEOUT = 120.0


def tool_timeout() -> float:
    """How long a tool may run (``KMODGUI_HELPER_TOOL_TIMEOUT`` shortens it for tests)."""
    try:
        return max(1.0, float(os.environ.get("KMODGUI_HELPER_TOOL_TIMEOUT", TIMEOUT)))
    except ValueError:
        return TIMEOUT
# After killing a tool, how long to wait for it to be gone before giving up on it.
REAP_SECONDS = 5.0
# Debian and most distributions install kmod's tools in /usr/sbin (or /sbin before
# the /usr merge); the first existing path wins.
_CANDIDATES = {
    "modprobe": ("/usr/sbin/modprobe", "/sbin/modprobe", "/usr/bin/modprobe"),
    "rmmod": ("/usr/sbin/rmmod", "/sbin/rmmod", "/usr/bin/rmmod"),
    "depmod": ("/usr/sbin/depmod", "/sbin/depmod", "/usr/bin/depmod"),
}


@dataclass(frozen=True)
class ToolResult:
    returncode: int
    output: str


class ToolMissing(Exception):
    """The tool is not installed."""


def tool_path(tool: str) -> str:
    for candidate in _CANDIDATES[tool]:
        if os.access(candidate, os.X_OK):
            return candidate
    raise ToolMissing(f"{tool} is not installed (kmod)")


def run(tool: str, options: list[str], operands: list[str],
        timeout: float | None = None) -> ToolResult:
    """Run ``tool options -- operands`` and return its exit code and combined output.

    Bounded: after ``timeout`` the tool's whole process group is killed, and after
    :data:`REAP_SECONDS` more the call returns even if a process cannot die yet (one
    inside a module's init sleeps uninterruptibly) or a stray child still holds the
    output pipe; a thread reaps the process whenever it ends.
    """
    argv = [tool_path(tool), *options, "--", *operands]
    timeout = tool_timeout() if timeout is None else timeout
    proc = subprocess.Popen(argv, env=CLEAN_ENV, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd="/",
                            close_fds=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            out, _ = proc.communicate(timeout=REAP_SECONDS)
        except subprocess.TimeoutExpired:
            out = b""
            _abandon(proc)
        text = out.decode("utf-8", "replace")
        return ToolResult(124, text + f"\n{tool} did not finish within {timeout:.0f} s and "
                          "was stopped (a module's init may still be running)")
    return ToolResult(proc.returncode, out.decode("utf-8", "replace"))


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the tool and everything it started (an ``install`` command's shell too)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        with contextlib.suppress(OSError):
            proc.kill()


def _abandon(proc: subprocess.Popen[bytes]) -> None:
    """Stop reading from a process that cannot finish yet; reap it in the background."""
    if proc.stdout is not None:
        with contextlib.suppress(OSError):
            proc.stdout.close()
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
