"""``kmodgui load|unload|insert|set-param|options|blacklist|boot|depmod``: changes, via the helper.

Each command is one call of the privileged helper (``org.kmodgui.Helper1``);
this process never gains privilege. Obvious mistakes the core can see (an
unknown module name, a missing file, a kernel release without modules) are
reported before anything privileged is asked. Run from a terminal with no
graphical polkit agent, a ``pkttyagent`` is started for this process, as
``systemctl`` does, so the password prompt appears in the terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from kmodgui.cli import add_root_arguments, root_from_args
from kmodgui.cli.exitcodes import ExitCode
from kmodgui.client import requests
from kmodgui.client.errors import HelperError
from kmodgui.client.requests import HelperResult, Request
from kmodgui.core.modprobe_config import BlacklistMode

AGENT_TIMEOUT = 5.0


# --- arguments ------------------------------------------------------------------------------

def _params(values: Sequence[str]) -> list[str]:
    for value in values:
        if "=" not in value or value.startswith("="):
            raise argparse.ArgumentTypeError(f"'{value}': parameters are written NAME=VALUE")
    return list(values)


def register(subparsers: Any) -> None:
    def add(name: str, help_text: str, func: Callable[[argparse.Namespace], int],
            ) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = subparsers.add_parser(
            name, help=help_text, description=help_text)
        parser.set_defaults(func=func)
        return parser

    p = add("load", "load a module and its dependencies (modprobe)", run_load)
    p.add_argument("module")
    p.add_argument("params", nargs="*", metavar="NAME=VALUE", help="module parameters")
    add_root_arguments(p)
    p.epilog = ("-b/-k only choose the tree the name is checked against before the helper "
                "is asked; the helper always loads into the running kernel.")

    p = add("unload", "unload a module", run_unload)
    p.add_argument("--with-deps", action="store_true",
                   help="also unload the modules it depends on that nothing else uses")
    p.add_argument("--force", action="store_true",
                   help="force it out even if in use (dangerous; needs the kernel's support)")
    p.add_argument("module")
    add_root_arguments(p, release=False)
    p.epilog = ("-b only chooses the tree whose loaded modules are checked before the helper "
                "is asked; the helper always acts on the running kernel.")

    p = add("insert", "load a module from a file (finit_module)", run_insert)
    p.epilog = ("A file built for another kernel release, or unsigned where the kernel loads "
                "only signed modules, is refused before the helper is asked.")
    p.add_argument("file")
    p.add_argument("params", nargs="*", metavar="NAME=VALUE", help="module parameters")

    p = add("set-param", "change a parameter of a loaded module", run_set_param)
    p.add_argument("module")
    p.add_argument("parameter")
    p.add_argument("value")

    p = add("options", "set the options a module gets whenever it loads (modprobe.d); "
            "no NAME=VALUE removes them", run_options)
    p.add_argument("module")
    p.add_argument("params", nargs="*", metavar="NAME=VALUE", help="module parameters")

    p = add("blacklist", "keep a module from loading automatically (autoload) or at all "
            "(always); none undoes it", run_blacklist)
    p.add_argument("module")
    p.add_argument("mode", choices=[m.value for m in BlacklistMode])

    p = add("boot", "load a module at every boot (modules-load.d) or not", run_boot)
    p.add_argument("module")
    p.add_argument("state", choices=("on", "off"))

    p = add("depmod", "rebuild the module index of an installed kernel", run_depmod)
    p.add_argument("release", nargs="?", help="kernel release (default: the running one)")


# --- the polkit text agent ----------------------------------------------------------------

def agent_wanted(stdin_is_tty: bool, euid: int, agent: str | None) -> bool:
    """As systemctl decides: a terminal, not root (root needs no password), pkttyagent present."""
    return stdin_is_tty and euid != 0 and agent is not None


def agent_command(agent: str, pid: int, in_session: bool) -> list[str]:
    """``pkttyagent --process PID``, with ``--fallback`` inside a login session.

    ``--fallback`` (as systemctl passes it) lets the session's graphical agent
    answer when there is one. Outside a logind session polkit (122) never
    consults a fallback agent, so there the agent is registered plainly.
    """
    return [agent, "--process", str(pid), *(["--fallback"] if in_session else [])]


@contextlib.contextmanager
def text_agent() -> Iterator[None]:
    """Run a polkit text agent for this process while the call is made.

    We wait until the agent says it is registered (``--notify-fd``).
    """
    agent = shutil.which("pkttyagent")
    if agent is None or not agent_wanted(sys.stdin.isatty(), os.geteuid(), agent):
        yield
        return
    read_end, write_end = os.pipe()
    command = agent_command(agent, os.getpid(), bool(os.environ.get("XDG_SESSION_ID")))
    try:
        proc = subprocess.Popen([*command, "--notify-fd", str(write_end)],
                                pass_fds=(write_end,))
    except OSError:
        os.close(read_end)
        os.close(write_end)
        yield
        return
    os.close(write_end)
    try:
        deadline = time.monotonic() + AGENT_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([read_end], [], [], 0.1)
            if ready:  # registered: it closed (or wrote to) the notify descriptor
                break
        yield
    finally:
        os.close(read_end)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()


# --- running and reporting ----------------------------------------------------------------

def report_error(error: HelperError, out: Any = None) -> None:
    """The message, the kernel's own words, then what to do next."""
    out = out or sys.stderr
    print(f"kmodgui: {error.message}", file=out)
    if error.kernel_log:
        print("kernel log:", file=out)
        for line in error.kernel_log:
            print(f"  {line}", file=out)
    if error.hint:
        print(error.hint, file=out)


