"""``kmodgui-helper``: connect to the system bus, own ``org.kmodgui.Helper1``, serve until idle.

Activated by D-Bus it uses the system bus; started by hand it connects to the
bus in ``DBUS_SYSTEM_BUS_ADDRESS`` (tests and debugging). ``--root`` (or
``KMODGUI_HELPER_ROOT``) points configuration writes and system reads at
another tree, for tests; the default is ``/``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from kmodgui.core.paths import Root
from kmodgui_helper import BUS_NAME, __version__, api, trust


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kmodgui-helper",
                                     description="kmodgui's privileged D-Bus helper")
    parser.add_argument("--version", action="version", version=f"kmodgui-helper {__version__}")
    parser.add_argument("--idle-timeout", type=float,
                        default=float(os.environ.get("KMODGUI_HELPER_IDLE_TIMEOUT", "30")),
                        help="exit after this many seconds without calls (default 30)")
    parser.add_argument("--root", default=os.environ.get("KMODGUI_HELPER_ROOT", "/"),
                        help="system tree to act on (default /; for tests)")
    parser.add_argument("--print-introspection", action="store_true",
                        help="print the D-Bus introspection data and exit")
    return parser.parse_args(argv)


async def _serve(root: Root, idle_timeout: float) -> int:
    from kmodgui_helper.dbuslib import (
        LIBRARY,
        BusType,
        MessageBus,
        NameFlag,
        RequestNameReply,
        tolerate_full_send_buffer,
    )
    from kmodgui_helper.service import Service

    log = logging.getLogger("kmodgui-helper")
    bus = await MessageBus(bus_type=BusType.SYSTEM, negotiate_unix_fd=True).connect()
    tolerate_full_send_buffer(bus)
    service = Service(bus, root, idle_timeout)
    bus.add_message_handler(service.handle)
    try:
        reply = await bus.request_name(BUS_NAME, NameFlag.DO_NOT_QUEUE)
    except Exception as exc:
        log.error("cannot own %s: %s", BUS_NAME, exc)
        bus.disconnect()
        return 1
    if reply not in (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER):
        log.error("%s is already owned by another process", BUS_NAME)
        bus.disconnect()
        return 1
    log.info("serving %s on %s (root %s, %s)", BUS_NAME, bus.unique_name, root.base, LIBRARY)
    await service.run_until_idle()
    bus.disconnect()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    if args.print_introspection:
        sys.stdout.write(api.introspection_xml())
        return 0
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="kmodgui-helper[%(process)d]: %(message)s")
    try:
        api.check_table()
    except api.ApiTableError as exc:
        logging.getLogger("kmodgui-helper").error("refusing to start: %s", exc)
        return 1
    # Everything it will run is loaded now: root runs no file that others could rewrite.
    import kmodgui_helper.service  # noqa: F401

    # (as another user it can do nothing privileged, and may not even see root's paths)
    unsafe = trust.untrusted_code() if os.geteuid() == 0 else None
    if unsafe is not None:
        logging.getLogger("kmodgui-helper").error(
            "refusing to start: %s; the helper runs as root only from files that only root "
            "can change (install it system-wide, see packaging/README.md)", unsafe)
        return 1
    os.umask(0o022)
    try:
        return asyncio.run(_serve(Root.create(args.root), args.idle_timeout))
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        logging.getLogger("kmodgui-helper").error("cannot connect to the system bus: %s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
