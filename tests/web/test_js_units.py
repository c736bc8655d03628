"""The page's JavaScript logic (cockpit/model.js, cockpit/requests.js) under ``node --test``."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[2] / "cockpit" / "test"


def test_node_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed for the page's unit tests (Debian package nodejs)")
    files = sorted(TESTS.glob("*.test.mjs"))
    assert len(files) >= 2
    done = subprocess.run([node, "--test", *map(str, files)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    passed = re.search(r"(?:#|ℹ) pass (\d+)", done.stdout)
    assert passed and int(passed.group(1)) >= 10, done.stdout
