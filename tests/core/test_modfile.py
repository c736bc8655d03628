"""Module files: decompression by magic, .modinfo splitting, __versions, this_module's name,
the bulk reader's speed, and clear ModuleFileErrors (fuzzed) for everything kmod refuses."""

from __future__ import annotations

import errno
import gzip
import lzma
import re
import subprocess
from pathlib import Path

import pytest
import zstandard
from fixtures_ko import build_elf, simple_module, trailer, versions_section
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmodgui.core.errors import ModuleFileError
from kmodgui.core.modfile import (
    ModuleFile,
    compression_of,
    error_errno,
    info_from_image,
    read_module_info,
    split_modinfo,
)
from kmodgui.core.names import module_name_from_path
from kmodgui.core.signature import parse_pkcs7


@pytest.mark.parametrize(("raw", "expected"), [
    (b"license=GPL\0alias=a\0alias=b\0", [("license", "GPL"), ("alias", "a"), ("alias", "b")]),
    (b"\0\0\0vermagic=6.1 SMP \0\0\0author=x=y\0", [("vermagic", "6.1 SMP "),
                                                  ("author", "x=y")]),
    (b"noequals\0k=\0", [("noequals", ""), ("k", "")]),
    (b"last=unterminated", [("last", "unterminated")]),
    (b"", []),
    (b"\0\0\0\0", []),
    (b"\0\0a", []),     # kmod: after the padding, one byte is no entry
    (b"a", []),
    (b"ab", [("ab", "")]),
    (b"k=\xff\xfe\0", [("k", "\udcff\udcfe")]),  # bytes kept exactly (surrogateescape)
])
def test_split_modinfo_as_kmod(raw: bytes, expected: list[tuple[str, str]]) -> None:
    assert split_modinfo(raw) == expected


def test_repeated_keys_and_values_are_kept_in_order() -> None:
    data = simple_module("rep", "alias=a", "firmware=f1", "alias=b", "alias=a", "firmware=f2")
    info = info_from_image(data, "rep.ko")
    assert info.get_all("alias") == ["a", "b", "a"]
    assert info.get_all("firmware") == ["f1", "f2"]
    assert info.get("alias") == "a" and info.get("missing", "-") == "-"
    assert info.name == "rep"
    assert info.versions == [(0x1234, "module_layout")]


@pytest.mark.parametrize(("bits", "big"), [(32, False), (32, True), (64, True)])
def test_versions_and_name_in_other_layouts(bits: int, big: bool) -> None:
    pairs = [(0xDEADBEEF, "printk"), (7, ".dotted")]
    data = build_elf([(".modinfo", b"a=b\0"), ("__versions", versions_section(pairs, bits, big))],
                     bits=bits, big=big)
    assert info_from_image(data, "x.ko").versions == [(0xDEADBEEF, "printk"), (7, "dotted")]


@pytest.mark.kernel
def test_versions_equal_modprobe_dump_modversions(kernel_modules: list[Path]) -> None:
    """kmod's own ``modprobe --dump-modversions`` is the reference for __versions."""
    sample = kernel_modules[::200]
    for path in sample:
        out = subprocess.run(["modprobe", "--dump-modversions", str(path)],
                             capture_output=True, text=True, check=True).stdout
        expected = [(int(crc, 16), name) for crc, name in
                    (line.split("\t") for line in out.splitlines())]
        assert read_module_info(path).versions == expected, path


def test_compression_is_chosen_by_magic_not_by_name(tmp_path: Path) -> None:
    image = simple_module("packed")
    variants = {
        "xz": lzma.compress(image, format=lzma.FORMAT_XZ),
        "zstd": zstandard.ZstdCompressor().compress(image),
        "gzip": gzip.compress(image),
    }
    for kind, data in variants.items():
        assert compression_of(data[:6]) == kind
        path = tmp_path / f"wrongly-named-{kind}.ko"   # the name says uncompressed
        path.write_bytes(data)
        info = read_module_info(path)
        assert (info.compression, info.name, info.image_size) == (kind, "packed", len(image))
        assert ModuleFile(path).image == image


def test_zstd_without_content_size_and_in_several_frames(tmp_path: Path) -> None:
    image = simple_module("frames")
    no_size = zstandard.ZstdCompressor(write_content_size=False).compress(image)
    assert zstandard.frame_content_size(no_size) == -1
    half = len(image) // 2
    two_frames = (zstandard.ZstdCompressor().compress(image[:half])
                  + zstandard.ZstdCompressor(write_content_size=False).compress(image[half:]))
    for data in (no_size, two_frames):
        path = tmp_path / "m.ko.zst"
        path.write_bytes(data)
        assert ModuleFile(path).image == image


