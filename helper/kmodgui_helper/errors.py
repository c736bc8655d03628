"""The errors the helper sends, and their classification from errno, tool output and kernel log.

Every failure a caller sees is one of the names below, with a body
``(s message, as kernel_log)``, so the window can explain it; never a traceback.
"""

from __future__ import annotations

import errno as _errno
import os
from collections.abc import Sequence

PREFIX = "org.kmodgui.Error."
NOT_AUTHORIZED = PREFIX + "NotAuthorized"
BUSY = PREFIX + "Busy"
NOT_FOUND = PREFIX + "NotFound"
ALREADY_LOADED = PREFIX + "AlreadyLoaded"
NOT_LOADED = PREFIX + "NotLoaded"
IN_USE = PREFIX + "InUse"
UNKNOWN_SYMBOL = PREFIX + "UnknownSymbol"
INVALID_MODULE = PREFIX + "InvalidModule"
INVALID_PARAMETER = PREFIX + "InvalidParameter"
SIGNATURE_REJECTED = PREFIX + "SignatureRejected"
LOCKED_DOWN = PREFIX + "LockedDown"
MODULES_DISABLED = PREFIX + "ModulesDisabled"
FAILED = PREFIX + "Failed"
INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"
INTERACTIVE_REQUIRED = "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"
CANCELLED = "org.freedesktop.PolicyKit1.Error.Cancelled"  # the user closed the password dialog
UNKNOWN_METHOD = "org.freedesktop.DBus.Error.UnknownMethod"
UNKNOWN_OBJECT = "org.freedesktop.DBus.Error.UnknownObject"
UNKNOWN_INTERFACE = "org.freedesktop.DBus.Error.UnknownInterface"
UNKNOWN_PROPERTY = "org.freedesktop.DBus.Error.UnknownProperty"

ALL_HELPER_ERRORS = frozenset({
    NOT_AUTHORIZED, BUSY, NOT_FOUND, ALREADY_LOADED, NOT_LOADED, IN_USE, UNKNOWN_SYMBOL,
    INVALID_MODULE, INVALID_PARAMETER, SIGNATURE_REJECTED, LOCKED_DOWN, MODULES_DISABLED,
    FAILED, INVALID_ARGS, INTERACTIVE_REQUIRED, CANCELLED, UNKNOWN_METHOD, UNKNOWN_OBJECT,
    UNKNOWN_INTERFACE, UNKNOWN_PROPERTY,
})


