"""One error type for every failed helper call, and one table from error name to plain words.

The helper answers a failure with a D-Bus error name (``org.kmodgui.Error.*``,
``org.freedesktop.DBus.Error.InvalidArgs``, …) and a body ``(s message, as
kernel_log)``; the bus answers with its own names when the helper cannot be
reached. :data:`ERRORS` says, for each name, what happened (``title``,
``text``), what to do next in the window (``next_step``) and in a terminal
(``hint``). A cancelled password dialog is told apart by its name
(:data:`CANCELLED`), never by the words of a message.

The strings are plain English; the window passes them through Qt's
translation at display time (context ``"Explain"``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from kmodgui.core.errors import KmodguiError

KMODGUI = "org.kmodgui.Error."
DBUS = "org.freedesktop.DBus.Error."
CANCELLED = "org.freedesktop.PolicyKit1.Error.Cancelled"  # the password dialog was dismissed
FAILED = KMODGUI + "Failed"
DISCONNECTED = DBUS + "Disconnected"
NOT_INSTALLED = frozenset({DBUS + "ServiceUnknown", DBUS + "NameHasNoOwner"})
NOT_AUTHORIZED = frozenset({KMODGUI + "NotAuthorized", DBUS + "AccessDenied",
                            DBUS + "InteractiveAuthorizationRequired"})


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:
    """Marks ``text`` for Qt's lupdate (context ``"Explain"``); the window translates it."""
    return text


@dataclass(frozen=True)
class ErrorText:
    """The words for one error name; ``{module}`` stands for the module concerned."""

    title: str
    text: str
    next_step: str
    hint: str | None = None  # for a terminal: None is next_step, "" is none

    @property
    def terminal_hint(self) -> str:
        return self.next_step if self.hint is None else self.hint


_UNREACHABLE = ErrorText(
    QT_TRANSLATE_NOOP("Explain", "Helper not reachable"),
    QT_TRANSLATE_NOOP("Explain", "The privileged helper did not answer."),
    QT_TRANSLATE_NOOP("Explain", "Check that kmodgui-helper is installed and that the "
                      "system bus is running."),
    "")
_NOT_AUTHORIZED = ErrorText(
    QT_TRANSLATE_NOOP("Explain", "Not authorized"),
    QT_TRANSLATE_NOOP("Explain", "You are not allowed to make this change, so nothing was "
                      "changed."),
    QT_TRANSLATE_NOOP("Explain", "Ask an administrator, or try again and enter an "
                      "administrator's password when asked."),
    "Ask an administrator, or authenticate as one when asked.")
_UNKNOWN_CALL = ErrorText(
    QT_TRANSLATE_NOOP("Explain", "Not understood"),
    QT_TRANSLATE_NOOP("Explain", "The helper does not know this request: {message}"),
    QT_TRANSLATE_NOOP("Explain", "The window and the helper come from different versions: "
                      "install them together."),
    "")
_LOADING_DISABLED = QT_TRANSLATE_NOOP("Explain", "Loading is disabled")
_AFTER_REBOOT = QT_TRANSLATE_NOOP("Explain", "Nothing can be loaded until the machine is "
                                  "rebooted with module loading allowed.")

