"""Build the guest tier's test modules against the matching linux-headers.

Built once per source content and kernel release into the test cache, since
kbuild takes a few seconds. ``kmg_alien.ko`` is ``kmg_hello.ko`` made to look
built for another kernel release: its vermagic names another release and its
symbol versions (CRCs) disagree with this kernel's, exactly what a module
from a different build of the kernel looks like to the module loader.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
from pathlib import Path

from elftools.elf.elffile import ELFFile

from kmodgui.core.paths import Root

SOURCES = Path(__file__).resolve().parent / "modules"
MODULES = ("kmg_hello", "kmg_provider", "kmg_consumer", "kmg_fresh", "kmg_pinned",
           "kmg_sleepy")


class BuildError(RuntimeError):
    """The test modules could not be built (missing headers, compiler errors)."""


def headers_dir(release: str) -> Path:
    """Debian's linux-headers package for *release* (tests/setup.d/30-guest installs it)."""
    return Path("/usr/src") / f"linux-headers-{release}"


def _source_key(release: str) -> str:
    h = hashlib.sha256(release.encode())
    for src in sorted(SOURCES.iterdir()):
        if src.is_file():
            h.update(src.name.encode() + b"\0" + src.read_bytes())
    return h.hexdigest()[:16]


def alien_release(release: str) -> str:
    """Another release string of the same length (so the file layout stays as it is)."""
    return ("5" if release[0] != "5" else "4") + release[1:]


def make_alien(hello: Path, dest: Path, release: str, *, keep_versions: bool = True) -> Path:
    """Copy *hello* with another release in its vermagic and every symbol CRC changed.

    Without *keep_versions* the ``__versions`` section is hidden instead, so the
    kernel compares the whole vermagic string (its other way to refuse the file).
    """
    data = bytearray(hello.read_bytes())
    alien = alien_release(release)
    old = f"vermagic={release} ".encode()
    new = f"vermagic={alien} ".encode()
    if data.count(old) != 1:
        raise BuildError(f"cannot rewrite the vermagic of {hello} for {alien}")
    data = data.replace(old, new)
    if not keep_versions:
        if data.count(b"\0__versions\0") != 1:
            raise BuildError(f"cannot hide the __versions section of {hello}")
        dest.write_bytes(bytes(data.replace(b"\0__versions\0", b"\0__xersions\0")))
        return dest
    with hello.open("rb") as f:
        section = ELFFile(f).get_section_by_name("__versions")
        if section is None:
            raise BuildError(f"{hello} has no __versions section (CONFIG_MODVERSIONS off?)")
        offset, size = section["sh_offset"], section["sh_size"]
    for entry in range(offset, offset + size, 64):  # struct modversion_info: u64 crc, name[56]
        (crc,) = struct.unpack_from("<Q", data, entry)
        struct.pack_into("<Q", data, entry, crc ^ 0x5A5A5A5A)
    dest.write_bytes(bytes(data))
    return dest


def build_test_modules(root: Root, cache: Path) -> dict[str, Path]:
    """The test modules for *root*'s release, name → ``.ko`` path (built once, then cached)."""
    out = cache / "guest-modules" / f"{root.release}-{_source_key(root.release)}"
    wanted = {name: out / f"{name}.ko" for name in (*MODULES, "kmg_alien", "kmg_alien_magic")}
    if all(p.exists() for p in wanted.values()):
        return wanted
    headers = headers_dir(root.release)
    if not (headers / "Makefile").exists():
        raise BuildError(f"no {headers}: run tests/setup.d/30-guest as root (tests/run does)")
    build = cache / "guest-modules" / "build"
    shutil.rmtree(build, ignore_errors=True)
    shutil.copytree(SOURCES, build)
    proc = subprocess.run(["make", "-C", str(headers), f"M={build}", "modules"],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError(f"building the test modules failed:\n{proc.stdout}\n{proc.stderr}")
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in MODULES:
        shutil.copy2(build / f"{name}.ko", tmp / f"{name}.ko")
    make_alien(tmp / "kmg_hello.ko", tmp / "kmg_alien.ko", root.release)
    make_alien(tmp / "kmg_hello.ko", tmp / "kmg_alien_magic.ko", root.release,
               keep_versions=False)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    shutil.rmtree(build, ignore_errors=True)
    return wanted
