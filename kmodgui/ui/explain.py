"""A helper error in the window's words: :func:`kmodgui.client.explain`, translated by Qt.

The table of words is :data:`kmodgui.client.errors.ERRORS` (shared with the
command line); here it only passes through Qt's translation (context
``"Explain"``).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QCoreApplication

from kmodgui.client.errors import Explanation, HelperError
from kmodgui.client.errors import explain as explain_error


def _translate(text: str) -> str:
    return QCoreApplication.translate("Explain", text)


def explain(error: HelperError, *, module: str = "", holders: Sequence[str] = ()
            ) -> Explanation:
    """The explanation for one failed operation on ``module``."""
    return explain_error(error, module=module, holders=holders, translate=_translate)


def with_warnings(text: str, warnings: Sequence[str]) -> str:
    """``text`` followed by the helper's warnings (say, a line elsewhere in modprobe.d
    overrides the one just written), one per line."""
    lines = [text] if text else []
    lines += [QCoreApplication.translate("Explain", "Warning: %1").replace("%1", w)
              for w in warnings]
    return "\n".join(lines)
