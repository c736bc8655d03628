"""``kmodgui keygen``: a module signing key, made as DKMS makes its MOK (or one reused)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kmodgui.cli import add_root_arguments, root_from_args
from kmodgui.cli.exitcodes import ExitCode


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "keygen", help="make (or find) a key to sign your modules with",
        description="Make a signing key and certificate as DKMS does (private key 0600 in "
                    "$XDG_DATA_HOME/kmodgui/signing), or reuse a DKMS/akmods MOK you can read; "
                    "then show how to enroll it.")
    parser.add_argument("--subject", metavar="CN", help="the certificate's common name")
    add_root_arguments(parser, release=False)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kmodgui.core.workbench.signing import enrollment_steps, find_key, generate_key, known_keys

    root = root_from_args(args)
    key = find_key(root)
    if key is not None:
        print(f"reusing the {key.origin} key: {key.key}")
    else:
        for other in known_keys(root):
            print(f"note: the {other.origin} key {other.key} is readable only by root; "
                  "making your own", file=sys.stderr)
        key = generate_key(args.subject)
        print(f"made a key: {key.key} (private, mode 0600)")
    print(f"certificate: {key.cert}")
    print("\nTo make the kernel trust it (machines with Secure Boot or module.sig_enforce):")
    for step in enrollment_steps(key):
        print(f"  {step}")
    return ExitCode.OK
