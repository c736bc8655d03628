"""Insert from file: the preview of a real module file, and the descriptor sent on."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kmodgui.client import HelperResult
from kmodgui.core.file_preview import kernel_exports, preview_file
from kmodgui.core.paths import Root
from kmodgui.ui.dialogs.insert_file import InsertFileDialog


def module_file(root: Root, name: str) -> str:
    out = subprocess.run(["modinfo", "-b", str(root.base), "-k", root.release, "-F",
                          "filename", name], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_preview_of_a_real_module(kernel_root: Root) -> None:
    path = module_file(kernel_root, "snd_hda_intel")
    preview = preview_file(path, kernel_root)
    assert not preview.error
    assert preview.name == "snd_hda_intel"
    assert preview.vermagic_matches
    assert preview.signed and preview.signer
    assert preview.imported > 50
    assert not preview.symbols_known  # Debian's System.map is a placeholder
    assert preview.unresolved == []
    # what it needs from modules is what modprobe would load before it
    needed = {m for ms in preview.from_modules.values() for m in ms}
    depends = subprocess.run(["modinfo", "-b", str(kernel_root.base), "-k",
                              kernel_root.release, "-F", "depends", "snd_hda_intel"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert set(depends.replace("-", "_").split(",")) <= {n.replace("-", "_") for n in needed}


def test_preview_against_another_kernel(kernel_root: Root, tmp_path: Path) -> None:
    other = Root(kernel_root.base, "5.10.0-99-amd64")
    preview = preview_file(module_file(kernel_root, "loop"), other)
    assert not preview.vermagic_matches
    assert not preview.symbols_known  # no System.map for that release


def test_preview_of_something_that_is_not_a_module(kernel_root: Root, tmp_path: Path) -> None:
    junk = tmp_path / "junk.ko"
    junk.write_bytes(b"\x7fELF" + b"\0" * 100)
    preview = preview_file(str(junk), kernel_root)
    assert preview.error
    missing = preview_file(str(tmp_path / "missing.ko"), kernel_root)
    assert missing.error


def symbol_map_root(kernel_root: Root, tmp_path: Path, exported: set[str]) -> Root:
    """The real tree with a System.map that exports ``exported`` (Debian's is a placeholder)."""
    base = tmp_path / "root"
    (base / "boot").mkdir(parents=True)
    (base / "lib").symlink_to(kernel_root.base / "lib")
    lines = [f"ffffffff81000000 r __ksymtab_{name}\n" for name in sorted(exported)]
    (base / "boot" / f"System.map-{kernel_root.release}").write_text(
        "ffffffff81000000 T _stext\n" + "".join(lines))
    return Root(base, kernel_root.release)


def test_unresolved_symbols_are_named(qapp: Any, kernel_root: Root, tmp_path: Path) -> None:
    path = module_file(kernel_root, "snd_hda_intel")
    everything = preview_file(path, kernel_root)
    from_kernel = {name for _crc, name in _versions(path)} - set(everything.from_modules)
    missing = sorted(from_kernel)[0]
    root = symbol_map_root(kernel_root, tmp_path, from_kernel - {missing})
    assert kernel_exports(root) == from_kernel - {missing}
    preview = preview_file(path, root)
    assert preview.symbols_known
    assert preview.unresolved == [missing]
    dialog = InsertFileDialog(preview)
    assert missing in dialog.checks["symbols"].text()
    dialog.deleteLater()


def _versions(path: str) -> list[tuple[int, str]]:
    from kmodgui.core.modfile import read_module_info

    return [(crc, name) for crc, name in read_module_info(path).versions
            if name != "module_layout"]


def test_placeholder_system_map_is_not_trusted(kernel_root: Root) -> None:
    assert kernel_exports(kernel_root) is None


def test_dialog_and_descriptor(window: Any, client: Any, qtbot: Any, kernel_root: Root) -> None:
    path = module_file(kernel_root, "loop")
    window.preview_and_insert(path)
    qtbot.waitUntil(lambda: isinstance(getattr(window, "preview_dialog", None),
                                       InsertFileDialog), timeout=10000)
    dialog = window.preview_dialog
    assert "this kernel" in dialog.checks["vermagic"].text()
    assert "signed by" in dialog.checks["signature"].text()
    received: list[tuple[int, int]] = []

    def answer(call: Any) -> None:
        fd = call.args[0]
        received.append((fd, os.fstat(fd).st_size))
        call.on_reply(HelperResult())

    client.answer = answer
    dialog.load_button.click()
    assert [c.method for c in client.calls] == ["InsertFile"]
    fd, size = received[0]
    assert size == os.stat(path).st_size
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(fd)  # the window closes its descriptor once the call has taken it
    assert client.calls[0].args[1:] == [[], {}]
    assert window.log_page.model.row(0)[3] == "done"


def test_dialog_refuses_a_broken_file(qapp: Any, tmp_path: Path, kernel_root: Root) -> None:
    junk = tmp_path / "junk.ko"
    junk.write_bytes(b"not a module at all")
    dialog = InsertFileDialog(preview_file(str(junk), kernel_root))
    assert not dialog.load_button.isEnabled()
    assert dialog.checks["error"].text()
