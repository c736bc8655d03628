"""Stage 2 of the test guest: PID 1 on the host's Python, inside the guest.

The initramfs has mounted the host's root (read-only, under a tmpfs overlay)
and switched to it. This script sets the machine up the way a distribution
runs kmodgui (system dbus-daemon, real polkitd, the project's packaging
files installed, a test user granted the project's actions), runs the steps
the host asked for in ``config.json`` and writes their results beside it,
then powers the guest off. It never imports the project: it only drives
processes, so a broken project gives failed steps, not a dead guest.

Root agent: the scenario tests run as an unprivileged user; for the few
things only root may do in a test (read the kernel log, drop in a module
file, flip ``modules_disabled``, run a command as another user) they ask
this process over a Unix socket. It exists only inside the throwaway guest.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "/kmgout")
AGENT_DIR = Path("/run/kmgtest")
AGENT_SOCKET = AGENT_DIR / "root.sock"
USERS = {"kmguser": 4242, "kmgforce": 4243}
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
POLKIT_RULE = """\
// kmodgui guest tests: kmguser may do everything kmodgui offers except a forced
// unload; kmgforce may do everything. Anyone else falls through to the defaults.
polkit.addRule(function(action, subject) {
    if (action.id.indexOf("org.kmodgui.") !== 0)
        return polkit.Result.NOT_HANDLED;
    if (subject.user == "kmgforce")
        return polkit.Result.YES;
    if (subject.user == "kmguser")
        return action.id == "org.kmodgui.force-unload" ? polkit.Result.NO : polkit.Result.YES;
    return polkit.Result.NOT_HANDLED;
});
"""


def log(msg: str) -> None:
    """Stage 2 progress goes to the console, which the host keeps."""
    print(f"kmgtest: {msg}", flush=True)


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a setup command as root, its output into the console."""
    return subprocess.run(argv, env=ENV, check=check, text=True)


def mount(fstype: str, target: str, options: str = "") -> None:
    Path(target).mkdir(parents=True, exist_ok=True)
    argv = ["mount", "-t", fstype]
    if options:
        argv += ["-o", options]
    sh(*argv, fstype, target)


def setup_filesystems() -> None:
    """Kernel filesystems and the writable tmpfs directories of a running system."""
    mount("proc", "/proc")
    mount("sysfs", "/sys")
    mount("devtmpfs", "/dev")
    mount("devpts", "/dev/pts", "gid=5,mode=620,ptmxmode=666")
    mount("tmpfs", "/dev/shm", "mode=1777")
    # /tmp and /var stay in the root overlay, whose writable layer is a tmpfs too: a
    # tmpfs mounted over /tmp would hide a checkout or virtual environment kept there.
    mount("tmpfs", "/run", "mode=755")
    for d in ("/run/lock", "/run/dbus", "/run/user", "/var/lib/dbus"):
        Path(d).mkdir(parents=True, exist_ok=True)
    sh("hostname", "kmgguest")


def setup_users() -> None:
    """Unprivileged test users, written into the guest's writable /etc."""
    with open("/etc/passwd", "a") as pw, open("/etc/group", "a") as gr, \
            open("/etc/shadow", "a") as sd:
        for name, uid in USERS.items():
            home = f"/tmp/{name}"
            Path(home).mkdir(mode=0o700, exist_ok=True)
            os.chown(home, uid, uid)
            pw.write(f"{name}:x:{uid}:{uid}:kmodgui test:{home}:/bin/sh\n")
            gr.write(f"{name}:x:{uid}:\n")
            sd.write(f"{name}:!:19000:0:99999:7:::\n")


def open_paths(paths: list[str]) -> None:
    """Let the test users reach *paths* (the host's Python may live under /root).

    Only the guest's view changes: a chmod on the overlay copies the directory up.
    """
    for path in paths:
        for d in [*reversed(Path(path).parents), Path(path)]:
            with contextlib.suppress(OSError):
                mode = d.stat().st_mode
                if d.is_dir() and not mode & 0o001:
                    os.chmod(d, (mode & 0o7777) | 0o005)


def install_project(cfg: dict) -> dict:
    """The project's deployment files where dbus-daemon and polkitd look for them.

    ``make -C packaging install`` as a distribution package would run it; its
    outcome is reported like a step (``install-project``).
    """
    rules = Path("/etc/polkit-1/rules.d")
    rules.mkdir(parents=True, exist_ok=True)
    (rules / "49-kmgtest.rules").write_text(POLKIT_RULE)
    args = [f"{k}={v}" for k, v in cfg.get("make_vars", {}).items()]
    return run_step({"name": "install-project",
                     "argv": ["make", "-C", Path(cfg["repo"]) / "packaging", "install",
                              "DESTDIR=/", *args]})


