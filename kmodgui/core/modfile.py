"""Kernel module files: decompress, find the ELF sections kmod reads, the signature.

Why a module of its own: the catalog reads every installed module (thousands),
the detail pane and ``kmodgui info`` read one, and all must see exactly what
kmod sees. Compression is chosen by magic bytes as ``libkmod-file.c`` does
(zstd, xz; gzip as well, which Debian's kmod lacks), uncompressed files are
mapped rather than read, and failures are :class:`ModuleFileError` carrying
kmod's errno so the CLI can print kmod's words.
"""

from __future__ import annotations

import errno
import functools
import gzip
import lzma
import mmap
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from kmodgui.core.elf import ElfError, ElfFile
from kmodgui.core.errors import ModuleFileError
from kmodgui.core.signature import ModuleSignature, read_signature

MAGIC_ZSTD = b"\x28\xb5\x2f\xfd"
MAGIC_XZ = b"\xfd7zXZ\x00"
MAGIC_GZIP = b"\x1f\x8b"
# kmod reads this many bytes to choose a decompressor; shorter files are invalid
MAGIC_PROBE = 6
# where struct module keeps its name in .gnu.linkonce.this_module (after state + list_head)
THIS_MODULE_NAME_OFFSET = {32: 12, 64: 24}
MODULE_NAME_LEN = {32: 60, 64: 56}
MODVERSION_SIZE = 64

SECTIONS = (".modinfo", "__versions", ".gnu.linkonce.this_module")


class ModuleFormatError(ModuleFileError):
    """A module file kmod would refuse; ``errno`` is the reason kmod reports."""

    def __init__(self, message: str, *, errno_value: int = errno.EINVAL,
                 hint: str = "The file is not a kernel module that kmod can read.") -> None:
        super().__init__(message, hint=hint)
        self.errno = errno_value


def error_errno(exc: ModuleFileError) -> int:
    """The errno kmod would report for ``exc`` (``EINVAL`` when it has none)."""
    value = getattr(exc, "errno", None)
    return value if isinstance(value, int) else errno.EINVAL


def compression_of(head: bytes) -> str | None:
    """``"zstd"``, ``"xz"``, ``"gzip"`` or None (uncompressed) from the first bytes."""
    if head.startswith(MAGIC_ZSTD):
        return "zstd"
    if head.startswith(MAGIC_XZ):
        return "xz"
    if head.startswith(MAGIC_GZIP):
        return "gzip"
    return None


def decompress(data: bytes, kind: str) -> bytes:
    """The module image inside ``data``, decoded as kmod's loaders do."""
    try:
        if kind == "zstd":
            return _unzstd(data)
        if kind == "xz":
            return _unxz(data)
        if kind == "gzip":
            return gzip.decompress(data)
    except (lzma.LZMAError, zstandard.ZstdError, zlib.error, gzip.BadGzipFile,
            EOFError) as exc:
        raise ModuleFormatError(f"{kind}: {exc}",
                                hint="The compressed module file is damaged.") from exc
    raise ValueError(f"unknown compression {kind!r}")


def _unzstd(data: bytes) -> bytes:
    """Every frame, streaming like kmod: frames without a content size are fine, and a
    truncated last frame gives what was decoded so far (kmod does not notice either)."""
    out = []
    rest = data
    while rest:
        obj = zstandard.ZstdDecompressor().decompressobj()
        out.append(obj.decompress(rest))
        rest = obj.unused_data
    return b"".join(out)


def _unxz(data: bytes) -> bytes:
    """Concatenated xz streams with stream padding (``LZMA_CONCATENATED``)."""
    out = []
    rest = data
    while True:
        dec = lzma.LZMADecompressor(lzma.FORMAT_XZ)
        out.append(dec.decompress(rest))
        if not dec.eof:
            raise lzma.LZMAError("Unexpected end of input")
        rest = dec.unused_data.lstrip(b"\0")  # padding between streams
        if not rest:
            return b"".join(out)


def split_modinfo(raw: bytes) -> list[tuple[str, str]]:
    """``.modinfo`` entries in file order, repeats kept, values unstripped.

    kmod's ``kmod_elf_get_strings``: leading NULs skipped, entries separated by
    runs of NUL, each split at its first ``=`` (an entry without one is a key
    with an empty value). Text is decoded with ``surrogateescape`` so that
    encoding it back gives the exact bytes.
    """
    start = 0
    while start < len(raw) - 1 and raw[start] == 0:
        start += 1
    if len(raw) - start <= 1:
        return []
    entries = []
    for item in raw[start:].split(b"\0"):
        if not item:
            continue
        key, _, value = item.partition(b"=")
        entries.append((key.decode("utf-8", "surrogateescape"),
                        value.decode("utf-8", "surrogateescape")))
    return entries


