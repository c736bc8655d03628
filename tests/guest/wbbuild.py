"""The workbench's module for the guest tier: ``kmodgui new`` + ``kmodgui build``, as 'nobody'.

The note's cycle starts with writing and building a module. Building under
the emulated guest would take minutes, so the host does it once per template
text and kernel release, the way a user does: ``kmodgui new simplemodule``,
then ``kmodgui build -k RELEASE`` (as 'nobody': the workbench never runs make
as root) against the matching linux-headers (tests/setup.d/30-guest). A copy
signed with a throw-away key of our own (``kmodgui keygen``, ``kmodgui
sign``) is what a kernel enforcing signatures must still refuse: the key is
not enrolled. The build's JSON (log and parsed diagnostics) is kept beside
the files for the report.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from kmodgui.core.paths import Root
from kmodgui.core.workbench.template import render

NAME = "simplemodule"
AUTHOR = "kmodgui guest tier"
NOBODY = (65534, 65534)
AS_NOBODY = ["setpriv", f"--reuid={NOBODY[0]}", f"--regid={NOBODY[1]}", "--clear-groups"]


class WorkbenchBuildError(RuntimeError):
    """The template did not build (or could not be signed) on the host."""


def _key(release: str) -> str:
    h = hashlib.sha256(release.encode())
    for name, text in sorted(render(NAME, author=AUTHOR).files.items()):
        h.update(name.encode() + b"\0" + text.encode())
    return h.hexdigest()[:16]


def _kmodgui(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    home = work / "home"
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / ".local/share"),
           "XDG_CACHE_HOME": str(home / ".cache"), "PYTHONDONTWRITEBYTECODE": "1",
           "USER": "nobody"}
    done = subprocess.run([*AS_NOBODY, sys.executable, "-m", "kmodgui", *args],
                          capture_output=True, text=True, env=env, cwd=work, timeout=600,
                          check=False)
    if done.returncode != 0:
        raise WorkbenchBuildError(f"kmodgui {' '.join(args)} failed ({done.returncode}):\n"
                                  f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done


def build_workbench_modules(root: Root, cache: Path) -> dict[str, Path]:
    """``simplemodule`` (unsigned) and ``simplemodule-signed`` for *root*'s release."""
    out = cache / "guest-modules" / f"workbench-{root.release}-{_key(root.release)}"
    wanted = {NAME: out / f"{NAME}.ko", f"{NAME}-signed": out / f"{NAME}-signed.ko"}
    if all(p.exists() for p in wanted.values()):
        return wanted
    work = Path(tempfile.mkdtemp(prefix="kmodgui-guest-wb-"))  # 'nobody' can reach /tmp
    try:
        work.chmod(0o755)
        (work / "home").mkdir()
        for path in (work, work / "home"):
            os.chown(path, *NOBODY)
        folder = work / NAME
        _kmodgui(work, "new", NAME, str(folder), "--author", AUTHOR)
        built = _kmodgui(work, "build", str(folder), "-k", root.release, "--json")
        _kmodgui(work, "keygen")
        signed_dir = work / "signed"
        signed_dir.mkdir()
        os.chown(signed_dir, *NOBODY)
        signed = signed_dir / f"{NAME}.ko"
        shutil.copy2(folder / f"{NAME}.ko", signed)
        os.chown(signed, *NOBODY)
        _kmodgui(work, "sign", str(signed), "-k", root.release)
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        shutil.copy2(folder / f"{NAME}.ko", tmp / f"{NAME}.ko")
        shutil.copy2(signed, tmp / f"{NAME}-signed.ko")
        (tmp / "build.json").write_text(json.dumps(json.loads(built.stdout), indent=1))
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return wanted
