"""modprobe.d parsing, compared with ``modprobe -c`` on scenario trees, plus the sources we add."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from kmgtest.treefiles import write

from kmodgui.core.modprobe_config import (
    ModprobeConfig,
    logical_lines,
    parse_kcmdline,
    parse_softdep,
)
from kmodgui.core.paths import MODPROBE_DIRS, Root
from kmodgui.core.records import Source

RELEASE = "9.9.9-test"
HOST_CMDLINE = Path("/proc/cmdline")

BASIC = r"""# comment at column 0
alias my-alias snd-hda-intel
alias pci:v0000DEADd*  e1000e
alias weird[-]x foo-bar
blacklist pcspkr
blacklist snd-pcsp
options snd-hda-intel  index=1	model=auto
options e1000e
options foo "a b" c=d \
   continued=1
install dummy /bin/true
install net-pf-* /sbin/modprobe --ignore-install foo $CMDLINE_OPTS
remove dummy /bin/false
softdep ext4 pre: crc32c post: foo
softdep xfs  pre: a
softdep btrfs pre:x y post: z
softdep cifs gcm
	# an indented comment is a bad line for kmod
include /etc/foo
config foo
frobnicate x
alias onlyone
alias bad]alias x
blacklist [unbalanced
a\lias escaped escaped-target
""" + "options spaced-out   a=1  b=2  \n"


@pytest.fixture
def scenario(tmp_path: Path) -> Root:
    """A tree using every keyword, directory precedence and the strange files kmod meets."""
    base = tmp_path / "root"
    etc, run, local, lib = (base / d for d in MODPROBE_DIRS[:4])
    write(etc / "10-basic.conf", BASIC)
    write(etc / "20-override.conf", "options override from=etc\n")
    write(lib / "20-override.conf", "options override from=lib\n")
    write(lib / "05-early.conf", "blacklist early\nsoftdep ext4 pre: ignored-second-match\n")
    write(lib / "zz-last.conf", "options last x=1\\")          # backslash at end of file
    write(run / "30-run.conf", "alias run-alias dummy\n")
    write(local / "15-local.conf", "options local y=2\n")
    write(etc / ".hidden.conf", "blacklist hidden\n")
    write(etc / "notes.txt", "blacklist notes\n")
    write(etc / "old.alias", "alias old-style-alias dummy\n")  # kmod 30 reads *.alias too
    (etc / "dir.conf").mkdir()
    os.symlink("/nonexistent/target", etc / "broken.conf")
    write(lib / "broken.conf", "blacklist shadowed-by-broken-link\n")
    write(etc / "binary.conf", b"blacklist before\0after\nblacklist next\n\0\0\0\n")
    write(etc / "long.conf", "options long " + "p=1 " * 50_000 + "\n")
    write(base / "lib/modules" / RELEASE / "modules.softdep",
          "# from depmod\nsoftdep foo pre: bar\nsoftdep cifs gcm\n")
    if HOST_CMDLINE.exists():  # modprobe reads the host's; give ours the same text
        shutil.copy(HOST_CMDLINE, write(base / "proc/cmdline", ""))
    return Root(base, RELEASE)


def modprobe_c(root: Root, dirs: list[Path]) -> str:
    """The configuration part of ``modprobe -c`` with ``-C`` for each directory."""
    args = ["modprobe"]
    for d in dirs:
        args += ["-C", str(d)]
    args += ["-d", str(root.base), "-S", root.release, "-c"]
    out = subprocess.run(args, capture_output=True, text=True, check=True,
                         errors="surrogateescape").stdout
    return out.split("\n# End of configuration files.", 1)[0]


def test_dump_matches_modprobe_c(scenario: Root) -> None:
    ours = ModprobeConfig.load(scenario)
    assert ours.dump() == modprobe_c(scenario, scenario.modprobe_dirs)


def test_sources_and_override_rules(scenario: Root) -> None:
    config = ModprobeConfig.load(scenario)
    etc = scenario.path("/etc/modprobe.d")
    lib = scenario.path("/lib/modprobe.d")
    names = [Path(f).name for f in config.files]
    assert names == sorted(names, key=str.encode)                 # one list, sorted by name
    assert str(etc / "20-override.conf") in config.files          # first directory wins
    assert str(lib / "20-override.conf") not in config.files
    assert "modules.softdep" in names and "old.alias" in names
    assert ".hidden.conf" not in names and "notes.txt" not in names
    assert config.options_for("override") == "from=etc"
    assert config.options_for("snd_hda_intel") == " index=1 model=auto"   # verbatim, tab → space
    assert config.options_for("foo") == '"a b" c=d    continued=1'
    foo = next(e for e in config.entries if e.kind == "options" and e.module == "foo")
    assert foo.source == Source(str(etc / "10-basic.conf"), 9)    # first line of a joined line
    assert config.is_blacklisted("snd_pcsp") and not config.is_blacklisted("snd-pcsp")
    assert not config.is_blacklisted("shadowed_by_broken_link")
    assert config.command_for("install", "net_pf_10").value.startswith("/sbin/modprobe")
    assert config.command_exact("install", "net_pf_10") is None
    # only the first matching softdep counts, and file order decides which is first
    assert config.softdep_for("ext4").pre == ("ignored-second-match",)
    assert config.softdep_for("cifs").pre == () and config.softdep_for("cifs").post == ()
    assert config.softdep_for("btrfs").pre == ()                  # "pre:x" is not "pre:"
    assert config.softdep_for("btrfs").post == ("z",)
    assert config.softdep_for("xfs").pre == ()   # kmod: "softdep xfs  pre:" (2 blanks) is lost


def test_strange_files_give_warnings_not_errors(scenario: Root) -> None:
    config = ModprobeConfig.load(scenario)
    text = "\n".join(config.warnings)
    assert "dir.conf: directories inside directories are not supported" in text
    assert "broken.conf: broken link" in text
    assert "binary.conf: contains NUL bytes" in text
    assert "10-basic.conf:18: ignoring bad line starting with '#'" in text
    assert "10-basic.conf:19: command include is deprecated" in text
    assert "10-basic.conf:21: ignoring bad line starting with 'frobnicate'" in text
    assert "10-basic.conf:22: ignoring bad line starting with 'alias'" in text   # no module
    assert "10-basic.conf:23: ignoring bad line starting with 'alias'" in text   # a ']'
    assert config.is_blacklisted("before") and config.is_blacklisted("next")
    assert len(config.options_for("long") or "") == 4 * 50_000   # verbatim, trailing blank


def test_fifo_and_device_named_conf_do_not_block(tmp_path: Path) -> None:
    """kmod would hang opening a FIFO; we skip it with a warning."""
    etc = tmp_path / "etc/modprobe.d"
    etc.mkdir(parents=True)
    os.mkfifo(etc / "fifo.conf")
    os.symlink("/dev/zero", etc / "zero.conf")
    write(etc / "ok.conf", "blacklist fine\n")
    config = ModprobeConfig.load(Root(tmp_path, RELEASE))
    assert config.is_blacklisted("fine")
    assert any("fifo.conf: cannot read" in w for w in config.warnings)
    assert any("zero.conf: cannot read" in w for w in config.warnings)


def test_single_file_and_directory_paths_like_dash_C(scenario: Root, tmp_path: Path) -> None:
    single = write(tmp_path / "custom-name", "alias custom dummy\nblacklist custom_bl\n")
    dirs = [single, scenario.path("/run/modprobe.d")]
    ours = ModprobeConfig.load(scenario, dirs)
    assert ours.dump() == modprobe_c(scenario, dirs)
    assert [Path(f).name for f in ours.files] == ["30-run.conf", "custom-name", "modules.softdep"]


def test_kernel_command_line(tmp_path: Path) -> None:
    write(tmp_path / "proc/cmdline",
          'quiet ext4.foo=1 "parport.dyndbg=file x +p" modprobe.blacklist=snd-pcsp,floppy '
          'jbd2.bar snd-hda-intel.model=auto a.b.c=1 x="y.z=1" bad]name.p=1\n')
    config = ModprobeConfig.load(Root(tmp_path, RELEASE))
    assert config.dump() == (
        "blacklist snd-pcsp\nblacklist floppy\n"
        "options ext4 foo=1\noptions parport dyndbg=\"file x +p\"\noptions jbd2 bar\n"
        "options snd_hda_intel model=auto\n")
    assert {e.source for e in config.entries} == {Source(str(tmp_path / "proc/cmdline"), 1)}
    assert any("bad]name" in w for w in config.warnings)


CMDLINES = [
    "", "a.b", "a.b=", "a.b=c", " a.b=c ", "a..b=c", "a.b.c=d", ".b=c", "a.=c", "a=b.c",
    '"a.b=c d"', 'a.b="c d"', 'a.b="c d', '"a.b="c', 'x"a.b=c"', 'a."b=c"', "a.b=c\td.e=f",
    "modprobe.blacklist=", "modprobe.blacklist=a,,b", "modprobe.blacklistx=a",
    "Modprobe.blacklist=a",
    "a-b.c=1 a_b.d=2", "a.b=c=d", "a.b==", '"".x=1', "a.b=c\nd.e=f", "--", "-- a.b=1",
]


def test_kernel_command_line_parser_matches_kmod(tmp_path: Path) -> None:
    """Each command line bind-mounted over /proc/cmdline in a private mount namespace."""
    script = ["set -e"]
    for number, line in enumerate(CMDLINES):
        write(tmp_path / f"c{number}", line)
        script += [f"mount --bind {tmp_path}/c{number} /proc/cmdline",
                   f"modprobe -C {tmp_path}/none -d {tmp_path} -S {RELEASE} -c",
                   "umount /proc/cmdline", "echo '@@@'"]
    # not root (the quick check): a user namespace of our own allows the mount namespace
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    result = subprocess.run(["unshare", *user, "--mount", "sh", "-c", "\n".join(script)],
                            capture_output=True, text=True, check=True)
    outputs = result.stdout.split("@@@\n")
    for number, line in enumerate(CMDLINES):
        expected = outputs[number].split("\n# End of configuration files.", 1)[0]
        root = Root(tmp_path / f"r{number}", RELEASE)
        write(root.kernel_cmdline, line)
        assert ModprobeConfig.load(root, [tmp_path / "none"]).dump() == expected, line


@pytest.mark.parametrize(("text", "expected"), [
    ("a\\\nb\n", [(1, "ab")]),
    ("a\\b\nc", [(1, "ab"), (2, "c")]),
    ("\\\n\\\nx\ny\n", [(1, "x"), (4, "y")]),
    ("x\\", [(1, "x\udcff")]),
    ("\n\n", [(1, ""), (2, "")]),
])
def test_logical_lines(text: str, expected: list[tuple[int, str]]) -> None:
    assert list(logical_lines(text)) == expected


@pytest.mark.parametrize(("text", "pre", "post"), [
    ("pre: a b post: c", ("a", "b"), ("c",)),
    ("a b", (), ()),
    ("post: c pre: a", ("a",), ("c",)),
    (" pre: a", (), ()),                  # kmod keeps a single leading blank in the word
    ("  pre: a", ("a",), ()),
    ("pre:  a\t\tb ", ("a", "b"), ()),
])
def test_softdep_words(text: str, pre: tuple[str, ...], post: tuple[str, ...]) -> None:
    assert parse_softdep(text) == (pre, post)


def test_parse_kcmdline_requotes_boot_loader_quoting() -> None:
    assert parse_kcmdline('"parport.dyndbg=file a +p"') == [
        ("parport", 'dyndbg="file a +p"', '"file a +p"')]


def test_settings_for_a_module(scenario: Root) -> None:
    config = ModprobeConfig.load(scenario)
    kinds = [(s.kind, s.value) for s in config.settings_for("dummy")]
    assert ("install", "/bin/true") in kinds and ("remove", "/bin/false") in kinds
    assert ("alias", "run_alias") in kinds
    assert [s.kind for s in config.settings_for("pcspkr")] == ["blacklist"]
