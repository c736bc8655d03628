"""The helper's D-Bus API in one table: name, arguments, polkit action, validation, handler.

Authorisation is the default: a method without a polkit action is refused by
:func:`check_table` (the service will not start) unless it is explicitly marked
public. The introspection XML is generated from this table and compared with
the checked-in ``org.kmodgui.Helper1.xml`` by a test, which freezes the API.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from kmodgui.core.paths import Root
from kmodgui_helper import INTERFACE, modulefile, operations, validate
from kmodgui_helper.errors import invalid

Act = Callable[[Root], dict[str, Any]]


@dataclass(frozen=True)
class Check:
    """One polkit question: an action and the details a rule (and the dialog) sees."""

    action: str
    details: dict[str, str]


@dataclass(frozen=True)
class Request:
    """A validated call: the polkit checks to pass (all must grant) and what to do.

    No checks: a public method. ``modules``: whose kernel messages the caller is shown.
    ``inspect``: blocking work that must happen before polkit is asked (reading a
    received file); the service runs it in a thread with a time limit, and it returns
    the complete request.
    """

    checks: tuple[Check, ...]
    act: Act
    summary: str
    modules: tuple[str, ...] = ()
    inspect: Callable[[], Request] | None = None
    cleanup: Callable[[], None] | None = None

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(c.action for c in self.checks)

    @property
    def details(self) -> dict[str, str]:
        """The details of all checks, for the log."""
        out: dict[str, str] = {}
        for check in self.checks:
            out.update(check.details)
        return out


Prepare = Callable[[Sequence[Any], Sequence[int], Root], Request]


@dataclass(frozen=True)
class Method:
    name: str
    args: tuple[tuple[str, str], ...]
    actions: tuple[str, ...]
    prepare: Prepare
    public: bool = False
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def signature(self) -> str:
        return "".join(sig for _, sig in self.args)


# --- validation and binding, one function per method --------------------------------

def _capabilities(body: Sequence[Any], fds: Sequence[int], root: Root) -> Request:
    return Request((), operations.capabilities, "GetCapabilities()")


def _load(body: Sequence[Any], fds: Sequence[int], root: Root) -> Request:
    module = validate.module(body[0])
    params = validate.param_list(body[1])
    validate.options(body[2], {})
    return Request((Check("org.kmodgui.load", {"module": module}),),
                   lambda root: operations.load(root, module, params),
                   f"Load({module}, {len(params)} parameters)", (module,))


UNLOAD_OPTIONS = {"dependencies": "b", "force": "b"}


def _unload(body: Sequence[Any], fds: Sequence[int], root: Root) -> Request:
    module = validate.module(body[0])
    opts = validate.options(body[1], UNLOAD_OPTIONS)
    force, deps = bool(opts.get("force")), bool(opts.get("dependencies"))
    if force and deps:
        raise invalid("'force' and 'dependencies' cannot be combined")
    if force:  # forcing is asked in addition: a rule granting only force-unload does not unload
        checks = tuple(Check(a, {"module": module})
                       for a in ("org.kmodgui.unload", "org.kmodgui.force-unload"))
        return Request(checks, lambda root: operations.unload(root, module, force=True),
                       f"Unload({module}, force=True)", (module,))
    if not deps:
        return Request((Check("org.kmodgui.unload", {"module": module}),),
                       lambda root: operations.unload(root, module),
                       f"Unload({module})", (module,))
    # every module that will go is named to polkit, and each must be granted
    plan = tuple(operations.removal_plan(root, module))
    listed = ",".join(plan)
    return Request(tuple(Check("org.kmodgui.unload", {"module": m, "modules": listed})
                         for m in plan),
                   lambda root: operations.unload(root, module, dependencies=True,
                                                  allowed=plan[1:]),
                   f"Unload({module}, dependencies: {listed})", plan)


def _insert_file(body: Sequence[Any], fds: Sequence[int], root: Root) -> Request:
    index = body[0]
    if not isinstance(index, int) or not 0 <= index < len(fds):
        raise invalid("no file descriptor was passed")
    fd = fds[index]
    size = validate.module_fd(fd)
    params = validate.param_list(body[1])
    validate.options(body[2], {})

    def inspect() -> Request:
        copy = modulefile.inspect(fd, size)
        name = copy.name or "a compressed module file"
        return Request((Check("org.kmodgui.load-file", copy.details),),
                       lambda root: operations.insert_file(root, copy.fd, params),
                       f"InsertFile({name}, {size} bytes, sha256 {copy.sha256}, "
                       f"{len(params)} parameters)",
                       (copy.name,) if copy.name else (),
                       cleanup=lambda: os.close(copy.fd))

    return Request((Check("org.kmodgui.load-file", {}),), _not_inspected,
                   f"InsertFile({size} bytes)", inspect=inspect)


def _not_inspected(root: Root) -> dict[str, Any]:  # pragma: no cover - a service bug
    raise RuntimeError("InsertFile acted on before its file was read")


def _set_parameter(body: Sequence[Any], fds: Sequence[int], root: Root) -> Request:
    module = validate.module(body[0])
    parameter = validate.parameter(body[1])
    value = validate.sysfs_value(body[2])  # a write(2) to sysfs: no shell, no file
    validate.options(body[3], {})
    return Request((Check("org.kmodgui.set-parameter",
                          {"module": module, "parameter": parameter}),),
                   lambda root: operations.set_parameter(root, module, parameter, value),
                   f"SetParameter({module}, {parameter})", (module,))


def _set_persistent_options(body: Sequence[Any], fds: Sequence[int], root: Root) -> Request:
    module = validate.module(body[0])
    params = validate.param_dict(body[1])
    validate.options(body[2], {})
    return Request((Check("org.kmodgui.configure", {"module": module}),),
                   lambda root: operations.set_persistent_options(root, module, params),
                   f"SetPersistentOptions({module}, {len(params)} parameters)")


def _set_blacklist(body: Sequence[Any], fds: Sequence[int], root: Root) -> Request:
    module = validate.module(body[0])
    mode = validate.blacklist_mode(body[1])
    validate.options(body[2], {})
    return Request((Check("org.kmodgui.configure", {"module": module}),),
                   lambda root: operations.set_blacklist(root, module, mode),
                   f"SetBlacklist({module}, {mode})")


def _set_load_at_boot(body: Sequence[Any], fds: Sequence[int], root: Root) -> Request:
    module = validate.module(body[0])
    if not isinstance(body[1], bool):
        raise invalid("enabled must be a boolean")
    enabled = body[1]
    validate.options(body[2], {})
    return Request((Check("org.kmodgui.configure", {"module": module}),),
                   lambda root: operations.set_load_at_boot(root, module, enabled),
                   f"SetLoadAtBoot({module}, {enabled})")


def _rebuild_index(body: Sequence[Any], fds: Sequence[int], root: Root) -> Request:
    release = validate.release(body[0])
    validate.options(body[1], {})
    return Request((Check("org.kmodgui.depmod", {"release": release}),),
                   lambda root: operations.rebuild_index(root, release),
                   f"RebuildIndex({release})")


METHODS: tuple[Method, ...] = (
    Method("GetCapabilities", (), (), _capabilities, public=True),
    Method("Load", (("module", "s"), ("params", "as"), ("options", "a{sv}")),
           ("org.kmodgui.load",), _load),
    Method("Unload", (("module", "s"), ("options", "a{sv}")),
           ("org.kmodgui.unload", "org.kmodgui.force-unload"), _unload,
           options=UNLOAD_OPTIONS),
    Method("InsertFile", (("file", "h"), ("params", "as"), ("options", "a{sv}")),
           ("org.kmodgui.load-file",), _insert_file),
    Method("SetParameter", (("module", "s"), ("parameter", "s"), ("value", "s"),
                            ("options", "a{sv}")), ("org.kmodgui.set-parameter",),
           _set_parameter),
    Method("SetPersistentOptions", (("module", "s"), ("params", "a{ss}"), ("options", "a{sv}")),
           ("org.kmodgui.configure",), _set_persistent_options),
    Method("SetBlacklist", (("module", "s"), ("mode", "s"), ("options", "a{sv}")),
           ("org.kmodgui.configure",), _set_blacklist),
    Method("SetLoadAtBoot", (("module", "s"), ("enabled", "b"), ("options", "a{sv}")),
           ("org.kmodgui.configure",), _set_load_at_boot),
    Method("RebuildIndex", (("kernel_release", "s"), ("options", "a{sv}")),
           ("org.kmodgui.depmod",), _rebuild_index),
)

ACTIONS = ("org.kmodgui.load", "org.kmodgui.unload", "org.kmodgui.force-unload",
           "org.kmodgui.load-file", "org.kmodgui.set-parameter", "org.kmodgui.configure",
           "org.kmodgui.depmod")
OUT_ARGS = (("result", "a{sv}"),)


class ApiTableError(RuntimeError):
    """The method table would export a method without authorisation."""


def check_table(methods: Sequence[Method] = METHODS) -> dict[str, Method]:
    """Refuse a table where a non-public method names no (known) polkit action."""
    table: dict[str, Method] = {}
    for m in methods:
        if not m.public and not m.actions:
            raise ApiTableError(f"method {m.name} has no polkit action")
        if any(a not in ACTIONS for a in m.actions):
            raise ApiTableError(f"method {m.name} names an unknown polkit action")
        if m.name in table:
            raise ApiTableError(f"method {m.name} is listed twice")
        table[m.name] = m
    return table


def quoteattr(value: str) -> str:
    """An XML attribute value in double quotes (xml.sax.saxutils would pull in urllib,
    tempfile and shutil, and with them every decompressor, into the root process)."""
    return '"' + escape(value, quote=True) + '"'


_STANDARD = """\
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect">
      <arg name="xml_data" type="s" direction="out"/>
    </method>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId">
      <arg name="machine_uuid" type="s" direction="out"/>
    </method>
  </interface>
  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get">
      <arg name="interface_name" type="s" direction="in"/>
      <arg name="property_name" type="s" direction="in"/>
      <arg name="value" type="v" direction="out"/>
    </method>
    <method name="GetAll">
      <arg name="interface_name" type="s" direction="in"/>
      <arg name="properties" type="a{sv}" direction="out"/>
    </method>
  </interface>
"""

_DOCTYPE = ('<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n'
            ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n')


def introspection_xml(methods: Sequence[Method] = METHODS) -> str:
    """The introspection data of ``/org/kmodgui/Helper1``, generated from the table."""
    out = [_DOCTYPE, "<node>\n", f"  <interface name={quoteattr(INTERFACE)}>\n"]
    for m in methods:
        out.append(f"    <method name={quoteattr(m.name)}>\n")
        for name, sig in m.args:
            out.append(f"      <arg name={quoteattr(name)} type={quoteattr(sig)} "
                       'direction="in"/>\n')
        for name, sig in OUT_ARGS:
            out.append(f"      <arg name={quoteattr(name)} type={quoteattr(sig)} "
                       'direction="out"/>\n')
        out.append("    </method>\n")
    out.append("  </interface>\n")
    out.append(_STANDARD)
    out.append("</node>\n")
    return "".join(out)


def parent_xml(child: str) -> str:
    """Introspection of ``/``, ``/org`` and ``/org/kmodgui``: just the way down."""
    introspectable = _STANDARD.split('  <interface name="org.freedesktop.DBus.Peer')[0]
    return (_DOCTYPE + "<node>\n" + introspectable
            + f"  <node name={quoteattr(child)}/>\n</node>\n")
