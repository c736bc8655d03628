"""Core speed and memory, as ratios against kmod's own tools in the same run.

On the Debian kernel tree that ``tests/fetch-kernel`` extracts, recompressed
with xz (as many distributions ship modules), this measures:

* cold ``kmodgui list --json`` (empty cache) against one ``modinfo`` call over
  every module file (target ≤ 2.0);
* warm ``kmodgui list --json`` (cache filled) against the same (target ≤ 0.5);
* ``kmodgui resolve`` of 100 device modaliases in one call against 100
  ``modprobe -R`` processes (target ≤ 1.0);
* peak memory (max RSS) of the cold list (target ≤ 150 MB).

Run: ``.venv/bin/python benchmarks/bench_core.py`` (after ``tests/run`` or
``tests/fetch-kernel``). Prints a Markdown table.
"""

from __future__ import annotations

import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(os.environ.get("KMODGUI_TEST_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kmodgui-tests")
KMODGUI = [sys.executable, "-m", "kmodgui"]
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


def source_tree() -> tuple[Path, str]:
    base = CACHE / "current" / "root"
    release = sorted(p.name for p in (base / "lib/modules").iterdir())[-1]
    return base, release


def xz_tree(base: Path, release: str) -> Path:
    """A copy of the tree with every module xz-compressed (made once, then reused)."""
    target = CACHE / f"xz-{release}"
    if (target / ".complete").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    src = base / "lib/modules" / release
    dst = target / "lib/modules" / release
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("modules.*"))
    for name in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        shutil.copy2(src / name, dst / name)
    files = [str(p) for p in dst.rglob("*.ko")]
    for i in range(0, len(files), 200):
        subprocess.run(["xz", "--check=crc32", "-q", *files[i:i + 200]], check=True)
    order = (dst / "modules.order").read_text()
    (dst / "modules.order").write_text(re.sub(r"\.ko$", ".ko.xz", order, flags=re.M))
    subprocess.run(["/usr/sbin/depmod", "-b", str(target), release], check=True)
    (target / ".complete").touch()
    return target


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, after if after > before else -1


def maxrss_kib(argv: list[str], env: dict[str, str]) -> int:
    """Peak RSS of a command, measured by GNU time in a fresh process."""
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], env=env, check=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return int(out.stderr.strip().splitlines()[-1])


def modaliases(root: Path, release: str, count: int) -> list[str]:
    """Concrete PCI/USB modaliases made from the index's own patterns."""
    patterns = [line.split()[1] for line in
                (root / "lib/modules" / release / "modules.alias").read_text().splitlines()
                if line.startswith(("alias pci:", "alias usb:"))]
    rng = random.Random(7)
    picked = rng.sample(patterns, count)
    return [re.sub(r"\[[^]]*\]", "0", p).replace("*", "0").replace("?", "0") for p in picked]


def main() -> int:
    base, release = source_tree()
    root = xz_tree(base, release)
    files = sorted(str(p) for p in (root / "lib/modules" / release).rglob("*.ko.xz"))
    cache_home = Path(tempfile.mkdtemp(prefix="kmodgui-bench-"))
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    list_cmd = [*KMODGUI, "list", "-b", str(root), "-k", release, "--state", "all", "--json"]

    modinfo = statistics.median(timed(["/usr/sbin/modinfo", *files])[0] for _ in range(REPEAT))
    cold_times = []
    for _ in range(REPEAT):
        shutil.rmtree(cache_home, ignore_errors=True)
        cold_times.append(timed(list_cmd, env)[0])
    cold = statistics.median(cold_times)
    warm = statistics.median(timed(list_cmd, env)[0] for _ in range(REPEAT))
    shutil.rmtree(cache_home, ignore_errors=True)
    cold_rss = maxrss_kib(list_cmd, env)

    aliases = modaliases(root, release, 100)
    start = time.perf_counter()
    for alias in aliases:
        subprocess.run(["/usr/sbin/modprobe", "-d", str(root), "-S", release, "-R", alias],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    modprobe_r = time.perf_counter() - start
    resolve = statistics.median(
        timed([*KMODGUI, "resolve", "-b", str(root), "-k", release, *aliases], env)[0]
        for _ in range(REPEAT))
    shutil.rmtree(cache_home, ignore_errors=True)

    rows = [
        ("cold `list --json` / `modinfo` of all files", cold, modinfo, 2.0),
        ("warm `list --json` / `modinfo` of all files", warm, modinfo, 0.5),
        ("`resolve` 100 modaliases / 100 × `modprobe -R`", resolve, modprobe_r, 1.0),
    ]
    print(f"Debian {release}, {len(files)} xz-compressed modules, median of {REPEAT}\n")
    print("| measurement | kmodgui (s) | kmod (s) | ratio | target |")
    print("|---|---:|---:|---:|---:|")
    failed = False
    for label, ours, theirs, target in rows:
        ratio = ours / theirs
        failed |= ratio > target
        print(f"| {label} | {ours:.3f} | {theirs:.3f} | {ratio:.2f} | ≤ {target} |")
    print(f"| peak memory, cold `list --json` | {cold_rss / 1024:.0f} MB | | | ≤ 150 MB |")
    failed |= cold_rss / 1024 > 150
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
