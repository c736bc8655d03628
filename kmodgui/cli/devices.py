"""``kmodgui devices``: every device with a modalias, its driver and candidate modules.

Like ``lspci -k`` for every bus at once: devices without a driver first, each
with its bound driver and the module providing it, and the modules that
``modprobe -R`` names for its modalias with their state (loaded, built-in,
blacklisted by which file, available).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from kmodgui.cli import add_root_arguments, root_from_args
from kmodgui.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from kmodgui.core.devices import Device


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "devices", help="list devices, their drivers and candidate modules",
        description="List every device with a modalias, the driver bound to it, the module "
                    "providing that driver and the modules that could drive it "
                    "(what modprobe -R answers for its modalias).")
    add_root_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--bus", metavar="BUS", action="append",
                        help="only devices on BUS (pci, usb, platform, ...); repeatable")
    parser.add_argument("--no-driver", action="store_true",
                        help="only devices that could have a driver but have none")
    parser.set_defaults(func=run)


def device_dict(device: Device) -> dict[str, Any]:
    """One device as JSON: plain values, IDs as lower-case hex strings."""
    return {
        "name": device.name,
        "syspath": device.syspath,
        "bus": device.bus,
        "modalias": device.modalias,
        "bindable": device.bindable,
        "driver": device.driver,
        "driver_module": device.driver_module,
        "driver_builtin": device.driver_builtin,
        "vendor_id": None if device.vendor_id is None else f"{device.vendor_id:04x}",
        "product_id": None if device.product_id is None else f"{device.product_id:04x}",
        "vendor": device.vendor,
        "product": device.product,
        "class": device.kind,
        "candidates": [
            {"module": c.module, "state": c.state.value,
             "blacklisted_by": [{"file": s.file, "line": s.line} for s in c.blacklisted_by]}
            for c in device.candidates],
    }


def format_device(device: Device) -> str:
    """The ``lspci -k``-like block for one device."""
    ids = f" [{device.ids}]" if device.ids else ""
    lines = [f"{device.name} {device.bus}: {device.description}{ids}"]
    if device.kind:
        lines.append(f"\tClass: {device.kind}")
    lines.append(f"\tModalias: {device.modalias}")
    if device.bindable:
        lines.append(f"\tKernel driver in use: {device.driver_text}")
    if device.candidates:
        lines.append("\tKernel modules: " + ", ".join(c.describe() for c in device.candidates))
    if device.lookup_error:
        lines.append(f"\tLookup failed: {device.lookup_error}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from kmodgui.core.devices import scan
    from kmodgui.core.errors import KmodguiError

    root = root_from_args(args)
    if not root.sys_bus.is_dir():
        raise KmodguiError(
            f"no devices to show: {root.sys_bus} does not exist",
            hint="Devices come from the kernel's sysfs; with -b, DIR must hold a sys/ tree.")
    if not root.modules_dir.is_dir():
        print(f"kmodgui: no modules for kernel {root.release} in {root.modules_dir}: "
              "no candidate modules can be shown", file=sys.stderr)
    devices = scan(root)
    if args.bus:
        devices = [d for d in devices if d.bus in args.bus]
    if args.no_driver:
        devices = [d for d in devices if d.needs_driver]
    if args.json:
        json.dump([device_dict(d) for d in devices], sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("".join(format_device(d) + "\n\n" for d in devices))
    return ExitCode.OK
