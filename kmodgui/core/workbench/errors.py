"""The workbench's errors: each says what went wrong and what to do next."""

from __future__ import annotations

from kmodgui.core.errors import KmodguiError


class WorkbenchError(KmodguiError):
    """Root of the workbench's errors."""


class TemplateError(WorkbenchError):
    """A module template cannot be written (bad name, files already there)."""


class BuildRefused(WorkbenchError):
    """A build that must not start (as root, no source, no headers)."""


class SigningError(WorkbenchError):
    """A key cannot be made or a module cannot be signed."""
