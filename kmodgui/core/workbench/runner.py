"""Build a module folder with kbuild, as the calling user, streaming the log.

``make -C /lib/modules/RELEASE/build M=DIR modules`` is the whole build; this
module adds what people trip over: it never runs make as root, it builds in
a space-free staging copy when the folder's path has characters kbuild
cannot take (kbuild splits ``M=`` on spaces), it hands every log line to a
callback as it comes (the window shows it live, the CLI prints it) and it
ends with the log parsed into diagnostics.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from kmodgui.core.paths import Root
from kmodgui.core.workbench.errors import BuildRefused
from kmodgui.core.workbench.headers import build_dir, has_build_tree, missing_headers_advice
from kmodgui.core.workbench.logparse import (
    Diagnostic,
    ParseContext,
    Severity,
    Tool,
    context_for,
    parse_log,
)

# characters kbuild passes through make and the shell unharmed in M=
SAFE_PATH = re.compile(r"[A-Za-z0-9._/+,@~-]+")
# kbuild's products: never copied into a staging folder (a fresh build makes them)
BUILD_PRODUCTS = ("*.o", "*.ko", "*.mod", "*.mod.c", "*.mod.o", ".*.cmd", "*.symvers",
                  "modules.order", ".tmp_versions", ".git", ".cache.mk")

AS_ROOT_HINT = ("make runs the folder's Makefile and the kernel's build scripts with the "
                "caller's rights: as root a mistake in them (or in code from elsewhere) can "
                "change the whole system, and the files it leaves belong to root. Build as "
                "your own user (from root: setpriv --reuid=USER --regid=GROUP --init-groups "
                "kmodgui build DIR, or sudo -u USER kmodgui build DIR); loading the result "
                "goes through the helper, which asks for the privilege it needs.")


@dataclass(frozen=True)
class BuildRequest:
    """What to build and for which kernel (``root.release``)."""

    source_dir: Path
    root: Root
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)


@dataclass
class BuildResult:
    """How a build ended: its log, what it means, and the ``.ko`` files it produced."""

    source_dir: Path
    release: str
    kernel_dir: Path
    command: list[str]
    staging_dir: Path | None = None
    returncode: int | None = None       # None: make never ran (or was cancelled)
    log: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    modules: list[Path] = field(default_factory=list)
    seconds: float = 0.0                # the whole build, staging included
    make_seconds: float = 0.0           # make alone
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        """True only when make succeeded and produced at least one ``.ko``."""
        return self.returncode == 0 and bool(self.modules)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "source_dir": str(self.source_dir), "release": self.release,
            "kernel_dir": str(self.kernel_dir), "command": self.command,
            "staging_dir": str(self.staging_dir) if self.staging_dir else None,
            "returncode": self.returncode, "cancelled": self.cancelled,
            "seconds": round(self.seconds, 3), "make_seconds": round(self.make_seconds, 3),
            "modules": [str(p) for p in self.modules],
            "diagnostics": [d.to_json() for d in self.diagnostics], "log": self.log,
        }


def needs_staging(path: Path) -> bool:
    """True when kbuild cannot build in ``path`` as it is (spaces, ``:``, ``#``, ``$``...)."""
    return not SAFE_PATH.fullmatch(str(path))


def check_can_build(request: BuildRequest) -> None:
    """Refuse what must not or cannot start; raises :class:`BuildRefused`."""
    if os.geteuid() == 0:
        raise BuildRefused("kmodgui build does not run make as root", hint=AS_ROOT_HINT)
    source = request.source_dir
    if not source.is_dir():
        raise BuildRefused(f"{source} is not a folder",
                           hint="Give the folder with the module's Kbuild (kmodgui new makes one).")
    if not ((source / "Kbuild").is_file() or (source / "Makefile").is_file()):
        raise BuildRefused(f"{source} has no Kbuild or Makefile",
                           hint="kbuild reads obj-m := NAME.o from a Kbuild file; "
                                "kmodgui new NAME writes one.")
    if shutil.which("make") is None:
        raise BuildRefused("make is not installed",
                           hint="Install make and the compiler that built the kernel "
                                "(Debian: build-essential).")


def _modules_built(directory: Path) -> list[Path]:
    """The ``.ko`` files kbuild lists in ``modules.order`` (``.o`` there before 6.2)."""
    try:
        lines = (directory / "modules.order").read_text(encoding="utf-8").split()
    except OSError:
        return []
    found = []
    for line in lines:
        entry = line.removeprefix("kernel/")
        path = Path(entry) if entry.startswith("/") else directory / entry
        ko = path.with_suffix(".ko")
        if ko.is_file():
            found.append(ko)
    return found


def _stage(source: Path) -> Path:
    base = Path(tempfile.gettempdir())
    if needs_staging(base):
        raise BuildRefused(f"the temporary folder {base} has characters kbuild cannot take",
                           hint="Set TMPDIR to a folder without spaces, or move the module.")
    staging = Path(tempfile.mkdtemp(prefix="kmodgui-build-", dir=base))
    shutil.copytree(source, staging, dirs_exist_ok=True, symlinks=True,
                    ignore=shutil.ignore_patterns(*BUILD_PRODUCTS))
    return staging


class BuildProcess:
    """One running build: read its log lines as they come, cancel it, get its result.

    ``lines()`` may be iterated in a worker thread while ``cancel()`` is called
    from another. Use as a context manager so a staging copy is always removed.
    """

    def __init__(self, request: BuildRequest) -> None:
        check_can_build(request)
        self.request = request
        self._started = time.monotonic()
        source = request.source_dir.resolve()
        kernel_dir = build_dir(request.root)
        self.result = BuildResult(source, request.root.release, kernel_dir, [])
        self._proc: subprocess.Popen[str] | None = None
        self._context: ParseContext
        if not has_build_tree(request.root):
            advice = missing_headers_advice(request.root)
            self.result.diagnostics.append(Diagnostic(
                Severity.ERROR, Tool.MAKE, advice.message,
                hint=advice.hint))
            self._context = ParseContext(source_dir=source, headers_hint=advice.hint)
            return
        staging = _stage(source) if needs_staging(source) else None
        work = staging or source
        self.result.staging_dir = staging
        self.result.command = ["make", f"-j{request.jobs}", "-C", str(kernel_dir),
                               f"M={work}", "modules"]
        self._context = context_for(kernel_dir, source_dir=source, staging_dir=staging,
                                    headers_hint=missing_headers_advice(request.root).hint)
        env = dict(os.environ, LC_ALL="C")  # messages the parser knows
        env.pop("MAKEFLAGS", None)          # an outer make's -n or -k must not leak in
        self._make_started = time.monotonic()
        self._proc = subprocess.Popen(
            self.result.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, text=True, encoding="utf-8", errors="replace",
            bufsize=1, env=env, cwd=work, start_new_session=True)

    def lines(self) -> Iterator[str]:
        """The build log, line by line (without newlines), as make writes it."""
        if self._proc is None or self._proc.stdout is None:
            return
        for line in self._proc.stdout:
            text = line.rstrip("\n")
            self.result.log.append(text)
            yield text

    def cancel(self) -> None:
        """Stop make and everything it started."""
        if self._proc is not None and self._proc.poll() is None:
            self.result.cancelled = True
            try:
                os.killpg(self._proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def wait(self) -> BuildResult:
        """Finish reading, wait for make, parse the log, bring the ``.ko`` files home."""
        result = self.result
        if self._proc is not None:
            for _line in self.lines():
                pass
            result.returncode = self._proc.wait()
            result.make_seconds = time.monotonic() - self._make_started
            if result.cancelled:
                result.returncode = None
            result.diagnostics = parse_log(result.log, self._context)
            work = result.staging_dir or result.source_dir
            built = _modules_built(work) if result.returncode == 0 else []
            if result.staging_dir is not None:
                staging = result.staging_dir
                result.modules = [self._bring_home(ko, staging) for ko in built]
            else:
                result.modules = built
            if result.returncode == 0 and not built:
                result.diagnostics.append(Diagnostic(
                    Severity.ERROR, Tool.KBUILD, "the build made no .ko file",
                    hint="Kbuild needs a line obj-m := NAME.o naming the module's source."))
            elif result.returncode not in (0, None) and not result.errors:
                result.diagnostics.append(Diagnostic(
                    Severity.ERROR, Tool.MAKE, f"make failed (exit status {result.returncode})",
                    hint="See the build log above for the reason."))
        self.close()
        result.seconds = time.monotonic() - self._started
        return result

    def _bring_home(self, ko: Path, staging: Path) -> Path:
        target = self.result.source_dir / ko.relative_to(staging)
        shutil.copy2(ko, target)
        return target

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self.cancel()
            self._proc.wait()
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()
        if self.result.staging_dir is not None:
            shutil.rmtree(self.result.staging_dir, ignore_errors=True)

    def __enter__(self) -> BuildProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def run_build(request: BuildRequest,
              on_line: Callable[[str], None] | None = None) -> BuildResult:
    """Build, handing each log line to ``on_line`` as it comes; the result at the end."""
    with BuildProcess(request) as build:
        for line in build.lines():
            if on_line is not None:
                on_line(line)
        return build.wait()
