"""The signature appended to a kernel module, read as kmod 30's ``libkmod-signature.c`` does.

A signed module ends with::

    [ module ][ signer ][ key id ][ signature ][ struct module_signature ][ magic ]

``modinfo`` shows the signer, key and hash algorithm but verifies nothing;
neither do we. The rules here follow the kmod that Debian 12 installs (kmod 30
snapshot 20221128, built with OpenSSL): a PKCS#7 signature whose digest
algorithm is not in kmod's table, or that OpenSSL cannot parse, yields no
signature lines at all.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass

from asn1crypto import cms, core, parser, x509

SIG_MAGIC = b"~Module signature appended~\n"
# struct module_signature: algo, hash, id_type, signer_len, key_id_len, pad[3], be32 sig_len
MODSIG = struct.Struct(">BBBBB3xI")

PKEY_ALGO = ("DSA", "RSA")
PKEY_HASH_ALGO = ("md4", "md5", "sha1", "rmd160", "sha256", "sha384", "sha512", "sha224", "sm3")
PKEY_ID_TYPE = ("PGP", "X509", "PKCS#7")
PKEY_ID_PKCS7 = 2

# kmod 30's obj_to_hash_algo: the digest OIDs it knows (OpenSSL NIDs), by dotted OID.
DIGEST_OIDS = {
    "1.2.840.113549.2.4": "md4",
    "1.2.840.113549.2.5": "md5",
    "1.3.14.3.2.26": "sha1",
    "1.3.36.3.2.1": "rmd160",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "1.2.156.10197.1.401": "sm3",
}
COMMON_NAME_OID = "2.5.4.3"


@dataclass(frozen=True)
class ModuleSignature:
    """What ``modinfo`` reports about a signature (raw bytes; see :func:`hex_colons`)."""

    id_type: str        # sig_id: "PKCS#7" (or "PGP", "X509" for the old format)
    signer: bytes       # signer: the issuer's name as kmod finds it
    key_id: bytes       # sig_key: the serial number (PKCS#7) or the key identifier
    hash_algo: str      # sig_hashalgo
    signature: bytes    # signature: the signature value
    offset: int         # where the signature block starts (= the module's own length)

    @property
    def signer_text(self) -> str:
        """The signer as ``modinfo`` prints it (C string: cut at the first NUL)."""
        return self.signer.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")

    @property
    def key_hex(self) -> str:
        return hex_colons(self.key_id, wrap=False)

    @property
    def signature_hex(self) -> str:
        return hex_colons(self.signature, wrap=False)


def hex_colons(data: bytes, *, wrap: bool = True) -> str:
    """``01:AB:…`` as modinfo prints it: 20 bytes a line, then a newline and two tabs."""
    if not wrap:
        return ":".join(f"{b:02X}" for b in data)
    lines = [":".join(f"{b:02X}" for b in data[i:i + 20]) for i in range(0, len(data), 20)]
    return ":\n\t\t".join(lines)


def read_signature(data: bytes | bytearray | mmap.mmap) -> ModuleSignature | None:
    """The signature at the end of a (decompressed) module image, or None as kmod decides."""
    view = data  # sliced, never wrapped in a memoryview: the caller may close an mmap
    size = len(view)
    if size < len(SIG_MAGIC) or bytes(view[size - len(SIG_MAGIC):]) != SIG_MAGIC:
        return None
    size -= len(SIG_MAGIC)
    if size < MODSIG.size:
        return None
    size -= MODSIG.size
    algo, hash_index, id_type, signer_len, key_id_len, sig_len = MODSIG.unpack_from(view, size)
    if algo >= len(PKEY_ALGO) or hash_index >= len(PKEY_HASH_ALGO) or id_type >= len(PKEY_ID_TYPE):
        return None
    if sig_len == 0 or size < signer_len + key_id_len + sig_len:
        return None
    sig_start = size - sig_len
    raw = bytes(view[sig_start:size])
    if id_type == PKEY_ID_PKCS7:
        return _from_pkcs7(raw, sig_start - signer_len - key_id_len)
    key_start = sig_start - key_id_len
    signer_start = key_start - signer_len
    return ModuleSignature(
        id_type=PKEY_ID_TYPE[id_type],
        signer=bytes(view[signer_start:key_start]),
        key_id=bytes(view[key_start:sig_start]),
        hash_algo=PKEY_HASH_ALGO[hash_index],
        signature=raw,
        offset=signer_start,
    )


# Parsed PKCS#7 headers: every module signed with one key shares the DER bytes in
# front of the signature value, so the catalog parses them once (see _from_pkcs7).
_PREFIX_CACHE: dict[bytes, tuple[bytes, bytes, str, int]] = {}
_PREFIX_CACHE_MAX = 16


def _from_pkcs7(raw: bytes, offset: int) -> ModuleSignature | None:
    """kmod's ``fill_pkcs7`` with a cache: the same structure parses the same way.

    A cached prefix ends with the header of the signature's OCTET STRING, so
    it fixes every length and field; the bytes after it are opaque signature.
    """
    for prefix, (signer, key_id, hash_algo, sig_len) in _PREFIX_CACHE.items():
        if len(raw) >= len(prefix) + sig_len and raw.startswith(prefix):
            signature = raw[len(prefix):len(prefix) + sig_len]
            return ModuleSignature(PKEY_ID_TYPE[PKEY_ID_PKCS7], signer, key_id, hash_algo,
                                   signature, offset)
    result = parse_pkcs7(raw, offset)
    if result is not None and len(_PREFIX_CACHE) < _PREFIX_CACHE_MAX:
        sig_len = len(result.signature)
        # the value's position from the DER, valid only when it is the last thing parsed
        end = _der_end(raw)
        header = b"\x04" + _der_length(sig_len)
        start = None if end is None else end - sig_len
        if (start is not None and sig_len and raw[start:end] == result.signature
                and raw[start - len(header):start] == header):
            _PREFIX_CACHE[raw[:start]] = (result.signer, result.key_id,
                                                 result.hash_algo, sig_len)
    return result


def _der_length(length: int) -> bytes:
    """The DER encoding of a length."""
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der_end(raw: bytes) -> int | None:
    """End offset of the outermost DER element (definite lengths only)."""
    if len(raw) < 2 or raw[0] != 0x30:
        return None
    first = raw[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or len(raw) < 2 + count:
        return None
    return 2 + count + int.from_bytes(raw[2:2 + count], "big")


def parse_pkcs7(raw: bytes, offset: int = 0) -> ModuleSignature | None:
    """kmod's ``fill_pkcs7``: first SignerInfo's issuer, serial, digest and signature."""
    try:
        info = cms.ContentInfo.load(raw)
        # OpenSSL decodes the whole structure and refuses it on any error; asn1crypto
        # parses on access, so make it decode everything the same way
        _decode_all(info)
        if info["content_type"].dotted != "1.2.840.113549.1.7.2":  # signedData
            return None
        signer_info = info["content"]["signer_infos"][0]
        sid = signer_info["sid"]
        if sid.name != "issuer_and_serial_number":
            return None
        issuer_and_serial = sid.chosen
        hash_algo = DIGEST_OIDS.get(signer_info["digest_algorithm"]["algorithm"].dotted)
        signature = signer_info["signature"].contents
        serial = issuer_and_serial["serial_number"].native
        signer = _issuer_text(issuer_and_serial["issuer"])
    except Exception:  # asn1crypto parses lazily and raises many types on bad input
        return None
    if hash_algo is None:  # kmod 30 (d5950b0): unknown digest → no signature at all
        return None
    serial = abs(serial)
    key_id = serial.to_bytes((serial.bit_length() + 7) // 8, "big") if serial else b""
    return ModuleSignature(
        id_type=PKEY_ID_TYPE[PKEY_ID_PKCS7],
        signer=signer,
        key_id=key_id,
        hash_algo=hash_algo,
        signature=signature,
        offset=offset,
    )


# Fields OpenSSL decodes as ANY: an algorithm's parameters, a name attribute's value.
_ANY_FIELDS = {"parameters", "value"}
# Universal tags a name attribute value may have (OpenSSL's B_ASN1_PRINTABLE mask: the
# string types, SEQUENCE and the tags it calls "unknown").
_NAME_VALUE_TAGS = {7, 8, 9, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 25, 26, 27, 28, 29,
                    30}


def _decode_all(value: core.Asn1Value) -> None:
    """Decode every field as OpenSSL's ``d2i_PKCS7`` would, raising ValueError where it fails.

    asn1crypto decodes lazily and leniently; OpenSSL decodes everything at once and
    checks each primitive (integer padding, object identifier encoding, lengths of
    NULL, BOOLEAN and strings). ``ANY`` fields are checked by their own tag.
    """
    if isinstance(value, core.Choice):
        _decode_all(value.chosen)
    elif isinstance(value, core.Sequence | core.Set):
        for key in value:
            if key in _ANY_FIELDS and not isinstance(value, cms.SignerInfo | cms.ContentInfo):
                tlv = _second_tlv(value)
                if tlv is not None:
                    if key == "value" and (tlv[0] != 0 or tlv[2] not in _NAME_VALUE_TAGS):
                        raise ValueError("name attribute value of a type OpenSSL refuses")
                    _check_primitive(*tlv)
                continue
            child = value[key]
            if child is not None:
                _decode_all(child)
    elif isinstance(value, core.SequenceOf | core.SetOf):
        for child in value:
            _decode_all(child)
    elif not isinstance(value, core.Void):
        _check_primitive(value.class_, value.method, value.tag, value.contents or b"")
        value.native  # noqa: B018 - decoding is the point


def _second_tlv(sequence: core.Asn1Value) -> tuple[int, int, int, bytes] | None:
    """``(class, method, tag, contents)`` of the second element of a two-field SEQUENCE
    (algorithm + parameters, type + value), read from the raw bytes: asn1crypto would
    insist on the type it expects there, OpenSSL takes any."""
    raw = sequence.contents or b""
    first = parser.parse(raw, strict=False)
    size = len(first[3]) + len(first[4]) + len(first[5])
    if size >= len(raw):
        return None
    class_, method, tag, _, contents, _ = parser.parse(raw[size:], strict=False)
    return class_, method, tag, contents


def _check_pieces(raw: bytes) -> None:
    """The pieces of a constructed (BER) string parse as TLVs to the end, recursively."""
    while raw:
        _, method, _, header, contents, trailer = parser.parse(raw, strict=False)
        if method == 1:
            _check_pieces(contents)
        raw = raw[len(header) + len(contents) + len(trailer):]


def _check_primitive(class_: int, method: int, tag: int, contents: bytes) -> None:
    """OpenSSL's checks on one universal value (``asn1_ex_c2i`` and friends)."""
    if class_ != 0:
        return
    size = len(contents)
    if tag in (16, 17):
        if method != 1:
            raise ValueError("primitive SEQUENCE or SET")
        return
    if method == 1:  # a constructed string: OpenSSL collects its pieces, any tags
        _check_pieces(contents)
        return
    if tag == 1 and size != 1:
        raise ValueError("BOOLEAN not one byte")
    if tag == 5 and size:
        raise ValueError("NULL with contents")
    if tag in (2, 10):
        if not size:
            raise ValueError("empty INTEGER")
        if size > 1:
            pad = contents[0] == 0 or (contents[0] == 0xFF and any(contents[1:]))
            if pad and (contents[0] & 0x80) == (contents[1] & 0x80):
                raise ValueError("INTEGER with illegal padding")
    if tag == 3 and (not size or contents[0] > 7):
        raise ValueError("bad BIT STRING")
    if tag == 6:
        if not size or contents[-1] & 0x80:
            raise ValueError("malformed object identifier")
        for i, byte in enumerate(contents):
            if byte == 0x80 and (i == 0 or not contents[i - 1] & 0x80):
                raise ValueError("malformed object identifier")
    if tag == 12:
        contents.decode("utf-8")
    if tag == 30 and size % 2:
        raise ValueError("BMPString of odd length")
    if tag == 28 and size % 4:
        raise ValueError("UniversalString length not a multiple of 4")


def _issuer_text(name: x509.Name) -> bytes:
    """kmod's ``x509_name_to_str``: the first commonName, else the last entry, raw bytes.

    OpenSSL hands back the string's content octets and kmod takes them as a C
    string, so the value stops at its first NUL.
    """
    entries = [atv for rdn in name.chosen for atv in rdn]
    if not entries:
        return b""
    chosen = next((atv for atv in entries if atv["type"].dotted == COMMON_NAME_OID),
                  entries[-1])
    tlv = _second_tlv(chosen)
    return tlv[3].split(b"\0", 1)[0] if tlv is not None else b""
