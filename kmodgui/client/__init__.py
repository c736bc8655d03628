"""The client side of the privileged helper: requests, results, errors, and two transports.

:mod:`kmodgui.client.requests` builds the calls, :mod:`kmodgui.client.errors`
names the failures; neither needs Qt. The window carries requests over QtDBus
(:mod:`kmodgui.client.qt`), the command line over dbus-fast
(:mod:`kmodgui.client.bus`), so the CLI works where PySide6 is not installed.
"""

from kmodgui.client.errors import Explanation, HelperError, explain
from kmodgui.client.requests import HelperResult, Request

__all__ = ["Explanation", "HelperError", "HelperResult", "Request", "explain"]