ERRORS: dict[str, ErrorText] = {
    CANCELLED: ErrorText(
        QT_TRANSLATE_NOOP("Explain", "Cancelled"),
        QT_TRANSLATE_NOOP("Explain", "The password dialog was closed; nothing was changed."),
        "", "Nothing was changed."),
    KMODGUI + "NotAuthorized": _NOT_AUTHORIZED,
    DBUS + "AccessDenied": replace(_NOT_AUTHORIZED, hint=""),
    DBUS + "InteractiveAuthorizationRequired": replace(
        _NOT_AUTHORIZED, hint="Run it again from a session with a polkit authentication "
        "agent (or a terminal)."),
    KMODGUI + "Busy": ErrorText(
        QT_TRANSLATE_NOOP("Explain", "Busy"),
        QT_TRANSLATE_NOOP("Explain", "Another change is running at the moment."),
        QT_TRANSLATE_NOOP("Explain", "Wait for it to finish and try again."),
        "Another change is in progress; try again when it has finished."),
    KMODGUI + "NotFound": ErrorText(
        QT_TRANSLATE_NOOP("Explain", "Module not found"),
        QT_TRANSLATE_NOOP("Explain", "No module named {module} is installed for this kernel."),
        QT_TRANSLATE_NOOP("Explain", "Check the name, or install the package that provides it."),
        ""),
    KMODGUI + "AlreadyLoaded": ErrorText(
        QT_TRANSLATE_NOOP("Explain", "Already loaded"),
        QT_TRANSLATE_NOOP("Explain", "{module} is already loaded."),
        QT_TRANSLATE_NOOP("Explain", "Unload it first to load it with other parameters."),
        ""),
    KMODGUI + "NotLoaded": ErrorText(
        QT_TRANSLATE_NOOP("Explain", "Not loaded"),
        QT_TRANSLATE_NOOP("Explain", "{module} is not loaded."),
        QT_TRANSLATE_NOOP("Explain", "Nothing to unload."),
        ""),
    KMODGUI + "InUse": ErrorText(
        QT_TRANSLATE_NOOP("Explain", "Module in use"),
        QT_TRANSLATE_NOOP("Explain", "{module} is in use."),
        QT_TRANSLATE_NOOP("Explain", "Unload the modules that use it first, or stop the "
                          "program or device that holds it."),
        "Unload the modules that use it first (or unload with its dependencies)."),
    KMODGUI + "UnknownSymbol": ErrorText(
        QT_TRANSLATE_NOOP("Explain", "Missing dependencies"),
        QT_TRANSLATE_NOOP("Explain", "{module} needs functions from other modules that are "
                          "not loaded."),
        QT_TRANSLATE_NOOP("Explain", "Load it by name so that its dependencies are loaded "
                          "first, or load the modules that provide those symbols."),
        "Load the modules it depends on first; the kernel log names the missing symbols."),
    KMODGUI + "InvalidModule": ErrorText(
        QT_TRANSLATE_NOOP("Explain", "Not a module for this kernel"),
        QT_TRANSLATE_NOOP("Explain", "The kernel refused {module}: it was built for another "
                          "kernel version or configuration, or the file is damaged."),
        QT_TRANSLATE_NOOP("Explain", "Install the module built for the running kernel (often "
                          "a package for this kernel release), or rebuild it against this "
                          "kernel."),
        "The file is not a module for the running kernel (wrong kernel version or format)."),
    KMODGUI + "InvalidParameter": ErrorText(
        QT_TRANSLATE_NOOP("Explain", "Invalid parameter"),
        QT_TRANSLATE_NOOP("Explain", "The kernel rejected a parameter of {module}."),
        QT_TRANSLATE_NOOP("Explain", "Check the parameter's name and type in the Parameters "
                          "tab."),
        "Check the parameter names and values (kmodgui info MODULE lists them)."),
    KMODGUI + "SignatureRejected": ErrorText(
        QT_TRANSLATE_NOOP("Explain", "Signature rejected"),
        QT_TRANSLATE_NOOP("Explain", "The kernel only accepts modules signed with a trusted "
                          "key (Secure Boot is enforcing signatures), and {module} is "
                          "unsigned or signed with an unknown key."),
        QT_TRANSLATE_NOOP("Explain", "Use a module signed by your distribution, or sign it "
                          "with a key enrolled in the machine's key database (for example "
                          "with mokutil), then try again."),
        "The kernel only accepts signed modules: sign it with a key the kernel trusts."),
    KMODGUI + "LockedDown": ErrorText(
        _LOADING_DISABLED,
        QT_TRANSLATE_NOOP("Explain", "The kernel is locked down, which forbids loading "
                          "modules that are not signed by a trusted key."),
        _AFTER_REBOOT,
        "The kernel is in lockdown mode (often because of Secure Boot)."),
    KMODGUI + "ModulesDisabled": ErrorText(
        _LOADING_DISABLED,
        QT_TRANSLATE_NOOP("Explain", "Module loading has been switched off until the next "
                          "reboot (kernel.modules_disabled)."),
        _AFTER_REBOOT,
        "Module loading was switched off until the next reboot (kernel.modules_disabled)."),
    FAILED: ErrorText(
        QT_TRANSLATE_NOOP("Explain", "The operation failed"), "{message}",
        QT_TRANSLATE_NOOP("Explain", "The kernel's messages below may say more."), ""),
    DBUS + "InvalidArgs": ErrorText(
        QT_TRANSLATE_NOOP("Explain", "Not accepted"),
        QT_TRANSLATE_NOOP("Explain", "The helper refused the request: {message}"),
        QT_TRANSLATE_NOOP("Explain", "Correct the value and try again; nothing was changed."),
        ""),
    DBUS + "UnknownMethod": _UNKNOWN_CALL,
    DBUS + "UnknownObject": _UNKNOWN_CALL,
    DBUS + "UnknownInterface": _UNKNOWN_CALL,
    DBUS + "UnknownProperty": _UNKNOWN_CALL,
    DBUS + "ServiceUnknown": replace(
        _UNREACHABLE, hint="The kmodgui helper is not installed: install the kmodgui-helper "
        "package, or run 'sudo make -C packaging install-venv' in the checkout (see the README)."),
    DBUS + "NameHasNoOwner": _UNREACHABLE,
    DBUS + "NoReply": _UNREACHABLE,
    DBUS + "Timeout": _UNREACHABLE,
    DISCONNECTED: replace(
        _UNREACHABLE, hint="Is the system bus (dbus-daemon) running? The helper is reached "
        "over it."),
}
UNKNOWN = replace(ERRORS[FAILED], hint="")
UNKNOWN_SYMBOL = re.compile(r"Unknown symbol (\S+)")


