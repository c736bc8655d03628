"""``kmodgui load|unload|insert|set-param|options|blacklist|boot|depmod`` through the real helper.

The commands run as 'nobody' (or root) in their own process against the
helper tier's private bus (real dbus-daemon, polkitd, helper); the test rules
grant 'nobody' the configuration of module 'dummy' only.
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from kmgtest import helperbus
from kmgtest.tinyko import tiny_ko

from kmodgui.cli.actions import agent_command, agent_wanted
from kmodgui.core.paths import Root

pytestmark = pytest.mark.bus


NOBODY = (65534, 65534)
HEADER = "# Written by kmodgui for module dummy. Delete this file to undo these settings.\n"


@pytest.fixture
def bus(helper_bus_clean: Any) -> Any:
    """The shared private bus (tests/conftest.py), cleaned after each test."""
    return helper_bus_clean


# The command line as a distribution's CLI package runs it: PySide6 cannot be imported.
WITHOUT_QT = ("import sys; sys.modules['PySide6'] = None; sys.argv[0] = 'kmodgui'\n"
              "from kmodgui.cli import main\n"
              "code = main()\n"
              "assert not [m for m in sys.modules if m.startswith('PySide6.')], 'Qt was loaded'\n"
              "sys.exit(code)\n")


def kmodgui(bus: Any, *args: str, user: tuple[int, int] | None = NOBODY, qt: bool = True,
            ) -> subprocess.CompletedProcess[str]:
    prefix = [] if user is None else [
        "setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--clear-groups"]
    program = ["-m", "kmodgui"] if qt else ["-c", WITHOUT_QT]
    return subprocess.run([*prefix, sys.executable, *program, *args], env=bus.env,
                          capture_output=True, text=True, timeout=120, check=False, cwd="/",
                          stdin=subprocess.DEVNULL)


def test_configuration_commands(bus: Any) -> None:
    conf = bus.root / "etc" / "modprobe.d" / "kmodgui-dummy.conf"
    boot = bus.root / "etc" / "modules-load.d" / "kmodgui-dummy.conf"
    done = kmodgui(bus, "boot", "dummy", "on")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"dummy will be loaded at boot.\nchanged: {boot}\n"
    assert boot.read_text() == HEADER + "dummy\n"
    done = kmodgui(bus, "options", "dummy", "numdummies=2")
    assert done.returncode == 0, done.stderr
    done = kmodgui(bus, "blacklist", "dummy", "always")
    assert done.returncode == 0, done.stderr
    assert conf.read_text() == (HEADER + "options dummy numdummies=2\nblacklist dummy\n"
                                "install dummy /bin/false\n")
    for args in (("options", "dummy"), ("blacklist", "dummy", "none"), ("boot", "dummy", "off")):
        done = kmodgui(bus, *args)
        assert done.returncode == 0, done.stderr
    assert not conf.exists() and not boot.exists()


def test_refusal_is_explained(bus: Any) -> None:
    done = kmodgui(bus, "boot", "loop", "on")
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == \
        "kmodgui: you are not authorised to do this (org.kmodgui.configure)"
    assert "administrator" in done.stderr
    assert not (bus.root / "etc" / "modules-load.d" / "kmodgui-loop.conf").exists()


def test_bad_input_is_explained_without_a_traceback(bus: Any) -> None:
    done = kmodgui(bus, "boot", "-dummy", "on")
    assert done.returncode == 2  # argparse: '-dummy' looks like an option
    done = kmodgui(bus, "boot", "dum/my", "on")
    assert done.returncode == 1 and done.stderr.startswith("kmodgui: a module name is")
    done = kmodgui(bus, "load", "dummy", "numdummies")
    assert done.returncode == 2 and "NAME=VALUE" in done.stderr
    done = kmodgui(bus, "insert", "/nonexistent/x.ko")
    assert done.returncode == 1 and "No such file" in done.stderr
    for result in (done,):
        assert "Traceback" not in result.stderr


def test_unknown_module_is_refused_before_the_helper_is_asked(bus: Any,
                                                              kernel_root: Root) -> None:
    # as root (polkit would authorise it, and the kernel tree is readable)
    done = kmodgui(bus, "load", "-b", str(kernel_root.base), "-k", kernel_root.release,
                   "kmodgui_nope", user=None)
    assert done.returncode == 1
    assert done.stderr == (f"kmodgui: Module kmodgui_nope not found in directory "
                           f"{kernel_root.modules_dir}\n")
    log = bus.helper_log.read_text() if bus.helper_log.exists() else ""
    assert "kmodgui_nope" not in log


def test_unload_is_checked_against_the_loaded_modules_first(bus: Any) -> None:
    tmp_path = Path(tempfile.mkdtemp(dir=bus.directory))  # reachable for 'nobody'
    proc = Root(tmp_path).proc_modules
    proc.parent.mkdir(parents=True)
    proc.write_text("camellia_x86_64 16384 0 - Live 0x0000000000000000\n"
                    "xts 16384 1 camellia_x86_64, Live 0x0000000000000000\n"
                    "busy 16384 2 - Live 0x0000000000000000\n")
    (tmp_path / "sys" / "module" / "printk" / "parameters").mkdir(parents=True)
    for directory in (tmp_path, *tmp_path.rglob("*")):
        directory.chmod(0o755)
    before = len(bus.helper_log.read_text()) if bus.helper_log.exists() else 0
    for module, message in (("printk", "Module printk is builtin."),
                            ("xts", "Module xts is in use by: camellia_x86_64"),
                            ("busy", "Module busy is in use"),
                            ("nope", "Module nope is not currently loaded")):
        done = kmodgui(bus, "unload", "-b", str(tmp_path), module)
        assert (done.returncode, done.stderr) == (1, f"kmodgui: {message}\n")
    log = bus.helper_log.read_text()[before:] if bus.helper_log.exists() else ""
    assert "Unload(" not in log                    # the bus is shared: only this test's lines
    # loaded and unused: the helper is asked (and refuses 'nobody')
    done = kmodgui(bus, "unload", "-b", str(tmp_path), "camellia_x86_64")
    assert done.returncode == 1 and "not authorised" in done.stderr
    assert "Unload(camellia_x86_64" in bus.helper_log.read_text()


def test_helper_failures_carry_the_tools_words(bus: Any) -> None:
    """As root (authorised): modprobe finds no such module under the helper's root."""
    done = kmodgui(bus, "load", "kmodgui_absent", "a=1", user=None)
    assert done.returncode == 1
    assert done.stderr.startswith("kmodgui: no module named kmodgui_absent is installed")
    done = kmodgui(bus, "depmod", "9.9.9-none", user=None)
    assert done.returncode == 1 and "no modules are installed for kernel 9.9.9-none" in \
        done.stderr


