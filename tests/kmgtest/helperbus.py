"""The helper tier's private bus machinery (``tests/helper/helperbus.py``) for other tiers.

The helper tier owns the harness (a real dbus-daemon with the project's bus
policy, a real polkitd, an activatable helper); the CLI, client and window
tiers use it through :func:`load`, so it is loaded once, under the same name
the helper tier imports it by.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

HARNESS = Path(__file__).resolve().parents[1] / "helper" / "helperbus.py"


def load() -> ModuleType:
    """The ``helperbus`` module (already imported by the helper tier, or loaded now)."""
    module = sys.modules.get("helperbus")
    if module is not None:
        return module
    spec = importlib.util.spec_from_file_location("helperbus", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["helperbus"] = module
    spec.loader.exec_module(module)
    return module
