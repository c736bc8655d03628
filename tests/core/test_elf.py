"""The struct-based ELF reader: sizes per the ELF spec, equal to pyelftools on every real
module, kmod's acceptance rules on crafted files, and only ElfError under fuzzing."""

from __future__ import annotations

import errno
import io
import struct
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kmgtest.fixtures_ko import build_elf, modinfo_section, simple_module

from kmodgui.core.elf import ElfError, ElfFile, ElfHeader, SectionHeader
from kmodgui.core.errors import ModuleFileError
from kmodgui.core.modfile import SECTIONS


@pytest.mark.parametrize(("bits", "ehdr", "shdr"), [(32, 52, 40), (64, 64, 64)])
def test_struct_sizes_match_the_elf_specification(bits: int, ehdr: int, shdr: int) -> None:
    assert 16 + struct.calcsize("<" + ElfHeader.FORMATS[bits]) == ElfHeader.SIZES[bits] == ehdr
    assert struct.calcsize("<" + SectionHeader.FORMATS[bits]) == SectionHeader.SIZES[bits] == shdr


def _pyelftools_sections(data: bytes) -> dict[str, bytes]:
    elf = ELFFile(io.BytesIO(data))
    found = {}
    for name in SECTIONS:
        section = elf.get_section_by_name(name)
        if section is not None:
            found[name] = section.data()
    return found


def test_equal_to_pyelftools_on_every_module(kernel_modules: list[Path]) -> None:
    """The fast path is allowed because of this test: all modules of a real kernel."""
    assert len(kernel_modules) > 4000
    for path in kernel_modules:
        data = path.read_bytes()
        ours = ElfFile(data)
        theirs = _pyelftools_sections(data)
        assert ours.find_sections(*SECTIONS) == theirs, path
        assert ".modinfo" in theirs, path


def test_section_table_equal_to_pyelftools(kernel_modules: list[Path]) -> None:
    """Names, offsets and sizes of every section, on a spread of real modules."""
    for path in kernel_modules[::97]:
        data = path.read_bytes()
        ours = [(s.index, s.name, s.header.offset, s.header.size, s.header.type)
                for s in ElfFile(data).sections()]
        elf = ELFFile(io.BytesIO(data))
        theirs = [(i, s.name, s["sh_offset"], s["sh_size"], s["sh_type"])
                  for i, s in enumerate(elf.iter_sections()) if i > 0
                  and (s["sh_type"] != "SHT_NOBITS" or s["sh_offset"] + s["sh_size"] <= len(data))]
        assert [o[:4] for o in ours] == [t[:4] for t in theirs], path
        header = ElfFile(data).header
        assert (header.shnum, header.shoff, header.machine) == (
            elf["e_shnum"], elf["e_shoff"], 62)


@pytest.mark.parametrize(("bits", "big"), [(32, False), (32, True), (64, False), (64, True)])
def test_both_classes_and_byte_orders(bits: int, big: bool) -> None:
    data = simple_module("crafted", "license=GPL", "alias=x", bits=bits, big=big)
    elf = ElfFile(data)
    assert (elf.header.bits, elf.header.big_endian) == (bits, big)
    assert elf.section_data(".modinfo") == modinfo_section("license=GPL", "alias=x")
    assert elf.find_sections(*SECTIONS) == _pyelftools_sections(data)


def test_first_section_of_a_name_wins() -> None:
    data = build_elf([(".modinfo", b"first\0"), (".modinfo", b"second\0")])
    assert ElfFile(data).section_data(".modinfo") == b"first\0"
    assert ElfFile(data).find_sections(".modinfo") == {".modinfo": b"first\0"}


def test_section_outside_the_file_is_skipped_as_kmod_does() -> None:
    data = bytearray(build_elf([(".modinfo", b"a=b\0"), (".modinfo", b"c=d\0")]))
    elf = ElfFile(bytes(data))
    first = elf.find_section(".modinfo")
    assert first is not None
    # make the first .modinfo claim more bytes than the file has: kmod skips it
    entry = elf.header.shoff + first.index * elf.header.shentsize
    struct.pack_into("<Q", data, entry + 32, len(data))
    assert ElfFile(bytes(data)).section_data(".modinfo") == b"c=d\0"


@pytest.mark.parametrize(("data", "code"), [
    (b"", errno.ENOEXEC),
    (b"\x7fELF" + b"\0" * 12, errno.ENOEXEC),           # not more than e_ident
    (b"hello world, not an ELF file", errno.ENOEXEC),
    (b"\x7fELF\x03\x01" + b"\0" * 100, errno.EINVAL),     # unknown class
    (b"\x7fELF\x02\x01" + b"\0" * 40, errno.EINVAL),      # shorter than Elf64_Ehdr
    (b"\x7fELF\x02\x07" + b"\0" * 100, errno.EINVAL),     # unknown byte order
])
def test_refused_like_kmod(data: bytes, code: int) -> None:
    with pytest.raises(ElfError) as info:
        ElfFile(data)
    assert info.value.errno == code
    assert isinstance(info.value, ModuleFileError)


def test_bad_section_entry_size_table_and_name_table() -> None:
    good = simple_module()
    with pytest.raises(ElfError, match="section header size"):
        ElfFile(build_elf([(".modinfo", b"a=b\0")], shentsize=60))
    with pytest.raises(ElfError, match="section table"):
        ElfFile(good[:-10])
    with pytest.raises(ElfError, match="NUL"):
        ElfFile(build_elf([(".modinfo", b"a=b\0")], strtab_terminated=False))
    assert ElfFile(good).section_data(".modinfo") is not None


def _mutations() -> st.SearchStrategy[bytes]:
    base = simple_module("fuzz", "license=GPL", "parm=x:int", bits=64)
    base32 = simple_module("fuzz", "alias=y", bits=32, big=True)

    def mutate(args: tuple[bytes, list[tuple[int, int]], int]) -> bytes:
        data, edits, cut = args
        out = bytearray(data)
        for pos, value in edits:
            out[pos % len(out)] = value
        return bytes(out[:cut % (len(out) + 1)])

    return st.tuples(st.sampled_from([base, base32]),
                     st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
                              max_size=12),
                     st.integers(0, 10**6)).map(mutate)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_mutations(), st.binary(max_size=300)))
def test_fuzz_only_elf_error_escapes(data: bytes) -> None:
    try:
        elf = ElfFile(data)
        list(elf.sections())
        elf.find_sections(*SECTIONS)
        for name in SECTIONS:
            elf.section_data(name)
    except ElfError:
        pass
