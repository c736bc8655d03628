"""`make -C packaging install` never points the root service at files a user can change,
and the one documented non-package install (`make -C packaging install-venv`) works."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
NOBODY = 65534


def install(bindir: Path, *extra: str, destdir: str = "") -> subprocess.CompletedProcess[str]:
    """A real install (no staging DESTDIR) into a PREFIX under *bindir*'s parent."""
    prefix = bindir.parent / "usr"
    return subprocess.run(["make", "-s", "-C", str(PACKAGING), "install", f"DESTDIR={destdir}",
                           f"PREFIX={prefix}", f"BINDIR={bindir}", *extra],
                          capture_output=True, text=True, check=False)


def helper_env(base: Path, shebang: str = "#!/usr/bin/python3") -> Path:
    """A root-owned BINDIR with a kmodgui-helper script, as pip writes it."""
    bindir = base / "env" / "bin"
    bindir.mkdir(parents=True)
    for d in (base, base / "env", bindir):
        d.chmod(0o755)
    script = bindir / "kmodgui-helper"
    script.write_text(f"{shebang}\nfrom kmodgui_helper.__main__ import main\nmain()\n")
    script.chmod(0o755)
    return bindir


def assert_refused(proc: subprocess.CompletedProcess[str], why: str, base: Path) -> None:
    assert proc.returncode != 0
    assert "refusing to install" in proc.stderr and why in proc.stderr
    assert "make -C packaging install-venv" in proc.stderr  # says how to do it right
    assert not (base / "env" / "usr").exists()  # nothing installed


def test_root_owned_bindir_is_accepted(tmp_path: Path) -> None:
    """/tmp is sticky and world-writable, root-owned: accepted, as sudo accepts it."""
    bindir = helper_env(tmp_path)
    assert Path("/tmp").stat().st_mode & 0o1777 == 0o1777
    proc = install(bindir)
    assert proc.returncode == 0, proc.stderr
    activation = bindir.parent / "usr/share/dbus-1/system-services/org.kmodgui.Helper1.service"
    assert f"Exec={bindir}/kmodgui-helper\n" in activation.read_text()


def test_helper_script_owned_by_a_user_is_refused(tmp_path: Path) -> None:
    bindir = helper_env(tmp_path)
    os.chown(bindir / "kmodgui-helper", NOBODY, NOBODY)
    assert_refused(install(bindir), f"{bindir}/kmodgui-helper is owned by uid {NOBODY}", tmp_path)


@pytest.mark.parametrize("where", ["bin", "env", "base"])
def test_group_or_world_writable_directory_above_is_refused(tmp_path: Path, where: str) -> None:
    bindir = helper_env(tmp_path)
    target = {"bin": bindir, "env": bindir.parent, "base": tmp_path}[where]
    target.chmod(0o775)
    assert_refused(install(bindir), f"{target} is writable by group or others (mode 775)",
                   tmp_path)


def test_directory_above_owned_by_a_user_is_refused(tmp_path: Path) -> None:
    bindir = helper_env(tmp_path)
    os.chown(bindir.parent, NOBODY, NOBODY)
    assert_refused(install(bindir), f"{bindir.parent} is owned by uid {NOBODY}", tmp_path)


def test_interpreter_in_a_users_directory_is_refused(tmp_path: Path) -> None:
    """The shebang's interpreter counts: a root-owned script run by a user's python is not safe."""
    userdir = tmp_path / "user"
    userdir.mkdir()
    os.symlink(os.path.realpath(sys.executable), userdir / "python3")
    os.chown(userdir, NOBODY, NOBODY)
    bindir = helper_env(tmp_path, f"#!{userdir}/python3")
    assert_refused(install(bindir), f"{userdir} is owned by uid {NOBODY}", tmp_path)


def test_symlinked_interpreter_is_followed(tmp_path: Path) -> None:
    """A root-owned symlink (a venv's bin/python) into a writable directory is refused."""
    writable = tmp_path / "writable"
    writable.mkdir()
    shutil.copy(os.path.realpath(sys.executable), writable / "python3")
    writable.chmod(0o777)
    bindir = helper_env(tmp_path, f"#!{tmp_path}/env/bin/python3")
    os.symlink(writable / "python3", bindir / "python3")
    assert_refused(install(bindir), f"{writable} is writable by group or others (mode 777)",
                   tmp_path)


