"""The smallest file the helper reads as a module: an ELF64 with a ``.modinfo`` section.

Built here because the host's kernel loads nothing: the helper tier only needs
a file whose name the helper can read (the kernel later refuses it; real
modules are loaded in the guest tier).
"""

from __future__ import annotations

import struct


def tiny_ko(name: str, extra: bytes = b"") -> bytes:
    """An ELF64 little-endian relocatable with ``.modinfo`` = ``name=<name>`` (+ ``extra``)."""
    modinfo = b"license=GPL\0" + f"name={name}".encode() + b"\0" + extra
    shstrtab = b"\0.modinfo\0.shstrtab\0"
    data = modinfo + shstrtab
    shoff = 64 + len(data)
    shoff += -shoff % 8
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8 + struct.pack(
        "<HHIQQQIHHHHHH", 1, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64, 3, 2)
    body = header + data
    body += b"\0" * (shoff - len(body))
    null = b"\0" * 64
    sec_modinfo = struct.pack("<IIQQQQIIQQ", 1, 1, 0, 0, 64, len(modinfo), 0, 0, 1, 0)
    sec_shstr = struct.pack("<IIQQQQIIQQ", 10, 3, 0, 0, 64 + len(modinfo), len(shstrtab),
                            0, 0, 1, 0)
    return body + null + sec_modinfo + sec_shstr
