"""``kmodgui keygen`` and ``kmodgui sign`` with a throw-away key, checked with kmod's modinfo."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from wbbuilds import NOBODY, Builds, Workspace

from kmodgui.core.kernel_state import config_value, kernel_config
from kmodgui.core.paths import Root
from kmodgui.core.workbench.signing import KNOWN_MOKS, find_key, known_keys, signature_hash


def modinfo_field(ko: Path, name: str) -> str:
    return subprocess.run(["modinfo", "-F", name, str(ko)], capture_output=True, text=True,
                          check=True).stdout.strip()


def cert_field(cert: Path, what: str) -> str:
    return subprocess.run(["openssl", "x509", "-inform", "DER", "-in", str(cert), "-noout",
                           what, "-nameopt", "multiline"], capture_output=True, text=True,
                          check=True).stdout


def fresh_module(ws: Workspace, builds: Builds, name: str) -> Path:
    ko = ws.path / name / "simplemodule.ko"
    ko.parent.mkdir()
    shutil.copy2(builds["template"].directory / "simplemodule.ko", ko)
    os.chown(ko.parent, *NOBODY)
    os.chown(ko, *NOBODY)
    return ko


def test_keygen_makes_a_private_key_once(workspace: Workspace) -> None:
    done = workspace.kmodgui("keygen", check_rc=0)
    signing = workspace.path / "home/.local/share/kmodgui/signing"
    key, cert = signing / "mok.key", signing / "mok.der"
    assert f"made a key: {key} (private, mode 0600)" in done.stdout
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and key.stat().st_uid == NOBODY[0]
    assert stat.S_IMODE(signing.stat().st_mode) == 0o700
    assert f"sudo mokutil --import {cert}" in done.stdout and "next boot" in done.stdout
    # a DER certificate like DKMS's: self-signed RSA 2048, about a hundred years
    assert "commonName" in cert_field(cert, "-subject")
    text = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", str(cert), "-noout",
                           "-text"], capture_output=True, text=True, check=True).stdout
    assert "Public-Key: (2048 bit)" in text and re.search(r"Not After : .* 21\d\d GMT", text)
    again = workspace.kmodgui("keygen", check_rc=0)
    assert f"reusing the kmodgui key: {key}" in again.stdout
    assert sorted(p.name for p in signing.iterdir()) == ["mok.der", "mok.key"]


def test_sign_gives_what_modinfo_shows(workspace: Workspace, builds: Builds) -> None:
    workspace.kmodgui("keygen", "--subject", "kmodgui test key", check_rc=0)
    ko = fresh_module(workspace, builds, "sign")
    done = workspace.kmodgui("sign", str(ko), check_rc=0)
    cert = workspace.path / "home/.local/share/kmodgui/signing/mok.der"
    # kmod's modinfo reads the signature kmodgui's sign wrote
    expected_hash = config_value(kernel_config(builds.root), "CONFIG_MODULE_SIG_HASH")
    assert expected_hash == "sha256"
    assert modinfo_field(ko, "signer") == "kmodgui test key"
    assert modinfo_field(ko, "sig_hashalgo") == expected_hash
    serial = cert_field(cert, "-serial").strip().split("=", 1)[1]
    assert modinfo_field(ko, "sig_key").replace(":", "").lstrip("0") == serial.lstrip("0")
    assert f"signer:          {modinfo_field(ko, 'signer')}" in done.stdout
    assert f"sig_key:         {modinfo_field(ko, 'sig_key')}" in done.stdout
    assert "sha256" in done.stdout and f"sudo mokutil --import {cert}" in done.stdout
    # kmodgui info says the same as modinfo about the signed file
    info = subprocess.run([sys.executable, "-m", "kmodgui", "info", str(ko)],
                          capture_output=True, text=True, check=False)
    modinfo = subprocess.run(["modinfo", str(ko)], capture_output=True, text=True, check=True)
    assert info.stdout == modinfo.stdout and "sig_id:         PKCS#7" in info.stdout
    # signing again replaces the signature instead of stacking another one
    size = ko.stat().st_size
    again = workspace.kmodgui("sign", str(ko), check_rc=0)
    assert again.stdout.startswith("re-signed ") and ko.stat().st_size == size


def test_sign_without_a_key_or_module(workspace: Workspace, builds: Builds) -> None:
    ko = fresh_module(workspace, builds, "nokey")
    done = workspace.kmodgui("sign", str(ko), check_rc=1)
    assert "no signing key yet" in done.stderr and "kmodgui keygen" in done.stderr
    before = ko.read_bytes()
    workspace.kmodgui("keygen", check_rc=0)
    not_module = workspace.write("junk.ko", "not a module\n")
    done = workspace.kmodgui("sign", str(not_module), check_rc=1)
    assert "Traceback" not in done.stderr and not_module.read_text() == "not a module\n"
    done = workspace.kmodgui("sign", str(ko), "--key", "/nonexistent", check_rc=1)
    assert "--key and --cert go together" in done.stderr and ko.read_bytes() == before
    assert [p.name for p in ko.parent.iterdir()] == ["simplemodule.ko"]  # no temporary left


def test_signature_hash_comes_from_the_kernel_config(builds: Builds, tmp_path: Path) -> None:
    assert signature_hash(builds.root) == "sha256"
    build = tmp_path / "lib/modules/9.9.9/build"
    build.mkdir(parents=True)
    (build / ".config").write_text('CONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG_HASH="sha512"\n')
    assert signature_hash(Root(tmp_path, "9.9.9")) == "sha512"


@pytest.mark.parametrize(("origin", "key", "cert"), KNOWN_MOKS)
def test_an_existing_mok_is_reused(origin: str, key: str, cert: str, tmp_path: Path) -> None:
    """A DKMS/akmods/Ubuntu MOK the user can read is used instead of making another."""
    key_path, cert_path = tmp_path / key.lstrip("/"), tmp_path / cert.lstrip("/")
    key_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["openssl", "req", "-new", "-x509", "-nodes", "-days", "1", "-subj",
                    f"/CN={origin}", "-newkey", "rsa:2048", "-keyout", str(key_path),
                    "-outform", "DER", "-out", str(cert_path)], capture_output=True, check=True)
    found = find_key(Root(tmp_path))
    assert found is not None and (found.origin, found.key, found.cert) == (
        origin, key_path, cert_path)
    assert [k.origin for k in known_keys(Root(tmp_path))] == [origin]
