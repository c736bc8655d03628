"""Module signing for kernels that load only signed modules.

A key and certificate made the way DKMS makes its MOK (RSA 2048, self-signed,
100 years, DER certificate for ``mokutil``), kept in the user's data folder
with the private key readable by the user alone; or an existing DKMS,
akmods or Ubuntu MOK when the user can read it. Signing uses the kernel's
own ``scripts/sign-file`` from the headers tree with the hash the kernel's
config names, so the result is what the kernel's ``modules_sign`` would make.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kmodgui.core.kernel_state import config_value, kernel_config
from kmodgui.core.modfile import read_module_info
from kmodgui.core.paths import Root
from kmodgui.core.workbench.errors import SigningError
from kmodgui.core.workbench.headers import build_dir

KEY_NAME = "mok.key"
CERT_NAME = "mok.der"
DAYS = 36500  # DKMS's choice: the key outlives the machine
# MOKs other tools made, (private key, DER certificate), the first readable one is reused
KNOWN_MOKS = (
    ("DKMS", "/var/lib/dkms/mok.key", "/var/lib/dkms/mok.pub"),
    ("akmods", "/etc/pki/akmods/private/private_key.priv", "/etc/pki/akmods/certs/public_key.der"),
    ("Ubuntu shim-signed", "/var/lib/shim-signed/mok/MOK.priv", "/var/lib/shim-signed/mok/MOK.der"),
)
TIMEOUT = 120


@dataclass(frozen=True)
class SigningKey:
    """A private key and its certificate, and who made them."""

    key: Path
    cert: Path
    origin: str  # "kmodgui", "DKMS", "akmods", ...

    @property
    def readable(self) -> bool:
        return os.access(self.key, os.R_OK) and os.access(self.cert, os.R_OK)


def data_dir() -> Path:
    """``$XDG_DATA_HOME/kmodgui/signing`` (``~/.local/share`` by default)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kmodgui" / "signing"


def own_key() -> SigningKey:
    directory = data_dir()
    return SigningKey(directory / KEY_NAME, directory / CERT_NAME, "kmodgui")


def known_keys(root: Root) -> list[SigningKey]:
    """Every MOK pair present on the system (readable or not), ours first."""
    found = []
    mine = own_key()
    if mine.key.exists() and mine.cert.exists():
        found.append(mine)
    for origin, key, cert in KNOWN_MOKS:
        pair = SigningKey(root.path(key), root.path(cert), origin)
        if pair.cert.exists() or pair.key.exists():
            found.append(pair)
    return found


def find_key(root: Root) -> SigningKey | None:
    """The key to sign with: ours, else the first readable DKMS/akmods/Ubuntu MOK."""
    for pair in known_keys(root):
        if pair.readable:
            return pair
    return None


def _openssl() -> str:
    tool = shutil.which("openssl")
    if tool is None:
        raise SigningError("openssl is not installed",
                           hint="Install it (Debian: apt-get install openssl).")
    return tool


def generate_key(subject: str | None = None) -> SigningKey:
    """Make our own key and certificate as DKMS does; never replaces an existing one."""
    target = own_key()
    if target.key.exists() or target.cert.exists():
        raise SigningError(f"{target.key} already exists",
                           hint="kmodgui keygen reuses it; delete both files to make a new one "
                                "(and enroll the new certificate).")
    subject = subject or f"kmodgui module signing key ({os.environ.get('USER') or os.getuid()}"\
                         f"@{socket.gethostname()})"
    directory = target.key.parent
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        directory.chmod(0o700)
        work = Path(tempfile.mkdtemp(prefix=".keygen-", dir=directory))  # 0700
    except OSError as exc:
        raise SigningError(f"cannot create {directory}: {exc.strerror or exc}") from exc
    try:
        key, cert = work / KEY_NAME, work / CERT_NAME
        command = [_openssl(), "req", "-new", "-x509", "-nodes", "-days", str(DAYS),
                   "-subj", "/CN=" + subject.replace("/", "-"), "-newkey", "rsa:2048",
                   "-keyout", str(key), "-outform", "DER", "-out", str(cert)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT,
                              check=False, env=dict(os.environ, LC_ALL="C"))
        if done.returncode != 0 or not key.exists() or not cert.exists():
            raise SigningError("openssl could not make the key: "
                               + (done.stderr.strip().splitlines() or ["no output"])[-1])
        key.chmod(0o600)
        cert.chmod(0o644)
        os.rename(cert, target.cert)
        os.rename(key, target.key)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def sign_file_tool(root: Root) -> Path:
    """The kernel's ``scripts/sign-file`` in the release's build tree."""
    tool = build_dir(root) / "scripts" / "sign-file"
    if not os.access(tool, os.X_OK):
        raise SigningError(f"no {tool}",
                           hint=f"Install the kernel headers for {root.release}: they ship "
                                "sign-file (Debian: linux-kbuild).")
    return tool