def error_text(name: str) -> ErrorText:
    """The words for ``name``; the helper's activation failures count as 'not installed'."""
    if name.startswith(DBUS + "Spawn."):
        return ERRORS[DBUS + "ServiceUnknown"]
    return ERRORS.get(name, UNKNOWN)


class HelperError(KmodguiError):
    """A failed helper call: the D-Bus error name, its message and the kernel's words."""

    def __init__(self, name: str, message: str, kernel_log: Sequence[str] = ()) -> None:
        super().__init__(message, hint=error_text(name).terminal_hint,
                         kernel_log=kernel_log)
        self.name = name

    @property
    def short_name(self) -> str:
        """``InUse`` for ``org.kmodgui.Error.InUse``."""
        return self.name.rsplit(".", 1)[-1]

    @property
    def not_installed(self) -> bool:
        """The helper is not installed (no activatable service of that name)."""
        return self.name in NOT_INSTALLED or self.name.startswith(DBUS + "Spawn.")

    @property
    def not_authorized(self) -> bool:
        return self.name in NOT_AUTHORIZED

    @property
    def cancelled(self) -> bool:
        """The user closed the password dialog instead of authenticating."""
        return self.name == CANCELLED


@dataclass(frozen=True)
class Explanation:
    """What the window shows for a failure; ``action`` is a follow-up it can offer."""

    title: str
    text: str
    next_step: str
    action: str = ""                 # load-dependencies, unload-holders
    subjects: list[str] = field(default_factory=list)  # modules the action concerns
    quiet: bool = False              # the user cancelled: nothing to report


def _same(text: str) -> str:
    return text


def explain(error: HelperError, *, module: str = "", holders: Sequence[str] = (),
            translate: Callable[[str], str] = _same) -> Explanation:
    """The explanation of ``error`` for an operation on ``module`` (held by ``holders``).

    ``translate`` is applied to the table's words before names are put in (the window
    passes Qt's translation).
    """
    words = error_text(error.name)
    title, next_step = translate(words.title), translate(words.next_step)
    subject = module or translate(QT_TRANSLATE_NOOP("Explain", "the module"))
    text = translate(words.text).replace("{module}", subject).replace("{message}",
                                                                       error.message)
    if error.cancelled:
        return Explanation(title, text, next_step, quiet=True)
    if error.name == KMODGUI + "UnknownSymbol":
        symbols = sorted({m.group(1) for line in error.kernel_log
                          for m in [UNKNOWN_SYMBOL.search(line)] if m})
        if symbols:
            listed = ", ".join(symbols[:8]) + ("…" if len(symbols) > 8 else "")
            text = f"{text.removesuffix('.')}: {listed}."
        return Explanation(title, text, next_step, action="load-dependencies",
                           subjects=[module] if module else [])
    if error.name == KMODGUI + "InUse" and holders:
        in_use_by = QT_TRANSLATE_NOOP("Explain", "{module} is in use by: {holders}.")
        text = translate(in_use_by).replace("{module}", subject).replace(
            "{holders}", ", ".join(holders))
        return Explanation(title, text, next_step, action="unload-holders",
                           subjects=list(holders))
    if not text.strip():
        text = translate(QT_TRANSLATE_NOOP("Explain", "The operation failed for an unknown "
                                           "reason."))
    return Explanation(title, text, next_step)
