"""The web tier's machinery: a real cockpit-ws + cockpit-bridge serving the page, over the
helper tier's private system bus (real dbus-daemon, real polkitd, the real helper), and
Debian's headless Chromium driven by Selenium through Debian's chromedriver.

The system the page reads is a tree the test builds (the host kernel has no modules):
a sysfs and /proc captured from the Debian kernel under qemu (tests/data/sysfs), the
real kernel package's /lib/modules, and its own /etc. The helper writes its files into
the same tree (``KMODGUI_HELPER_ROOT``), so what the helper changes is what the page
reads back. The page runs plain ``kmodgui …``; a wrapper first on the bridge's PATH adds
``-b TREE -k RELEASE`` to the reading commands.

cockpit-ws runs in a private mount namespace (``unshare -m``) where the kernel tree is
bind-mounted into that tree: callers who are not root cannot reach the fetched kernel
under root's cache directory, and nothing is mounted on the host.

Sessions: ``cockpit-ws --local-session=cockpit-bridge`` starts the bridge as the user that
runs cockpit-ws, without PAM or logind. As root it is an administrative session (the
helper sees uid 0); as ``nobody`` (``setpriv``) it is a limited session: no superuser
bridge can start (no sudo for nobody), so ``superuser: "try"`` falls back to the user's
own bridge and polkit decides with the helper tier's test rules.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from kmgtest import helperbus as _shared_helperbus
from kmgtest import processes, sysfs_roots

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PAGE = REPO / "cockpit"
SCENARIO = "qemu-pc"
COCKPIT_WS = Path("/usr/lib/cockpit/cockpit-ws")
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
NOBODY = (65534, 65534)
READING = ("list", "info", "deps", "config", "devices", "resolve")
# what the tree's own modprobe.d says besides the helper's files: a later file that
# overrides an option the helper writes (the helper warns about such lines)
LOCAL_CONF = "options dummy numdummies=4\nblacklist pcspkr\n"

WS_SCRIPT = """set -e
mount --make-rprivate /
mount --bind "$1" "$2"
shift 2
exec "$@"
"""


def installed_page(into: Path) -> Path:
    """The page as `make -C packaging install` installs it (what a package ships)."""
    stage = Path(tempfile.mkdtemp(prefix="install-", dir=into))
    done = subprocess.run(["make", "-s", "-C", str(REPO / "packaging"), "install",
                           f"DESTDIR={stage}", "BINDIR=/usr/libexec"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return stage / "usr/share/cockpit/kmodgui"


def load_by_path(name: str, path: Path) -> ModuleType:
    """Another tier's helper module (tests/helper/helperbus.py, ...), loaded once by path."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


helperbus = _shared_helperbus.load()


