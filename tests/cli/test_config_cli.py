"""``kmodgui config``: the effective configuration with file:line, as text and JSON."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from kmgtest.treefiles import write

from kmodgui.cli import main

RELEASE = "5.5.5-test"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write(tmp_path / "etc/modprobe.d/blacklist.conf", "# no beeps\nblacklist pcspkr\n")
    write(tmp_path / "etc/modprobe.d/sound.conf",
          "options snd-hda-intel model=auto \\\n  power_save=1\nalias my-sound snd-hda-intel\n")
    write(tmp_path / "lib/modprobe.d/sound.conf", "options snd-hda-intel overridden=1\n")
    write(tmp_path / "lib/modprobe.d/bad.conf", "nonsense here\n")
    write(tmp_path / "lib/modules" / RELEASE / "modules.softdep", "softdep ext4 pre: crc32c\n")
    write(tmp_path / "etc/modprobe.d/zz-ext4.conf", "softdep ext4 pre: never-used\n")
    write(tmp_path / "etc/modules-load.d/boot.conf", "# at boot\nloop\n")
    write(tmp_path / "proc/cmdline", "ro ext4.debug=1 modules_load=dummy\n")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    status = main(list(args))
    return status, capsys.readouterr().out


def test_json(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "config", "-b", str(tree), "-k", RELEASE, "--json")
    assert status == 0
    data = json.loads(out)
    entries = {(e["kind"], e["module"]): e for e in data["modprobe"]["entries"]}
    sound = str(tree / "etc/modprobe.d/sound.conf")
    assert entries["options", "snd_hda_intel"] == {
        "kind": "options", "module": "snd_hda_intel", "value": "model=auto   power_save=1",
        "pre": [], "post": [], "file": sound, "line": 1, "effective": True}
    assert entries["alias", "my_sound"]["line"] == 3
    assert entries["blacklist", "pcspkr"]["file"].endswith("etc/modprobe.d/blacklist.conf")
    softdeps = [e for e in data["modprobe"]["entries"] if e["kind"] == "softdep"]
    assert [(e["pre"], e["effective"]) for e in softdeps] == [
        (["crc32c"], True), (["never-used"], False)]   # only the first softdep counts
    assert entries["options", "ext4"]["file"] == str(tree / "proc/cmdline")
    assert ("options", "snd_hda_intel") in entries and all(
        "overridden" not in e["value"] for e in data["modprobe"]["entries"])
    assert any("bad.conf:1: ignoring bad line starting with 'nonsense'" in w
               for w in data["modprobe"]["warnings"])
    loads = [(e["module"], Path(e["file"]).name, e["line"])
             for e in data["modules_load"]["entries"]]
    assert loads == [("loop", "boot.conf", 2), ("dummy", "cmdline", 1)]


def test_text_lists_every_entry_with_its_source(tree: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "config", "-b", str(tree), "-k", RELEASE)
    assert status == 0
    lines = out.splitlines()
    blacklist = next(line for line in lines if line.startswith("blacklist pcspkr"))
    assert blacklist.endswith(f"# {tree}/etc/modprobe.d/blacklist.conf:2")
    assert any(line.startswith("loop") and line.endswith("boot.conf:2") for line in lines)
    assert "# warnings" in lines
    shadowed = next(line for line in lines if "never-used" in line)
    assert shadowed.endswith(f"zz-ext4.conf:1 (no effect: {tree}/lib/modules/{RELEASE}"
                             "/modules.softdep:1 comes first)")


def test_dash_C_matches_modprobe_c(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """In modprobe -c's order and wording, our entries are modprobe's lines."""
    # modprobe reads the host's kernel command line: give the tree the same one
    (tree / "proc/cmdline").write_bytes(Path("/proc/cmdline").read_bytes())
    conf = tree / "etc/modprobe.d"
    status, out = run(capsys, "config", "-b", str(tree), "-k", RELEASE, "-C", str(conf),
                      "--json")
    assert status == 0
    entries = json.loads(out)["modprobe"]["entries"]
    expected = subprocess.run(["modprobe", "-C", str(conf), "-d", str(tree), "-S", RELEASE,
                               "-c"], capture_output=True, text=True, check=True).stdout
    ours = [f"{e['kind']} {e['module']}" + ("" if e["kind"] == "blacklist" else f" {e['value']}")
            for kind in ("blacklist", "install", "remove", "alias", "options", "softdep")
            for e in entries if e["kind"] == kind]
    assert "".join(line + "\n" for line in ours) == expected.split("\n# End")[0]
