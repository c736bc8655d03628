"""A kbuild log turned into diagnostics: what went wrong, where, and what to do.

Three tools speak in a module build's log: the compiler (``file:line:col:
error|warning|note:``), modpost (undefined symbols, a missing
``MODULE_LICENSE``) and make itself (no build tree, a missing separator, no
rule for a target). Some lines look alarming but are harmless (BTF skipped
without ``vmlinux``, another compiler version, clock skew); they are labelled
so. Paths in the staging copy a build may use are mapped back to the user's
folder. The parser is pure: what needs the file system (the kernel's exported
symbols, the headers advice) comes in through :class:`ParseContext`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"
    HARMLESS = "harmless"


class Tool(StrEnum):
    COMPILER = "compiler"
    MODPOST = "modpost"
    MAKE = "make"
    KBUILD = "kbuild"


@dataclass(frozen=True)
class Diagnostic:
    """One thing the build said, with the place in the user's files when there is one."""

    severity: Severity
    tool: Tool
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    hint: str = ""
    log_line: int = 0          # 1-based line in the build log
    function: str = ""         # the C function the compiler was in, when it said so

    @property
    def location(self) -> str:
        """``file:line:col`` as editors understand it; ``""`` without a file."""
        if self.file is None:
            return ""
        parts = [self.file] + [str(n) for n in (self.line, self.column) if n is not None]
        return ":".join(parts)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        data["tool"] = str(self.tool)
        return data

    def __str__(self) -> str:
        where = f"{self.location}: " if self.file else ""
        text = f"{where}{self.severity}: {self.message}"
        if self.function:
            text += f" (in {self.function})"
        return f"{text}\n    {self.hint}" if self.hint else text


@dataclass(frozen=True)
class Export:
    """A symbol the kernel or one of its modules exports (a ``Module.symvers`` line)."""

    name: str
    module: str
    gpl_only: bool
    namespace: str = ""


@dataclass
class ParseContext:
    """What the parser may know beyond the log."""

    source_dir: Path | None = None       # the user's folder
    staging_dir: Path | None = None      # where the build really ran, if elsewhere
    kernel_dir: Path | None = None       # the make -C directory
    headers_hint: str = ""               # next step when the build tree is missing
    find_export: Callable[[str], Export | None] = field(default=lambda _name: None)
    similar_exports: Callable[[str], list[str]] = field(default=lambda _name: [])

    def user_text(self, text: str) -> str:
        """``text`` with the staging directory replaced by the user's folder."""
        if self.staging_dir is not None and self.source_dir is not None:
            return text.replace(str(self.staging_dir), str(self.source_dir))
        return text

    def user_path(self, path: str) -> str:
        """A path from the log, as the user knows it (relative ones are the folder's)."""
        path = self.user_text(path)
        if not path.startswith("/") and self.source_dir is not None:
            candidate = self.source_dir / path
            if candidate.exists():
                return str(candidate)
        return path


# file:line:col: severity: message (gcc and clang, LC_ALL=C)
COMPILER = re.compile(r"(?P<file>[^\s:][^:]*?):(?P<line>\d+):(?:(?P<col>\d+):)? "
                      r"(?P<sev>fatal error|error|warning|note): (?P<msg>.*)")
MODPOST = re.compile(r"(?P<sev>ERROR|WARNING): modpost: (?P<msg>.*)")
UNDEFINED = re.compile(r'"(?P<sym>[^"]+)" \[(?P<ko>[^\]]+)\] undefined!')
NO_LICENSE = re.compile(r"missing MODULE_LICENSE\(\) in (?P<obj>.+)")
GPL_ONLY = re.compile(r"GPL-incompatible module (?P<ko>\S+) uses GPL-only symbol '(?P<sym>[^']+)'")
NAMESPACE = re.compile(r"module (?P<mod>\S+) uses symbol (?P<sym>\S+) from namespace "
                       r"(?P<ns>\S+), but does not import it")
MAKE_PREFIX = r"make(?:\[\d+\])?: "
NO_DIR = re.compile(MAKE_PREFIX + r"\*\*\* (?P<dir>.+): No such file or directory\.  Stop\.")
SEPARATOR = re.compile(r"(?P<file>[^:]+):(?P<line>\d+): \*\*\* missing separator(?P<rest>.*?)"
                       r"\.  Stop\.")
