"""``kmodgui gui [-b DIR] [-k RELEASE]``: open the Kernel Modules window.

Also what a bare ``kmodgui`` runs. Qt is imported only here, inside ``run``,
so that every other command works on a machine without PySide6.
"""

from __future__ import annotations

import argparse
import sys

from kmodgui.cli import add_root_arguments, root_from_args
from kmodgui.cli.exitcodes import ExitCode


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "gui", help="open the Kernel Modules window (the default command)",
        description="Open the Kernel Modules window on a system root and kernel release.")
    add_root_arguments(parser)
    parser.add_argument("--read-only", action="store_true",
                        help="do not contact the helper; browse only")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import PySide6.QtWidgets  # noqa: F401
    except ImportError:
        print("kmodgui: the window needs PySide6, which is not installed "
              "(install the 'gui' extra: pip install 'kmodgui[gui]', or your "
              "distribution's python3-pyside6 package); the command-line tools work "
              "without it.", file=sys.stderr)
        return ExitCode.FAILURE
    root = root_from_args(args)
    if not root.modules_dir.is_dir() and not root.proc_modules.exists():
        message = f"no modules for kernel {root.release} under {root.base}"
        if args.basedir or args.release:  # asked for a tree that is not there: say so
            print(f"kmodgui: {message}", file=sys.stderr)
            return ExitCode.FAILURE
        # The running system itself: a kernel without module support is still a
        # system to look at (built-in modules, configuration); open an empty list.
        print(f"kmodgui: {message}; the window will show an empty list", file=sys.stderr)
    from kmodgui.ui.app import application
    from kmodgui.ui.app import run as run_window
    from kmodgui.ui.helper_link import connect_helper

    application()  # QtDBus wants the application object before any connection
    client = None if args.read_only else connect_helper(root)
    return run_window(root, client)
