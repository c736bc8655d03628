"""Reading the section table of an ELF kernel module, as kmod's ``libkmod-elf.c`` does.

Why not pyelftools for everything: the catalog reads ``.modinfo`` from
thousands of files, and pyelftools' object model is about 15× slower than
one ``struct`` walk over the section table. This reader does only what a
module needs (find a section by name, return its bytes), checks every
``(offset, size)`` against the buffer before reading, and accepts exactly the
files kmod 30 accepts, with the same errno, so ``kmodgui info`` can report
kmod's words. ``tests/core/test_elf.py`` checks it against pyelftools on every
module of a real kernel.
"""

from __future__ import annotations

import errno
import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from kmodgui.core.errors import ModuleFileError

ELF_MAGIC = b"\x7fELF"
EI_NIDENT = 16
ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB, ELFDATA2MSB = 1, 2
SHT_NOBITS = 8

# What the reader accepts: anything the buffer protocol and slicing work on.
Buffer = bytes | bytearray | memoryview | mmap.mmap


class ElfError(ModuleFileError):
    """The bytes are not an ELF file kmod would read; ``errno`` is kmod's reason."""

    def __init__(self, message: str, *, errno_value: int = errno.EINVAL) -> None:
        super().__init__(message, hint="The file is not a valid kernel module.")
        self.errno = errno_value


@dataclass(frozen=True)
class ElfHeader:
    """The fields of ``Elf32_Ehdr``/``Elf64_Ehdr`` after ``e_ident``."""

    # after the 16-byte e_ident; byte order is prefixed at unpack time
    FORMATS: ClassVar[dict[int, str]] = {32: "HHIIIIIHHHHHH", 64: "HHIQQQIHHHHHH"}
    SIZES: ClassVar[dict[int, int]] = {32: 52, 64: 64}

    bits: int
    big_endian: bool
    type: int
    machine: int
    version: int
    entry: int
    phoff: int
    shoff: int
    flags: int
    ehsize: int
    phentsize: int
    phnum: int
    shentsize: int
    shnum: int
    shstrndx: int

    @property
    def endian(self) -> str:
        return ">" if self.big_endian else "<"


@dataclass(frozen=True)
class SectionHeader:
    """One ``Elf32_Shdr``/``Elf64_Shdr`` entry."""

    FORMATS: ClassVar[dict[int, str]] = {32: "IIIIIIIIII", 64: "IIQQQQIIQQ"}
    SIZES: ClassVar[dict[int, int]] = {32: 40, 64: 64}

    name: int
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int


@dataclass(frozen=True)
class Section:
    """A section found by name: its index, header and name."""

    index: int
    header: SectionHeader
    name: str


def identify(data: Buffer) -> tuple[int, bool]:
    """``(bits, big_endian)`` of an ELF image, or :class:`ElfError` as kmod's ``elf_identify``."""
    size = len(data)
    if size <= EI_NIDENT or bytes(data[:4]) != ELF_MAGIC:
        raise ElfError("not an ELF file", errno_value=errno.ENOEXEC)
    elf_class, elf_data = data[4], data[5]
    if elf_class == ELFCLASS32:
        bits = 32
    elif elf_class == ELFCLASS64:
        bits = 64
    else:
        raise ElfError(f"unknown ELF class {elf_class}")
    if size <= ElfHeader.SIZES[bits]:
        raise ElfError("file too short for an ELF header")
    if elf_data not in (ELFDATA2LSB, ELFDATA2MSB):
        raise ElfError(f"unknown ELF byte order {elf_data}")
    return bits, elf_data == ELFDATA2MSB


