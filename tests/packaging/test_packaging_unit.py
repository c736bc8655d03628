"""The systemd unit: still sandboxed, and nothing in it keeps /dev/kmsg from the helper."""

from __future__ import annotations

import subprocess
from pathlib import Path

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
UNIT = PACKAGING / "kmodgui-helper.service"


def settings() -> dict[str, str]:
    lines = UNIT.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def test_clock_is_protected_by_syscall_filter_not_a_device_list() -> None:
    """ProtectClock implies DeviceAllow=char-rtc r, which blocks /dev/kmsg on systemd 245-252."""
    unit = settings()
    assert "ProtectClock" not in unit
    denied = unit["SystemCallFilter"].removeprefix("~").split()
    assert unit["SystemCallFilter"].startswith("~") and "@clock" in denied
    # never the groups that hold what the helper exists for (@privileged holds @module)
    assert not {"@module", "@privileged", "@system-service"} & set(denied)
    for device_limit in ("DevicePolicy", "DeviceAllow", "PrivateDevices"):
        assert device_limit not in unit
    # the rest of the sandbox stays
    for key, value in {"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                       "PrivateNetwork": "yes", "NoNewPrivileges": "yes",
                       "RestrictAddressFamilies": "AF_UNIX",
                       "SystemCallArchitectures": "native", "ProtectProc": "invisible",
                       "MemoryDenyWriteExecute": "yes"}.items():
        assert unit[key] == value


def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    """The installed unit passes ``systemd-analyze verify`` without a single remark."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "kmodgui-helper"
    helper.write_text("#!/bin/sh\n")
    helper.chmod(0o755)
    subprocess.run(["make", "-s", "-C", str(PACKAGING), "install", f"DESTDIR={tmp_path}/stage",
                    f"BINDIR={bindir}"], check=True)
    unit = tmp_path / "stage/usr/lib/systemd/system/kmodgui-helper.service"
    assert f"ExecStart={helper}\n" in unit.read_text()
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                          capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")


def test_verify_catches_a_mistyped_setting(tmp_path: Path) -> None:
    """The gate above can fail: a misspelt sandbox option is reported."""
    unit = tmp_path / "kmodgui-helper.service"
    unit.write_text(UNIT.read_text().replace("@BINDIR@/kmodgui-helper", "/bin/true")
                    .replace("SystemCallFilter=", "SystemCalFilter="))
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                          capture_output=True, text=True, check=False)
    assert "Unknown key 'SystemCalFilter'" in proc.stderr
