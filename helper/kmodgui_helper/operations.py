"""What the helper does once a call is valid and authorised: one function per operation.

Each returns the reply's fields (``kernel-log``, ``output``, ``files``, ``warnings``) or raises
:class:`HelperError`. Paths come from a :class:`Root` (``/`` in production, a
temporary tree in tests), so configuration writes are testable without touching
the real system.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kmodgui.core import kernel_state
from kmodgui.core.loaded import read_proc_modules
from kmodgui.core.paths import Root
from kmodgui_helper import __version__, configfiles, errors, finit, overrides, tools, trust
from kmodgui_helper.errors import HelperError
from kmodgui_helper.kmsg import KernelLog

Result = dict[str, Any]


def result(kernel_log: list[str] | None = None, output: str = "",
           files: list[str] | None = None, warnings: list[str] | None = None) -> Result:
    return {"kernel-log": list(kernel_log or []), "output": output, "files": list(files or []),
            "warnings": list(warnings or [])}


@dataclass(frozen=True)
class Capabilities:
    """What the running kernel allows, as far as files tell (absent files mean the default)."""

    modules_disabled: bool
    lockdown: str
    signature_enforced: bool
    force_unload: bool


def read_capabilities(root: Root) -> Capabilities:
    forced = kernel_state.config_value(kernel_state.kernel_config(root),
                                       "CONFIG_MODULE_FORCE_UNLOAD") == "y"
    return Capabilities(kernel_state.modules_disabled(root), kernel_state.lockdown(root),
                        kernel_state.signature_enforced(root), forced)


def capabilities(root: Root) -> Result:
    caps = read_capabilities(root)
    return {
        "version": __version__,
        "kernel-release": root.release,
        "modules-disabled": caps.modules_disabled,
        "lockdown": caps.lockdown,
        "signature-enforced": caps.signature_enforced,
        "force-unload": caps.force_unload,
    }


def _base_options(root: Root) -> list[str]:
    return [] if root.is_host else ["-b", str(root.base)]


def _modprobe_options(root: Root) -> list[str]:
    """modprobe's root is ``-d`` (its ``-b`` is --use-blacklist), and it moves only the
    module directory: another tree's modprobe.d directories are named with ``-C``."""
    if root.is_host:
        return []
    config = [opt for d in root.modprobe_dirs if d.is_dir() for opt in ("-C", str(d))]
    return ["-d", str(root.base), *config]


def _run(tool: str, options: list[str], operands: list[str]) -> tuple[tools.ToolResult,
                                                                       list[str]]:
    try:
        with KernelLog() as klog:
            res = tools.run(tool, options, operands)
            return res, klog.read_new()
    except tools.ToolMissing as exc:
        raise HelperError(errors.FAILED, str(exc)) from exc


def holders(root: Root, module: str) -> list[str]:
    try:
        return sorted(os.listdir(root.sys_module / module / "holders"))
    except OSError:
        return []


def _fail(root: Root, res: tools.ToolResult, log: list[str], module: str,
          action: str) -> HelperError:
    caps = read_capabilities(root)
    return errors.classify_tool(res.output, log, module=module, action=action,
                                holders=holders(root, module),
                                modules_disabled=caps.modules_disabled, lockdown=caps.lockdown)


def load(root: Root, module: str, params: list[tuple[str, str]]) -> Result:
    """``modprobe`` the module and its dependencies; ``AlreadyLoaded`` if it is loaded."""
    res, log = _run("modprobe", ["--first-time", *_modprobe_options(root)],
                    [module, *(f"{k}={v}" for k, v in params)])
    if res.returncode != 0:
        raise _fail(root, res, log, module, "load")
    return result(log, res.output)


