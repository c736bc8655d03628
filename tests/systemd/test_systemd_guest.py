"""The packages proven under systemd as PID 1 in a booted Debian 13 guest (issue 11).

Every test reads one point of the guest's report (tests/systemd/guest_drive.py has
the commands and what each one checks inside); a failure shows the guest's evidence
and the serial console. The changes are all made by the unprivileged user ``tester``
through the installed ``/usr/bin/kmodgui``, the helper started by D-Bus activation.
"""

from __future__ import annotations

import re

from sdguest import PACKAGING, SystemdGuest


def test_packages_install_with_apt(systemd_guest: SystemdGuest) -> None:
    """`apt install ./*.deb` of an older build, offline, in the booted guest."""
    assert "~old1" in systemd_guest.check("install_old")


def test_helper_is_dbus_activated_through_systemd(systemd_guest: SystemdGuest) -> None:
    """dbus-daemon hands the start to kmodgui-helper.service (SystemdService=)."""
    detail = systemd_guest.check("activation")
    assert "kmodgui-helper.service" in detail


def test_helper_exits_after_its_idle_time(systemd_guest: SystemdGuest) -> None:
    assert "Result=success" in systemd_guest.check("idle_exit")


def test_load_with_parameters(systemd_guest: SystemdGuest) -> None:
    """`kmodgui load dummy numdummies=2` as the user: two dummy interfaces."""
    systemd_guest.check("new_code")
    assert "['dummy0', 'dummy1']" in systemd_guest.check("load_params")


def test_unload(systemd_guest: SystemdGuest) -> None:
    systemd_guest.check("unload")


def test_insert_module_file_built_for_the_guest_kernel(systemd_guest: SystemdGuest) -> None:
    systemd_guest.check("insert_file")


def test_set_parameter(systemd_guest: SystemdGuest) -> None:
    systemd_guest.check("set_param")


def test_persistent_options(systemd_guest: SystemdGuest) -> None:
    """`kmodgui options kmg_hello count=9`: a later plain load gets count=9."""
    assert "options kmg_hello count=9" in systemd_guest.check("persistent_options")


def test_options_overridden_by_systemd_are_warned_about(systemd_guest: SystemdGuest) -> None:
    """systemd's /usr/lib/modprobe.d/systemd.conf (numdummies=0) sorts after ours."""
    systemd_guest.check("override_warning")


def test_blacklist(systemd_guest: SystemdGuest) -> None:
    """`kmodgui blacklist ifb always` (through the old helper) keeps modprobe from it."""
    systemd_guest.check("old_call")
    systemd_guest.check("blacklist")


def test_rebuild_index(systemd_guest: SystemdGuest) -> None:
    systemd_guest.check("rebuild_index")


def test_load_reply_has_the_kernel_log(systemd_guest: SystemdGuest) -> None:
    """The sandbox leaves /dev/kmsg readable: the module's own message comes back."""
    assert "kernel: kmg_hello: hello, world (count=4)" in systemd_guest.check("kernel_log")


def test_load_at_boot_survives_a_reboot(systemd_guest: SystemdGuest) -> None:
    """After the guest's reboot, systemd-modules-load loaded kmg_hello with its options."""
    systemd_guest.check("load_at_boot")
    assert "Inserted module 'kmg_hello'" in systemd_guest.check("modules_load")


def test_list_json_as_the_user(systemd_guest: SystemdGuest) -> None:
    systemd_guest.check("list_json")


def test_devices_json_as_the_user(systemd_guest: SystemdGuest) -> None:
    systemd_guest.check("devices_json")


def test_window_offscreen_from_the_packages(systemd_guest: SystemdGuest) -> None:
    systemd_guest.check("gui")
    png = (systemd_guest.share / "window.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_security_exposure_is_the_one_the_readme_quotes(systemd_guest: SystemdGuest) -> None:
    """`systemd-analyze security` live in the guest; packaging/README.md quotes the score
    (a change of the unit that moves it must update the explanation there too)."""
    detail = systemd_guest.check("security")
    match = re.search(r"Overall exposure level for kmodgui-helper\.service: ([0-9.]+)", detail)
    assert match is not None, detail
    readme = (PACKAGING / "README.md").read_text()
    section = readme.split("## Sandbox exposure", 1)[1].split("\n## ", 1)[0]
    quoted = re.search(r"live: \*\*([0-9.]+)\*\*", section)
    assert quoted is not None, "packaging/README.md quotes no live score"
    assert match[1] == quoted[1], detail


def test_upgrade_stops_the_running_helper(systemd_guest: SystemdGuest) -> None:
    """The old helper runs during `apt install` of the new build, which stops it."""
    systemd_guest.check("upgrade")


def test_next_call_after_upgrade_runs_the_new_code(systemd_guest: SystemdGuest) -> None:
    systemd_guest.check("new_code")


def test_helper_config_files_survive_purge(systemd_guest: SystemdGuest) -> None:
    """kmodgui-*.conf written through the helper stay after upgrade and after purge."""
    systemd_guest.check("upgrade")
    assert "kmodgui-ifb.conf" in systemd_guest.check("purge")
