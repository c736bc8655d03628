"""Workbench speed: ``kmodgui build`` of the template against the ``make`` it runs.

The issue's target: a template build costs no more than its ``make`` plus 1 s.
Each round starts from a fresh copy of the template (no build products), then
times, in the same run and alternating, the bare ``make -j N -C
/lib/modules/R/build M=DIR modules`` and ``kmodgui build DIR -k R`` (a whole
process: Python start, the build, the log parsed, the module read). Also the
same for a folder whose path has a space (the staging copy). As root the
builds run as 'nobody' (kmodgui build refuses root). On a busy machine make's
own time varies by seconds between runs, so the robust number is kmodgui's
own time: the process's wall time less the time of the make it ran (both in
the same process run), which is what the target bounds.

Run: ``.venv/bin/python benchmarks/bench_workbench.py`` (after ``tests/run``).
Prints a Markdown table; BENCH_REPEAT rounds (default 3), medians.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(os.environ.get("KMODGUI_TEST_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kmodgui-tests")
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
NOBODY = 65534
AS_USER = (["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
           if os.geteuid() == 0 else [])


def release() -> str:
    return sorted(p.name for p in (CACHE / "current/root/lib/modules").iterdir())[-1]


def timed(argv: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([*AS_USER, *argv], cwd=cwd, capture_output=True, text=True,
                          check=False, env={**os.environ, "LC_ALL": "C"})
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{argv} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout


def fresh(work: Path, template: Path, name: str) -> Path:
    target = work / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(template, target)
    if AS_USER:
        for path in (target, *target.iterdir()):
            os.chown(path, NOBODY, NOBODY)
    return target


def main() -> None:
    rel = release()
    kdir = f"/lib/modules/{rel}/build"
    jobs = str(os.cpu_count() or 1)
    work = Path(tempfile.mkdtemp(prefix="kmodgui-bench-"))
    work.chmod(0o755)
    if AS_USER:
        os.chown(work, NOBODY, NOBODY)
    try:
        template = work / "template"
        subprocess.run([sys.executable, "-m", "kmodgui", "new", "simplemodule", str(template)],
                       check=True, capture_output=True)
        rows = []
        for label, name in (("template", "plain"), ("template, path with a space", "a b")):
            make_times, build_times, own_times = [], [], []
            for _ in range(REPEAT):
                # make itself cannot build where the path has a space: its baseline is plain
                d = fresh(work, template, "plain")
                make_times.append(timed(["make", f"-j{jobs}", "-C", kdir, f"M={d}", "modules"],
                                        d)[0])
                d = fresh(work, template, name)
                elapsed, out = timed([sys.executable, "-m", "kmodgui", "build", str(d),
                                      "-k", rel, "-j", jobs, "--json"], d)
                build_times.append(elapsed)
                # everything the process did besides the make it ran (start-up included)
                own_times.append(elapsed - json.loads(out)["make_seconds"])
            rows.append((label, statistics.median(make_times), statistics.median(build_times),
                         statistics.median(own_times)))
        print(f"kernel headers {rel}, {jobs} CPUs, median of {REPEAT}\n")
        print("| build | make alone (s) | kmodgui build (s) | ratio | kmodgui's own time "
              "beside its make (s) | target |")
        print("|---|---:|---:|---:|---:|---|")
        for label, m, b, own in rows:
            print(f"| {label} | {m:.2f} | {b:.2f} | {b / m:.2f} | {own:.2f} | ≤ 1 s |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