NO_RULE = re.compile(MAKE_PREFIX + r"\*\*\* No rule to make target '(?P<target>[^']+)'"
                     r"(?:, needed by '(?P<by>[^']+)')?\.  Stop\.")
CLOCK_SKEW = re.compile(MAKE_PREFIX + r"(?:[Ww]arning: +Clock skew detected|Warning: File "
                        r"'[^']*' has modification time .* in the future)")
BTF = re.compile(r"Skipping BTF generation for (?P<ko>\S+) due to unavailability of vmlinux")
COMPILER_DIFFERS = "warning: the compiler differs from the one used to build the kernel"
COMPILER_DETAIL = re.compile(r"  (?:The kernel was built by|You are using): ")
# "file.c: In function 'f':" / "file.c: At top level:" (quotes are ASCII or typographic)
SCOPE = re.compile(r"(?P<file>[^\s:][^:]*): (?:In function [‘'`](?P<fn>[^’'`]+)[’'`]|"
                   r"At top level):")
NOT_A_DIAGNOSTIC = re.compile(r"cc1: (?:some )?warnings? being treated as errors")


def _likely_cause_undefined(symbol: str, ctx: ParseContext) -> str:
    """Why modpost finds no export of ``symbol``, from the kernel's own export list."""
    export = ctx.find_export(symbol)
    if export is not None:
        return (f"The kernel exports '{symbol}' (from {export.module}), so the module that "
                "provides it was not part of this build's symbol list: build against the "
                "same headers as that module, or add its Module.symvers to KBUILD_EXTRA_SYMBOLS.")
    hint = (f"This kernel does not export '{symbol}' to modules: it is misspelt, static or "
            "internal to the kernel, or needs a configuration option this kernel lacks. "
            "A module can only call functions marked EXPORT_SYMBOL.")
    similar = ctx.similar_exports(symbol)
    if similar:
        hint += " Did you mean " + " or ".join(f"'{s}'" for s in similar[:3]) + "?"
    return hint


def _modpost(sev: str, msg: str, ctx: ParseContext, number: int) -> Diagnostic:
    severity = Severity.ERROR if sev == "ERROR" else Severity.WARNING
    msg = ctx.user_text(msg)
    if m := UNDEFINED.fullmatch(msg):
        return Diagnostic(severity, Tool.MODPOST, f"undefined symbol '{m['sym']}'",
                          file=m["ko"], hint=_likely_cause_undefined(m["sym"], ctx),
                          log_line=number)
    if m := NO_LICENSE.fullmatch(msg):
        return Diagnostic(severity, Tool.MODPOST, "missing MODULE_LICENSE()",
                          file=m["obj"], log_line=number,
                          hint='Add MODULE_LICENSE("GPL"); to the source: the kernel refuses '
                               "to build (and would taint itself loading) a module without one.")
    if m := GPL_ONLY.fullmatch(msg):
        return Diagnostic(severity, Tool.MODPOST, f"'{m['sym']}' is for GPL modules only",
                          file=m["ko"], log_line=number,
                          hint="The kernel exports it with EXPORT_SYMBOL_GPL: declare a "
                               'GPL-compatible MODULE_LICENSE (e.g. "GPL") to use it.')
    if m := NAMESPACE.fullmatch(msg):
        return Diagnostic(severity, Tool.MODPOST,
                          f"symbol '{m['sym']}' is in namespace {m['ns']}", log_line=number,
                          hint=f"Add MODULE_IMPORT_NS({m['ns']}); to the source.")
    return Diagnostic(severity, Tool.MODPOST, msg, log_line=number)