def report_result(done: str, result: HelperResult) -> None:
    """The success line, the tool's output, the kernel's words, the files; warnings on stderr."""
    print(done)
    if result.output.strip():
        print(result.output.rstrip())
    for line in result.kernel_log:
        print(f"kernel: {line}")
    for path in result.files:
        print(f"changed: {path}")
    sys.stdout.flush()
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def send(request: Request) -> HelperResult:
    """Carry ``request`` to the helper over dbus-fast (no Qt), with a polkit text agent."""
    from kmodgui.client.bus import BusClient

    with text_agent():
        return BusClient().run(request)


def _call(make_request: Callable[[], Request], done: str) -> int:
    try:
        result = send(make_request())
    except HelperError as error:
        report_error(error)
        return ExitCode.FAILURE
    report_result(done, result)
    return ExitCode.OK


def _module_known(args: argparse.Namespace, module: str) -> str | None:
    """The core's verdict before asking the helper: None if fine (or unknown), else a message."""
    try:
        from kmodgui.core.lookup import Lookup

        root = root_from_args(args)
        if not root.modules_file("modules.dep").exists():
            return None  # no index to check against: let modprobe decide
        lookup = Lookup(root)
        if lookup.find(module):
            return None
        return lookup.not_found_message(module)
    except Exception:  # the pre-check is a courtesy; the helper checks for real
        return None


# --- the commands -----------------------------------------------------------------------

def run_load(args: argparse.Namespace) -> int:
    try:
        params = _params(args.params)
    except argparse.ArgumentTypeError as exc:
        print(f"kmodgui: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    problem = _module_known(args, args.module)
    if problem:
        print(f"kmodgui: {problem}", file=sys.stderr)
        return ExitCode.FAILURE
    return _call(lambda: requests.load(args.module, params), f"Loaded {args.module}.")


def run_unload(args: argparse.Namespace) -> int:
    if args.force and args.with_deps:
        print("kmodgui: --force and --with-deps cannot be combined", file=sys.stderr)
        return ExitCode.USAGE
    from kmodgui.core.unload import unload_refusal

    refused = unload_refusal(root_from_args(args), args.module, force=args.force)
    if refused is not None:
        print(f"kmodgui: {refused.message}", file=sys.stderr)
        return ExitCode.FAILURE
    return _call(lambda: requests.unload(args.module, dependencies=args.with_deps,
                                         force=args.force), f"Unloaded {args.module}.")


def run_insert(args: argparse.Namespace) -> int:
    try:
        params = _params(args.params)
    except argparse.ArgumentTypeError as exc:
        print(f"kmodgui: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        fd = os.open(args.file, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        print(f"kmodgui: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
        return ExitCode.FAILURE
    try:
        refusal = _certain_refusal(args.file)
        if refusal:
            print(f"kmodgui: {args.file}: {refusal}", file=sys.stderr)
            return ExitCode.FAILURE
        return _call(lambda: requests.insert_file(fd, params), f"Loaded {args.file}.")
    finally:
        os.close(fd)


def _certain_refusal(path: str) -> str:
    """Why the running kernel will certainly refuse the module file at ``path`` (another
    release's vermagic, no signature where only signed modules load), or "": said
    before the helper is asked, which would cost a password for a sure failure."""
    from pathlib import Path

    from kmodgui.core.errors import ModuleFileError
    from kmodgui.core.paths import Root
    from kmodgui.core.workbench.check import describe_module

    try:
        module = describe_module(Path(path), Root.create())
    except ModuleFileError as exc:
        return str(exc).removeprefix(f"{path}: ")
    return "; ".join(module.problems)


def run_set_param(args: argparse.Namespace) -> int:
    return _call(lambda: requests.set_parameter(args.module, args.parameter, args.value),
                 f"Set {args.module}.{args.parameter} to {args.value}.")


def run_options(args: argparse.Namespace) -> int:
    try:
        params = dict(p.split("=", 1) for p in _params(args.params))
    except argparse.ArgumentTypeError as exc:
        print(f"kmodgui: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    done = (f"Options of {args.module} set." if params
            else f"Options of {args.module} removed.")
    return _call(lambda: requests.set_persistent_options(args.module, params), done)


def run_blacklist(args: argparse.Namespace) -> int:
    return _call(lambda: requests.set_blacklist(args.module, args.mode),
                 f"Blacklist mode of {args.module}: {args.mode}.")


def run_boot(args: argparse.Namespace) -> int:
    enabled = args.state == "on"
    return _call(lambda: requests.set_load_at_boot(args.module, enabled),
                 f"{args.module} {'will' if enabled else 'will not'} be loaded at boot.")


def run_depmod(args: argparse.Namespace) -> int:
    from kmodgui.core.paths import Root

    root = Root.create(None, args.release)
    if not root.modules_dir.is_dir():
        print(f"kmodgui: no modules are installed for kernel {root.release} "
              f"({root.modules_dir})", file=sys.stderr)
        return ExitCode.FAILURE
    return _call(lambda: requests.rebuild_index(root.release),
                 f"Rebuilt the module index of {root.release}.")
