"""Which headers package to install, from os-release; and a kernel upgraded but not booted."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmodgui.core.paths import Root
from kmodgui.core.workbench.headers import (
    headers_package,
    missing_headers_advice,
    parse_os_release,
    read_os_release,
    release_key,
    releases_with_headers,
)

OS_RELEASES = {
    "debian": ('ID=debian\nVERSION_ID="12"\n', "linux-headers-R", "apt-get"),
    "ubuntu": ('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n', "linux-headers-R", "apt-get"),
    "mint": ("ID=linuxmint\nID_LIKE='ubuntu debian'\n", "linux-headers-R", "apt-get"),
    "fedora": ('ID=fedora\nVERSION_ID=40\n', "kernel-devel-R", "dnf"),
    "rocky": ('ID="rocky"\nID_LIKE="rhel centos fedora"\n', "kernel-devel-R", "dnf"),
    "tumbleweed": ('ID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"\n',
                   "kernel-default-devel", "zypper"),
    "arch": ("ID=arch\n", "linux-headers", "pacman"),
    "manjaro": ("ID=manjaro\nID_LIKE=arch\n", "linux-headers", "pacman"),
}


@pytest.mark.parametrize("distro", OS_RELEASES)
def test_package_per_distribution(distro: str) -> None:
    text, package, tool = OS_RELEASES[distro]
    found = headers_package(parse_os_release(text), "R")
    assert found is not None and found.name == package and tool in found.install


def test_unknown_distribution_gets_generic_words() -> None:
    assert headers_package(parse_os_release("ID=plan9\n"), "R") is None
    assert headers_package(parse_os_release("garbage \"unclosed\n=\n"), "R") is None


def test_this_machine_is_debian() -> None:
    assert read_os_release(Root()).family == "debian"


def test_release_order_is_numeric() -> None:
    assert release_key("6.1.0-9-amd64") < release_key("6.1.0-10-amd64")
    assert release_key("5.15.0-100-generic") < release_key("6.1.0-1-amd64")


def tree(tmp_path: Path, releases: dict[str, bool], os_release: str) -> Path:
    for release, with_headers in releases.items():
        directory = tmp_path / "lib" / "modules" / release
        directory.mkdir(parents=True)
        if with_headers:
            (directory / "build").mkdir()
            (directory / "build" / "Makefile").write_text("# headers\n")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "os-release").write_text(os_release)
    return tmp_path


def test_running_kernel_older_than_the_headers(tmp_path: Path) -> None:
    """After an upgrade: headers for the new kernel only, the old one still running."""
    base = tree(tmp_path, {"6.1.0-9-amd64": False, "6.1.0-10-amd64": True}, "ID=debian\n")
    root = Root(base, "6.1.0-9-amd64")
    assert releases_with_headers(root) == ["6.1.0-10-amd64"]
    advice = missing_headers_advice(root, running="6.1.0-9-amd64")
    assert advice.message.startswith("kernel headers missing for 6.1.0-9-amd64: ")
    assert "sudo apt-get install linux-headers-6.1.0-9-amd64" in advice.hint
    assert "older than the installed headers (6.1.0-10-amd64)" in advice.hint
    assert "reboot into the new kernel" in advice.hint and "-k 6.1.0-10-amd64" in advice.hint


def test_not_running_no_reboot_advice(tmp_path: Path) -> None:
    base = tree(tmp_path, {"6.8.1-1-default": False}, 'ID="opensuse-leap"\nID_LIKE="suse"\n')
    advice = missing_headers_advice(Root(base, "6.8.1-1-default"), running="6.9.0")
    assert "zypper install kernel-default-devel" in advice.hint and "reboot" not in advice.hint
    assert "-k" not in advice.hint


def test_other_releases_with_headers_are_named(tmp_path: Path) -> None:
    base = tree(tmp_path, {"6.1.0-9-amd64": True, "6.12.0-1-amd64": False}, "ID=debian\n")
    advice = missing_headers_advice(Root(base, "6.12.0-1-amd64"), running="6.12.0-1-amd64")
    assert "reboot" not in advice.hint
    assert "Headers are installed for 6.1.0-9-amd64: build for one of those with " \
           "-k 6.1.0-9-amd64" in advice.hint


def test_dangling_build_link_counts_as_missing(tmp_path: Path) -> None:
    base = tree(tmp_path, {"6.1.0-1-amd64": False}, "ID=debian\n")
    (base / "lib/modules/6.1.0-1-amd64/build").symlink_to("/nonexistent/headers")
    assert releases_with_headers(Root(base, "6.1.0-1-amd64")) == []
