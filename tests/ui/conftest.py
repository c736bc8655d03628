"""UI test fixtures: offscreen Qt, a live system tree built over the real kernel package,
and a helper client that records calls.

The live tree links the real Debian kernel's ``lib/``, ``boot/`` and ``usr/``
and adds its own ``proc/modules``, ``sys/module`` and ``etc/modprobe.d``, so
that the window sees real modules in every state (loaded with holders and
writable parameters, available, built-in, configured) without a kernel that
can load them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from kmodgui.client import HelperError, HelperResult, Request
from kmodgui.core.paths import Root

# name -> (size, refcount, holders); newest first as /proc/modules lists them.
LOADED = {
    "psmouse": (188416, 0, []),
    "ext4": (987136, 1, []),
    "jbd2": (196608, 1, ["ext4"]),
    "mbcache": (16384, 1, ["ext4"]),
    "crc16": (16384, 1, ["ext4"]),
}
# module -> {parameter: (value, mode)}
PARAMETERS = {
    "psmouse": {"rate": ("100", 0o644), "resolution": ("200", 0o644),
                "smartscroll": ("Y", 0o644), "proto": ("auto", 0o644),
                "resetafter": ("5", 0o644), "resync_time": ("0", 0o644)},
    "ext4": {},
}
MODPROBE_CONF = {
    "local.conf": "options psmouse rate=60 proto=imps\nblacklist pcspkr\n",
    "kmodgui-floppy.conf": "install floppy /bin/false\nblacklist floppy\n",
}


def proc_modules_text(loaded: dict[str, tuple[int, int, list[str]]]) -> str:
    lines = []
    for name, (size, refcount, holders) in loaded.items():
        users = "".join(f"{h}," for h in holders) or "-"
        lines.append(f"{name} {size} {refcount} {users} Live 0x0000000000000000\n")
    return "".join(lines)


def write_live_state(base: Path, loaded: dict[str, tuple[int, int, list[str]]]) -> None:
    """``proc/modules`` and ``sys/module`` for ``loaded`` under ``base``."""
    (base / "proc").mkdir(exist_ok=True)
    for name, (size, refcount, holders) in loaded.items():
        directory = base / "sys" / "module" / name
        (directory / "holders").mkdir(parents=True, exist_ok=True)
        (directory / "initstate").write_text("live\n")
        (directory / "refcnt").write_text(f"{refcount}\n")
        (directory / "coresize").write_text(f"{size}\n")
        for holder in holders:
            link = directory / "holders" / holder
            if not link.exists():
                link.symlink_to(f"../../{holder}")
        params = directory / "parameters"
        params.mkdir(exist_ok=True)
        for pname, (value, mode) in PARAMETERS.get(name, {}).items():
            path = params / pname
            path.write_text(f"{value}\n" if value is not None else "")
            path.chmod(mode if value is not None else 0)
    # write proc/modules last: it is what the poller watches
    (base / "proc" / "modules").write_text(proc_modules_text(loaded))


def make_live_root(base: Path, kernel_root: Root) -> Root:
    """The real kernel tree under ``base`` with a live state and configuration of our own."""
    base.mkdir()
    for part in ("lib", "boot", "usr"):
        if (kernel_root.base / part).exists():
            (base / part).symlink_to(kernel_root.base / part)
    conf = base / "etc" / "modprobe.d"
    conf.mkdir(parents=True)
    for name, text in MODPROBE_CONF.items():
        (conf / name).write_text(text)
    write_live_state(base, LOADED)
    return Root(base, kernel_root.release)


@pytest.fixture(scope="session")
def live_root(tmp_path_factory: pytest.TempPathFactory, kernel_root: Root) -> Root:
    """A live tree shared by tests that only read it (the window never writes)."""
    return make_live_root(tmp_path_factory.mktemp("live") / "root", kernel_root)


@pytest.fixture
def mutable_root(tmp_path: Path, kernel_root: Root) -> Root:
    """A live tree of this test's own, for tests that load and unload by writing it."""
    return make_live_root(tmp_path / "root", kernel_root)


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One catalog cache for the window tests, so only the first reads every module file."""
    return tmp_path_factory.mktemp("catalog-cache")


@dataclass
class Call:
    request: Request
    on_reply: Callable[[HelperResult], None]
    on_error: Callable[[HelperError], None]

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def args(self) -> list[object]:
        """The arguments as lists and dicts (an ``as`` is a tuple in the request)."""
        return [list(a) if isinstance(a, tuple) else a for a in self.request.args]


@dataclass
class RecordingClient:
    """A helper client for UI logic tests: records requests, answers as told.

    The end-to-end path (real bus, real polkitd, real helper) is tested in
    ``test_helper_bus.py``; this one checks what the window does with answers.
    """

    calls: list[Call] = field(default_factory=list)
    answer: Callable[[Call], None] | None = None

    def start(self, request: Request, on_reply: Callable[[HelperResult], None],
              on_error: Callable[[HelperError], None]) -> None:
        call = Call(request, on_reply, on_error)
        self.calls.append(call)
        if self.answer is not None:
            self.answer(call)


@pytest.fixture
def client() -> RecordingClient:
    return RecordingClient()


@pytest.fixture
def window(qtbot: Any, live_root: Root, client: RecordingClient, shared_cache: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The main window on the live tree, its full catalog loaded."""
    from kmodgui.ui.window import MainWindow

    monkeypatch.setenv("XDG_CACHE_HOME", str(shared_cache))
    win = MainWindow(live_root, client, capabilities={"force-unload": True}, full_catalog=False)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.catalog_loaded, timeout=30000):
        win.load_full_catalog()
    win.show()
    yield win
    win.close()
