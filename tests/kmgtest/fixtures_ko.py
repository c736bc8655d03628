"""Crafting kernel-module-shaped files for edge cases the real kernel tree lacks.

The files are small but real ELF relocatable objects (any byte order and
class), so both kmod's ``modinfo`` and our reader can be run on the same bytes
and compared. Signatures are real PKCS#7 structures built with asn1crypto.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from asn1crypto import algos, cms, core, x509

SIG_MAGIC = b"~Module signature appended~\n"
SHA256 = "2.16.840.1.101.3.4.2.1"


def modinfo_section(*entries: str | bytes) -> bytes:
    """A ``.modinfo`` payload: each entry NUL-terminated."""
    return b"".join((e.encode() if isinstance(e, str) else e) + b"\0" for e in entries)


def this_module(name: str, bits: int = 64) -> bytes:
    """A ``.gnu.linkonce.this_module`` payload carrying ``name`` where the kernel keeps it."""
    offset, size = (24, 56) if bits == 64 else (12, 60)
    return b"\0" * offset + name.encode().ljust(size, b"\0") + b"\0" * 64


def versions_section(pairs: Sequence[tuple[int, str]], bits: int = 64,
                     big: bool = False) -> bytes:
    layout = (">" if big else "<") + ("Q56s" if bits == 64 else "I60s")
    return b"".join(struct.pack(layout, crc, name.encode()) for crc, name in pairs)


def build_elf(sections: Sequence[tuple[str, bytes]], *, bits: int = 64, big: bool = False,
              shentsize: int | None = None, strtab_terminated: bool = True,
              elf_class: int | None = None, elf_data: int | None = None) -> bytes:
    """An ET_REL ELF file with the given sections (plus ``.shstrtab``), headers at the end."""
    end = ">" if big else "<"
    ehdr_size = 64 if bits == 64 else 52
    shdr_fmt = end + ("IIQQQQIIQQ" if bits == 64 else "IIIIIIIIII")
    shdr_size = struct.calcsize(shdr_fmt)
    names = b"\0"
    name_offsets = []
    for name, _ in [*sections, (".shstrtab", b"")]:
        name_offsets.append(len(names))
        names += name.encode() + b"\0"
    if not strtab_terminated:
        names = names[:-1] + b"X"
    body = b""
    placed = []
    for (_, data), name_off in zip(sections, name_offsets, strict=False):
        placed.append((name_off, ehdr_size + len(body), len(data)))
        body += data
        body += b"\0" * (-len(body) % 8)
    placed.append((name_offsets[-1], ehdr_size + len(body), len(names)))
    body += names
    body += b"\0" * (-len(body) % 8)
    shoff = ehdr_size + len(body)
    table = b"\0" * shdr_size
    for name_off, offset, size in placed:
        table += struct.pack(shdr_fmt, name_off, 1, 0, 0, offset, size, 0, 0, 1, 0)
    shnum = len(placed) + 1
    ident = b"\x7fELF" + bytes([elf_class or (2 if bits == 64 else 1),
                                elf_data or (2 if big else 1), 1]) + b"\0" * 9
    fields = (1, 62, 1, 0, 0, shoff, 0, ehdr_size, 0, 0, shentsize or shdr_size, shnum,
              shnum - 1)
    ehdr = ident + struct.pack(end + ("HHIQQQIHHHHHH" if bits == 64 else "HHIIIIIHHHHHH"),
                               *fields)
    return ehdr + body + table


def simple_module(name: str = "crafted", *entries: str | bytes, bits: int = 64,
                  big: bool = False) -> bytes:
    """A module-shaped ELF with the given ``.modinfo`` entries (default: a few usual ones)."""
    if not entries:
        entries = ("license=GPL", "description=crafted for tests", f"name={name}",
                   "vermagic=6.1.0 SMP mod_unload ")
    return build_elf([(".text", b"\xc3" * 16), (".modinfo", modinfo_section(*entries)),
                      ("__versions", versions_section([(0x1234, "module_layout")], bits, big)),
                      (".gnu.linkonce.this_module", this_module(name, bits))],
                     bits=bits, big=big)


def name_of(attributes: Sequence[tuple[str, str]]) -> x509.Name:
    """An X.509 name with one attribute per RDN, in the order given (types by asn1crypto
    name, such as ``common_name``; asn1crypto picks each value's string type)."""
    rdns = [x509.Name.build({kind: value}).chosen[0] for kind, value in attributes]
    return x509.Name(name="", value=x509.RDNSequence(rdns))


def pkcs7(*, issuer: x509.Name | None = None, serial: int = 0x1234,
          digest_oid: str = SHA256, signature: bytes = b"\x5a" * 32) -> bytes:
    """A detached PKCS#7 SignedData as ``sign-file`` writes it (one SignerInfo, no certs)."""
    if issuer is None:
        issuer = name_of([("organization_name", "Test Org"),
                          ("common_name", "Test signing key")])
    digest = algos.DigestAlgorithm({"algorithm": digest_oid})
    signer = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier({
            "issuer_and_serial_number": cms.IssuerAndSerialNumber({
                "issuer": issuer, "serial_number": serial})}),
        "digest_algorithm": digest,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"}),
        "signature": core.OctetString(signature),
    })
    signed = cms.SignedData({
        "version": "v1",
        "digest_algorithms": [digest],
        "encap_content_info": {"content_type": "data"},
        "signer_infos": [signer],
    })
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()


def trailer(sig: bytes, *, algo: int = 0, hash_index: int = 0, id_type: int = 2,
            signer: bytes = b"", key_id: bytes = b"", sig_len: int | None = None) -> bytes:
    """The bytes appended after a module: signer, key id, signature, struct, magic."""
    modsig = struct.pack(">BBBBB3xI", algo, hash_index, id_type, len(signer), len(key_id),
                         len(sig) if sig_len is None else sig_len)
    return signer + key_id + sig + modsig + SIG_MAGIC
