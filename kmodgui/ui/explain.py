"""Turn a helper error (D-Bus error name, message, kernel log) into plain words.

Each explanation says what happened and the next step; ``action`` names a
follow-up the window can offer as a button (``load-dependencies``,
``unload-holders``). The kernel's own lines are shown beside it unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QCoreApplication

ERROR_PREFIX = "org.kmodgui.Error."


# Spelled out at each string (lupdate reads literal translate("Context", "text") calls).
translate = QCoreApplication.translate


@dataclass(frozen=True)
class Explanation:
    title: str
    text: str
    next_step: str
    action: str = ""                 # a follow-up the window can offer
    subjects: list[str] = field(default_factory=list)  # modules the action concerns
    quiet: bool = False              # the user cancelled: nothing to report


UNKNOWN_SYMBOL = re.compile(r"Unknown symbol (\S+)")


def short_name(error_name: str) -> str:
    """``org.kmodgui.Error.InUse`` → ``InUse``; D-Bus's own errors keep their last part."""
    if error_name.startswith(ERROR_PREFIX):
        return error_name.removeprefix(ERROR_PREFIX)
    if error_name.startswith("org.freedesktop.DBus.Error."):
        return error_name.rsplit(".", 1)[-1]
    return error_name


def explain(error_name: str, message: str, kernel_log: Sequence[str] = (), *,
            module: str = "", holders: Sequence[str] = ()) -> Explanation:
    """The explanation for one failed operation on ``module``."""
    kind = short_name(error_name)
    subject = module or translate("Explain", "the module")
    if kind == "NotAuthorized" and "dismissed" in message:
        # the user closed the password dialog: nothing happened, nothing to report
        return Explanation(
            translate("Explain", "Cancelled"),
            translate("Explain", "The password dialog was closed; nothing was changed."),
            "", quiet=True)
    if kind in ("NotAuthorized", "InteractiveAuthorizationRequired"):
        return Explanation(
            translate("Explain", "Not authorized"),
            translate("Explain", "You are not allowed to make this change, so nothing was "
                      "changed."),
            translate("Explain", "Ask an administrator, or try again and enter an "
                      "administrator's password when asked."))
    if kind == "UnknownSymbol":
        symbols = sorted({m.group(1) for line in kernel_log
                          for m in [UNKNOWN_SYMBOL.search(line)] if m})
        text = translate("Explain", "%1 needs functions from other modules that are not "
                         "loaded").replace("%1", subject)
        if symbols:
            text += ": " + ", ".join(symbols[:8]) + ("…" if len(symbols) > 8 else "")
        return Explanation(
            translate("Explain", "Missing dependencies"), text + ".",
            translate("Explain", "Load it by name so that its dependencies are loaded first, "
                      "or load the modules that provide those symbols."),
            action="load-dependencies", subjects=[module] if module else [])
    if kind == "InUse":
        users = ", ".join(holders) if holders else ""
        text = (translate("Explain", "%1 is in use by: %2.").replace("%1", subject)
                .replace("%2", users) if users
                else translate("Explain", "%1 is in use.").replace("%1", subject))
        return Explanation(
            translate("Explain", "Module in use"), text,
            translate("Explain", "Unload the modules that use it first, or stop the program "
                      "or device that holds it."),
            action="unload-holders" if holders else "", subjects=list(holders))
    if kind == "SignatureRejected":
        return Explanation(
            translate("Explain", "Signature rejected"),
            translate("Explain", "The kernel only accepts modules signed with a trusted key "
                      "(Secure Boot is enforcing signatures), and %1 is unsigned or signed "
                      "with an unknown key.").replace("%1", subject),
            translate("Explain", "Use a module signed by your distribution, or sign it with a "
                      "key enrolled in the machine's key database (for example with "
                      "mokutil), then try again."))
    if kind == "InvalidModule":
        return Explanation(
            translate("Explain", "Not a module for this kernel"),
            translate("Explain", "The kernel refused %1: it was built for another kernel "
                      "version or configuration, or the file is damaged.").replace("%1", subject),
            translate("Explain", "Install the module built for the running kernel (often a "
                      "package for this kernel release), or rebuild it against this kernel."))
    if kind in ("LockedDown", "ModulesDisabled"):
        reason = (translate("Explain", "The kernel is locked down, which forbids loading "
                            "modules that are not signed by a trusted key.")
                  if kind == "LockedDown" else
                  translate("Explain", "Module loading has been switched off until the next "
                            "reboot (kernel.modules_disabled)."))
        return Explanation(
            translate("Explain", "Loading is disabled"), reason,
            translate("Explain", "Nothing can be loaded until the machine is rebooted with "
                      "module loading allowed."))
    if kind == "NotFound":
        return Explanation(
            translate("Explain", "Module not found"),
            translate("Explain", "No module named %1 is installed for this kernel.").replace(
                "%1", subject),
            translate("Explain", "Check the name, or install the package that provides it."))
    if kind == "AlreadyLoaded":
        return Explanation(
            translate("Explain", "Already loaded"),
            translate("Explain", "%1 is already loaded.").replace("%1", subject),
            translate("Explain", "Unload it first to load it with other parameters."))
    if kind == "NotLoaded":
        return Explanation(
            translate("Explain", "Not loaded"),
            translate("Explain", "%1 is not loaded.").replace("%1", subject),
            translate("Explain", "Nothing to unload."))
    if kind == "InvalidParameter":
        return Explanation(
            translate("Explain", "Invalid parameter"),
            translate("Explain", "The kernel rejected a parameter of %1.").replace(
                "%1", subject),
            translate("Explain", "Check the parameter's name and type in the Parameters tab."))
    if kind == "Busy":
        return Explanation(
            translate("Explain", "Busy"),
            translate("Explain", "Another change is running at the moment."),
            translate("Explain", "Wait for it to finish and try again."))
    if kind.endswith("ServiceUnknown") or kind.endswith("NoReply") or kind.endswith(
            "Disconnected"):
        return Explanation(
            translate("Explain", "Helper not reachable"),
            translate("Explain", "The privileged helper did not answer."),
            translate("Explain", "Check that kmodgui-helper is installed and that the system "
                      "bus is running."))
    return Explanation(
        translate("Explain", "The operation failed"),
        message or translate("Explain", "The operation failed for an unknown reason."),
        translate("Explain", "The kernel's messages below may say more."))
