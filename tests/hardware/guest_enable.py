"""Inside the test guest: open the Hardware page, find the NIC without a driver, click Enable.

Run by ``test_hw_guest.py`` as the unprivileged test user in a real kernel
booted with an e1000 NIC whose module is not loaded. The page is the real
one on the guest's real /sys; the load goes through a helper client:

* ``agent``: a client that asks the guest's root agent to run ``modprobe``
  (proves the page against a real kernel binding a real device);
* ``helper``: the privileged helper itself, activated on the system bus and
  authorised by the real polkitd, called with the CLI's dbus-fast transport
  (:class:`kmodgui.client.bus.BusClient`) behind the window's HelperClient interface;
* ``window``: the window's own client (:func:`kmodgui.ui.helper_link.connect_helper`).

Usage: ``guest_enable.py MODE MODULE``: the device with MODULE among its
candidates gets its driver. What happened is written as JSON to
``$KMGTEST_OUT/results/hardware-MODE-MODULE.json`` (a screenshot beside it).
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from kmodgui.client import HelperError, HelperResult, Request
from kmodgui.core.devices import Device, network_interfaces, read_device
from kmodgui.core.paths import Root

OUT = Path(os.environ.get("KMGTEST_OUT", "/kmgout")) / "results" / "hardware.json"
USAGE = "guest_enable.py agent|helper|window MODULE"
AGENT_SOCKET = "/run/kmgtest/root.sock"


def agent(argv: list[str]) -> dict[str, Any]:
    """One command run as root by the guest's root agent."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(AGENT_SOCKET)
        with s.makefile("rwb") as f:
            f.write(json.dumps({"argv": argv}).encode() + b"\n")
            f.flush()
            return json.loads(f.readline())


class AgentClient:
    """A helper client that loads modules with root's modprobe (no D-Bus)."""

    def start(self, request: Request, on_reply: Callable[[HelperResult], None],
              on_error: Callable[[HelperError], None]) -> None:
        if request.method != "Load":
            QTimer.singleShot(0, lambda: on_error(HelperError(
                "org.kmodgui.Error.Failed", f"{request.method} not supported")))
            return
        module = str(request.args[0])
        result = agent(["modprobe", "--", module])
        word = re.compile(rf"\b{re.escape(module)}\b")
        log = [line for line in agent(["dmesg"])["stdout"].splitlines() if word.search(line)]
        if result["rc"] == 0:
            QTimer.singleShot(0, lambda: on_reply(HelperResult(kernel_log=log)))
        else:
            QTimer.singleShot(0, lambda: on_error(HelperError(
                "org.kmodgui.Error.Failed", result["stderr"], log)))


class HelperBusClient:
    """A HelperClient that calls the real helper over the system bus: the CLI's transport
    (dbus-fast, blocking), its answer queued to the GUI thread."""

    def start(self, request: Request, on_reply: Callable[[HelperResult], None],
              on_error: Callable[[HelperError], None]) -> None:
        from kmodgui.client.bus import BusClient

        try:
            result = BusClient().run(request)
        except HelperError as exc:
            error = exc
            QTimer.singleShot(0, lambda: on_error(error))
            return
        QTimer.singleShot(0, lambda: on_reply(result))


def wait(condition: Callable[[], bool], seconds: float) -> bool:
    """Run the event loop until ``condition()`` holds or ``seconds`` pass."""
    loop = QEventLoop()
    poll, deadline = QTimer(), QTimer()
    poll.timeout.connect(lambda: loop.quit() if condition() else None)
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    poll.start(20)
    deadline.start(int(seconds * 1000))
    if not condition():
        loop.exec()
    poll.stop()
    deadline.stop()
    return condition()


def main(mode: str, module: str) -> dict[str, Any]:
    """Enable ``module`` on the device waiting for it, with the load done the ``mode`` way."""
    from kmodgui.ui.device_model import DEVICE_ROLE, NEEDS_DRIVER_ROLE
    from kmodgui.ui.hardware_page import HardwarePage
    from kmodgui.ui.operations import Operations

    _app = QApplication.instance() or QApplication(["guest-enable"])  # kept alive
    root = Root.create()
    report: dict[str, Any] = {"mode": mode, "module": module}
    client: Any
    if mode == "window":
        from kmodgui.ui.helper_link import connect_helper

        client = connect_helper(root)
        if client is None:
            report["error"] = "connect_helper gave no client"
            return report
    elif mode == "helper":
        client = HelperBusClient()
    else:
        client = AgentClient()
    operations = Operations(client)
    page = HardwarePage(root, None, operations)
    page.resize(1200, 700)
    page.show()
    if not wait(lambda: page.model.rowCount() > 0, 120):
        report["error"] = "the page listed no devices"
        return report
    rows = [page.proxy.index(r, 0) for r in range(page.proxy.rowCount())]
    nics = [i for i in rows if module in i.data(DEVICE_ROLE).candidate_names()]
    report["rows"] = len(rows)
    if not nics:
        report["error"] = f"no device with {module} as a candidate"
        return report
    nic: Device = nics[0].data(DEVICE_ROLE)
    report["syspath"] = nic.syspath
    report["listed_without_driver"] = bool(nics[0].data(NEEDS_DRIVER_ROLE))
    report["driver_column"] = page.proxy.index(nics[0].row(), 2).data()
    report["first_rows_need_driver"] = all(i.data(NEEDS_DRIVER_ROLE) for i in rows[:1])
    page.select_device(nic.syspath)
    report["enable_enabled"] = page.enableDriverButton.isEnabled()
    outcome: list[tuple[Device, bool]] = []
    page.driver_enabled.connect(lambda device, bound: outcome.append((device, bound)))
    page.enableDriverButton.click()
    wait(lambda: bool(outcome), 90)
    report["status"] = page.statusLabel.text()
    report["kernel_log"] = page.kernelLog.toPlainText()
    if outcome:
        device, bound = outcome[0]
        report["bound"] = bound
        report["driver"] = device.driver
        report["driver_module"] = device.driver_module
    now = read_device(root, nic.syspath)
    report["driver_now"] = now.driver if now else None
    report["interfaces"] = network_interfaces(root, nic.syspath)
    wait(lambda: not page._scanning, 60)
    page.grab().save(str(OUT.with_name(f"hardware-{mode}-{module}.png")))
    operations.wait_for_background()
    page.close()
    return report


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: {USAGE}")
    try:
        result = main(*sys.argv[1:3])
    except Exception:
        result = {"error": traceback.format_exc()}
    OUT.with_name(f"hardware-{sys.argv[1]}-{sys.argv[2]}.json").write_text(
        json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    sys.exit(0 if "error" not in result else 1)