class HelperError(Exception):
    """A failure to report to the caller as a D-Bus error."""

    def __init__(self, name: str, message: str, kernel_log: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.kernel_log = list(kernel_log)


def invalid(message: str) -> HelperError:
    return HelperError(INVALID_ARGS, message)


def _log_mentions(kernel_log: Sequence[str], *needles: str) -> bool:
    text = "\n".join(kernel_log).lower()
    return any(n.lower() in text for n in needles)


def _permission_error(modules_disabled: bool, lockdown: str) -> tuple[str, str]:
    if modules_disabled:
        return MODULES_DISABLED, ("loading and unloading modules is disabled until the next "
                                  "reboot (kernel.modules_disabled is 1)")
    if lockdown not in ("", "none"):
        return LOCKED_DOWN, f"the kernel is locked down ({lockdown}) and refused the operation"
    return FAILED, "the kernel refused the operation (operation not permitted)"


def classify_errno(err: int, kernel_log: Sequence[str], *, module: str,
                   modules_disabled: bool = False, lockdown: str = "none") -> HelperError:
    """Name the failure of a ``finit_module`` call from its errno and the kernel's messages."""
    log = list(kernel_log)
    # ENOEXEC with "disagrees about version of symbol module_layout" is a module built
    # for another kernel (issue 6, scenario 6), not a missing dependency.
    if err != _errno.ENOEXEC and _log_mentions(log, "unknown symbol",
                                               "disagrees about version of symbol"):
        return HelperError(UNKNOWN_SYMBOL, f"{module} needs symbols no loaded module provides "
                           "(load its dependencies first)", log)
    if _log_mentions(log, "unknown parameter", "invalid for parameter", "bad value"):
        return HelperError(INVALID_PARAMETER, f"{module} rejected a parameter", log)
    if err == _errno.EEXIST:
        return HelperError(ALREADY_LOADED, f"{module} is already loaded", log)
    if err in (_errno.EKEYREJECTED, _errno.ENOKEY, _errno.EBADMSG):
        return HelperError(SIGNATURE_REJECTED, f"the kernel rejected the signature of {module}"
                           " (signatures are enforced)", log)
    if err == _errno.EPERM:
        if _log_mentions(log, "lockdown"):
            return HelperError(LOCKED_DOWN, "the kernel is locked down and refused "
                               f"to load {module}", log)
        name, text = _permission_error(modules_disabled, lockdown)
        return HelperError(name, text, log)
    if err == _errno.ENOEXEC:
        return HelperError(INVALID_MODULE, f"{module} is not a valid module for this kernel "
                           "(wrong format or version magic)", log)
    if err == _errno.ENOENT:
        return HelperError(UNKNOWN_SYMBOL, f"{module} needs symbols no loaded module provides",
                           log)
    if err == _errno.EINVAL:
        return HelperError(INVALID_PARAMETER if _log_mentions(log, "parameter") else
                           INVALID_MODULE, f"the kernel rejected {module}: invalid argument", log)
    if err == _errno.ENOSYS:
        return HelperError(FAILED, "the running kernel does not support loadable modules", log)
    if err == _errno.EOPNOTSUPP:
        return HelperError(INVALID_MODULE, "the kernel cannot decompress module files itself: "
                           "decompress the file first", log)
    return HelperError(FAILED, f"loading {module} failed: {os.strerror(err)}", log)


def classify_tool(output: str, kernel_log: Sequence[str], *, module: str, action: str,
                  holders: Sequence[str] = (), modules_disabled: bool = False,
                  lockdown: str = "none") -> HelperError:
    """Name the failure of ``modprobe``/``rmmod``/``depmod`` from its output and the kernel log.

    The tools run with ``LC_ALL=C``, so their messages are stable English text.
    """
    out = output.lower()
    log = list(kernel_log)
    if "not found in directory" in out or ("not found" in out and "module" in out):
        return HelperError(NOT_FOUND, f"no module named {module} is installed", log)
    if "already in kernel" in out or "file exists" in out:
        return HelperError(ALREADY_LOADED, f"{module} is already loaded", log)
    if "is builtin" in out:
        return HelperError(FAILED, f"{module} is built into the kernel: it cannot be "
                           f"{'unloaded' if action == 'unload' else 'changed'}", log)
    if ("not currently loaded" in out or "is not in kernel" in out
            or "not loaded" in out):
        return HelperError(NOT_LOADED, f"{module} is not loaded", log)
    if "in use" in out or "resource temporarily unavailable" in out:
        who = f" by: {', '.join(holders)}" if holders else ""
        return HelperError(IN_USE, f"{module} is in use{who}", log)
    if "unknown symbol" in out or _log_mentions(log, "unknown symbol"):
        if _log_mentions(log, "unknown parameter", "invalid for parameter") and not \
                _log_mentions(log, "unknown symbol"):
            return HelperError(INVALID_PARAMETER, f"{module} rejected a parameter", log)
        return HelperError(UNKNOWN_SYMBOL, f"{module} needs symbols no loaded module provides",
                           log)
    if "unknown parameter" in out or ("invalid argument" in out
                                      and _log_mentions(log, "parameter")):
        return HelperError(INVALID_PARAMETER, f"{module} rejected a parameter", log)
    if "key was rejected" in out or "required key not available" in out or \
            "bad message" in out:
        return HelperError(SIGNATURE_REJECTED, f"the kernel rejected the signature of {module}",
                           log)
    if "invalid module format" in out or "exec format error" in out:
        return HelperError(INVALID_MODULE, f"{module} is not a valid module for this kernel "
                           "(wrong format or version magic)", log)
    if "operation not permitted" in out:
        name, text = _permission_error(modules_disabled, lockdown)
        if _log_mentions(log, "lockdown"):
            name, text = LOCKED_DOWN, "the kernel is locked down and refused the operation"
        return HelperError(name, text, log)
    if "function not implemented" in out:
        return HelperError(FAILED, "the running kernel does not support loadable modules", log)
    first = output.strip().splitlines()[-1] if output.strip() else "no output"
    return HelperError(FAILED, f"{action} {module} failed: {first}", log)