def unload(root: Root, module: str, *, dependencies: bool = False, force: bool = False,
           allowed: tuple[str, ...] = ()) -> Result:
    """``rmmod`` the module (forced if asked), or ``modprobe -r`` it with unused dependencies.

    With dependencies, only the modules in ``allowed`` (those polkit was asked about,
    see :func:`removal_plan`) are removed after the module itself.
    """
    if force and dependencies:
        raise errors.invalid("'force' and 'dependencies' cannot be combined")
    if dependencies:
        chain = [m for m in _dependencies_of(root, module) if m in allowed]
        res, log = _run("modprobe", ["-r", "--first-time", *_modprobe_options(root)],
                        [module])
        # kmod 30's ``modprobe -r bridge`` removes stp but leaves llc (a dependency of a
        # dependency): remove what the chain left unused, as the option promises.
        for _ in chain:
            unused = _unused(root, chain) if res.returncode == 0 else []
            if not unused:
                break
            more, more_log = _run("modprobe", ["-r", *_modprobe_options(root)], unused)
            log += more_log
            if more.returncode != 0:
                break
    else:
        res, log = _run("rmmod", ["-f"] if force else [], [module])
    if res.returncode != 0:
        raise _fail(root, res, log, module, "unload")
    return result(log, res.output)


def _dependencies_of(root: Root, module: str) -> list[str]:
    """The loaded modules *module* uses, directly or through others (from /proc/modules)."""
    users = {m.name: set(m.users) for m in read_proc_modules(root)}
    found: list[str] = []
    todo = [module]
    while todo:
        current = todo.pop()
        for name, used_by in users.items():
            if current in used_by and name not in found:
                found.append(name)
                todo.append(name)
    return found


def removal_plan(root: Root, module: str) -> list[str]:
    """``module`` and the loaded modules it uses that nothing else would use once it is gone.

    What Unload with dependencies removes, in removal order, asked of polkit before.
    """
    loaded = {m.name: m for m in read_proc_modules(root)}
    plan = [module]
    candidates = _dependencies_of(root, module)
    changed = True
    while changed:
        changed = False
        for name in candidates:
            info = loaded.get(name)
            if name in plan or info is None:
                continue
            users = set(info.users)
            # every user goes too, and nothing but those users holds a reference
            if users <= set(plan) and info.refcount is not None \
                    and info.refcount <= len(users):
                plan.append(name)
                changed = True
    return plan


def _unused(root: Root, names: list[str]) -> list[str]:
    """Those of *names* still loaded that nothing uses (no users, reference count 0)."""
    return [m.name for m in read_proc_modules(root)
            if m.name in names and not m.users and m.refcount == 0]


def insert_file(root: Root, fd: int, params: list[tuple[str, str]]) -> Result:
    """``finit_module`` on the sealed copy of the caller's file; bounded in time."""
    with KernelLog() as klog:
        try:
            finit.finit_module_bounded(fd, " ".join(f"{k}={v}" for k, v in params))
        except finit.InitTimeout as exc:
            raise HelperError(errors.FAILED, str(exc), klog.read_new()) from None
        except OSError as exc:
            caps = read_capabilities(root)
            raise errors.classify_errno(exc.errno or errno.EIO, klog.read_new(),
                                        module="the module file",
                                        modules_disabled=caps.modules_disabled,
                                        lockdown=caps.lockdown) from None
        return result(klog.read_new())


def _open_step(name: str, dir_fd: int) -> int:
    return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                   dir_fd=dir_fd)


