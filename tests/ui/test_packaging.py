"""The desktop file, AppStream metainfo, icon and screenshots: valid and consistent."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from kmodgui.core.paths import Root

REPO = Path(__file__).resolve().parents[2]
DESKTOP = REPO / "packaging" / "org.kmodgui.KernelModules.desktop"
METAINFO = REPO / "packaging" / "org.kmodgui.KernelModules.metainfo.xml"
SHOTS = REPO / "packaging" / "screenshots"
SCRIPT = REPO / "resources" / "screenshots" / "make-screenshots"


def test_desktop_file_validates() -> None:
    result = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower()
    text = DESKTOP.read_text()
    assert "\nCategories=Settings;HardwareSettings;System;\n" in text
    assert "\nExec=kmodgui\n" in text and "\nIcon=org.kmodgui.KernelModules\n" in text


def test_metainfo_validates_and_names_real_screenshots() -> None:
    result = subprocess.run(["appstreamcli", "validate", "--no-net", str(METAINFO)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    tree = ET.parse(METAINFO)  # noqa: S314 - our own file
    assert tree.findtext("id") == DESKTOP.stem
    assert tree.findtext("launchable") == DESKTOP.name
    images = [i.text or "" for i in tree.iter("image")]
    assert images
    for url in images:
        name = url.rsplit("/", 1)[-1]
        assert (SHOTS / name).is_file(), name


def test_icon_is_an_svg_qt_can_draw(qapp: Any) -> None:
    from PySide6.QtGui import QIcon

    from kmodgui.ui.app import ICON_FILE

    assert ICON_FILE.is_file()
    # resources/icons holds the same icon (a link to the package's copy)
    assert (REPO / "resources" / "icons" / ICON_FILE.name).read_bytes() == ICON_FILE.read_bytes()
    assert ET.parse(ICON_FILE).getroot().tag.endswith("svg")  # noqa: S314 - our own file
    pixmap = QIcon(str(ICON_FILE)).pixmap(64, 64)
    assert not pixmap.isNull()
    image = pixmap.toImage()
    assert image.pixelColor(32, 32).alpha() == 255 and image.pixelColor(0, 0).alpha() == 0


def test_every_user_visible_string_is_translatable() -> None:
    """Literal strings handed to widgets go through tr()/translate()."""
    setters = re.compile(r"\.(setText|setToolTip|setPlaceholderText|setWindowTitle|addTab|"
                         r"addItem|setAccessibleName)\(\s*f?\"[^\"]")
    offenders = []
    for path in (REPO / "kmodgui" / "ui").rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if setters.search(line):
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []


def test_screenshot_script_under_xvfb(live_root: Root, tmp_path: Path,
                                      kernel_root: Root) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY",
                                                             "QT_QPA_PLATFORM")}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "-b", str(kernel_root.base), "-k", kernel_root.release,
         "-o", str(tmp_path)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    from PySide6.QtGui import QImage

    names = sorted(p.name for p in tmp_path.glob("*.png"))
    for page in ("modules", "parameters", "dependencies", "configuration", "log"):
        for scheme in ("light", "dark"):
            assert f"{page}-{scheme}.png" in names
    light = QImage(str(tmp_path / "modules-light.png"))
    dark = QImage(str(tmp_path / "modules-dark.png"))
    assert (light.width(), light.height()) == (1100, 720)
    # the dark palette really is dark: the window background differs in lightness
    assert light.pixelColor(1000, 600).lightness() > 150 > dark.pixelColor(1000, 600).lightness()
