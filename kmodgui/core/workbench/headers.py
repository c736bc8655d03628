"""Where a kernel release's build tree is and, when it is missing, which package has it.

A build needs ``/lib/modules/RELEASE/build`` (the headers package's tree).
When it is missing the user needs the package's name for *this*
distribution (from ``/etc/os-release``) and, after a kernel upgrade, the
news that the running kernel is older than the headers that are installed.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from kmodgui.core.paths import Root, running_release


@dataclass(frozen=True)
class OsRelease:
    """The fields of ``os-release`` that name a distribution family."""

    id: str = ""
    id_like: tuple[str, ...] = ()
    pretty_name: str = ""

    @property
    def family(self) -> str:
        """``debian``, ``fedora``, ``suse``, ``arch`` or ``""`` (unknown)."""
        ids = (self.id, *self.id_like)
        for word in ids:
            if word in ("debian", "ubuntu"):
                return "debian"
            if word in ("fedora", "rhel", "centos"):
                return "fedora"
            if word.startswith("opensuse") or word in ("suse", "sles"):
                return "suse"
            if word == "arch":
                return "arch"
        return ""


def parse_os_release(text: str) -> OsRelease:
    """``os-release``'s shell-style ``KEY=value`` lines (quotes optional)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            words = shlex.split(raw)
        except ValueError:
            continue
        values[key] = " ".join(words)
    return OsRelease(values.get("ID", "").lower(),
                     tuple(values.get("ID_LIKE", "").lower().split()),
                     values.get("PRETTY_NAME", ""))


def read_os_release(root: Root) -> OsRelease:
    """``/etc/os-release``, else ``/usr/lib/os-release`` (systemd's order); empty if neither."""
    for name in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            return parse_os_release(root.path(name).read_text(encoding="utf-8",
                                                             errors="replace"))
        except OSError:
            continue
    return OsRelease()


@dataclass(frozen=True)
class HeadersPackage:
    """The package holding a release's build tree, and the command that installs it."""

    name: str
    install: str


def headers_package(os_release: OsRelease, release: str) -> HeadersPackage | None:
    """The headers package for ``release`` on this distribution; None when unknown."""
    family = os_release.family
    if family == "debian":
        name = f"linux-headers-{release}"
        return HeadersPackage(name, f"sudo apt-get install {name}")
    if family == "fedora":
        name = f"kernel-devel-{release}"
        return HeadersPackage(name, f"sudo dnf install {name}")
    if family == "suse":
        return HeadersPackage("kernel-default-devel", "sudo zypper install kernel-default-devel")
    if family == "arch":
        return HeadersPackage("linux-headers", "sudo pacman -S linux-headers")
    return None


def build_dir(root: Root) -> Path:
    """``/lib/modules/RELEASE/build``: what ``make -C`` needs."""
    return root.modules_dir / "build"


def has_build_tree(root: Root) -> bool:
    """True when the release's build tree is there (a dangling link counts as missing)."""
    return (build_dir(root) / "Makefile").is_file()


def releases_with_headers(root: Root) -> list[str]:
    """Installed releases whose build tree is present, newest first (the running one first)."""
    found = [r for r in root.installed_releases() if has_build_tree(root.with_release(r))]
    found.sort(key=release_key, reverse=True)
    if root.is_host and running_release() in found:
        found.remove(running_release())
        found.insert(0, running_release())
    return found


def release_key(release: str) -> tuple[tuple[int, str], ...]:
    """Sort key comparing numbers as numbers: ``6.1.0-9`` < ``6.1.0-10``."""
    return tuple((int(part), "") if part.isdigit() else (-1, part)
                 for part in re.findall(r"\d+|[^\d.\-+_~]+", release))


@dataclass(frozen=True)
class HeadersAdvice:
    """Why a build tree is missing, in words, with the next step."""

    message: str
    hint: str


def missing_headers_advice(root: Root, *, running: str | None = None) -> HeadersAdvice:
    """What to tell a user whose release has no build tree."""
    release = root.release
    package = headers_package(read_os_release(root), release)
    message = (f"kernel headers missing for {release}: {build_dir(root)} does not exist "
               "(kbuild needs the kernel's build tree)")
    steps = []
    if package is not None:
        steps.append(f"Install {package.name}: {package.install}")
    else:
        steps.append(f"Install your distribution's kernel headers (devel) package for {release}")
    running = running or running_release()
    others = [r for r in releases_with_headers(root) if r != release]
    newer = [r for r in others if release_key(r) > release_key(release)]
    if release == running and newer:
        steps.append(f"The running kernel {running} is older than the installed headers "
                     f"({', '.join(newer)}): reboot into the new kernel, or build for it "
                     f"with -k {newer[0]}")
    elif others:
        steps.append(f"Headers are installed for {', '.join(others)}: build for one of "
                     f"those with -k {others[0]}")
    return HeadersAdvice(message, "; ".join(steps) + ".")
