"""The helper's methods as plain typed values: what the window, the CLI and the web page send.

A :class:`Request` is a method of ``org.kmodgui.Helper1`` with its arguments
as plain Python values, the D-Bus type of each, and the polkit actions the
helper will ask for it. One builder per method lives here and nowhere else;
a transport (:mod:`kmodgui.client.qt` for the window, :mod:`kmodgui.client.bus`
for the command line) only carries a request and turns the reply into a
:class:`HelperResult` or a :class:`~kmodgui.client.errors.HelperError`.
``tests/client/test_requests.py`` holds every builder against the helper's own
method table, so the two cannot drift.

Adding a helper method: a builder here, the method in the helper's table, and
a line in that test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kmodgui.core.modprobe_config import BlacklistMode
from kmodgui.core.names import normalize_module_name

SERVICE = "org.kmodgui.Helper1"
PATH = "/org/kmodgui/Helper1"
INTERFACE = "org.kmodgui.Helper1"
INTERACTIVE_TIMEOUT_S = 25 * 60.0  # the polkit password dialog may stay open a long time
QUICK_TIMEOUT_S = 30.0

# A D-Bus argument as a request holds it: ``s`` str, ``b`` bool, ``h`` a descriptor (int,
# still owned by the caller), ``as`` tuple of str, ``a{ss}`` and ``a{sv}`` dicts (``a{sv}``
# values are bool, int or str; a transport wraps each in the variant of its type).
Argument = str | bool | int | tuple[str, ...] | Mapping[str, str] | Mapping[str, bool | int | str]


@dataclass(frozen=True)
class Request:
    """One call of the helper: ``method(*args)`` with ``types`` as D-Bus signatures.

    ``actions`` are the polkit actions the helper asks (all must grant);
    ``module`` is what the call concerns (for progress and the log);
    ``changes_configuration``: afterwards modprobe.d, modules-load.d or the index differ.
    """

    method: str
    types: tuple[str, ...]
    args: tuple[Argument, ...]
    actions: tuple[str, ...]
    module: str = ""
    interactive: bool = True
    changes_configuration: bool = False

    @property
    def signature(self) -> str:
        return "".join(self.types)

    @property
    def timeout(self) -> float:
        """Seconds to wait for the reply (a password dialog may be open meanwhile)."""
        return INTERACTIVE_TIMEOUT_S if self.interactive else QUICK_TIMEOUT_S

    def describe(self) -> str:
        """What an administrator would have typed or written for it, for the log:
        ``modprobe loop max_loop=8``, ``echo 1 > /sys/module/…``, a modprobe.d line."""
        return _EQUIVALENTS.get(self.method, _as_call)(self)


@dataclass(frozen=True)
class HelperResult:
    """A successful call: the kernel's messages, the tool's output, the files changed,
    and warnings (a line elsewhere in modprobe.d that overrides ours, with file:line).

    ``values`` is the whole reply (for ``GetCapabilities``, the capabilities).
    """

    kernel_log: list[str] = field(default_factory=list)
    output: str = ""
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> HelperResult:
        def strings(key: str) -> list[str]:
            items = values.get(key, [])
            return [str(x) for x in items] if isinstance(items, list | tuple) else []

        return cls(strings("kernel-log"), str(values.get("output", "")), strings("files"),
                   strings("warnings"), dict(values))


def _params(params: Sequence[str] | Mapping[str, str]) -> tuple[str, ...]:
    """``NAME=VALUE`` words, from a list of them or a mapping."""
    if isinstance(params, Mapping):
        return tuple(f"{k}={v}" for k, v in params.items())
    return tuple(str(p) for p in params)


# --- one builder per method -----------------------------------------------------------------

def get_capabilities() -> Request:
    return Request("GetCapabilities", (), (), (), interactive=False)


def load(module: str, params: Sequence[str] | Mapping[str, str] = ()) -> Request:
    """``modprobe -- module params…``."""
    return Request("Load", ("s", "as", "a{sv}"), (module, _params(params), {}),
                   ("org.kmodgui.load",), module=normalize_module_name(module))


def unload(module: str, *, dependencies: bool = False, force: bool = False) -> Request:
    """``modprobe -r`` (with ``dependencies``) or ``rmmod`` (``force``: ``rmmod -f``)."""
    options: dict[str, bool | int | str] = {}
    if dependencies:
        options["dependencies"] = True
    if force:
        options["force"] = True
    actions = ("org.kmodgui.unload", "org.kmodgui.force-unload") if force else \
        ("org.kmodgui.unload",)
    return Request("Unload", ("s", "a{sv}"), (module, options), actions,
                   module=normalize_module_name(module))


def insert_file(fd: int, params: Sequence[str] | Mapping[str, str] = (), *,
                module: str = "") -> Request:
    """``finit_module`` on ``fd``, a module file the caller opened read-only.

    The caller keeps ``fd`` open until the request is sent, and closes it.
    """
    return Request("InsertFile", ("h", "as", "a{sv}"), (fd, _params(params), {}),
                   ("org.kmodgui.load-file",), module=module)


def set_parameter(module: str, parameter: str, value: str) -> Request:
    """Write ``/sys/module/MODULE/parameters/PARAMETER``."""
    return Request("SetParameter", ("s", "s", "s", "a{sv}"), (module, parameter, value, {}),
                   ("org.kmodgui.set-parameter",), module=normalize_module_name(module))


def set_persistent_options(module: str, params: Mapping[str, str]) -> Request:
    """The ``options`` line of the module's own file in ``/etc/modprobe.d`` (none: removed)."""
    return Request("SetPersistentOptions", ("s", "a{ss}", "a{sv}"),
                   (module, {str(k): str(v) for k, v in params.items()}, {}),
                   ("org.kmodgui.configure",), module=normalize_module_name(module),
                   changes_configuration=True)