def split_versions(raw: bytes, bits: int, big_endian: bool) -> list[tuple[int, str]]:
    """``__versions``: (crc, symbol) pairs; an unaligned section gives none (as kmod)."""
    if not raw or len(raw) % MODVERSION_SIZE:
        return []
    layout = (">" if big_endian else "<") + ("I60s" if bits == 32 else "Q56s")
    result = []
    for crc, name in struct.iter_unpack(layout, raw):
        name = name.split(b"\0", 1)[0]
        if name[:1] == b".":
            name = name[1:]
        result.append((crc, name.decode("utf-8", "surrogateescape")))
    return result


def this_module_name(raw: bytes | None, bits: int) -> str | None:
    """The name the kernel will give the module (``struct module.name``)."""
    if raw is None:
        return None
    start = THIS_MODULE_NAME_OFFSET[bits]
    field_bytes = raw[start:start + MODULE_NAME_LEN[bits]]
    if len(field_bytes) < MODULE_NAME_LEN[bits]:
        return None
    return field_bytes.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


@dataclass
class ModuleInfo:
    """What a module file says about itself (everything ``modinfo`` prints, and more)."""

    path: str
    modinfo: list[tuple[str, str]] = field(default_factory=list)
    name: str | None = None                 # from .gnu.linkonce.this_module
    signature: ModuleSignature | None = None
    compression: str | None = None          # "zstd", "xz", "gzip" or None
    image_size: int = 0                     # bytes of the (decompressed) ELF image
    # __versions as stored; decoded on first use (the catalog never needs it)
    versions_raw: bytes = b""
    bits: int = 64
    big_endian: bool = False

    @functools.cached_property
    def versions(self) -> list[tuple[int, str]]:
        """``__versions``: (crc, symbol) pairs, as ``modprobe --dump-modversions`` lists them."""
        return split_versions(self.versions_raw, self.bits, self.big_endian)

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of ``key`` (``modinfo -F`` prints all; this is the common case)."""
        for k, v in self.modinfo:
            if k == key:
                return v
        return default

    def get_all(self, key: str) -> list[str]:
        """Every value of ``key`` in file order (alias, firmware, parm, …)."""
        return [v for k, v in self.modinfo if k == key]


def read_image(path: str | os.PathLike[str]) -> tuple[bytes | mmap.mmap, str | None]:
    """The decompressed module image and its compression, mapped when uncompressed.

    The caller closes an ``mmap`` it gets back (:func:`read_module_info` does).
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(MAGIC_PROBE)
            if len(head) < MAGIC_PROBE:
                raise ModuleFormatError(f"{os.fspath(path)}: file too short to be a module")
            kind = compression_of(head)
            if kind is None:
                return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ), None
            handle.seek(0)
            data = handle.read()
    except OSError as exc:
        raise ModuleFormatError(f"{os.fspath(path)}: {exc.strerror or exc}",
                                errno_value=exc.errno or errno.EIO,
                                hint="Check that the file exists and is readable.") from exc
    except ValueError as exc:  # mmap of something that is not a regular file
        raise ModuleFormatError(f"{os.fspath(path)}: {exc}") from exc
    return decompress(data, kind), kind


def info_from_image(image: bytes | mmap.mmap, path: str,
                    compression: str | None = None) -> ModuleInfo:
    """Parse a module image in memory (the part of :func:`read_module_info` without I/O)."""
    try:
        elf = ElfFile(image)
        found = elf.find_sections(*SECTIONS)
    except ElfError as exc:
        raise ElfError(f"{path}: {exc.message}", errno_value=exc.errno) from exc
    if ".modinfo" not in found:
        raise ModuleFormatError(f"{path}: no .modinfo section", errno_value=errno.ENOENT,
                                hint="The file is an ELF object but not a kernel module.")
    bits, big = elf.header.bits, elf.header.big_endian
    return ModuleInfo(
        path=path,
        modinfo=split_modinfo(found[".modinfo"]),
        versions_raw=found.get("__versions", b""),
        bits=bits,
        big_endian=big,
        name=this_module_name(found.get(".gnu.linkonce.this_module"), bits),
        signature=read_signature(image),
        compression=compression,
        image_size=len(image),
    )


def read_module_info(path: str | os.PathLike[str]) -> ModuleInfo:
    """Everything a module file says about itself; the fast entry point for bulk reading.

    Raises :class:`ModuleFileError` (with ``errno``) for anything kmod would refuse:
    not ELF, truncated, no ``.modinfo``, bad compression, unreadable.
    """
    image, kind = read_image(path)
    try:
        return info_from_image(image, os.fspath(path), kind)
    finally:
        if isinstance(image, mmap.mmap):
            image.close()


class ModuleFile:
    """One module file opened for repeated questions (the detail pane, ``kmodgui info``)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        image, self.compression = read_image(path)
        try:
            self.image = bytes(image)
        finally:
            if isinstance(image, mmap.mmap):
                image.close()

    @property
    def elf(self) -> ElfFile:
        return ElfFile(self.image)

    def info(self) -> ModuleInfo:
        return info_from_image(self.image, os.fspath(self.path), self.compression)


__all__ = [
    "ElfError", "ModuleFile", "ModuleFormatError", "ModuleInfo", "compression_of",
    "decompress", "error_errno", "read_image", "read_module_info", "split_modinfo",
]
