"""``kmodgui list``: the documented JSON schema, state filters and the table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kmodgui.core.paths import Root

MODULE_KEYS = {
    "name", "state", "path", "file_size", "size", "refcount", "holders", "load_order",
    "live_state", "taint", "description", "authors", "license", "version", "srcversion",
    "vermagic", "firmware", "aliases", "signer", "sig_key", "sig_hashalgo", "parameters",
    "depends", "required_by", "softdep", "config",
}
PARAM_KEYS = {"name", "type", "description", "value", "hidden", "permission", "writable"}


def kmodgui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kmodgui", *args],
                          capture_output=True, text=True, check=False)


def test_json_schema_matches_readme(kernel_root: Root) -> None:
    result = kmodgui("list", "-b", str(kernel_root.base), "-k", kernel_root.release,
                     "--state", "all", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["release"] == kernel_root.release
    modules = document["modules"]
    assert len(modules) > 4000
    assert all(set(m) == MODULE_KEYS for m in modules)
    with_params = [m for m in modules if m["parameters"]]
    assert with_params
    assert all(set(p) == PARAM_KEYS for m in with_params for p in m["parameters"])
    states = {m["state"] for m in modules}
    assert states == {"builtin", "available"}  # nothing is loaded in an extracted package
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for key in MODULE_KEYS | PARAM_KEYS:
        assert f"`{key}`" in readme, f"README does not document {key}"


def test_state_filter_and_table(kernel_root: Root) -> None:
    base = ["-b", str(kernel_root.base), "-k", kernel_root.release]
    builtin = json.loads(kmodgui("list", *base, "--state", "builtin", "--json").stdout)
    assert builtin["modules"]
    assert {m["state"] for m in builtin["modules"]} == {"builtin"}
    assert all(m["path"] is None for m in builtin["modules"])
    loaded = kmodgui("list", *base)
    assert loaded.returncode == 0
    assert loaded.stdout.splitlines() == ["Module  State  Size  Used by  Description"]
    table = kmodgui("list", *base, "--state", "available").stdout.splitlines()
    assert table[0].split() == ["Module", "State", "Size", "Used", "by", "Description"]
    assert any(line.split()[:2] == ["dummy", "available"] for line in table)


def test_missing_tree_is_a_warning_not_a_traceback(tmp_path: Path) -> None:
    result = kmodgui("list", "-b", str(tmp_path), "-k", "1.2.3", "--state", "all")
    assert result.returncode == 0
    assert "Traceback" not in result.stderr
    assert "modules.dep" in result.stderr
