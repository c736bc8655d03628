"""Every program the helper runs: absolute paths, argv lists, ``--``, a clean environment.

No shell, no client text as a program name, a timeout on everything, output
captured (stdout and stderr together, as a user would see them in a terminal).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

CLEAN_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
TIMEOUT = 120.0
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
        timeout: float = TIMEOUT) -> ToolResult:
    """Run ``tool options -- operands`` and return its exit code and combined output."""
    argv = [tool_path(tool), *options, "--", *operands]
    try:
        done = subprocess.run(argv, env=CLEAN_ENV, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, check=False, cwd="/", close_fds=True)
    except subprocess.TimeoutExpired as exc:
        out = exc.output.decode("utf-8", "replace") if exc.output else ""
        return ToolResult(124, out + f"\n{tool} did not finish within {timeout:.0f} s")
    return ToolResult(done.returncode, done.stdout.decode("utf-8", "replace"))


def which(tool: str) -> str | None:
    """For diagnostics only: where the tool would be found on a normal PATH."""
    return shutil.which(tool, path=CLEAN_ENV["PATH"])
