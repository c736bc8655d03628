"""``kmodgui sign KO``: sign a module with the kernel's own sign-file and the kernel's hash."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kmodgui.cli import add_root_arguments, root_from_args
from kmodgui.cli.exitcodes import ExitCode


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sign", help="sign a module file for kernels that enforce signatures",
        description="Sign KO in place with scripts/sign-file from the kernel's headers and "
                    "the hash its config names (CONFIG_MODULE_SIG_HASH), using the key "
                    "kmodgui keygen made or found. An older signature is replaced.")
    parser.add_argument("module", metavar="KO", help="the module file (.ko)")
    parser.add_argument("--key", metavar="FILE", help="private key (default: kmodgui keygen's)")
    parser.add_argument("--cert", metavar="FILE", help="certificate for --key (DER or PEM)")
    add_root_arguments(parser)
    parser.epilog = ("Without -k the release is the one the module was built for "
                     "(its vermagic).")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kmodgui.core.modfile import read_module_info
    from kmodgui.core.paths import running_release
    from kmodgui.core.workbench.check import check_vermagic, read_enforcement
    from kmodgui.core.workbench.errors import SigningError
    from kmodgui.core.workbench.signing import (
        SigningKey,
        enrollment_steps,
        find_key,
        sign_module,
    )

    module = Path(args.module)
    if (args.key is None) != (args.cert is None):
        raise SigningError("--key and --cert go together")
    root = root_from_args(args)
    if args.release is None:  # the kernel the module was built for
        built_for = check_vermagic(read_module_info(module), root.release).built_for
        if built_for:
            root = root.with_release(built_for)
    if args.key is not None:
        key: SigningKey | None = SigningKey(Path(args.key), Path(args.cert), "given")
    else:
        key = find_key(root)
    if key is None:
        raise SigningError("no signing key yet", hint="Make one with: kmodgui keygen")
    result = sign_module(module, root, key)
    verb = "re-signed" if result.replaced else "signed"
    print(f"{verb} {module} for {root.release} with {result.hash} "
          f"(sign-file from {root.release}'s headers)")
    print(f"signer:          {result.signer}")
    print(f"sig_key:         {result.sig_key}")
    print(f"sig_hashalgo:    {result.sig_hashalgo}")
    enforcement = read_enforcement(root_from_args(args).with_release(running_release()))
    state = ("the running kernel enforces signatures (" + "; ".join(enforcement.reasons())
             + ")" if enforcement.enforced
             else "the running kernel does not enforce signatures now")
    print(f"\n{state}; it accepts the module only once the key is enrolled:")
    for step in enrollment_steps(key):
        print(f"  {step}")
    return ExitCode.OK
