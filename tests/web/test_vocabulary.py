"""The page's request vocabulary (cockpit/requests.js) against the helper's own method table."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from kmodgui_helper import BUS_NAME, INTERFACE, OBJECT_PATH, api

REQUESTS = Path(__file__).resolve().parents[2] / "cockpit" / "requests.js"


def js_table() -> dict[str, Any]:
    text = REQUESTS.read_text()
    match = re.search(r"/\* BEGIN METHODS \*/(.*)/\* END METHODS \*/", text, re.DOTALL)
    assert match, "requests.js lost its BEGIN/END METHODS markers"
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def js_constant(name: str) -> str:
    match = re.search(rf'export const {name} = "([^"]+)";', REQUESTS.read_text())
    assert match, name
    return match.group(1)


def test_every_method_with_its_arguments_actions_and_options() -> None:
    table = js_table()
    assert list(table) == [m.name for m in api.METHODS]
    for method in api.METHODS:
        entry = table[method.name]
        assert [tuple(a) for a in entry["args"]] == list(method.args), method.name
        assert tuple(entry["actions"]) == method.actions, method.name
        assert entry["options"] == dict(method.options), method.name


def test_names_on_the_bus() -> None:
    assert js_constant("INTERFACE") == INTERFACE
    assert js_constant("BUS_NAME") == BUS_NAME
    assert js_constant("OBJECT_PATH") == OBJECT_PATH


def test_the_check_fails_on_a_difference() -> None:
    """A table that differs from the helper's is caught (the check can fail)."""
    table = js_table()
    table["SetBlacklist"]["args"][1] = ["mode", "b"]
    method = next(m for m in api.METHODS if m.name == "SetBlacklist")
    assert [tuple(a) for a in table["SetBlacklist"]["args"]] != list(method.args)