def check_tools() -> None:
    missing = [str(p) for p in (COCKPIT_WS, CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"the web tier needs {', '.join(missing)} (tests/setup.d/70-web installs "
                    "cockpit-ws, cockpit-bridge, cockpit-system, chromium, chromium-driver)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class WebSystem:
    """The tree the page reads and the helper writes, and the bus the helper is on."""

    bus: Any                 # helperbus.HelperBus
    root: Path               # == bus.root
    release: str
    modules_dir: Path        # the real kernel's lib/modules/RELEASE (bind-mounted into root)
    bin: Path                # the wrapper's directory, first on the bridge's PATH

    def cli(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """``kmodgui`` as the page runs it (through the wrapper), here as root."""
        return subprocess.run(["unshare", "-m", "sh", "-c", WS_SCRIPT, "ws",
                               str(self.modules_dir), str(self.mount_point),
                               str(self.bin / "kmodgui"), *argv],
                              capture_output=True, text=True, check=False,
                              env={**os.environ, "PATH": f"{self.bin}:{os.environ['PATH']}"})

    def cli_json(self, *argv: str) -> Any:
        done = self.cli(*argv)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    @property
    def mount_point(self) -> Path:
        return self.root / "lib" / "modules" / self.release

    def conf(self, directory: str, module: str) -> Path:
        return self.root / "etc" / directory / f"kmodgui-{module}.conf"

    def clean(self) -> None:
        for path in sorted(self.root.glob("etc/*/kmodgui-*.conf")):
            path.unlink()


def _interpreter() -> list[str]:
    """How a user who is not root runs this venv's kmodgui.

    The venv's interpreter may live where only root can reach it (a pyenv build under
    /root): then Debian's python3 of the same version runs the venv's packages.
    """
    system = Path("/usr/bin/python3")
    same = system.exists() and subprocess.run(
        [str(system), "-c", "import sys; print(sys.version_info[:2])"], capture_output=True,
        text=True, check=False).stdout.strip() == str(tuple(sys.version_info[:2]))
    if not same:
        return [sys.executable]
    site = sysconfig.get_paths()["purelib"]
    return ["/usr/bin/env", f"PYTHONPATH={site}", str(system)]


def _wrapper(root: Path, release: str) -> str:
    reading = " | ".join(READING)
    run = " ".join([*_interpreter(), "-c",
                    "'import sys; from kmodgui.cli import main; sys.argv[0] = \"kmodgui\"; "
                    "sys.exit(main())'"])
    return f"""#!/bin/sh
# kmodgui for the web tier: reading commands look at the test tree instead of the host.
sub="$1"
case "$sub" in
    {reading}) shift; exec {run} "$sub" -b {root} -k {release} "$@" ;;
    *) exec {run} "$@" ;;
esac
"""


@contextlib.contextmanager
def web_system(kernel_root: Any) -> Iterator[WebSystem]:
    """The private bus with polkitd and the activatable helper, over a system tree."""
    check_tools()
    # a loaded machine can keep polkitd busy longer than the helper's usual 30 s
    with helperbus.private_bus("dbus_fast",
                               helper_env={"KMODGUI_HELPER_POLKIT_TIMEOUT": "120"}) as bus:
        root: Path = bus.root
        sysfs_roots.extract(SCENARIO, root)
        (root / "lib" / "modules" / kernel_root.release).mkdir(parents=True)
        (root / "usr" / "share").mkdir(parents=True)
        (root / "usr" / "share" / "hwdata").symlink_to(sysfs_roots.HWDATA)
        (root / "etc" / "modprobe.d" / "local.conf").write_text(LOCAL_CONF)
        # the capture has no parameter files: one writable parameter of a loaded module
        params = root / "sys" / "module" / "usb_storage" / "parameters"
        params.mkdir(parents=True, exist_ok=True)
        (params / "delay_use").write_text("1\n")
        (params / "delay_use").chmod(0o644)
        for path in [root, *root.rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        bin_dir = bus.directory / "bin"
        bin_dir.mkdir()
        wrapper = bin_dir / "kmodgui"
        wrapper.write_text(_wrapper(root, kernel_root.release))
        wrapper.chmod(0o755)
        made = WebSystem(bus, root, kernel_root.release, kernel_root.modules_dir, bin_dir)
        _wait_for_polkit(made)
        yield made


def _wait_for_polkit(system: WebSystem, timeout: float = 180) -> None:
    """One authorised call through the helper before the page's: polkitd answers (it can
    be slow to start on a loaded machine, and the helper denies when it does not answer)."""
    deadline = time.monotonic() + timeout
    reply: dict[str, Any] = {}
    while time.monotonic() < deadline:
        reply = system.bus.call_root({"member": "SetLoadAtBoot", "signature": "sba{sv}",
                                      "body": ["kmodgui_warmup", False, {}]})[0]
        if reply["type"] == "return":
            system.clean()
            return
        time.sleep(2)
    raise AssertionError(f"polkitd did not authorise root: {reply}\n"
                         f"{system.bus.helper_log.read_text()[-2000:]}")


@dataclass
class CockpitSession:
    """One cockpit-ws with its bridge, as one user."""

    url: str
    user: str
    home: Path
    process: subprocess.Popen[bytes]
    log: Path
    helper_log: Path


@contextlib.contextmanager
def cockpit_session(system: WebSystem, user: tuple[int, int] | None) -> Iterator[CockpitSession]:
    """cockpit-ws on 127.0.0.1 serving the repository's page; ``user`` None is root."""
    home = Path(tempfile.mkdtemp(prefix="kmodgui-web-home-", dir=system.bus.directory))
    data = home / ".local" / "share" / "cockpit"
    data.mkdir(parents=True)
    shutil.copytree(installed_page(home), data / "kmodgui")
    if user is not None:
        for path in [home, *home.rglob("*")]:
            os.chown(path, *user, follow_symlinks=False)
    port = free_port()
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / ".local" / "share"),
           "XDG_CACHE_HOME": str(home / ".cache"), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_RUNTIME_DIR": str(home), "PATH": f"{system.bin}:/usr/sbin:/usr/bin:/sbin:/bin",
           "DBUS_SYSTEM_BUS_ADDRESS": system.bus.address,
           "DBUS_SESSION_BUS_ADDRESS": system.bus.address,
           "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
    prefix = [] if user is None else ["setpriv", f"--reuid={user[0]}", f"--regid={user[1]}",
                                      "--clear-groups"]
    log = home / "ws.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["unshare", "-m", "sh", "-c", WS_SCRIPT, "ws", str(system.modules_dir),
             str(system.mount_point), *prefix, str(COCKPIT_WS),
             "--local-session=cockpit-bridge", "--address", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd="/")
    session = CockpitSession(f"http://127.0.0.1:{port}", "root" if user is None else "nobody",
                             home, process, log, system.bus.helper_log)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert process.poll() is None, log.read_text()
            time.sleep(0.1)
        else:
            raise AssertionError(f"cockpit-ws did not listen: {log.read_text()}")
        yield session
    finally:
        processes.stop(process, grace=10)


def chromium(profile: Path, width: int = 1400, height: int = 900) -> Any:
    """Debian's Chromium, headless, driven by Debian's chromedriver (nothing downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                 f"--window-size={width},{height}", "--lang=en-US"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