def signature_hash(root: Root) -> str:
    """``CONFIG_MODULE_SIG_HASH`` of the release (sha256 when the config does not say)."""
    return config_value(kernel_config(root), "CONFIG_MODULE_SIG_HASH") or "sha256"


@dataclass(frozen=True)
class SignResult:
    module: Path
    key: SigningKey
    hash: str
    signer: str
    sig_key: str
    sig_hashalgo: str
    replaced: bool  # an older signature was removed first


def sign_module(module: Path, root: Root, key: SigningKey) -> SignResult:
    """Sign ``module`` in place (atomically) with ``key``; an old signature is replaced."""
    info = read_module_info(module)  # raises ModuleFileError for a non-module
    if info.compression is not None:
        raise SigningError(f"{module} is compressed ({info.compression})",
                           hint="Sign the .ko before compressing it, as the kernel does.")
    if not key.readable:
        raise SigningError(f"cannot read {key.key}",
                           hint="That key belongs to root; sign as root, or make your own "
                                "with kmodgui keygen.")
    tool = sign_file_tool(root)
    algorithm = signature_hash(root)
    directory = module.parent
    try:
        fd, unsigned_name = tempfile.mkstemp(prefix=f".{module.name}.", dir=directory)
    except OSError as exc:
        raise SigningError(f"cannot write in {directory}: {exc.strerror or exc}",
                           hint="Signing replaces the file: the folder must be yours.") from exc
    unsigned = Path(unsigned_name)
    signed = unsigned.with_name(unsigned.name + ".signed")
    try:
        data = module.read_bytes()
        if info.signature is not None:
            data = data[:info.signature.offset]
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        done = subprocess.run([str(tool), algorithm, str(key.key), str(key.cert),
                               str(unsigned), str(signed)], capture_output=True, text=True,
                              timeout=TIMEOUT, check=False, env=dict(os.environ, LC_ALL="C"))
        if done.returncode != 0 or not signed.exists():
            raise SigningError("sign-file failed: " + (done.stderr.strip() or done.stdout.strip()
                                                       or f"exit status {done.returncode}"))
        os.chmod(signed, module.stat().st_mode & 0o777)
        os.replace(signed, module)
    except OSError as exc:
        raise SigningError(f"cannot sign {module}: {exc.strerror or exc}") from exc
    finally:
        unsigned.unlink(missing_ok=True)
        signed.unlink(missing_ok=True)
    after = read_module_info(module).signature
    if after is None:
        raise SigningError(f"{module} has no signature after sign-file ran")
    return SignResult(module, key, algorithm, after.signer_text, after.key_hex,
                      after.hash_algo, info.signature is not None)


def enrollment_steps(key: SigningKey) -> list[str]:
    """What makes the kernel trust ``key``: enroll its certificate as a MOK."""
    return [
        f"sudo mokutil --import {key.cert}",
        "  mokutil asks for a one-time password; remember it for the next boot.",
        "At the next boot shim's MOK manager (a blue screen) appears: choose 'Enroll MOK', "
        "'Continue', 'Yes', type that password, then 'Reboot'.",
        "From then on the kernel trusts modules signed with this key "
        f"(check: mokutil --test-key {key.cert}).",
    ]
