"""The built packages pass the distributions' own gates: lintian, rpmlint (Fedora-like),
desktop-file-validate, appstreamcli, and the RPMs hold what the .debs hold."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from kmgtest.packages import PACKAGES, PACKAGING, REPO, Built, in_trixie


def test_lintian_has_nothing_to_say(built: Built) -> None:
    """--fail-on error,warning is the gate; info and pedantic tags are shown and must be
    absent too (the only silenced tags are the commented overrides)."""
    # as a user, as lintian wants (the session's directory is root's only: copy first)
    proc = in_trixie(f"cp -r /dist /tmp/l && chmod -R a+rX /tmp/l && runuser -u nobody -- "
                     f"lintian --fail-on error,warning --display-info --pedantic "
                     f"/tmp/l/{built.changes.name}", binds={built.dist: "/dist"}, check=False)
    tags = [line for line in proc.stdout.splitlines() if re.match(r"[EWIPX]: ", line)]
    assert (proc.returncode, tags) == (0, []), proc.stdout + proc.stderr


def test_every_lintian_override_is_explained() -> None:
    overrides = sorted((PACKAGING / "debian").glob("*.lintian-overrides"))
    assert overrides
    for path in overrides:
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if line and not line.startswith("#"):
                assert i > 0 and lines[i - 1].startswith("#"), f"{path.name}: {line}"


def test_rpmlint_fedora_config_is_clean(built: Built) -> None:
    rpms = " ".join(f"/dist/{p.name}" for p in [*built.rpms, *built.dist.glob("*.src.rpm")])
    proc = in_trixie(f"rpmlint -c /rpm/rpmlint.toml {rpms} /rpm/kmodgui.spec",
                     binds={built.dist: "/dist", PACKAGING / "rpm": "/rpm"}, check=False)
    summary = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 errors, 0 warnings" in summary, proc.stdout


def test_desktop_file_and_metainfo_validate(built: Built) -> None:
    """As shipped in kmodgui-gui: the distribution's validators, offline, pedantic."""
    gui = next(p for p in built.debs if p.name.startswith("kmodgui-gui_"))
    proc = in_trixie(
        f"dpkg-deb -x /dist/{gui.name} /tmp/x && "
        "desktop-file-validate /tmp/x/usr/share/applications/org.kmodgui.KernelModules.desktop"
        " && appstreamcli validate --no-net --pedantic --explain "
        "/tmp/x/usr/share/metainfo/org.kmodgui.KernelModules.metainfo.xml",
        binds={built.dist: "/dist"}, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validation was successful" in proc.stdout, proc.stdout


def test_cockpit_page_as_shipped(built: Built) -> None:
    """cockpit-kmodgui holds every file Cockpit serves for the page and nothing of its
    development (tests, screenshots, README); its addon metadata validates."""
    deb = next(p for p in built.debs if p.name.startswith("cockpit-kmodgui_"))
    page = "/usr/share/cockpit/kmodgui/"
    shipped = {path.removeprefix(page) for path in deb_files(deb) if path.startswith(page)}
    source = REPO / "cockpit"
    served = {"manifest.json", "index.html",
              *(p.name for p in [*source.glob("*.js"), *source.glob("*.css")])}
    assert shipped == served
    proc = in_trixie(f"dpkg-deb -x /dist/{deb.name} /tmp/x && appstreamcli validate --no-net "
                     "--pedantic --explain "
                     "/tmp/x/usr/share/metainfo/org.kmodgui.cockpit.metainfo.xml",
                     binds={built.dist: "/dist"}, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_metainfo_has_screenshots_that_exist_in_the_repo() -> None:
    metainfo = (PACKAGING / "org.kmodgui.KernelModules.metainfo.xml").read_text()
    images = re.findall(r"<image[^>]*>[^<]*/([^/<]+\.png)</image>", metainfo)
    assert len(images) >= 3
    for image in images:
        assert (PACKAGING / "screenshots" / image).is_file(), image


def deb_files(deb: Path) -> set[str]:
    out = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                         check=True).stdout
    return {line.split(None, 5)[5].removeprefix(".") for line in out.splitlines()
            if line.startswith("-")}


def rpm_files(rpms: list[Path]) -> dict[str, set[str]]:
    """Regular files of each RPM, by package name (one rpm call for all)."""
    names = " ".join(f"/r/{rpm.name}" for rpm in rpms)
    proc = in_trixie(f"rpm -qp --qf '[%{{=NAME}} %{{FILEMODES:perms}} %{{FILENAMES}}\\n]' {names}",
                     binds={rpms[0].parent: "/r"})
    files: dict[str, set[str]] = {}
    for line in proc.stdout.splitlines():
        name, mode, path = line.split(" ", 2)
        if mode.startswith("-"):
            files.setdefault(name, set()).add(path)
    return files


def normalised(paths: set[str]) -> set[str]:
    """Paths modulo what each distribution does its own way: the Python directory,
    byte-code, documentation and licence files, lintian overrides, man page
    compression, the wheel's installer records."""
    result = set()
    for p in paths:
        p = re.sub(r"^/usr/lib/python3(\.\d+)?/(dist|site)-packages/", "SITE/", p)
        if "/__pycache__/" in p or p.startswith(("/usr/share/doc/", "/usr/share/licenses/",
                                                 "/usr/share/lintian/")):
            continue
        if re.match(r"SITE/[^/]+\.dist-info/(INSTALLER|RECORD|REQUESTED|direct_url\.json)$", p):
            continue
        result.add(p.removesuffix(".gz"))
    return result


def test_rpm_holds_what_the_debs_hold(built: Built) -> None:
    rpm_lists = rpm_files(built.rpms)
    assert sorted(rpm_lists) == sorted(PACKAGES)
    for name in PACKAGES:
        deb = next(p for p in built.debs if p.name.startswith(f"{name}_"))
        deb_set, rpm_set = normalised(deb_files(deb)), normalised(rpm_lists[name])
        assert deb_set == rpm_set, (name, deb_set ^ rpm_set)
        assert deb_set  # something to compare


@pytest.mark.packages
def test_dependency_floors_hold_on_debian_13() -> None:
    """pyproject's floors are no higher than what trixie ships (the .debs depend on
    trixie's packages), and debian/control states the same floors."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {"pyelftools": "elftools", "zstandard": "zstandard", "asn1crypto": "asn1crypto",
              "dbus-fast": "dbus_fast", "PySide6-Essentials": "PySide6"}
    floors = {}
    for req in [*project["dependencies"], *project["optional-dependencies"]["helper"],
                *project["optional-dependencies"]["gui"]]:
        m = re.match(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", req)
        assert m, req
        floors[m.group(1)] = m.group(2)
    assert set(floors) == set(wanted)
    modules = " ".join(f"{name}={module}" for name, module in wanted.items())
    proc = in_trixie(
        "python3 -c \"import importlib, importlib.metadata as md, sys\n"
        "for pair in sys.argv[1:]:\n"
        "    name, module = pair.split('=')\n"
        "    try: v = md.version(name)\n"
        "    except md.PackageNotFoundError: v = importlib.import_module(module).__version__\n"
        f"    print(name, v)\" {modules}")
    shipped = dict(line.split() for line in proc.stdout.splitlines())

    def version(v: str) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", v)[:3])

    for name, floor in floors.items():
        assert version(floor) <= version(shipped[name]), (name, floor, shipped[name])
    control = (PACKAGING / "debian/control").read_text()
    for deb_name, name in (("python3-pyelftools", "pyelftools"),
                           ("python3-zstandard", "zstandard"),
                           ("python3-dbus-fast", "dbus-fast"),
                           ("python3-pyside6.qtwidgets", "PySide6-Essentials")):
        assert f"{deb_name} (>= {floors[name]})" in control, deb_name
