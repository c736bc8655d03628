"""``kmodgui build`` on the host as an unprivileged user, with the real headers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from wbbuilds import Builds, Workspace

from kmodgui.cli import main
from kmodgui.core.paths import Root
from kmodgui.core.workbench.check import read_enforcement
from kmodgui.core.workbench.runner import BuildRequest, needs_staging, run_build


def kmodgui_info(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kmodgui", "info", *args], capture_output=True,
                          text=True, check=False)


def test_refuses_to_run_make_as_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert os.geteuid() == 0  # the tests run as root, as CI does
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "Kbuild").write_text("obj-m := m.o\n")
    assert main(["build", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert "does not run make as root" in err and "sudo -u USER kmodgui build" in err
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["Kbuild"]  # nothing ran


def test_bad_folders_are_refused_before_make(workspace: Workspace) -> None:
    done = workspace.kmodgui("build", str(workspace.path / "nowhere"), check_rc=1)
    assert "is not a folder" in done.stderr and "Traceback" not in done.stderr
    workspace.mkdir("empty")
    done = workspace.kmodgui("build", str(workspace.path / "empty"), check_rc=1)
    assert "has no Kbuild or Makefile" in done.stderr


def test_template_builds_and_info_shows_it(builds: Builds) -> None:
    build = builds["template"]
    ko = build.directory / "simplemodule.ko"
    assert build.data["modules"] == [str(ko)] and ko.stat().st_uid == 65534
    [built] = build.data["built"]
    release = builds.root.release
    assert built["vermagic"].startswith(f"{release} SMP ")
    assert (built["built_for"], built["vermagic_matches"], built["license"]) == (
        release, True, "GPL")
    assert built["parameters"] == [{"name": "count", "type": "int", "description":
                                    "A number you can change while the module is loaded"}]
    assert build.data["next_steps"] == [f"kmodgui insert {ko} count=VALUE"]
    # kmodgui info on the result: the right fields, and exactly kmod's modinfo
    info = kmodgui_info(str(ko))
    assert info.returncode == 0, info.stderr
    assert f"vermagic:       {release} SMP" in info.stdout
    assert "license:        GPL\n" in info.stdout
    assert "parm:           count:A number you can change while the module is loaded (int)" \
        in info.stdout
    modinfo = subprocess.run(["modinfo", str(ko)], capture_output=True, text=True, check=True)
    assert info.stdout == modinfo.stdout


def test_text_output_streams_then_explains(builds: Builds) -> None:
    ws, release = builds.workspace, builds.root.release
    fresh = ws.path / "text-output"
    ws.kmodgui("new", "simplemodule", str(fresh), check_rc=0)
    done = ws.kmodgui("build", str(fresh), "-k", release, check_rc=0)
    out = done.stdout
    # make's log, then the diagnostics, then the module as kmodgui info shows it
    order = [out.index(s) for s in ("make: Entering directory", "\ndiagnostics:\n",
                                    "harmless: BTF generation skipped", "filename:",
                                    "vermagic check: ok", "next: kmodgui insert")]
    assert order == sorted(order)
    failed = ws.kmodgui("build", str(builds["syntax"].directory), "-k", release, check_rc=1)
    assert f"{builds['syntax'].directory}/syn.c:5:9: error: expected" in failed.stdout
    assert "build failed (2 errors)" in failed.stderr


def test_the_build_costs_no_more_than_make_plus_one_second(builds: Builds) -> None:
    for name in ("template", "spaced"):
        data = builds[name].data
        assert data["seconds"] - data["make_seconds"] < 1.0, (name, data["seconds"],
                                                             data["make_seconds"])


def test_vermagic_of_another_release_is_flagged(builds: Builds, tmp_path: Path) -> None:
    """A module built for this release, checked against another: refused before loading."""
    from kmodgui.core.workbench.check import describe_module

    other = builds.root.with_release("6.1.0-0-other")
    module = describe_module(builds["template"].directory / "simplemodule.ko", other)
    assert not module.vermagic.matches
    assert module.problems == [f"built for {builds.root.release}, not 6.1.0-0-other: the "
                               "kernel 6.1.0-0-other will refuse it (rebuild with -k "
                               "6.1.0-0-other)"]


def test_unsigned_module_on_an_enforcing_kernel(builds: Builds, tmp_path: Path) -> None:
    """sig_enforce and lockdown as sysfs shows them: the unsigned build will be refused."""
    from kmodgui.core.paths import running_release
    from kmodgui.core.workbench.check import describe_module

    params = tmp_path / "sys/module/module/parameters"
    params.mkdir(parents=True)
    (params / "sig_enforce").write_text("Y\n")
    (tmp_path / "sys/kernel/security").mkdir(parents=True)
    (tmp_path / "sys/kernel/security/lockdown").write_text("none [integrity] confidentiality\n")
    root = Root(tmp_path, running_release())
    enforcement = read_enforcement(root)
    assert (enforcement.sig_enforce, enforcement.lockdown, enforcement.enforced) == (
        True, "integrity", True)
    ko = builds["template"].directory / "simplemodule.ko"
    [_vermagic, refused] = describe_module(ko, root).problems  # vermagic and signature
    assert "will be refused" in refused and "module.sig_enforce is on" in refused
    assert "locked down (integrity)" in refused and "kmodgui sign" in refused
    assert read_enforcement(Root(tmp_path / "none", running_release())).enforced is False


def test_streaming_api_and_cancel(builds: Builds) -> None:
    """The page's view of the core: lines arrive through the callback; cancel stops make."""
    ws = builds.workspace
    script = ws.write("stream.py", f"""
import json, sys
from pathlib import Path
from kmodgui.core.paths import Root
from kmodgui.core.workbench.runner import BuildProcess, BuildRequest, run_build
root = Root(Path("/"), {builds.root.release!r})
seen = []
result = run_build(BuildRequest(Path({str(builds["template"].directory)!r}), root), seen.append)
with BuildProcess(BuildRequest(Path({str(builds["undefined"].directory)!r}), root)) as build:
    first = next(build.lines())
    build.cancel()
    cancelled = build.wait()
print(json.dumps({{"seen": seen, "log": result.log, "ok": result.ok, "first": first,
                  "cancelled": cancelled.cancelled, "cancelled_ok": cancelled.ok}}))
""")
    done = ws.run(sys.executable, str(script), env=ws.env)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] is True and data["seen"] == data["log"] and len(data["seen"]) >= 2
    assert data["first"].startswith("make: Entering directory")
    assert data["cancelled"] is True and data["cancelled_ok"] is False