def set_parameter(root: Root, module: str, parameter: str, value: str) -> Result:
    """Write the parameter file in sysfs once, opened through the chain without links."""
    try:
        top = os.open(root.sys_module, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise HelperError(errors.FAILED, "the kernel has no module support") from exc
    fds = [top]
    try:
        try:
            fds.append(_open_step(module, fds[-1]))
        except OSError as exc:
            raise HelperError(errors.NOT_LOADED, f"{module} is not loaded") from exc
        try:
            fds.append(_open_step("parameters", fds[-1]))
            info = os.stat(parameter, dir_fd=fds[-1], follow_symlinks=False)
        except FileNotFoundError as exc:
            raise HelperError(errors.NOT_FOUND,
                              f"{module} has no parameter {parameter}") from exc
        except OSError as exc:
            raise HelperError(errors.NOT_FOUND, f"{module} has no parameters") from exc
        if not stat.S_ISREG(info.st_mode) or not info.st_mode & stat.S_IWUSR:
            raise HelperError(errors.INVALID_PARAMETER, f"the parameter {parameter} of "
                              f"{module} cannot be changed while the module is loaded")
        try:
            fds.append(os.open(parameter, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                               dir_fd=fds[-1]))
        except OSError as exc:
            raise HelperError(errors.INVALID_PARAMETER,
                              f"the parameter {parameter} of {module} cannot be changed "
                              f"({exc.strerror})") from exc
        fd = fds[-1]
        with KernelLog() as klog:
            try:
                os.write(fd, value.encode())
            except OSError as exc:
                raise HelperError(errors.INVALID_PARAMETER,
                                  f"{module} rejected the value for {parameter}: "
                                  f"{exc.strerror}", klog.read_new()) from exc
            log = klog.read_new()
    finally:
        for f in reversed(fds):
            os.close(f)
    return result(log, files=[str(root.sys_module / module / "parameters" / parameter)])


def _config(call: Callable[[], list[str]]) -> list[str]:
    try:
        return call()
    except (configfiles.ConfigWriteError, OSError) as exc:
        raise HelperError(errors.FAILED, f"could not write the configuration: {exc}") from exc


def _modprobe_result(root: Root, module: str, files: list[str]) -> Result:
    """The files changed, and what elsewhere in the configuration overrides our file now."""
    ours = configfiles.modprobe_file(root, module)
    settings = configfiles.read_settings(root, module)
    return result(files=files, warnings=overrides.modprobe_warnings(
        root, module, ours, settings.options, settings.blacklist == "always"))


def set_persistent_options(root: Root, module: str, params: list[tuple[str, str]]) -> Result:
    files = _config(lambda: configfiles.update_modprobe(root, module, options=params))
    return _modprobe_result(root, module, files)


def set_blacklist(root: Root, module: str, mode: str) -> Result:
    files = _config(lambda: configfiles.update_modprobe(root, module, blacklist=mode))
    return _modprobe_result(root, module, files)


def set_load_at_boot(root: Root, module: str, enabled: bool) -> Result:
    files = _config(lambda: configfiles.update_modules_load(root, module, enabled))
    return result(files=files, warnings=overrides.boot_warnings(
        root, module, configfiles.modules_load_file(root, module), enabled))


def _index_state(directory: os.PathLike[str] | str) -> dict[str, int]:
    try:
        return {e.name: e.stat().st_mtime_ns for e in os.scandir(directory)
                if e.name.startswith("modules.") and e.is_file(follow_symlinks=False)}
    except OSError:
        return {}


def rebuild_index(root: Root, release: str) -> Result:
    """``depmod -a`` for an installed release; ``files`` lists the index files rewritten."""
    directory = root.modules_root / release
    if not directory.is_dir() or directory.is_symlink():
        raise HelperError(errors.NOT_FOUND, f"no modules are installed for kernel {release}")
    unsafe = trust.problem(directory)
    if unsafe is not None:  # whoever can write there could plant what depmod reads as root
        raise HelperError(errors.FAILED, f"not rebuilding the index of {release}: {unsafe}")
    before = _index_state(directory)
    res, log = _run("depmod", ["-a", *_base_options(root)], [release])
    if res.returncode != 0:
        raise HelperError(errors.FAILED, f"depmod failed: {res.output.strip()[-500:]}", log)
    after = _index_state(directory)
    changed = sorted(str(directory / n) for n, t in after.items() if before.get(n) != t)
    return result(log, res.output, changed)
