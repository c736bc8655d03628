"""``kmodgui info`` equals the installed ``modinfo``: stdout, stderr and exit status, on every
module of a real kernel (by file and by name), with every option, on compressed copies and
on crafted edge cases; and it never prints a traceback."""

from __future__ import annotations

import gzip
import lzma
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard
from kmgtest.fixtures_ko import build_elf, modinfo_section, name_of, pkcs7, simple_module, trailer

from kmodgui.cli.info import Result, info
from kmodgui.core.paths import Root

CLI = [sys.executable, "-m", "kmodgui"]


def modinfo(args: list[str], cwd: Path | None = None) -> tuple[bytes, bytes, int]:
    proc = subprocess.run(["modinfo", *args], capture_output=True, cwd=cwd)
    return proc.stdout, proc.stderr, proc.returncode


def triple(result: Result) -> tuple[bytes, bytes, int]:
    return bytes(result.stdout), result.stderr_bytes, int(result.status)


def assert_same(ours: tuple[bytes, bytes, int], theirs: tuple[bytes, bytes, int]) -> None:
    """Equal, or fail showing the first differing line rather than megabytes."""
    if ours == theirs:
        return
    for label, a, b in zip(("stdout", "stderr"), ours, theirs, strict=False):
        for i, (x, y) in enumerate(zip(a.split(b"\n"), b.split(b"\n"), strict=False)):
            assert x == y, f"{label} line {i}"
        assert a == b, label
    assert ours[2] == theirs[2], "exit status"


def root_args(root: Root) -> list[str]:
    return ["-b", str(root.base), "-k", root.release]


def test_every_module_file(kernel_modules: list[Path]) -> None:
    paths = [str(p) for p in kernel_modules]
    assert len(paths) > 4000
    assert_same(triple(info(paths)), modinfo(paths))


def test_every_module_by_name(kernel_root: Root, kernel_modules: list[Path]) -> None:
    names = [p.name.split(".")[0] for p in kernel_modules]
    ours = info(names, basedir=str(kernel_root.base), release=kernel_root.release)
    assert_same(triple(ours), modinfo([*root_args(kernel_root), *names]))


OPTION_SETS = [
    ["-p"], ["-0"], ["-a"], ["-d"], ["-l"], ["-n"], ["-m"], ["-0", "-p"],
    ["-F", "alias"], ["-F", "parm"], ["-F", "depends"], ["-F", "signer"], ["-F", "signature"],
    ["-F", "sig_key"], ["-F", "vermagic"], ["-F", "filename"], ["-F", "name"],
    ["-F", "nosuchfield"], ["-0", "-F", "alias"], ["-a", "-l"], ["-l", "-F", "firmware"],
]


@pytest.mark.parametrize("options", OPTION_SETS, ids=" ".join)
def test_options_through_the_command_line(kernel_root: Root, kernel_modules: list[Path],
                                          options: list[str]) -> None:
    """The real ``kmodgui`` command (argparse included) against ``modinfo``, a sample of
    modules by name plus aliases, built-ins and unknown names."""
    sample = [p.name.split(".")[0] for p in kernel_modules[::25]]
    sample += ["crc32c", "pci:v00008086d000010D3sv*sd*bc*sc*i*", "ext2", "unix",
               "nosuch-module", "a]b", "symbol:jbd2_journal_start", str(kernel_modules[0])]
    args = [*root_args(kernel_root), *options, *sample]
    proc = subprocess.run([*CLI, "info", *args], capture_output=True)
    assert_same((proc.stdout, proc.stderr, proc.returncode), modinfo(args))


@pytest.mark.parametrize("args", [
    ["-x", "ext4"], ["--bogus"], ["-F"], ["--field"], ["--author=x", "m"], ["--f", "m"],
    ["--fi"], ["-axF"], ["-b"], ["-k"], ["--", "-a"], ["-a", "--", "-F"], ["--"],
    ["nosuch", "-F"], ["--desc", "nosuch"], ["-F", "-a", "nosuch"],
], ids=" ".join)
def test_command_line_errors_as_getopt_words_them(args: list[str]) -> None:
    proc = subprocess.run([*CLI, "info", *args], capture_output=True)
    assert_same((proc.stdout, proc.stderr, proc.returncode), modinfo(args))
    assert proc.returncode == 1


def test_no_arguments() -> None:
    proc = subprocess.run([*CLI, "info"], capture_output=True)
    assert_same((proc.stdout, proc.stderr, proc.returncode), modinfo([]))
    assert proc.stderr == b"modinfo: ERROR: missing module or filename.\n"