def test_env_shebang_checks_the_command_it_finds(tmp_path: Path) -> None:
    userdir = tmp_path / "user"
    userdir.mkdir()
    os.symlink(os.path.realpath(sys.executable), userdir / "python3")
    userdir.chmod(0o777)
    bindir = helper_env(tmp_path, "#!/usr/bin/env python3")
    env = {**os.environ, "PATH": f"{userdir}:{os.environ['PATH']}"}
    proc = subprocess.run(["make", "-s", "-C", str(PACKAGING), "install",
                           f"PREFIX={tmp_path}/env/usr", f"BINDIR={bindir}"],
                          capture_output=True, text=True, check=False, env=env)
    assert_refused(proc, f"{userdir} is writable by group or others", tmp_path)


def test_user_file_inside_a_virtual_environment_is_refused(tmp_path: Path) -> None:
    """In a venv the helper's code sits beside its script: all of it must be root's."""
    bindir = helper_env(tmp_path)
    (bindir.parent / "pyvenv.cfg").write_text("home = /usr/bin\n")
    code = bindir.parent / "lib/python3/site-packages/kmodgui_helper/api.py"
    code.parent.mkdir(parents=True)
    code.write_text("")
    os.chown(code, NOBODY, NOBODY)
    assert_refused(install(bindir), f"{code} in the environment", tmp_path)


def test_missing_helper_is_refused(tmp_path: Path) -> None:
    bindir = helper_env(tmp_path)
    (bindir / "kmodgui-helper").unlink()
    assert_refused(install(bindir), "there is no", tmp_path)


@pytest.mark.parametrize("destdir", ["", "/"])
def test_a_real_install_is_checked_with_or_without_destdir_slash(tmp_path: Path,
                                                                 destdir: str) -> None:
    """DESTDIR=/ (as the guest tier uses) is a real install, checked like no DESTDIR."""
    bindir = helper_env(tmp_path)
    bindir.chmod(0o777)
    assert_refused(install(bindir, destdir=destdir), "writable by group or others", tmp_path)


def test_staged_install_is_not_checked_and_moves_the_helper_off_path(tmp_path: Path) -> None:
    """A package's staging tree is owned by the builder; dpkg/rpm install it as root.
    The console script the Python build put in /usr/bin goes to BINDIR (/usr/libexec)."""
    stage = tmp_path / "stage"
    script = stage / "usr/bin/kmodgui-helper"
    script.parent.mkdir(parents=True)
    script.write_text("#!/usr/bin/python3\n")
    os.chown(script, NOBODY, NOBODY)
    subprocess.run(["make", "-s", "-C", str(PACKAGING), "install", f"DESTDIR={stage}",
                    "BINDIR=/usr/libexec"], check=True)
    assert not script.exists()
    assert (stage / "usr/libexec/kmodgui-helper").read_text() == "#!/usr/bin/python3\n"
    activation = stage / "usr/share/dbus-1/system-services/org.kmodgui.Helper1.service"
    assert "Exec=/usr/libexec/kmodgui-helper\n" in activation.read_text()


def test_the_checkouts_own_venv_passes(tmp_path: Path) -> None:
    """The guest tier installs from this checkout's .venv with DESTDIR=/: the check lets it
    through when the checkout is root's (CI's clean clone is)."""
    venv_bin = Path(sys.prefix) / "bin"
    proc = subprocess.run([str(PACKAGING / "check-helper-owner"), "/", str(venv_bin)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_documented_install_venv(tmp_path: Path) -> None:
    """README's one command, into a temporary root-owned place: the activation file points at
    root-owned files, and the helper there has dbus-fast (the window's install has not)."""
    venv = tmp_path / "opt/kmodgui"
    prefix = tmp_path / "usr"
    proc = subprocess.run(["make", "-s", "-C", str(PACKAGING), "install-venv", f"VENV={venv}",
                           f"PREFIX={prefix}"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    activation = (prefix / "share/dbus-1/system-services/org.kmodgui.Helper1.service").read_text()
    exec_line = next(line for line in activation.splitlines() if line.startswith("Exec="))
    helper = Path(exec_line.removeprefix("Exec="))
    assert helper == venv / "bin/kmodgui-helper"
    interpreter = Path(helper.read_text().splitlines()[0].removeprefix("#!"))
    for path in (helper, interpreter, interpreter.resolve(), *helper.parents):
        st = path.stat()
        assert st.st_uid == 0 and (st.st_mode & 0o022 == 0 or st.st_mode & 0o1000), path
    code = "import dbus_fast, kmodgui_helper.__main__; print(dbus_fast.__file__)"
    imports = subprocess.run([str(interpreter), "-c", code], capture_output=True, text=True,
                             check=True)
    assert imports.stdout.startswith(str(venv))
    version = subprocess.run([str(helper), "--version"], capture_output=True, text=True,
                             check=True)
    assert version.stdout.startswith("kmodgui-helper ")