def set_blacklist(module: str, mode: BlacklistMode | str) -> Request:
    """``none``, ``autoload`` (a blacklist line) or ``always`` (also ``install M /bin/false``).

    A string that is not a mode is sent as it is: the helper refuses it (InvalidArgs).
    """
    return Request("SetBlacklist", ("s", "s", "a{sv}"), (module, str(mode), {}),
                   ("org.kmodgui.configure",), module=normalize_module_name(module),
                   changes_configuration=True)


def set_load_at_boot(module: str, enabled: bool) -> Request:
    """The module's own file in ``/etc/modules-load.d`` (present or not)."""
    return Request("SetLoadAtBoot", ("s", "b", "a{sv}"), (module, bool(enabled), {}),
                   ("org.kmodgui.configure",), module=normalize_module_name(module),
                   changes_configuration=True)


def rebuild_index(kernel_release: str) -> Request:
    """``depmod -a`` for an installed kernel release."""
    return Request("RebuildIndex", ("s", "a{sv}"), (kernel_release, {}),
                   ("org.kmodgui.depmod",), changes_configuration=True)


# --- what each request amounts to, in kmod's and the shell's words ----------------------------

def _as_call(request: Request) -> str:
    return f"{request.method}({', '.join(repr(a) for a in request.args)})"


def _mapping(argument: Argument) -> Mapping[str, object]:
    return argument if isinstance(argument, Mapping) else {}


def _words(argument: Argument) -> list[str]:
    return [str(w) for w in argument] if isinstance(argument, tuple) else []


def _load(request: Request) -> str:
    return " ".join(["modprobe", str(request.args[0]), *_words(request.args[1])])


def _insert(request: Request) -> str:
    return " ".join(["insmod", f"{request.module or 'FILE'}.ko", *_words(request.args[1])])


def _unload(request: Request) -> str:
    module, options = request.args[0], _mapping(request.args[1])
    if options.get("force"):
        return f"rmmod -f {module}"
    return f"modprobe -r {module}" if options.get("dependencies") else f"rmmod {module}"


def _set_parameter(request: Request) -> str:
    module, parameter, value = request.args[:3]
    return f"echo {value} > /sys/module/{module}/parameters/{parameter}"


def _options(request: Request) -> str:
    module, params = request.args[0], _mapping(request.args[1])
    where = f"/etc/modprobe.d/kmodgui-{module}.conf"
    if not params:
        return f"no options for {module} in {where}"
    return " ".join(["options", str(module), *(f"{k}={v}" for k, v in params.items())]) + \
        f"  ({where})"


def _blacklist(request: Request) -> str:
    module, mode = request.args[0], str(request.args[1])
    where = f"/etc/modprobe.d/kmodgui-{module}.conf"
    return {"none": f"no blacklist for {module} in {where}",
            "autoload": f"blacklist {module}  ({where})",
            "always": f"blacklist {module}; install {module} /bin/false  ({where})",
            }.get(mode, _as_call(request))


def _boot(request: Request) -> str:
    module, enabled = request.args[0], request.args[1]
    where = f"/etc/modules-load.d/kmodgui-{module}.conf"
    return f"{module}  ({where})" if enabled else f"{module} not loaded at boot (no {where})"


def _rebuild(request: Request) -> str:
    return f"depmod -a {request.args[0]}"


_EQUIVALENTS: dict[str, Callable[[Request], str]] = {
    "Load": _load, "Unload": _unload, "InsertFile": _insert, "SetParameter": _set_parameter,
    "SetPersistentOptions": _options, "SetBlacklist": _blacklist, "SetLoadAtBoot": _boot,
    "RebuildIndex": _rebuild,
}
