"""The desktop file, AppStream metainfo, icon and screenshots: valid and consistent."""

from __future__ import annotations

import ast
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


# Qt-free modules whose user-visible texts are marked with QT_TRANSLATE_NOOP (the window
# translates them; kmodgui/ui/explain.py is the one place that passes them to translate()).
MARKED = [REPO / "kmodgui" / "client" / "errors.py"]
TRANSLATES_MARKED = {"explain.py", "window.py"}  # window.py: the page titles (PAGES)


def _sources() -> list[Path]:
    return [*sorted((REPO / "kmodgui" / "ui").rglob("*.py")), *MARKED]


def _translate_calls() -> list[tuple[str, int, ast.Call]]:
    calls = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                wanted = ("QT_TRANSLATE_NOOP",) if path in MARKED else \
                    ("tr",) if path.name in TRANSLATES_MARKED else ("tr", "translate")
                if name in wanted:
                    calls.append((path.name, node.lineno, node))
    return calls


def _literal(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def test_translated_strings_are_literals_lupdate_finds(tmp_path: Path) -> None:
    """lupdate extracts only literal texts: a variable (a header from a tuple, a helper
    wrapping translate) would ship untranslatable. Every call has literal arguments, and
    Qt's own lupdate finds every one of them."""
    calls = _translate_calls()
    texts = set()
    offenders = []
    for name, line, call in calls:
        is_tr = isinstance(call.func, ast.Attribute) and call.func.attr == "tr"
        literal_args = call.args[:1] if is_tr else call.args[:2]  # (context, text)
        if not literal_args or not all(_literal(a) for a in literal_args):
            offenders.append(f"{name}:{line}")
        else:
            texts.add(literal_args[-1].value)  # type: ignore[attr-defined]
    assert offenders == []
    assert len(texts) > 200
    lupdate = Path(sys.executable).with_name("pyside6-lupdate")
    ts = tmp_path / "kmodgui.ts"
    sources = [str(p) for p in _sources()]
    result = subprocess.run([str(lupdate), *sources, "-ts", str(ts)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    found = {m.findtext("source") for m in ET.parse(ts).iter("message")}  # noqa: S314
    assert texts - found == set()


def _screenshots(kernel_root: Root, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY",
                                                             "QT_QPA_PLATFORM")}
    return subprocess.run(
        [sys.executable, str(SCRIPT), "-b", str(kernel_root.base), "-k", kernel_root.release,
         "-o", str(out), *extra], capture_output=True, text=True, env=env, timeout=300)


def test_screenshot_script_under_xvfb(live_root: Root, tmp_path: Path,
                                      kernel_root: Root) -> None:
    result = _screenshots(kernel_root, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no captured tree" not in result.stderr     # the capture was used
    from PySide6.QtGui import QImage

    names = sorted(p.name for p in tmp_path.glob("*.png"))
    for page in ("modules", "parameters", "dependencies", "configuration", "log", "workbench"):
        for scheme in ("light", "dark"):
            assert f"{page}-{scheme}.png" in names
    light = QImage(str(tmp_path / "modules-light.png"))
    dark = QImage(str(tmp_path / "modules-dark.png"))
    assert (light.width(), light.height()) == (1100, 720)
    # the dark palette really is dark: the window background differs in lightness
    assert light.pixelColor(1000, 600).lightness() > 150 > dark.pixelColor(1000, 600).lightness()


def test_screenshot_script_falls_back_when_the_capture_fails(tmp_path: Path,
                                                             kernel_root: Root) -> None:
    """A capture that cannot be used (here: one that does not exist, so extracting fails
    after its directory was made) leaves nothing behind, and the made-up state is shot."""
    result = _screenshots(kernel_root, tmp_path, "--capture", "no-such-capture")
    assert result.returncode == 0, result.stderr
    assert "no captured tree" in result.stderr
    names = {p.name for p in tmp_path.glob("*.png")}
    assert {"modules-light.png", "hardware-dark.png", "log-dark.png"} <= names
