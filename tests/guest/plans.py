"""The guest configurations and how one boot's results are read back.

A plan is a kernel command line plus the scenario files (``inside/scn_*.py``)
to run under pytest, as the unprivileged test user, in that guest. Results
come back as pytest's JUnit XML through the output share.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import sys
import sysconfig
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from harness import HERE, REPO, GuestRun, boot, guest_module_tree

from kmodgui.core.paths import Root

INSIDE = HERE / "inside"
GUEST_OUT = "/kmgout"


@dataclass(frozen=True)
class Plan:
    """One guest configuration: how it boots and what runs in it."""

    cmdline: str
    files: tuple[str, ...]
    harness_steps: bool = False
    extra: dict[str, str] = field(default_factory=dict)


PLANS = {
    "default": Plan(cmdline="", files=("scn_default.py", "scn_window.py"), harness_steps=True),
    "workbench": Plan(cmdline="", files=("scn_workbench.py",)),  # its own boot and time budget
    "locked": Plan(cmdline="module.sig_enforce=1",
                   files=("scn_workbench_locked.py", "scn_locked.py")),
}

#: Steps that prove the harness itself, before any project code is involved.
HARNESS_STEPS = [
    {"name": "modprobe-dummy", "argv": ["modprobe", "dummy", "numdummies=2"]},
    {"name": "lsmod", "argv": ["lsmod"]},
    {"name": "ip-link", "argv": ["ip", "-o", "link", "show"]},
    {"name": "rmmod-dummy", "argv": ["rmmod", "dummy"]},
    {"name": "id", "argv": ["id", "-u", "-n"], "user": "kmguser"},
    {"name": "installed", "argv": [
        "cat", "/usr/share/dbus-1/system-services/org.kmodgui.Helper1.service",
        "/usr/share/dbus-1/system.d/org.kmodgui.Helper1.conf",
        "/usr/share/polkit-1/actions/org.kmodgui.policy"]},
]


def scenario_names(plan: Plan) -> list[str]:
    """The test functions of a plan's scenario files, read without importing them."""
    names = []
    for f in plan.files:
        tree = ast.parse((INSIDE / f).read_text())
        names += [f"{f}::{node.name}" for node in tree.body
                  if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]
    return names


@dataclass
class Outcome:
    """A plan's boot and the results of the scenarios that ran in it."""

    run: GuestRun
    steps: dict[str, dict]
    cases: dict[str, list[tuple[str, str | None]]]  # file::function → [(id, failure)]

    def diagnostics(self, *, pytest_output: bool = True) -> str:
        """What to read when a guest test fails: console, daemons' logs, stage 2 errors."""
        parts = [f"guest console: {self.run.console} (qemu rc {self.run.returncode}, "
                 f"{self.run.seconds:.0f} s)", self.run.console_tail(80)]
        for name in ("stage2-error.txt", "dbus-daemon.log", "polkitd.log"):
            p = self.run.out / name
            if p.exists() and p.stat().st_size:
                tail = "\n".join(p.read_text(errors="replace").splitlines()[-40:])
                parts.append(f"--- {name} ---\n{tail}")
        pytest_step = self.steps.get("scenarios")
        if pytest_step and pytest_output:
            parts.append("--- guest pytest ---\n" + pytest_step["stdout"][-6000:]
                         + pytest_step["stderr"][-3000:])
        return "\n".join(parts)


def _parse_junit(path: Path) -> dict[str, list[tuple[str, str | None]]]:
    cases: dict[str, list[tuple[str, str | None]]] = {}
    if not path.exists():
        return cases
    # Our own pytest wrote it, in our own throwaway guest.
    for case in ET.parse(path).getroot().iter("testcase"):  # noqa: S314
        module = case.get("classname", "").rsplit(".", 1)[-1]
        name = case.get("name", "")
        failure = None
        for tag in ("failure", "error", "skipped"):
            el = case.find(tag)
            if el is not None:
                failure = f"{tag}: {el.get('message', '')}\n{el.text or ''}"
        cases.setdefault(f"{module}.py::{name.split('[')[0]}", []).append((name, failure))
    return cases


def run_plan(name: str, plan: Plan, root: Root, modules: dict[str, Path],
             workdir: Path, cache: Path) -> Outcome:
    """Boot *plan*'s guest once and collect everything it reports."""
    out = workdir / "out"
    (out / "mods").mkdir(parents=True)
    for mod, path in modules.items():
        shutil.copy(path, out / "mods" / f"{mod}.ko")
        (out / "mods" / f"{mod}.ko").chmod(0o644)
    (out / "mods").chmod(0o755)
    (out / "results").mkdir()
    (out / "results").chmod(0o777)  # the test user writes its report there
    python = sys.executable
    steps = list(HARNESS_STEPS) if plan.harness_steps else []
    steps.append({
        "name": "scenarios", "user": "kmguser", "cwd": str(REPO), "timeout": 420,
        "env": {"KMGTEST_IN_GUEST": "1", "KMGTEST_OUT": GUEST_OUT,
                "PYTHONDONTWRITEBYTECODE": "1", "QT_QPA_PLATFORM": "offscreen"},
        "argv": [python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE", "--durations=0",
                 "--junitxml", f"{GUEST_OUT}/results/junit.xml",
                 *(str(INSIDE / f) for f in plan.files)],
    })
    tree = guest_module_tree(root, cache)
    config = {
        "repo": str(REPO),
        # A distribution keeps the kernel's configuration in /boot (the helper reads it).
        "root_setup": [f"cp {root.base}/boot/config-{root.release} /boot/"],
        "user_paths": [os.path.realpath(python), sys.prefix, str(REPO)],
        "steps": steps,
        # The package lives in this virtual environment; packaging/Makefile points the
        # D-Bus activation file at its console script, as its BINDIR variable is for.
        "make_vars": {"BINDIR": sysconfig.get_path("scripts")},
        **plan.extra,
    }
    (out / "config.json").write_text(json.dumps(config, indent=1))
    run = boot(root, workdir, python=python, cmdline=plan.cmdline, timeout=540, tree=tree)
    steps_file = out / "steps.json"
    results = json.loads(steps_file.read_text()) if steps_file.exists() else []
    return Outcome(run=run, steps={s["name"]: s for s in results},
                   cases=_parse_junit(out / "results" / "junit.xml"))


