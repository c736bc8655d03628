"""Stopping the daemons a test started, whatever state they are in."""

from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen[bytes], grace: float = 5) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns once the process is reaped."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