def test_zstd_and_xz_tools_output(tmp_path: Path) -> None:
    """Files written by the real ``xz`` and ``zstd`` tools, zstd streamed (no size)."""
    image = simple_module("tools")
    src = tmp_path / "tools.ko"
    src.write_bytes(image)
    subprocess.run(["xz", "-k", "--check=crc32", str(src)], check=True)
    streamed = subprocess.run(["zstd", "-q", "-c"], input=image, capture_output=True,
                              check=True).stdout
    (tmp_path / "tools.ko.zst").write_bytes(streamed)
    assert zstandard.frame_content_size(streamed) == -1
    for name in ("tools.ko.xz", "tools.ko.zst"):
        assert ModuleFile(tmp_path / name).image == image


def test_concatenated_xz_streams_with_padding(tmp_path: Path) -> None:
    image = simple_module("xzcat")
    data = (lzma.compress(image[:100], format=lzma.FORMAT_XZ) + b"\0" * 8
            + lzma.compress(image[100:], format=lzma.FORMAT_XZ))
    path = tmp_path / "m.ko.xz"
    path.write_bytes(data)
    assert ModuleFile(path).image == image


@pytest.mark.parametrize(("make", "code", "words"), [
    (lambda img: b"", errno.EINVAL, "too short"),
    (lambda img: b"\x7fELF", errno.EINVAL, "too short"),
    (lambda img: b"plain text, not a module\n", errno.ENOEXEC, "not an ELF"),
    (lambda img: img[:200], errno.EINVAL, "section table"),
    (lambda img: build_elf([(".text", b"\xc3")]), errno.ENOENT, "no .modinfo"),
    (lambda img: lzma.compress(img, format=lzma.FORMAT_XZ)[:-20], errno.EINVAL, "xz"),
    (lambda img: b"\xfd7zXZ\x00" + b"garbage" * 10, errno.EINVAL, "xz"),
    (lambda img: b"\x28\xb5\x2f\xfd" + b"\xff" * 40, errno.EINVAL, "zstd"),
    (lambda img: gzip.compress(img)[:-30], errno.EINVAL, "gzip"),
])
def test_clear_errors(tmp_path: Path, make, code: int, words: str) -> None:
    path = tmp_path / "bad.ko"
    path.write_bytes(make(simple_module("bad")))
    with pytest.raises(ModuleFileError, match=re.escape(words)) as info:
        read_module_info(path)
    assert error_errno(info.value) == code
    assert info.value.message and info.value.hint


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ModuleFileError) as info:
        read_module_info(tmp_path / "missing.ko")
    assert error_errno(info.value) == errno.ENOENT
    with pytest.raises(ModuleFileError) as info:
        read_module_info(tmp_path)
    assert error_errno(info.value) == errno.EISDIR


@pytest.mark.kernel
def test_every_real_module_reads_with_its_own_name(kernel_modules: list[Path]) -> None:
    for path in kernel_modules:
        info = read_module_info(path)
        assert info.name == module_name_from_path(str(path)), path
        assert info.get("vermagic", "").startswith("6.1.0-"), path
        assert info.signature is not None and info.signature.hash_algo == "sha256", path


@pytest.mark.kernel
def test_signature_cache_equals_a_full_parse(kernel_modules: list[Path]) -> None:
    """The PKCS#7 prefix cache (bulk speed) gives what asn1crypto gives on each file."""
    for path in kernel_modules[::7]:
        data = path.read_bytes()
        cached = read_module_info(path).signature
        assert cached is not None
        raw = data[cached.offset:len(data) - 40]
        assert parse_pkcs7(raw, cached.offset) == cached, path


def _mutated_modules() -> st.SearchStrategy[bytes]:
    from fixtures_ko import pkcs7

    bases = [simple_module("f1") + trailer(pkcs7()), simple_module("f2", bits=32, big=True)]

    def mutate(args: tuple[int, list[tuple[int, int]], int]) -> bytes:
        which, edits, cut = args
        out = bytearray(bases[which])
        for pos, value in edits:
            out[pos % len(out)] = value
        return bytes(out[:len(out) - cut % 64]) if cut % 3 else bytes(out)

    return st.tuples(st.integers(0, 1),
                     st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
                              max_size=10),
                     st.integers(0, 10**6)).map(mutate)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_mutated_modules(), st.binary(max_size=200)))
def test_fuzz_only_module_file_error_escapes(data: bytes) -> None:
    try:
        info = info_from_image(data, "fuzz.ko")
    except ModuleFileError:
        return
    assert isinstance(info.modinfo, list)
