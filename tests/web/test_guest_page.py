"""The page on a real kernel: the guest tier's qemu guest runs cockpit-ws (as the test user
``kmguser``, a limited session the guest's polkit rule lets load and unload) and the helper;
the host's Chromium opens the page through a forwarded port and loads and unloads
``bridge`` (with its dependencies ``stp`` and ``llc``) for real.

The guest is booted with the guest tier's own harness (tests/guest/harness.py and
guest_init.py); only the steps and a NIC are ours.
"""

from __future__ import annotations

import json
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from webpage import Page
from webstack import PAGE, REPO, CockpitSession, chromium, free_port, load_by_path

from kmodgui.core.paths import Root

pytestmark = pytest.mark.guest

GUEST_PORT = 9090
READY, STOP = "results/ready", "results/stop"
SLOW = 240  # s: the guest is emulated (TCG)

COCKPIT_STEP = f"""set -e
mkdir -p "$HOME/.local/share/cockpit"
cp -r "{PAGE}" "$HOME/.local/share/cockpit/kmodgui"
# plain http from the host (through qemu's forwarded port) is not a local client:
# without this cockpit-ws redirects it to https
mkdir -p "$HOME/etc/cockpit"
printf '[WebService]\nAllowUnencrypted = true\n' > "$HOME/etc/cockpit/cockpit.conf"
kmodgui list --state all --json > /dev/null   # the catalog cache the page's reads use
XDG_CONFIG_DIRS="$HOME/etc" /usr/lib/cockpit/cockpit-ws --local-session=cockpit-bridge \\
    --address 0.0.0.0 --port {GUEST_PORT} > "$HOME/ws.log" 2>&1 &
ws=$!
touch /kmgout/{READY}
i=0
while [ ! -e /kmgout/{STOP} ] && [ $i -lt {SLOW * 2} ]; do sleep 1; i=$((i + 1)); done
ps -eo pid,etime,args | grep -v "ps -eo" | tail -n 25
kill $ws
cat "$HOME/ws.log" | tail -n 40
"""
NETWORK_STEP = ("modprobe virtio_net && ip link set lo up && ip link set eth0 up && "
                "ip addr add 10.0.2.15/24 dev eth0")


def _harness() -> Any:
    return load_by_path("harness", REPO / "tests" / "guest" / "harness.py")


class Guest:
    """One boot in a thread; the host drives the page while it runs."""

    def __init__(self, root: Root, workdir: Path, port: int) -> None:
        self.out = workdir / "out"
        (self.out / "results").mkdir(parents=True)
        (self.out / "results").chmod(0o777)
        harness = _harness()
        python = sys.executable
        env = {"PATH": f"{sys.prefix}/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/dbus/system_bus_socket"}
        config = {
            "repo": str(REPO),
            "root_setup": [f"cp {root.base}/boot/config-{root.release} /boot/"],
            "user_paths": [str(Path(python).resolve()), sys.prefix, str(REPO)],
            "make_vars": {"BINDIR": sysconfig.get_path("scripts")},
            "steps": [{"name": "network", "argv": ["sh", "-c", NETWORK_STEP]},
                      {"name": "cockpit", "user": "kmguser", "env": env,
                       "argv": ["sh", "-c", COCKPIT_STEP], "timeout": SLOW * 2 + 30}],
        }
        (self.out / "config.json").write_text(json.dumps(config, indent=1))
        tree = harness.guest_module_tree(root, root.base.parent.parent)
        self.run: Any = None
        self.thread = threading.Thread(target=self._boot, daemon=True, args=(
            harness, root, workdir, python, tree, port))
        self.thread.start()

    def _boot(self, harness: Any, root: Root, workdir: Path, python: str, tree: Root,
              port: int) -> None:
        self.run = harness.boot(root, workdir, python=python, timeout=SLOW * 3, tree=tree,
                                qemu_args=("-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:"
                                           f"{port}-:{GUEST_PORT}",
                                           "-device", "virtio-net-pci,netdev=n0"))

    def steps(self) -> dict[str, Any]:
        path = self.out / "steps.json"
        return {s["name"]: s for s in json.loads(path.read_text())} if path.exists() else {}

    def diagnostics(self) -> str:
        console = self.out.parent / "console.log"
        tail = console.read_text(errors="replace")[-3000:] if console.exists() else ""
        return f"steps: {json.dumps(self.steps(), indent=1)[-4000:]}\nconsole:\n{tail}"

    def stop(self) -> None:
        (self.out / STOP).write_text("")
        self.thread.join(SLOW * 3 + 30)


