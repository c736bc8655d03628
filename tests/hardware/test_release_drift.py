"""The capture-based tests hold when Debian has moved to another kernel ABI.

``tests/fetch-kernel`` pins the kernel to the release the sysfs captures come from while
the archive has it, and falls back to the current release when it does not. This test
runs the capture-based tests against a tree whose release differs from the captures'
(``tests/fetch-kernel --other``: the current Debian release, or the pinned modules under
another name when Debian has not moved on), as they would run the day the pin is gone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from kmgtest.sysfs_roots import SCENARIOS, captured_release

REPO = Path(__file__).resolve().parents[2]
CAPTURE_TESTS = ["tests/hardware", "tests/ui/test_devices_tab.py"]


@pytest.fixture(scope="module")
def other_tree() -> Path:
    out = subprocess.run([str(REPO / "tests" / "fetch-kernel"), "--other"],
                         capture_output=True, text=True, check=False, timeout=600)
    assert out.returncode == 0, out.stderr
    return Path(out.stdout.strip())


@pytest.mark.kernel
def test_capture_tests_pass_on_another_release(other_tree: Path, tmp_path: Path) -> None:
    (release,) = [p.name for p in (other_tree / "lib" / "modules").iterdir()]
    assert all(captured_release(s) != release for s in SCENARIOS)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "current").symlink_to(other_tree.parent)
    env = {**os.environ, "KMODGUI_TEST_CACHE": str(cache)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not guest",
         "--deselect", "tests/hardware/test_release_drift.py", *CAPTURE_TESTS],
        cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=900)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary
    assert int(summary.split(" passed")[0].split()[-1]) >= 40, summary
