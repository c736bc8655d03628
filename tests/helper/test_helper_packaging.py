"""packaging/: `make install` puts standard files where dbus-daemon, polkitd and systemd look."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
FILES = {
    "share/dbus-1/system-services/org.kmodgui.Helper1.service",
    "share/dbus-1/system.d/org.kmodgui.Helper1.conf",
    "share/polkit-1/actions/org.kmodgui.policy",
    "lib/systemd/system/kmodgui-helper.service",
    "share/applications/org.kmodgui.KernelModules.desktop",
    "share/metainfo/org.kmodgui.KernelModules.metainfo.xml",
    "share/icons/hicolor/scalable/apps/org.kmodgui.KernelModules.svg",
    "share/metainfo/org.kmodgui.cockpit.metainfo.xml",
    # the Cockpit page: what Cockpit serves, not its tests, screenshots or README
    *(f"share/cockpit/kmodgui/{name}" for name in (
        "manifest.json", "index.html", "kmodgui.css", "app.js", "helper.js", "model.js",
        "reader.js", "requests.js", "theme.js")),
}


def make(*args: str) -> None:
    subprocess.run(["make", "-s", "-C", str(PACKAGING), *args], check=True,
                   capture_output=True)


@pytest.mark.parametrize("prefix", ["/usr", "/usr/local"])
def test_install_honours_destdir_prefix_and_bindir(tmp_path: Path, prefix: str) -> None:
    make("install", f"DESTDIR={tmp_path}", f"PREFIX={prefix}", "BINDIR=/opt/kmodgui/bin")
    base = tmp_path / prefix.lstrip("/")
    installed = {str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()}
    assert installed == FILES
    assert all((base / f).stat().st_mode & 0o777 == 0o644 for f in FILES)
    activation = (base / "share/dbus-1/system-services/org.kmodgui.Helper1.service").read_text()
    assert "Exec=/opt/kmodgui/bin/kmodgui-helper\n" in activation
    assert "User=root\n" in activation and "SystemdService=kmodgui-helper.service\n" in activation
    unit = (base / "lib/systemd/system/kmodgui-helper.service").read_text()
    assert "ExecStart=/opt/kmodgui/bin/kmodgui-helper\n" in unit
    make("uninstall", f"DESTDIR={tmp_path}", f"PREFIX={prefix}")
    assert not [p for p in base.rglob("*") if p.is_file()]


def test_unit_is_sandboxed_but_allows_module_work() -> None:
    unit = (PACKAGING / "kmodgui-helper.service").read_text()
    settings = dict(line.split("=", 1) for line in unit.splitlines()
                    if "=" in line and not line.startswith("#"))
    assert settings["Type"] == "dbus" and settings["BusName"] == "org.kmodgui.Helper1"
    assert "[Install]" not in [line.strip() for line in unit.splitlines()]
    for forbidden in ("ProtectKernelModules", "ProtectKernelTunables", "ProtectKernelLogs",
                      "PrivateDevices"):
        assert forbidden not in settings
    assert settings["ProtectSystem"] == "strict" and settings["NoNewPrivileges"] == "yes"
    assert "CAP_SYS_MODULE" in settings["CapabilityBoundingSet"]


def test_bus_policy_lets_only_root_own_the_name() -> None:
    tree = ET.parse(PACKAGING / "org.kmodgui.Helper1.conf")  # noqa: S314 - our own file
    owners = [(p.attrib, a.attrib) for p in tree.getroot().iter("policy")
              for a in p if a.get("own")]
    assert owners == [({"user": "root"}, {"own": "org.kmodgui.Helper1"})]
    default = tree.getroot().find("policy[@context='default']")
    assert default is not None
    allowed = {(a.get("send_interface"), a.get("send_member")) for a in default}
    assert allowed == {("org.kmodgui.Helper1", None),
                       ("org.freedesktop.DBus.Introspectable", None),
                       ("org.freedesktop.DBus.Peer", None),
                       ("org.freedesktop.DBus.Properties", "Get"),
                       ("org.freedesktop.DBus.Properties", "GetAll")}
    assert all(a.tag == "allow" and a.get("send_destination") == "org.kmodgui.Helper1"
               for a in default)


def test_polkit_defaults() -> None:
    tree = ET.parse(PACKAGING / "org.kmodgui.policy")  # noqa: S314 - our own file
    defaults = {}
    for action in tree.getroot().iter("action"):
        d = action.find("defaults")
        assert d is not None
        defaults[action.get("id")] = tuple(d.findtext(k) for k in (
            "allow_any", "allow_inactive", "allow_active"))
        message = action.findtext("message") or ""
        if action.get("id") not in ("org.kmodgui.load-file", "org.kmodgui.depmod"):
            assert "$(module)" in message
    keep = ("auth_admin", "auth_admin", "auth_admin_keep")
    strict = ("auth_admin", "auth_admin", "auth_admin")
    assert defaults == {"org.kmodgui.load": keep, "org.kmodgui.unload": keep,
                        "org.kmodgui.set-parameter": keep, "org.kmodgui.configure": keep,
                        "org.kmodgui.depmod": keep, "org.kmodgui.load-file": strict,
                        "org.kmodgui.force-unload": strict}