def _wait_http(url: str, guest: Guest) -> None:
    # the boot and the guest's setup come first: under TCG on a busy machine they took
    # over 5 minutes once, so the page is awaited for twice the slow bound
    deadline = time.monotonic() + SLOW * 2
    while time.monotonic() < deadline:
        if (guest.out / READY).exists():
            try:
                with urllib.request.urlopen(url, timeout=10) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                pass
        if not guest.thread.is_alive():
            break
        time.sleep(1)
    raise AssertionError(f"cockpit-ws in the guest did not answer\n{guest.diagnostics()}")


def test_page_loads_and_unloads_a_module_in_a_real_kernel(kernel_root: Root,
                                                          tmp_path: Path) -> None:
    port = free_port()
    guest = Guest(kernel_root, tmp_path, port)
    url = f"http://127.0.0.1:{port}"
    shown: Any = None
    try:
        _wait_http(url + "/", guest)
        with tempfile.TemporaryDirectory() as profile:
            driver = chromium(Path(profile))
            try:
                page = Page(driver, CockpitSession(url, "kmguser", tmp_path, None,  # type: ignore[arg-type]
                                                   tmp_path / "none", tmp_path / "none"))
                try:
                    _exercise(page)
                except Exception:
                    shown = page.js("return [document.body.dataset.reading, "
                                    "document.getElementById('list-status').textContent, "
                                    "document.getElementById('module-count').textContent, "
                                    "document.getElementById('outcome').innerText]")
                    shown.append([e["message"][:300] for e in page.console()][-30:])
                    shown.append(page.js("return [...document.querySelectorAll("
                                         "'#modules-table tbody tr')].map(tr => tr.textContent)"))
                    raise
            finally:
                driver.quit()
    except Exception as exc:
        guest.stop()
        raise AssertionError(f"{exc}\n{shown}\n{guest.diagnostics()}") from exc
    guest.stop()
    steps = guest.steps()
    assert steps["network"]["rc"] == 0, guest.diagnostics()
    dmesg = (guest.out / "dmesg.txt").read_text(errors="replace")
    assert "bridge: filtering via arp/ip/ip6tables" in dmesg, dmesg[-2000:]


def _state(page: Page, name: str) -> str | None:
    return page.js("return document.querySelector(`#modules-table tr[data-name='${arguments[0]}']`)"  # type: ignore[no-any-return]
                   "?.cells[1].textContent", name)


def _search(page: Page, text: str) -> None:
    page.js("const s = document.getElementById('search'); s.value = arguments[0];"
            "s.dispatchEvent(new Event('input'))", text)


def _exercise(page: Page) -> None:
    page.open(timeout=SLOW)
    page.select("bridge", timeout=SLOW)
    assert _state(page, "bridge") == "Available"
    page.click("action-load")
    page.wait(lambda: page.js("return document.querySelectorAll('#load-preview li[data-module]')"
                              ".length"), "the load preview", SLOW)
    preview = page.js("return [...document.querySelectorAll('#load-preview li')]"
                      ".map(li => li.dataset.module)")
    assert preview == ["llc", "stp", "bridge"]
    page.click("load-confirm")
    outcome = page.outcome(timeout=SLOW)
    assert outcome["ok"], outcome
    _search(page, "")
    page.wait(lambda: [_state(page, m) for m in ("bridge", "stp", "llc")] == ["Loaded"] * 3,
              "bridge, stp and llc loaded, as the guest's /proc/modules says", SLOW)
    page.clear_outcome()
    page.select("bridge", timeout=SLOW)
    page.click("action-unload")
    page.click("unload-deps")
    page.click("unload-confirm")
    outcome = page.outcome(timeout=SLOW)
    assert outcome["ok"], outcome
    _search(page, "")
    page.wait(lambda: [_state(page, m) for m in ("bridge", "stp", "llc")] == ["Available"] * 3,
              "bridge, stp and llc unloaded again", SLOW)
    assert not [e for e in page.console() if "/kmodgui/" in e["message"]]