def wait_for_name(name: str, seconds: float = 60) -> bool:
    """Wait until *name* has an owner on the system bus."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r = subprocess.run(
            ["dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.DBus",
             "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", f"string:{name}"],
            env=ENV, capture_output=True, text=True, check=False)
        if "boolean true" in r.stdout:
            return True
        time.sleep(0.3)
    return False


def start_services() -> list[subprocess.Popen[bytes]]:
    """A system dbus-daemon and a real polkitd, their logs kept in the output share."""
    procs = []
    dbus_log = (OUT / "dbus-daemon.log").open("wb")
    procs.append(subprocess.Popen(["dbus-daemon", "--system", "--nofork", "--nopidfile"],
                                  env=ENV, stdout=dbus_log, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 60
    while not Path("/run/dbus/system_bus_socket").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    polkit_log = (OUT / "polkitd.log").open("wb")
    procs.append(subprocess.Popen(["/usr/lib/polkit-1/polkitd", "--no-debug"], env=ENV,
                                  stdout=polkit_log, stderr=subprocess.STDOUT))
    if not wait_for_name("org.freedesktop.PolicyKit1"):
        log("polkitd did not appear on the bus")
    return procs


def as_user_argv(user: str, argv: list[str], extra: dict[str, str]) -> list[str]:
    """*argv* run as *user* (a test user or root), with a clean login-like environment."""
    if user == "root":
        return argv
    uid = USERS[user]
    env = {"HOME": f"/tmp/{user}", "USER": user, "LOGNAME": user, "PATH": ENV["PATH"],
           "LC_ALL": "C.UTF-8", "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/run/dbus/system_bus_socket",
           **extra}
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--inh-caps=-all", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]


def run_step(step: dict) -> dict:
    """One step the host asked for: its exit status and output."""
    extra = {str(k): str(v) for k, v in step.get("env", {}).items()}
    argv = as_user_argv(step.get("user", "root"), [str(a) for a in step["argv"]], extra)
    env = dict(ENV, **extra)
    start = time.monotonic()
    try:
        r = subprocess.run(argv, env=env, cwd=step.get("cwd", "/"), capture_output=True,
                           input=step.get("input", ""), text=True, errors="replace",
                           timeout=step.get("timeout", 300), check=False)
        rc, stdout, stderr = r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired as e:
        rc, stdout, stderr = -1, str(e.stdout or ""), f"timed out after {e.timeout} s"
    except OSError as e:
        rc, stdout, stderr = -2, "", f"could not start: {e}"
    return {"name": step.get("name", argv[0]), "argv": argv, "rc": rc, "stdout": stdout,
            "stderr": stderr, "seconds": round(time.monotonic() - start, 2)}


def serve_agent(stop: threading.Event) -> None:
    """The root agent: one JSON request per connection, answered like a step."""
    AGENT_DIR.mkdir(mode=0o755, exist_ok=True)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(AGENT_SOCKET))
    os.chmod(AGENT_SOCKET, 0o666)
    srv.listen(8)
    srv.settimeout(0.5)
    while not stop.is_set():
        try:
            conn, _ = srv.accept()
        except TimeoutError:
            continue
        threading.Thread(target=_answer, args=(conn,), daemon=True).start()


def _answer(conn: socket.socket) -> None:
    with conn, conn.makefile("rwb") as f:
        try:
            reply = run_step(json.loads(f.readline()))
        except Exception as e:  # a bad request must not kill PID 1
            reply = {"rc": -3, "stdout": "", "stderr": f"bad request: {e!r}"}
        f.write(json.dumps(reply).encode() + b"\n")
        f.flush()


def power_off() -> None:
    """Flush the shares and switch the machine off (qemu then exits)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.sync()
    libc.reboot(0x4321FEDC)  # LINUX_REBOOT_CMD_POWER_OFF
    time.sleep(10)


def main() -> None:
    start = time.monotonic()
    os.environ.clear()
    os.environ.update(ENV)
    cfg = json.loads((OUT / "config.json").read_text())
    results: list[dict] = []
    procs: list[subprocess.Popen[bytes]] = []
    stop = threading.Event()
    try:
        log(f"stage 2 up after {time.monotonic() - start:.1f} s")
        setup_filesystems()
        setup_users()
        open_paths(cfg.get("user_paths", []))
        for cmd in cfg.get("root_setup", []):
            sh("sh", "-c", cmd, check=False)
        if cfg.get("services", True):
            results.append(install_project(cfg))
            procs = start_services()
        threading.Thread(target=serve_agent, args=(stop,), daemon=True).start()
        log("running steps")
        for step in cfg.get("steps", []):
            res = run_step(step)
            results.append(res)
            log(f"step {res['name']}: rc={res['rc']} in {res['seconds']} s")
            (OUT / "steps.json").write_text(json.dumps(results, indent=1))
    except Exception:
        (OUT / "stage2-error.txt").write_text(traceback.format_exc())
        log("stage 2 failed:\n" + traceback.format_exc())
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            dmesg = subprocess.run(["dmesg"], capture_output=True, text=True, check=False)
            (OUT / "dmesg.txt").write_text(dmesg.stdout)
        for p in procs:
            p.terminate()
        (OUT / "steps.json").write_text(json.dumps(results, indent=1))
        (OUT / "done").write_text(f"{time.monotonic() - start:.1f}\n")
        log("powering off")
        power_off()


if __name__ == "__main__":
    main()
