"""The signature trailer and PKCS#7 fields, on crafted signatures, each checked against the
installed ``modinfo`` on the same file (kmod 30 with OpenSSL is the reference)."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kmgtest.fixtures_ko import SHA256, name_of, pkcs7, simple_module, trailer

from kmodgui.core.signature import ModuleSignature, hex_colons, read_signature

SIG_KEYS = ("sig_id", "signer", "sig_key", "sig_hashalgo", "signature")


def kmod_signature(path: Path) -> dict[str, str]:
    """The signature lines real modinfo prints for a file (continuation lines joined)."""
    out = subprocess.run(["modinfo", str(path)], capture_output=True, check=True).stdout
    fields: dict[str, str] = {}
    last = None
    for line in out.decode("utf-8", "surrogateescape").split("\n"):
        if line.startswith("\t\t") and last is not None:
            fields[last] += line[2:]
            continue
        key, _, value = line.partition(":")
        last = key if key in SIG_KEYS else None
        if last:
            fields[key] = value.lstrip(" ")
    return fields


def ours(sig: ModuleSignature | None) -> dict[str, str]:
    if sig is None:
        return {}
    return {"sig_id": sig.id_type, "signer": sig.signer_text, "sig_key": sig.key_hex,
            "sig_hashalgo": sig.hash_algo, "signature": hex_colons(sig.signature, wrap=False)}


CASES = {
    "plain": (trailer(pkcs7()), {"signer": "Test signing key", "sig_key": "12:34",
                                 "sig_hashalgo": "sha256"}),
    "no-common-name": (trailer(pkcs7(issuer=name_of([("country_name", "DE"),
                                                     ("organization_name", "Last RDN")]))),
                       {"signer": "Last RDN"}),
    "first-common-name": (trailer(pkcs7(issuer=name_of([("common_name", "First"),
                                                        ("common_name", "Second")]))),
                          {"signer": "First"}),
    "empty-issuer": (trailer(pkcs7(issuer=name_of([]))), {"signer": ""}),
    "serial-high-bit": (trailer(pkcs7(serial=0x80FF)), {"sig_key": "80:FF"}),
    "serial-zero": (trailer(pkcs7(serial=0)), {"sig_key": ""}),
    "serial-negative": (trailer(pkcs7(serial=-0x1234)), {"sig_key": "12:34"}),
    "serial-long": (trailer(pkcs7(serial=2**160 - 1)), {"sig_key": ":".join(["FF"] * 20)}),
    "rmd160": (trailer(pkcs7(digest_oid="1.3.36.3.2.1")), {"sig_hashalgo": "rmd160"}),
    "sm3": (trailer(pkcs7(digest_oid="1.2.156.10197.1.401")), {"sig_hashalgo": "sm3"}),
    "long-signature": (trailer(pkcs7(signature=bytes(range(256)) * 2)), {}),
    "x509-old-format": (trailer(b"SIG", id_type=1, hash_index=2, signer=b"Old\0Signer",
                                key_id=b"\xab\xcd"),
                        {"sig_id": "X509", "signer": "Old", "sig_key": "AB:CD",
                         "sig_hashalgo": "sha1", "signature": "53:49:47"}),
}
ABSENT = {
    "unknown-digest": trailer(pkcs7(digest_oid="1.2.3.4.5")),
    "sha256-with-rsa-oid": trailer(pkcs7(digest_oid="1.2.840.113549.1.1.11")),
    "garbage-pkcs7": trailer(b"\x30\x82\x01\x00garbage" * 8),
    "zero-length": trailer(pkcs7(), sig_len=0),
    "length-beyond-file": trailer(pkcs7(), sig_len=10**6),
    "bad-id-type": trailer(pkcs7(), id_type=3),
    "bad-hash-index": trailer(pkcs7(), hash_index=9),
    "bad-algo": trailer(pkcs7(), algo=2),
    "magic-only": b"~Module signature appended~\n",
    "no-trailer": b"",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_crafted_signature_as_modinfo_reads_it(tmp_path: Path, case: str) -> None:
    tail, expected = CASES[case]
    path = tmp_path / f"{case}.ko"
    path.write_bytes(simple_module("signed") + tail)
    sig = read_signature(path.read_bytes())
    assert sig is not None
    mine = ours(sig)
    for key, value in expected.items():
        assert mine[key] == value
    assert mine == kmod_signature(path)


@pytest.mark.parametrize("case", sorted(ABSENT))
def test_no_signature_lines_where_modinfo_prints_none(tmp_path: Path, case: str) -> None:
    path = tmp_path / f"{case}.ko"
    path.write_bytes(simple_module("unsigned") + ABSENT[case])
    assert read_signature(path.read_bytes()) is None
    assert kmod_signature(path) == {}


def test_hex_wraps_every_20_bytes_with_two_tabs() -> None:
    assert hex_colons(b"") == ""
    assert hex_colons(bytes([1, 0xAB])) == "01:AB"
    text = hex_colons(bytes(range(41)))
    lines = text.split("\n")
    assert [len(line.lstrip("\t").split(":")) - (1 if line.endswith(":") else 0)
            for line in lines] == [20, 20, 1]
    assert lines[0].endswith("13:") and lines[1].startswith("\t\t14:")


def test_offset_is_where_the_module_ends() -> None:
    module = simple_module("offset")
    sig = read_signature(module + trailer(pkcs7(), signer=b"", key_id=b""))
    assert sig is not None and sig.offset == len(module)
    old = read_signature(module + trailer(b"S", id_type=0, signer=b"ab", key_id=b"c"))
    assert old is not None and old.offset == len(module) and old.id_type == "PGP"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120), st.integers(0, 255), st.integers(0, 255), st.integers(0, 255),
       st.integers(0, 2**32 - 1), st.booleans())
def test_fuzz_never_raises(body: bytes, hash_index: int, id_type: int, signer_len: int,
                           sig_len: int, real_pkcs7: bool) -> None:
    sig = pkcs7(digest_oid=SHA256)[: len(body) or None] if real_pkcs7 else body
    data = sig + trailer(b"", id_type=id_type % 4, hash_index=hash_index % 10,
                         signer=b"s" * (signer_len % 5), sig_len=sig_len % (len(sig) + 3))
    result = read_signature(data)
    assert result is None or isinstance(result, ModuleSignature)


def test_mutated_signatures_read_as_modinfo_reads_them(tmp_path: Path) -> None:
    """Differential test: damaged PKCS#7 (bytes changed, cut, extended) in 300 files; one
    ``modinfo`` run over all of them must print exactly what we print. OpenSSL decodes
    the whole structure strictly, so this pins down our strictness too."""
    from kmodgui.cli.info import info

    rng = random.Random(20261127)
    bases = [pkcs7(), pkcs7(issuer=name_of([("country_name", "DE"), ("organization_name", "O"),
                                            ("common_name", "CN here")]),
                            serial=0x80FF, digest_oid="1.3.14.3.2.26")]
    module = simple_module("mutant")
    files = []
    for i in range(300):
        sig = bytearray(rng.choice(bases))
        for _ in range(rng.randint(1, 3)):
            sig[rng.randrange(len(sig))] = rng.randrange(256)
        if i % 10 == 0:
            sig = sig[:rng.randrange(1, len(sig))]
        elif i % 10 == 1:
            sig += bytes(rng.randrange(256) for _ in range(rng.randint(1, 9)))
        path = tmp_path / f"m{i}.ko"
        path.write_bytes(module + trailer(bytes(sig)))
        files.append(str(path))
    proc = subprocess.run(["modinfo", *files], capture_output=True)
    ours = info(files)
    assert (proc.stderr, proc.returncode) == (ours.stderr_bytes, ours.status)
    theirs_blocks = proc.stdout.split(b"filename:")
    ours_blocks = bytes(ours.stdout).split(b"filename:")
    assert len(theirs_blocks) == len(ours_blocks) == 301
    for theirs, mine in zip(theirs_blocks, ours_blocks, strict=True):
        assert mine == theirs
    signed = sum(b"sig_id:" in block for block in ours_blocks)
    assert 20 < signed < 280  # both outcomes are exercised