class ElfFile:
    """The section table of an ELF image held in memory (bytes, mmap, memoryview).

    Construction validates what kmod's ``kmod_elf_new`` validates: class, byte
    order, section entry size, the table inside the file, and a string table
    that ends with NUL.
    """

    def __init__(self, data: Buffer) -> None:
        # bytes and mmap slice to bytes and have find(); a memoryview does not,
        # and holding none lets the caller close its mmap afterwards
        self.data: bytes | bytearray | mmap.mmap = (
            bytes(data) if isinstance(data, memoryview) else data)
        self.size = len(self.data)
        bits, big = identify(data)
        endian = ">" if big else "<"
        fields = struct.unpack_from(endian + ElfHeader.FORMATS[bits], data, EI_NIDENT)
        self.header = ElfHeader(bits, big, *fields)
        self._shdr = struct.Struct(endian + SectionHeader.FORMATS[bits])
        hdr = self.header
        if hdr.shentsize != self._shdr.size:
            raise ElfError(f"unexpected section header size {hdr.shentsize}")
        if hdr.shoff + hdr.shentsize * hdr.shnum > self.size:
            raise ElfError("file too short to hold its section table")
        strtab = self._section_range(hdr.shstrndx)
        if strtab is None:
            raise ElfError("no valid section name table")
        self._names_offset, self._names_size = strtab
        if self._names_size == 0 or self._byte(self._names_offset + self._names_size - 1) != 0:
            raise ElfError("section name table does not end with NUL")

    def _byte(self, offset: int) -> int:
        if not 0 <= offset < self.size:
            raise ElfError(f"offset {offset} outside the file")
        return self.data[offset]

    def section_header(self, index: int) -> SectionHeader | None:
        """Header ``index`` (1-based as kmod: 0 is SHN_UNDEF), or None when out of range."""
        if index <= 0 or index >= self.header.shnum:
            return None
        offset = self.header.shoff + index * self.header.shentsize
        return SectionHeader(*self._shdr.unpack_from(self.data, offset))

    def _section_range(self, index: int) -> tuple[int, int] | None:
        """``(offset, size)`` of a section whose bytes lie inside the file (kmod's rule)."""
        shdr = self.section_header(index)
        if shdr is None or shdr.offset + shdr.size > self.size:
            return None
        return shdr.offset, shdr.size

    def section_name(self, shdr: SectionHeader) -> str | None:
        """The section's name from the name table, or None when its offset is outside it."""
        if shdr.name >= self._names_size:
            return None
        start = self._names_offset + shdr.name
        end = self._names_offset + self._names_size
        raw = bytes(self.data[start:end])
        return raw[:raw.index(b"\0")].decode("utf-8", "surrogateescape")

    def sections(self) -> Iterator[Section]:
        """Every section kmod would consider: inside the file, with a readable name."""
        names = bytes(self.data[self._names_offset:self._names_offset + self._names_size])
        table = bytes(self.data[self.header.shoff + self.header.shentsize:
                                self.header.shoff + self.header.shentsize * self.header.shnum])
        for index, fields in enumerate(self._shdr.iter_unpack(table), start=1):
            shdr = SectionHeader(*fields)
            if shdr.offset + shdr.size > self.size or shdr.name >= len(names):
                continue
            end = names.index(b"\0", shdr.name)
            yield Section(index, shdr, names[shdr.name:end].decode("utf-8", "surrogateescape"))

    def find_section(self, name: str) -> Section | None:
        """The first section of that name (kmod's ``elf_find_section``), or None."""
        for section in self.sections():
            if section.name == name:
                return section
        return None

    def section_data(self, name: str) -> bytes | None:
        """The bytes of the first section called ``name``, or None when there is none."""
        section = self.find_section(name)
        if section is None:
            return None
        return self.read(section.header.offset, section.header.size)

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset``, range-checked."""
        if offset < 0 or size < 0 or offset + size > self.size:
            raise ElfError(f"range {offset}+{size} outside the file ({self.size} bytes)")
        return bytes(self.data[offset:offset + size])

    def find_sections(self, *names: str) -> dict[str, bytes]:
        """Bytes of several sections in one pass over the table (first of each name wins).

        The bulk path: it compares raw names and builds no objects, but follows
        exactly the rules of :meth:`sections`.
        """
        wanted = {n.encode("utf-8", "surrogateescape"): n for n in names}
        found: dict[str, bytes] = {}
        data, size = self.data, self.size
        names_start = self._names_offset
        names_end = names_start + self._names_size
        shoff, entsize = self.header.shoff, self.header.shentsize
        unpack = self._shdr.unpack_from
        for index in range(1, self.header.shnum):
            fields = unpack(data, shoff + index * entsize)
            name_off, offset, sh_size = fields[0], fields[4], fields[5]
            if offset + sh_size > size or name_off >= self._names_size:
                continue
            start = names_start + name_off
            end = data.find(b"\0", start, names_end)
            key = wanted.get(bytes(data[start:end]))
            if key is None or key in found:
                continue
            found[key] = bytes(data[offset:offset + sh_size])
            if len(found) == len(wanted):
                break
        return found
