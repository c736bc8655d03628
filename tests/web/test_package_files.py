"""The Cockpit package's own files: manifest, AppStream addon metadata, screenshots, no build."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "cockpit"
METAINFO = PAGE / "org.kmodgui.cockpit.metainfo.xml"
SERVICE_FILE = "/usr/share/dbus-1/system-services/org.kmodgui.Helper1.service"


def test_manifest_menu_keywords_and_condition() -> None:
    manifest = json.loads((PAGE / "manifest.json").read_text())
    entry = manifest["menu"]["index"]
    assert entry["label"] == "Kernel modules"
    words = {w for k in entry["keywords"] for w in k["matches"]}
    assert {"kernel", "module", "driver", "modprobe", "lsmod", "modinfo", "blacklist"} <= words
    assert manifest["conditions"] == [{"path-exists": SERVICE_FILE}]


def test_metainfo_validates() -> None:
    done = subprocess.run(["appstreamcli", "validate", "--no-net", "--pedantic", str(METAINFO)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_metainfo_screenshots_are_committed_with_their_sizes() -> None:
    root = ET.parse(METAINFO).getroot()  # noqa: S314 - our own file
    assert root.get("type") == "addon" and root.findtext("extends") == \
        "org.cockpit_project.cockpit"
    images = root.findall("./screenshots/screenshot/image")
    assert len(images) == 3
    for image in images:
        name = (image.text or "").rsplit("/", 1)[-1]
        png = (PAGE / "screenshots" / name).read_bytes()
        width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
        assert (str(width), str(height)) == (image.get("width"), image.get("height")), name
    for kind in ("modules", "details", "hardware"):
        for style in ("light", "dark"):
            assert (PAGE / "screenshots" / f"{kind}-{style}.png").is_file()


def test_plain_modules_no_build_output() -> None:
    """index.html loads cockpit.js and one module; every import is a relative .js file here."""
    html = (PAGE / "index.html").read_text()
    assert re.findall(r'<script[^>]*src="([^"]+)"', html) == ["../base1/cockpit.js", "app.js"]
    assert "<style" not in html and " style=" not in html and "onclick=" not in html  # CSP
    for js in PAGE.glob("*.js"):
        for target in re.findall(r'from "([^"]+)"', js.read_text()):
            assert target.startswith("./") and (PAGE / target).is_file(), (js.name, target)
    assert not list(PAGE.glob("dist")) and not list(PAGE.glob("*.min.js"))