def test_helper_not_installed() -> None:
    with helperbus.load().private_bus("dbus_fast", polkit=False, helper=False) as bare:
        done = kmodgui(bare, "boot", "dummy", "on")
    assert done.returncode == 1
    assert "make -C packaging install" in done.stderr


def test_agent_is_started_only_where_systemctl_would() -> None:
    assert agent_wanted(True, 1000, "/usr/bin/pkttyagent")
    assert not agent_wanted(False, 1000, "/usr/bin/pkttyagent")
    assert not agent_wanted(True, 0, "/usr/bin/pkttyagent")
    assert not agent_wanted(True, 1000, None)


def _agents_for(pid: int) -> list[list[str]]:
    """Command lines of running pkttyagent processes that serve process ``pid``."""
    proc = Root().proc
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [w.decode() for w in argv if w]
        if words and words[0].endswith("pkttyagent") and str(pid) in words:
            found.append(words)
    return found


def test_agent_command_uses_fallback_only_in_a_session() -> None:
    assert agent_command("/a", 42, True) == ["/a", "--process", "42", "--fallback"]
    assert agent_command("/a", 42, False) == ["/a", "--process", "42"]


def run_in_terminal(bus: Any, *args: str, until: bytes, seconds: float = 30,
                    ) -> tuple[bytes, list[list[str]], int, int]:
    """Run ``kmodgui ARGS`` as 'nobody' on a new terminal until ``until`` is printed.

    Returns the output, the pkttyagent command lines seen for it, its pid and exit status.
    """
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec, and never return into pytest's code
        try:
            setpriv = shutil.which("setpriv") or "setpriv"
            env = {k: v for k, v in bus.env.items() if k != "XDG_SESSION_ID"}
            os.execve(setpriv,  # noqa: S606 - a fixed argv, no shell wanted
                      [setpriv, f"--reuid={NOBODY[0]}", f"--regid={NOBODY[1]}",
                       "--clear-groups", sys.executable, "-m", "kmodgui", *args], env)
        finally:
            os._exit(127)
    seen, agents = b"", []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and until not in seen:
            agents = agents or _agents_for(pid)
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    break
                if not data:
                    break
                seen += data
        agents = agents or _agents_for(pid)
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return seen, agents, pid, status


def test_the_password_prompt_appears_in_the_terminal(bus: Any) -> None:
    """Not authorised beforehand: polkit asks on the terminal, naming the module."""
    seen, agents, pid, _ = run_in_terminal(bus, "boot", "loop", "on", until=b"Password:")
    text = seen.decode(errors="replace")
    assert "AUTHENTICATING FOR org.kmodgui.configure" in text, text
    assert ("Authentication is required to change the configuration of the kernel module "
            "loop") in text, text
    assert agents and agents[0][1:3] == ["--process", str(pid)]
    assert not (bus.root / "etc" / "modules-load.d" / "kmodgui-loop.conf").exists()
    time.sleep(0.5)
    assert not _agents_for(pid), "the agent outlived the command"