def parse_line(text: str, number: int, ctx: ParseContext) -> Diagnostic | None:
    """The diagnostic on one log line, or None for ordinary progress output."""
    text = text.rstrip("\n")
    if NOT_A_DIAGNOSTIC.match(text):
        return None
    if m := BTF.search(text):
        return Diagnostic(Severity.HARMLESS, Tool.KBUILD,
                          "BTF generation skipped (the headers have no vmlinux)",
                          log_line=number,
                          hint="Harmless: BTF type data is only for BPF tools; the module "
                               "works without it.")
    if text.startswith(COMPILER_DIFFERS):
        return Diagnostic(Severity.HARMLESS, Tool.KBUILD,
                          "the compiler differs from the one that built the kernel",
                          log_line=number,
                          hint="Usually harmless when the major version is the same; "
                               "a different major version can make the module fail to load.")
    if CLOCK_SKEW.match(text):
        return Diagnostic(Severity.HARMLESS, Tool.MAKE, "clock skew: a file's time is in the "
                          "future", log_line=number,
                          hint="Harmless for a clean build; make may rebuild too little "
                               "later. Fix the file times (touch) or the clock.")
    if m := MODPOST.match(text):
        return _modpost(m["sev"], m["msg"], ctx, number)
    if m := NO_DIR.match(text):
        directory = m["dir"]
        if ctx.kernel_dir is None or directory == str(ctx.kernel_dir) or "/build" in directory:
            return Diagnostic(Severity.ERROR, Tool.MAKE,
                              f"kernel headers missing: {directory} does not exist",
                              log_line=number, hint=ctx.headers_hint or
                              "Install the kernel headers package for the target release.")
        return Diagnostic(Severity.ERROR, Tool.MAKE, f"{ctx.user_text(directory)} does not exist",
                          log_line=number)
    if m := SEPARATOR.match(text):
        return Diagnostic(Severity.ERROR, Tool.MAKE, "missing separator" + m["rest"],
                          file=ctx.user_path(m["file"]), line=int(m["line"]), log_line=number,
                          hint="A make rule's command lines must start with a tab, not spaces; "
                               "other lines need ':=' or '='.")
    if m := NO_RULE.match(text):
        target = ctx.user_path(m["target"])
        by = f" (needed by {ctx.user_path(m['by'])})" if m["by"] else ""
        stem = target.rsplit("/", 1)[-1]
        hint = (f"The Kbuild file names {stem} but no source file makes it: "
                f"check obj-m / *-objs against the .c files in the folder.")
        return Diagnostic(Severity.ERROR, Tool.MAKE, f"no rule to make {target}{by}",
                          log_line=number, hint=hint)
    if m := COMPILER.match(text):
        sev = m["sev"]
        severity = Severity.ERROR if sev in ("error", "fatal error") else Severity(sev)
        return Diagnostic(severity, Tool.COMPILER, m["msg"], file=ctx.user_path(m["file"]),
                          line=int(m["line"]), column=int(m["col"]) if m["col"] else None,
                          log_line=number)
    return None


def parse_log(lines: Iterable[str], ctx: ParseContext | None = None) -> list[Diagnostic]:
    """Every diagnostic in a build log, in log order."""
    ctx = ctx or ParseContext()
    found: list[Diagnostic] = []
    scope: tuple[str, str] = ("", "")  # (file, function) the compiler says it is in
    for number, text in enumerate(lines, 1):
        if m := SCOPE.match(text):
            scope = (ctx.user_path(m["file"]), m["fn"] or "")
            continue
        if found and COMPILER_DETAIL.match(text) and "compiler differs" in found[-1].message:
            # kbuild's two lines under the warning name both compilers: keep them with it
            last = found[-1]
            found[-1] = replace(last, message=f"{last.message}; {' '.join(text.split())}")
            continue
        diagnostic = parse_line(text, number, ctx)
        if diagnostic is None:
            continue
        if diagnostic.tool is Tool.COMPILER and diagnostic.file == scope[0] and scope[1]:
            diagnostic = replace(diagnostic, function=scope[1])
        found.append(diagnostic)
    return found


def read_symvers(path: Path) -> dict[str, Export]:
    """``Module.symvers``: ``crc<TAB>symbol<TAB>module<TAB>export type<TAB>namespace``."""
    exports: dict[str, Export] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return exports
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 4:
            exports[parts[1]] = Export(parts[1], parts[2], parts[3].endswith("_GPL"),
                                       parts[4] if len(parts) > 4 else "")
    return exports


def context_for(kernel_dir: Path, *, source_dir: Path | None = None,
                staging_dir: Path | None = None, headers_hint: str = "") -> ParseContext:
    """A context whose export questions are answered from the build tree's Module.symvers."""
    cache: dict[str, dict[str, Export]] = {}

    def exports() -> dict[str, Export]:
        if "all" not in cache:  # read only when a log needs it (about 30 000 lines)
            cache["all"] = read_symvers(kernel_dir / "Module.symvers")
        return cache["all"]

    def similar(name: str) -> list[str]:
        import difflib

        return difflib.get_close_matches(name, exports().keys(), n=3, cutoff=0.8)

    return ParseContext(source_dir=source_dir, staging_dir=staging_dir, kernel_dir=kernel_dir,
                        headers_hint=headers_hint, find_export=lambda n: exports().get(n),
                        similar_exports=similar)
