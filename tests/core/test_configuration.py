"""The configuration in effect, one row per setting, as the page and ``kmodgui config`` read it."""

from __future__ import annotations

from pathlib import Path

from kmgtest.treefiles import write

from kmodgui.core.configuration import read_configuration
from kmodgui.core.paths import Root


def test_rows_with_sources_and_shadowing(tmp_path: Path) -> None:
    root = Root(tmp_path, "6.1.0-test")
    write(tmp_path / "etc/modprobe.d/a.conf", "install floppy /bin/false\nsoftdep x y\n")
    write(tmp_path / "etc/modprobe.d/kmodgui-floppy.conf",
          "blacklist floppy\ninstall floppy /bin/true\n")
    write(tmp_path / "etc/modprobe.d/z.conf", "softdep x pre: y\n")
    write(tmp_path / "etc/modules-load.d/kmodgui-loop.conf", "# header\nloop\n")
    config = read_configuration(root)
    rows = {(r.kind, r.module, r.source.file.rsplit("/", 1)[-1], r.source.line): r
            for r in config.settings}
    install = rows[("install", "floppy", "kmodgui-floppy.conf", 2)]
    assert install.shadowed_by is not None and install.shadowed_by.line == 1
    assert install.ours and not rows[("install", "floppy", "a.conf", 1)].ours
    empty = rows[("softdep", "x", "a.conf", 2)]
    assert empty.value == "" and empty.shadowed_by is None
    assert rows[("softdep", "x", "z.conf", 1)].shadowed_by == empty.source
    load = rows[("load", "loop", "kmodgui-loop.conf", 2)]
    assert load.value == "loop" and load.ours
    assert config.warnings == []