def test_relative_and_unnormalised_paths(kernel_modules: list[Path], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """``filename:`` is the working directory joined with the argument as given."""
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    for p in kernel_modules[:3]:
        shutil.copy(p, work / "sub" / p.name)
    names = [p.name for p in kernel_modules[:3]]
    args = [f"sub/{names[0]}", f"./sub//{names[1]}", f"sub/../sub/{names[2]}"]
    monkeypatch.chdir(work)
    monkeypatch.setenv("PWD", str(work))
    ours = triple(info(args))
    assert_same(ours, modinfo(args, cwd=work))
    assert f"filename:       {work}/./sub//{names[1]}\n".encode() in ours[0]


def test_xz_and_zstd_copies(kernel_modules: list[Path], tmp_path: Path) -> None:
    sample = kernel_modules[::150]
    files = []
    for p in sample:
        plain = tmp_path / p.name
        shutil.copy(p, plain)
        subprocess.run(["xz", "-0", "-k", "-T1", str(plain)], check=True)
        subprocess.run(["zstd", "-q", str(plain), "-o", f"{plain}.zst"], check=True)
        # streamed zstd: a frame without a content size
        with open(plain, "rb") as src, open(tmp_path / f"s-{p.name}.zst", "wb") as dst:
            subprocess.run(["zstd", "-q", "-c"], stdin=src, stdout=dst, check=True)
        files += [f"{plain}.xz", f"{plain}.zst", str(tmp_path / f"s-{p.name}.zst")]
    assert_same(triple(info(files)), modinfo(files))
    assert triple(info(files))[0].count(b"filename:") == len(files)


def test_gzip_copies_read_as_the_uncompressed_file(kernel_modules: list[Path],
                                                   tmp_path: Path) -> None:
    """Debian's kmod cannot read .ko.gz; we print what it prints for the plain file."""
    for p in kernel_modules[::400]:
        plain = tmp_path / p.name
        shutil.copy(p, plain)
        packed = tmp_path / f"{p.name}.gz"
        packed.write_bytes(gzip.compress(plain.read_bytes()))
        out, err, status = modinfo([str(plain)])
        expected = out.replace(f"filename:       {plain}\n".encode(),
                               f"filename:       {packed}\n".encode(), 1)
        assert expected != out
        assert triple(info([str(packed)])) == (expected, err, status)


def crafted_files(directory: Path) -> list[Path]:
    """Edge cases kmod must agree on, each in its own file (distinct module names)."""
    good = simple_module("base")
    cases: dict[str, bytes] = {
        "text.ko": b"this is a text file, not a module\n",
        "empty.ko": b"",
        "five.ko": b"\x7fELF\x02",
        "elfident.ko": good[:16],
        "elfheader.ko": good[:64],
        "trunc-half.ko": good[: len(good) // 2],
        "trunc-end.ko": good[:-1],
        "no-modinfo.ko": build_elf([(".text", b"\xc3" * 8), ("__versions", b"")]),
        "empty-modinfo.ko": build_elf([(".modinfo", b"")]),
        "nul-modinfo.ko": build_elf([(".modinfo", b"\0\0\0\0")]),
        "padded-modinfo.ko": build_elf([(".modinfo", b"\0\0\0license=GPL\0\0\0alias=x\0\0")]),
        "unterminated.ko": build_elf([(".modinfo", b"license=GPL\0author=me")]),
        "repeated-keys.ko": simple_module("rep", "alias=a", "alias=b", "license=GPL",
                                          "alias=a", "firmware=f.bin", "firmware=g.bin"),
        "params.ko": simple_module(
            "params", "parm=desc_only:only a description", "parmtype=type_only:int",
            "parm=both:described", "parmtype=both:charp", "parmtype=late:bool",
            "parm=late:described after its type", "parm=both:described again",
            "parm=empty:", "parmtype=empty:", "parm=nocolon", "parmtype=nocolon2",
            "parm=:no name"),
        "keys.ko": simple_module("keys", "k=short", "fifteen_chars_k=v", "sixteen_chars_ke=v",
                                 "a_very_long_key_name_indeed=v", "noequals", "=emptykey",
                                 "vermagic=ends with space "),
        "bytes.ko": simple_module("bytes", b"description=caf\xc3\xa9 \xff\xfe raw",
                                  b"author=\x01\x02\x7f"),
        "be32.ko": simple_module("be32", "license=GPL", "parm=p:x", bits=32, big=True),
        "le32.ko": simple_module("le32", "license=Dual BSD/GPL", bits=32),
        "be64.ko": simple_module("be64", "alias=be", bits=64, big=True),
        "twice.ko": build_elf([(".modinfo", modinfo_section("first=1")),
                               (".modinfo", modinfo_section("second=2"))]),
        "signed.ko": good + trailer(pkcs7()),
        "signed-nocn.ko": good + trailer(pkcs7(issuer=name_of([("organization_name", "Org"),
                                                               ("locality_name", "Town")]))),
        "signed-serial.ko": good + trailer(pkcs7(serial=0x8000000000000000001)),
        "signed-unknown-hash.ko": good + trailer(pkcs7(digest_oid="1.2.840.113549.2.9")),
        "signed-garbage.ko": good + trailer(b"\x30\x03\x02\x01\x01garbage"),
        "signed-zero.ko": good + trailer(b"", sig_len=0),
        "signed-huge.ko": good + trailer(pkcs7(), sig_len=2**31),
        "signed-x509.ko": good + trailer(b"\x01" * 45, id_type=1, hash_index=5,
                                         signer=b"X509 signer", key_id=b"\x00\x80"),
        "signed-pgp.ko": good + trailer(b"sig", id_type=0, hash_index=3, signer=b"",
                                        key_id=b""),
        "signed-badtype.ko": good + trailer(pkcs7(), id_type=7),
        # damaged compressed files (kmod reads a cut zstd frame without noticing)
        "cut-xz.ko.xz": lzma.compress(good, format=lzma.FORMAT_XZ)[:-16],
        "junk-xz.ko.xz": b"\xfd7zXZ\x00" + b"junk" * 20,
        "cut-zstd.ko.zst": zstandard.ZstdCompressor().compress(good)[:-8],
        "cut-zstd-more.ko.zst": zstandard.ZstdCompressor().compress(good)[:40],
        "junk-zstd.ko.zst": b"\x28\xb5\x2f\xfd" + b"junk" * 20,
        "tail-zstd.ko.zst": zstandard.ZstdCompressor().compress(good) + b"trailing",
        "plain-named-xz.ko.xz": good,
        "xz-named-plain.ko": lzma.compress(good, format=lzma.FORMAT_XZ),
    }
    paths = []
    for name, data in cases.items():
        path = directory / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def test_crafted_edge_cases(tmp_path: Path) -> None:
    files = [str(p) for p in crafted_files(tmp_path)]
    assert_same(triple(info(files)), modinfo(files))
    for options in (["-p"], ["-0"], ["-F", "alias"], ["-n"], ["-F", "signer"]):
        field = {"-p": "parm", "-n": "filename"}.get(options[0])
        if options[0] == "-F":
            field = options[1]
        ours = info(files, field_name=field, null=options == ["-0"])
        assert_same(triple(ours), modinfo([*options, *files]))


def test_not_module_files_are_looked_up_as_names(tmp_path: Path) -> None:
    (tmp_path / "dir.ko").mkdir()
    (tmp_path / "plain.txt").write_text("x")
    args = [str(tmp_path / "dir.ko"), str(tmp_path / "plain.txt"), str(tmp_path / "gone.ko"),
            ".ko", "-"]
    assert_same(triple(info(args)), modinfo(["--", *args]))


def test_never_a_traceback(tmp_path: Path) -> None:
    """The command on crafted files and random bytes: modinfo's messages, exit 0 or 1."""
    files = [str(p) for p in crafted_files(tmp_path)]
    rng = random.Random(2)
    base = simple_module("fuzzed") + trailer(pkcs7())
    for i in range(40):
        data = bytearray(base)
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        path = tmp_path / f"fuzz{i}.ko"
        path.write_bytes(bytes(data[: rng.randint(0, len(data))] if i % 3 == 0 else data))
        files.append(str(path))
    for options in ([], ["-p"], ["-0", "-F", "sig_key"], ["-m"]):
        proc = subprocess.run([*CLI, "info", *options, *files], capture_output=True)
        assert proc.returncode in (0, 1)
        assert b"Traceback" not in proc.stderr and b"internal error" not in proc.stderr
        assert all(line.startswith(b"modinfo: ERROR: ")
                   for line in proc.stderr.splitlines()), proc.stderr[:300]


def test_mutated_elf_files_as_modinfo_reads_them(tmp_path: Path) -> None:
    """Differential test: headers, section table and contents of crafted modules damaged
    at random, each file compared with its own ``modinfo`` run. Where kmod aborts on an
    assertion (it does on some), we must still answer with a message and status 0/1."""
    rng = random.Random(20261127)
    bases = [simple_module("e1", "license=GPL", "parm=a:b", "parmtype=a:int", "alias=x"),
             simple_module("e2", "alias=y", bits=32, big=True)]
    compared = 0
    for i in range(150):
        data = bytearray(rng.choice(bases))
        for _ in range(rng.randint(1, 3)):
            where = rng.random()
            if where < 0.3:
                pos = rng.randrange(64)
            elif where < 0.7:
                pos = rng.randrange(len(data) - 400, len(data))
            else:
                pos = rng.randrange(len(data))
            data[pos] = rng.randrange(256)
        path = tmp_path / f"e{i}.ko"
        path.write_bytes(bytes(data))
        proc = subprocess.run(["modinfo", str(path)], capture_output=True)
        ours = triple(info([str(path)]))
        if proc.returncode in (0, 1):
            assert ours == (proc.stdout, proc.stderr, proc.returncode), path
            compared += 1
        else:  # kmod crashed (assert): no comparison possible, but we stay sane
            assert ours[2] in (0, 1) and ours[0].startswith(b"filename:")
    assert compared > 120
