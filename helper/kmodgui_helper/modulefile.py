"""A received module file, made into what polkit is asked about and what the kernel loads.

The caller's descriptor is copied once into a sealed memory file: its SHA-256,
its size and the module's name (from the ELF ``.modinfo`` section) are what the
polkit dialog and the admin's rules see, and ``finit_module`` later loads that
very copy, so the file cannot change between the question and the load.

Reading the caller's file can wait on the caller's file system (FUSE), so the
service runs :func:`inspect` in a thread with a time limit. Reads never go past
the size the kernel already knows (a FUSE read beyond it would ask the server).
A minimal, bounded ELF reader is enough here: the core's full readers (and their
decompressors) stay out of the root process. Compressed files (the kernel
decompresses them itself) are loaded, but their name is not known beforehand.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import struct
from dataclasses import dataclass

from kmodgui_helper.errors import invalid

CHUNK = 1 << 20
COMPRESSED_MAGIC = (b"\x1f\x8b", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")
MAX_SECTIONS = 1 << 16
SEALS = (getattr(fcntl, "F_SEAL_SEAL", 1) | getattr(fcntl, "F_SEAL_SHRINK", 2)
         | getattr(fcntl, "F_SEAL_GROW", 4) | getattr(fcntl, "F_SEAL_WRITE", 8))
F_ADD_SEALS = getattr(fcntl, "F_ADD_SEALS", 1033)


class NotAModule(ValueError):
    """The file is no kernel module this reader understands."""


@dataclass(frozen=True)
class ModuleFile:
    """The sealed copy (a descriptor the service closes) and what polkit is told."""

    fd: int
    name: str  # "" for a compressed file
    size: int
    sha256: str

    @property
    def details(self) -> dict[str, str]:
        return {"module": self.name, "size": str(self.size), "sha256": self.sha256}


def inspect(fd: int, size: int) -> ModuleFile:
    """Copy ``size`` bytes of the caller's ``fd`` into a sealed memory file and read it.

    Raises :class:`~kmodgui_helper.errors.HelperError` (``InvalidArgs``) for a file that
    changed size meanwhile or is not a module.
    """
    copy = os.memfd_create("kmodgui-module", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        digest = hashlib.sha256()
        offset = 0
        while offset < size:
            block = os.pread(fd, min(CHUNK, size - offset), offset)
            if not block:
                raise invalid("the module file became shorter while it was read")
            digest.update(block)
            view = memoryview(block)
            while view:
                view = view[os.write(copy, view):]
            offset += len(block)
        fcntl.fcntl(copy, F_ADD_SEALS, SEALS)
        head = os.pread(copy, 8, 0)
        if any(head.startswith(m) for m in COMPRESSED_MAGIC):
            name = ""
        else:
            try:
                name = module_name(os.pread(copy, size, 0))
            except NotAModule as exc:
                raise invalid(f"the file is not a kernel module: {exc}") from None
        return ModuleFile(copy, name, size, digest.hexdigest())
    except BaseException:
        os.close(copy)
        raise


def module_name(data: bytes) -> str:
    """The ``name=`` entry of the ELF ``.modinfo`` section (both classes, both byte orders)."""
    if data[:4] != b"\x7fELF" or len(data) < 64:
        raise NotAModule("no ELF header")
    elf_class, order = data[4], data[5]
    if elf_class not in (1, 2) or order not in (1, 2):
        raise NotAModule("unknown ELF class or byte order")
    end = "<" if order == 1 else ">"
    if elf_class == 2:
        shoff, = struct.unpack_from(end + "Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x3A)
        fmt, fields = end + "IIQQQQ", (0, 4, 5)  # name, offset, size
    else:
        shoff, = struct.unpack_from(end + "I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x2E)
        fmt, fields = end + "IIIIII", (0, 4, 5)
    if shentsize < struct.calcsize(fmt) or not 0 < shnum < MAX_SECTIONS or shstrndx >= shnum:
        raise NotAModule("no section table")
    if shoff + shnum * shentsize > len(data):
        raise NotAModule("the section table lies outside the file")
    sections = []
    for i in range(shnum):
        entry = struct.unpack_from(fmt, data, shoff + i * shentsize)
        sections.append(tuple(entry[f] for f in fields))
    _, str_off, str_size = sections[shstrndx]
    names = _range(data, str_off, str_size)
    for name_off, off, sec_size in sections:
        if names[name_off:name_off + 9] == b".modinfo\0":
            for item in _range(data, off, sec_size).split(b"\0"):
                if item.startswith(b"name="):
                    return _checked_name(item[5:])
            raise NotAModule(".modinfo has no name")
    raise NotAModule("no .modinfo section")


def _range(data: bytes, offset: int, size: int) -> bytes:
    if offset + size > len(data):
        raise NotAModule("a section lies outside the file")
    return data[offset:offset + size]


def _checked_name(raw: bytes) -> str:
    text = raw.decode("ascii", "replace")
    if not text or len(text) > 56 or not all(c.isalnum() or c in "_-" for c in text) \
            or not text.isascii():
        raise NotAModule("the module name in .modinfo is not a module name")
    return text.replace("-", "_")
