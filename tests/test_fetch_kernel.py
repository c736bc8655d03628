"""tests/fetch-kernel: the pinned release while Debian's archive has it, the current one after."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("KMODGUI_TEST_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kmodgui-tests")
FETCH = REPO / "tests" / "fetch-kernel"
PIN = (REPO / "tests" / "data" / "kernel-release").read_text().strip()


def fetch(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(FETCH), *args], capture_output=True, text=True, check=False,
                          env={**os.environ, **env}, timeout=600)


@pytest.mark.kernel
def test_the_pinned_release_is_fetched_while_the_archive_has_it() -> None:
    result = fetch(KMODGUI_TEST_CACHE=str(CACHE))
    assert result.returncode == 0, result.stderr
    root = Path(result.stdout.strip())
    assert root == CACHE / f"kernel-{PIN}" / "root"
    assert (root / "lib" / "modules" / PIN / "modules.dep.bin").is_file()
    assert (CACHE / "current").resolve() == root.parent.resolve()


@pytest.mark.kernel
def test_a_pin_gone_from_the_archive_falls_back_to_the_current_release(tmp_path: Path) -> None:
    latest = fetch("--latest", KMODGUI_TEST_CACHE=str(CACHE))
    assert latest.returncode == 0, latest.stderr
    tree = Path(latest.stdout.strip()).parent
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / tree.name).symlink_to(tree)        # already fetched: no second download
    result = fetch(KMODGUI_TEST_CACHE=str(cache), KMODGUI_TEST_KERNEL="6.1.0-0-gone-amd64")
    assert result.returncode == 0, result.stderr
    assert "linux-image-6.1.0-0-gone-amd64 is no longer in the archive" in result.stderr
    assert Path(result.stdout.strip()) == cache / tree.name / "root"
    assert (cache / "current").resolve() == tree.resolve()
