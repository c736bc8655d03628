"""Window speed and memory, as ratios against a bare PySide6 window in the same run.

On the Debian kernel tree that ``tests/fetch-kernel`` extracts (4000+ modules):

* warm start — a new process until the window shows the full list with
  descriptions (after one earlier start: catalog cache and list snapshot
  filled), against a new process that shows a bare PySide6 window with one
  table of 4000 rows (target ≤ 2.0);
* keystroke — median time from a changed search text to the filtered,
  repainted table, over a sequence of typed and erased characters
  (target ≤ 16 ms);
* peak memory (max RSS) of the warm-start process (target ≤ 200 MB).

Offscreen (``QT_QPA_PLATFORM=offscreen``). Run:
``.venv/bin/python benchmarks/bench_ui.py``; prints a Markdown table and exits
non-zero when a target is missed.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(os.environ.get("KMODGUI_TEST_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kmodgui-tests")
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
QUERIES = ("u", "us", "usb", "usb_", "usb_s", "usb_st", "usb_s", "usb_", "usb", "us", "u",
           "", "s", "sn", "snd", "snd_", "snd_h", "snd_hd", "snd_hda", "snd_hd", "snd_h",
           "snd_", "snd", "sn", "s", "", "e", "ex", "ext", "ext4", "ext", "ex", "e", "",
           "param:debug", "alias:pci:v00008086", "")

BARE = """
import sys
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import QApplication, QTableView
app = QApplication(sys.argv[:1])
class Model(QAbstractTableModel):
    def rowCount(self, parent=QModelIndex()): return 0 if parent.isValid() else 4000
    def columnCount(self, parent=QModelIndex()): return 0 if parent.isValid() else 5
    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        return f"row {index.row()}" if role == Qt.ItemDataRole.DisplayRole else None
view = QTableView()
view.setModel(Model())
view.resize(1000, 680)
view.show()
app.processEvents()
view.grab()
import time
print(time.time(), flush=True)
"""

WARM = """
import sys
from PySide6.QtWidgets import QApplication
from kmodgui.core.paths import Root
from kmodgui.ui.app import application
from kmodgui.ui.window import MainWindow
app = application()
window = MainWindow(Root.create(sys.argv[1], sys.argv[2]), None, watch=False)
window.show()
done = []
window.list_ready.connect(lambda: done.append(1))
while not done:
    app.processEvents()
assert window.model.record("ext4").description, "descriptions missing"
assert window.start_kind != "cold" or sys.argv[3] == "fill"
window.grab()
import time
print(time.time(), flush=True)
window.shutdown()
"""


def tree() -> tuple[Path, str]:
    base = CACHE / "current" / "root"
    release = sorted(p.name for p in (base / "lib" / "modules").iterdir())[-1]
    return base, release


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Seconds from starting a process until it has shown its window, and its peak RSS
    in KiB. (The process prints the wall-clock time once shown; exiting is not starting.)"""
    start = time.time()
    done = subprocess.run(argv, check=True, env=env, stdout=subprocess.PIPE, text=True)
    shown = float(done.stdout.split()[-1])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return shown - start, peak


def keystrokes(base: Path, release: str) -> list[float]:
    """Per-keystroke seconds, in this process, on a shown window."""
    from PySide6.QtWidgets import QApplication

    from kmodgui.core.paths import Root
    from kmodgui.ui.app import application
    from kmodgui.ui.window import MainWindow

    app = application()
    window = MainWindow(Root.create(str(base), release), None, watch=False)
    window.show()
    done: list[int] = []
    window.catalog_loaded.connect(lambda: done.append(1))
    while not done:
        app.processEvents()
    search = window.modules_page.search
    times = []
    for query in QUERIES * 3:
        start = time.perf_counter()
        search.setText(query)
        QApplication.processEvents()
        window.modules_page.table.viewport().repaint()
        times.append(time.perf_counter() - start)
    window.shutdown()
    return times


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    base, release = tree()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(home) / "cache")}
        warm_argv = [sys.executable, "-c", WARM, str(base), release, "warm"]
        timed([*warm_argv[:-1], "fill"], env)  # a cold start fills the cache and snapshot
        bare_times, warm_times, rss = [], [], 0
        for _ in range(REPEAT):
            bare_times.append(timed([sys.executable, "-c", BARE], env)[0])
            elapsed, peak = timed(warm_argv, env)
            warm_times.append(elapsed)
            rss = max(rss, peak)
        os.environ["XDG_CACHE_HOME"] = env["XDG_CACHE_HOME"]
        keys = keystrokes(base, release)
    bare, warm = statistics.median(bare_times), statistics.median(warm_times)
    ratio = warm / bare
    key_ms = statistics.median(keys) * 1000
    rss_mb = rss / 1024
    rows = [
        ("warm start / bare window", f"{warm:.2f} s / {bare:.2f} s = {ratio:.2f}", "≤ 2.0",
         ratio <= 2.0),
        ("keystroke to filtered table (median)", f"{key_ms:.1f} ms "
         f"(p90 {sorted(keys)[int(len(keys) * 0.9)] * 1000:.1f} ms)", "≤ 16 ms", key_ms <= 16),
        ("peak memory, warm start", f"{rss_mb:.0f} MB", "≤ 200 MB", rss_mb <= 200),
    ]
    print("| measure | result | target | ok |\n|---|---|---|---|")
    for name, result, target, ok in rows:
        print(f"| {name} | {result} | {target} | {'yes' if ok else 'NO'} |")
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