def test_a_granted_command_runs_with_the_agent_and_cleans_it_up(bus: Any) -> None:
    """polkit thinks 2 s about 'kmodgui_slow', then grants it: the agent runs meanwhile."""
    target = bus.root / "etc" / "modules-load.d" / "kmodgui-kmodgui_slow.conf"
    try:
        seen, agents, pid, status = run_in_terminal(bus, "boot", "kmodgui_slow", "on",
                                                    until=b"\0(until it exits)")
        assert os.waitstatus_to_exitcode(status) == 0, seen
        assert b"kmodgui_slow will be loaded at boot." in seen, seen
        assert agents and agents[0][1:3] == ["--process", str(pid)]
        assert target.exists()
    finally:
        target.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_change_commands_work_without_qt(bus: Any, tmp_path: Path) -> None:
    """Every change command, PySide6 blocked: the same words and exit codes as with it."""
    conf = bus.root / "etc" / "modprobe.d" / "kmodgui-dummy.conf"
    boot = bus.root / "etc" / "modules-load.d" / "kmodgui-dummy.conf"
    done = kmodgui(bus, "boot", "dummy", "on", qt=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"dummy will be loaded at boot.\nchanged: {boot}\n"
    assert done.stderr == ""
    for args in (("options", "dummy", "numdummies=2"), ("blacklist", "dummy", "always")):
        done = kmodgui(bus, *args, qt=False)
        assert done.returncode == 0, done.stderr
    assert conf.read_text() == (HEADER + "options dummy numdummies=2\nblacklist dummy\n"
                                "install dummy /bin/false\n")
    refused = [kmodgui(bus, *args, qt=False) for args in (
        ("load", "loop"), ("unload", "loop"), ("set-param", "loop", "max_part", "1"),
        ("boot", "loop", "on"))]
    for done in refused:
        assert done.returncode == 1 and "not authorised" in done.stderr, done.stderr
        assert "administrator" in done.stderr
    done = kmodgui(bus, "load", "kmodgui_absent", user=None, qt=False)
    assert done.returncode == 1
    assert done.stderr.startswith("kmodgui: no module named kmodgui_absent is installed")
    module = Path(tempfile.mkdtemp(dir=bus.directory)) / "m.ko"
    # a module file for this kernel (so the command asks the helper); nobody may insert it
    module.write_bytes(tiny_ko("m", f"vermagic={os.uname().release} SMP\0".encode()))
    module.parent.chmod(0o755)
    module.chmod(0o644)
    done = kmodgui(bus, "insert", str(module), "a=1", qt=False)
    assert done.returncode == 1 and "not authorised" in done.stderr, done.stderr
    done = kmodgui(bus, "blacklist", "dummy", "sometimes", qt=False)
    assert done.returncode == 2 and "invalid choice" in done.stderr
    done = kmodgui(bus, "boot", "dum/my", "on", qt=False)
    assert done.returncode == 1 and done.stderr.startswith("kmodgui: a module name is")


def test_helper_not_installed_without_qt() -> None:
    with helperbus.load().private_bus("dbus_fast", polkit=False, helper=False) as bare:
        done = kmodgui(bare, "boot", "dummy", "on", qt=False)
    assert done.returncode == 1
    assert "make -C packaging install" in done.stderr and "Traceback" not in done.stderr


def test_no_bus_at_all(tmp_path: Path) -> None:
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/none"}
    done = subprocess.run([sys.executable, "-c", WITHOUT_QT, "boot", "dummy", "on"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr.startswith("kmodgui: cannot connect to the system bus"), done.stderr
    assert "dbus-daemon" in done.stderr


def test_warnings_follow_the_success_line_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    from kmodgui.cli.actions import report_result
    from kmodgui.client import HelperResult

    report_result("Blacklist mode of dummy: always.", HelperResult(
        files=["/etc/modprobe.d/kmodgui-dummy.conf"],
        warnings=["/etc/modprobe.d/00-vendor.conf:3 'install dummy /bin/true' is used "
                  "instead of ours"]))
    out, err = capsys.readouterr()
    assert out == ("Blacklist mode of dummy: always.\n"
                   "changed: /etc/modprobe.d/kmodgui-dummy.conf\n")
    assert err == ("warning: /etc/modprobe.d/00-vendor.conf:3 'install dummy /bin/true' is "
                   "used instead of ours\n")


def test_insert_refuses_another_releases_module_before_the_helper(tmp_path: Path) -> None:
    """The kernel would refuse it: no bus is even needed to say so (none is reachable here)."""
    module = tmp_path / "alien.ko"
    module.write_bytes(tiny_ko("alien", b"vermagic=1.2.3-other SMP mod_unload\0"))
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/none"}
    done = subprocess.run([sys.executable, "-m", "kmodgui", "insert", str(module)], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stderr.startswith(f"kmodgui: {module}: built for 1.2.3-other, not "
                                  f"{os.uname().release}"), done.stderr
    garbage = tmp_path / "garbage.ko"
    garbage.write_bytes(b"\x7fELF" + b"\0" * 100)
    done = subprocess.run([sys.executable, "-m", "kmodgui", "insert", str(garbage)], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1 and done.stderr.startswith(f"kmodgui: {garbage}: "), done.stderr
    assert "helper" not in done.stderr, done.stderr