def test_staging_is_only_for_paths_kbuild_cannot_take() -> None:
    assert not needs_staging(Path("/home/ada/src/my-mod_2.0"))
    for bad in ("/home/ada/my mod", "/home/ada/a:b", "/home/ada/a#b", "/home/ada/$x"):
        assert needs_staging(Path(bad))


def test_core_refuses_root_without_running_anything(tmp_path: Path) -> None:
    from kmodgui.core.workbench.errors import BuildRefused

    (tmp_path / "Kbuild").write_text("obj-m := m.o\n")
    with pytest.raises(BuildRefused, match="as root"):
        run_build(BuildRequest(tmp_path, Root()))


def test_make_must_be_installed_for_the_tests() -> None:
    assert shutil.which("make") and shutil.which("setpriv")


def test_the_template_makefile_wrapper_builds(workspace: Workspace, build_root: Root) -> None:
    """`make` in the folder (real tabs, KDIR override) builds the same module."""
    folder = workspace.path / "wrapper"
    workspace.kmodgui("new", "simplemodule", str(folder), check_rc=0)
    done = workspace.run("make", "-C", str(folder), f"KDIR={build_root.modules_dir / 'build'}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (folder / "simplemodule.ko").is_file()


def test_default_release_is_the_running_kernel(workspace: Workspace) -> None:
    """No -k: the running kernel's headers (absent on this host: its kernel is not Debian's)."""
    from kmodgui.core.paths import running_release

    folder = workspace.path / "running"
    workspace.kmodgui("new", "simplemodule", str(folder), check_rc=0)
    done = workspace.kmodgui("build", str(folder), "--json")
    data = json.loads(done.stdout)
    assert data["release"] == running_release()
    if (Path("/lib/modules") / running_release() / "build" / "Makefile").is_file():
        assert done.returncode == 0 and data["ok"]
    else:
        assert done.returncode == 1
        [error] = data["diagnostics"]
        assert error["message"].startswith(f"kernel headers missing for {running_release()}")
        assert f"linux-headers-{running_release()}" in error["hint"]
