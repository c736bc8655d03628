"""The error types of kmodgui's core: a message, the kernel's words, a hint.

Library code raises these and never prints; the CLI and the window present
them (message, then context, then what to do next).
"""

from __future__ import annotations

from collections.abc import Sequence


class KmodguiError(Exception):
    """Root of every error kmodgui reports to a user."""

    def __init__(self, message: str, *, hint: str = "",
                 kernel_log: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.kernel_log = list(kernel_log)


class ModuleNotFound(KmodguiError):
    """No module, alias or file of that name."""


class ModuleFileError(KmodguiError):
    """A module file that cannot be read as a kernel module (not ELF, truncated, ...)."""


class IndexFileError(KmodguiError):
    """A ``modules.*`` index file that is missing or malformed."""


class ConfigError(KmodguiError):
    """A configuration file that cannot be read."""
