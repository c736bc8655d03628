"""modprobe.d configuration, read as libkmod 30 reads it, with the file and line of each entry.

What kmod does, and so what this module does:

* Files named ``*.conf`` (and, in kmod 30, ``*.alias``) from every directory
  in :attr:`Root.modprobe_dirs` form one list sorted by file name; on a name
  clash the file of the earlier directory wins. The release's
  ``modules.softdep`` joins that sorted list as one more file.
* A logical line ends at a newline not preceded by a backslash; a backslash
  before any other character is dropped. ``#`` starts a comment only in the
  first column. Words are separated by spaces and tabs only.
* Keywords: ``alias``, ``blacklist``, ``options``, ``install``, ``remove``,
  ``softdep`` (``pre:``/``post:`` lists). Module names and aliases get ``-``
  turned into ``_`` outside brackets. Anything else is ignored with a warning.
* The kernel command line adds ``module.param=value`` options and
  ``modprobe.blacklist=a,b`` blacklists after all files.

Files kmod would choke on or that make no sense (directories named ``*.conf``,
broken links, unreadable or huge files) are skipped with a warning in
:attr:`ModprobeConfig.warnings`; nothing here raises on bad content.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from kmodgui.core.globmatch import fnmatch
from kmodgui.core.names import InvalidAlias, underscores
from kmodgui.core.paths import Root
from kmodgui.core.records import Setting, Source

KINDS = ("alias", "blacklist", "options", "install", "remove", "softdep")
# Larger than any sane configuration file; a bigger one is skipped, not parsed.
MAX_FILE_SIZE = 16 * 1024 * 1024
# kmod reads at most this much of /proc/cmdline (KCMD_LINE_SIZE - 1).
KCMDLINE_SIZE = 4095
_C_SPACE = " \t\n\v\f\r"


@dataclass(frozen=True)
class ConfigEntry:
    """One effective modprobe.d entry.

    ``module`` is the word after the keyword (for ``alias`` the alias
    pattern); ``value`` is what kmod keeps of the rest: the target module of
    an alias, the option string, the command, or the softdep text as
    ``modprobe -c`` prints it.
    """

    kind: str
    module: str
    value: str
    source: Source
    pre: tuple[str, ...] = ()
    post: tuple[str, ...] = ()

    def as_setting(self) -> Setting:
        return Setting(self.kind, self.value, self.source)

    def dump_line(self) -> str:
        """The line ``modprobe -c`` prints for this entry."""
        if self.kind == "blacklist":
            return f"blacklist {self.module}"
        return f"{self.kind} {self.module} {self.value}"


@dataclass
class ModprobeConfig:
    """The merged configuration: every entry in kmod's order, and what was read."""

    entries: list[ConfigEntry] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    # -- loading -----------------------------------------------------------

    @classmethod
    def load(cls, root: Root, paths: Sequence[str | os.PathLike[str]] | None = None,
             *, kernel_cmdline: bool = True) -> ModprobeConfig:
        """Read the configuration of ``root``.

        ``paths`` replaces the default directories, as ``modprobe -C`` does
        (each may be a directory or a single file); ``modules.softdep`` of
        the release and the kernel command line are read either way.
        """
        config = cls()
        dirs = [Path(p) for p in paths] if paths is not None else root.modprobe_dirs
        for path in config_files(root, dirs, config.warnings):
            config.files.append(str(path))
            config._parse_file(path)
        if kernel_cmdline:
            config._parse_kcmdline(root.kernel_cmdline)
        return config

    @classmethod
    def from_text(cls, text: str, filename: str = "<text>") -> ModprobeConfig:
        """Parse one file's content (for tests and for previewing a file before writing it)."""
        config = cls()
        config._parse_text(text, filename)
        return config

    def _warn(self, message: str) -> None:
        self.warnings.append(message)

    def _parse_file(self, path: Path) -> None:
        try:
            with open_config_file(path) as handle:
                info = os.fstat(handle.fileno())
                if info.st_size > MAX_FILE_SIZE:
                    self._warn(f"{path}: {info.st_size} bytes is too large for a "
                               "configuration file, skipped")
                    return
                data = handle.read(MAX_FILE_SIZE + 1)
        except OSError as exc:
            self._warn(f"{path}: cannot read ({exc.strerror or exc}), skipped")
            return
        if b"\0" in data:
            self._warn(f"{path}: contains NUL bytes (binary file?); "
                       "each line is read only up to its first NUL, as kmod does")
        self._parse_text(data.decode("utf-8", "surrogateescape"), str(path))

    def _parse_text(self, text: str, filename: str) -> None:
        for number, line in logical_lines(text):
            line = line.split("\0", 1)[0]
            if not line or line[0] == "#":
                continue
            self._parse_line(line, Source(filename, number))

    def _parse_line(self, line: str, source: Source) -> None:
        words = _StrTok(line)
        cmd = words.next(" \t")
        if cmd is None:
            return
        try:
            if cmd == "alias":
                alias = _underscored(words.next(" \t"))
                target = _underscored(words.next(" \t"))
                self.entries.append(ConfigEntry("alias", alias, target, source))
            elif cmd == "blacklist":
                name = _underscored(words.next(" \t"))
                self.entries.append(ConfigEntry("blacklist", name, "", source))
            elif cmd in ("options", "install", "remove", "softdep"):
                name = _underscored(words.next(" \t"))
                rest = words.next("")
                if rest is None:
                    raise InvalidAlias(cmd)
                if cmd == "options":
                    self.entries.append(ConfigEntry(cmd, name, rest.replace("\t", " "), source))
                elif cmd == "softdep":
                    pre, post = parse_softdep(rest)
                    self.entries.append(ConfigEntry(cmd, name, softdep_text(pre, post),
                                                    source, pre, post))
                else:
                    self.entries.append(ConfigEntry(cmd, name, rest, source))
            elif cmd in ("include", "config"):
                self._warn(f"{source}: command {cmd} is deprecated and not parsed anymore")
            else:
                raise InvalidAlias(cmd)
        except InvalidAlias:
            self._warn(f"{source}: ignoring bad line starting with '{cmd}'")

    def _parse_kcmdline(self, path: Path) -> None:
        try:
            with path.open("rb") as handle:
                data = handle.read(KCMDLINE_SIZE)
        except OSError:
            return  # no /proc in the tree: nothing from the command line, as kmod
        filename = str(path)
        for modname, param, value in parse_kcmdline(data.decode("utf-8", "surrogateescape")):
            source = Source(filename, 1)
            if modname == "modprobe" and param.startswith("blacklist="):
                for name in (value or "").split(","):
                    self.entries.append(ConfigEntry("blacklist", name, "", source))
                continue
            try:
                name = underscores(modname)
            except InvalidAlias:
                self._warn(f"{filename}: ignoring bad option on kernel command line "
                           f"while parsing module name: '{modname}'")
                continue
            self.entries.append(ConfigEntry("options", name, param, source))

    # -- queries, each the libkmod rule ------------------------------------

    def of_kind(self, kind: str) -> list[ConfigEntry]:
        return [e for e in self.entries if e.kind == kind]

    @property
    def aliases(self) -> list[ConfigEntry]:
        return self.of_kind("alias")

    def is_blacklisted(self, name: str) -> bool:
        """``module_is_blacklisted``: an exact ``blacklist NAME`` entry exists."""
        return any(e.kind == "blacklist" and e.module == name for e in self.entries)

    def options_for(self, name: str, alias: str | None = None) -> str | None:
        """``kmod_module_get_options``: every non-empty option string for the name
        (or the alias it was found through), joined by a space, in order."""
        found = [e.value for e in self.entries
                 if e.kind == "options" and (e.module == name or
                                             (alias is not None and e.module == alias))
                 and e.value]
        return " ".join(found) if found else None

    def command_exact(self, kind: str, name: str) -> ConfigEntry | None:
        """The first ``install``/``remove`` entry for exactly ``name`` (lookup by command)."""
        return next((e for e in self.entries if e.kind == kind and e.module == name), None)

    def command_for(self, kind: str, name: str) -> ConfigEntry | None:
        """The first ``install``/``remove`` entry whose module pattern matches ``name``."""
        return next((e for e in self.entries
                     if e.kind == kind and fnmatch(e.module, name)), None)

    def softdep_for(self, name: str) -> ConfigEntry | None:
        """The first softdep whose module pattern matches ``name``: only it counts."""
        return next((e for e in self.entries
                     if e.kind == "softdep" and fnmatch(e.module, name)), None)

    def shadowed_by(self, entry: ConfigEntry) -> ConfigEntry | None:
        """The earlier entry that makes ``entry`` ineffective, if any.

        Only the first ``softdep``, ``install`` or ``remove`` line for a module
        counts; a later line with the same module word changes nothing.
        """
        if entry.kind not in ("softdep", "install", "remove"):
            return None
        for other in self.entries:
            if other is entry:
                return None
            if other.kind == entry.kind and other.module == entry.module:
                return other
        return None

    def settings_for(self, name: str) -> list[Setting]:
        """What applies to module ``name``, for the catalog and the window."""
        result = []
        softdep = self.softdep_for(name)
        for e in self.entries:
            if e.kind == "alias":
                applies = e.value == name
            elif e.kind in ("install", "remove"):
                applies = e is self.command_for(e.kind, name)
            elif e.kind == "softdep":
                applies = e is softdep
            else:
                applies = e.module == name
            if applies:
                # For an alias the useful word is the pattern, not the module it names.
                result.append(Setting("alias", e.module, e.source) if e.kind == "alias"
                              else e.as_setting())
        return result

    def dump(self) -> str:
        """The configuration part of ``modprobe -c``: kinds in kmod's order, then entries."""
        lines: list[str] = []
        for kind in ("blacklist", "install", "remove", "alias", "options", "softdep"):
            lines.extend(e.dump_line() for e in self.entries if e.kind == kind)
        return "".join(line + "\n" for line in lines)


def _underscored(word: str | None) -> str:
    if word is None:
        raise InvalidAlias("missing word")
    return underscores(word)


class _StrTok:
    """glibc ``strtok_r`` over one line: kmod splits configuration lines with it."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0

    def next(self, delims: str) -> str | None:
        text, pos = self._text, self._pos
        while pos < len(text) and text[pos] in delims:
            pos += 1
        if pos >= len(text):
            self._pos = pos
            return None
        end = pos
        while end < len(text) and text[end] not in delims:
            end += 1
        self._pos = end + 1 if end < len(text) else end
        return text[pos:end]


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """kmod's ``freadline_wrapped``: (first physical line number, logical line).

    A backslash-newline joins lines; a backslash before any other character
    is dropped and the character kept; a backslash at the very end of the
    file stands for byte 0xFF, as kmod reads EOF into the line.
    """
    if "\\" not in text:   # the common case, without the character loop
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        yield from enumerate(lines, 1)
        return
    line: list[str] = []
    number = 1
    start = 1
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        i += 1
        if ch == "\n":
            yield start, "".join(line)
            line = []
            number += 1
            start = number
        elif ch == "\\":
            if i >= n:
                line.append("\udcff")
            elif text[i] == "\n":
                i += 1
                number += 1
            else:
                line.append(text[i])
                i += 1
        else:
            line.append(ch)
    if line:
        yield start, "".join(line)


def parse_softdep(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """kmod's softdep word scan: names after ``pre:`` and after ``post:``.

    Words before either marker are ignored; a word directly after a single
    leading blank keeps that blank, as in kmod (so ``softdep m  pre: x``
    with two spaces has no effect).
    """
    pre: list[str] = []
    post: list[str] = []
    mode: list[str] | None = None
    p = 0
    was_space = False
    s = 0
    n = len(text)
    while True:
        at_end = s >= n
        if not at_end:
            if text[s] not in _C_SPACE:
                was_space = False
                s += 1
                continue
            if was_space:
                p = s + 1
                s += 1
                continue
            was_space = True
            if p >= s:
                s += 1
                continue
        word = text[p:s]
        if word == "pre:":
            mode = pre
        elif word == "post:":
            mode = post
        elif (not at_end or not was_space) and mode is not None:
            mode.append(word)
        p = s + 1
        if at_end:
            break
        s += 1
    return tuple(pre), tuple(post)


def softdep_text(pre: Sequence[str], post: Sequence[str]) -> str:
    """kmod's ``softdep_to_char``: the value ``modprobe -c`` prints."""
    text = ""
    if pre:
        text += "pre: " + " ".join(pre)
    if post:
        text += "post: " + " ".join(post)
    return text


def parse_kcmdline(line: str) -> list[tuple[str, str, str | None]]:
    """kmod's kernel command line scan: (module, ``param[=value]``, value) triples.

    Only ``module.param`` words count; a value may be quoted, and a word quoted
    whole by the boot loader (``"mod.p=a b"``) is re-quoted as ``p="a b"``.
    """
    buf = [*line, "\0"]
    result: list[tuple[str, str, str | None]] = []

    def cstr(index: int) -> str:
        end = index
        while buf[end] != "\0":
            end += 1
        return "".join(buf[index:end])

    ignore, modname_state, param_state, value_state = range(4)
    state = modname_state
    modname = 0
    param: int | None = None
    value: int | None = None
    quote_start: int | None = None
    quoted = False
    for i in range(len(buf)):
        ch = buf[i]
        complete = False
        if ch == '"':
            quoted = not quoted
            if quoted and state == modname_state and i == modname:
                quote_start = i
                modname = i + 1
            elif state != value_state:
                state = ignore
        elif ch == "\0" or ch in " \n\t\v\f\r":
            if quoted and state == value_state:
                pass
            elif quoted:
                state = ignore
            elif state in (value_state, param_state):
                buf[i] = "\0"
                complete = True
            else:
                modname = i + 1
                state = modname_state
                quote_start = None
        elif ch == ".":
            if state == modname_state:
                buf[i] = "\0"
                param = i + 1
                state = param_state
            elif state == param_state:
                state = ignore
        elif ch == "=":
            if state == param_state:
                value = i + 1
                state = value_state
            elif state == modname_state:
                state = ignore
        if complete:
            if quote_start is not None and quote_start < modname and value is not None \
                    and param is not None:
                length = value - modname
                buf[quote_start:quote_start + length] = buf[modname:modname + length]
                value -= 1
                modname -= 1
                param -= 1
                buf[value] = '"'
            if param is not None:
                result.append((cstr(modname), cstr(param),
                               cstr(value) if value is not None else None))
            modname = i + 1
            state = modname_state
            quote_start = None
            param = None
            value = None
        if ch == "\0":
            break
    return result


def config_files(root: Root, dirs: Sequence[Path], warnings: list[str]) -> list[Path]:
    """kmod's ``conf_files_list``: the files to read, sorted by name, first directory wins.

    The release's ``modules.softdep`` is part of the list under its own name.
    """
    by_name: dict[str, Path] = {"modules.softdep": root.modules_file("modules.softdep")}
    for directory in dirs:
        try:
            info = directory.stat()
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode):
            by_name.setdefault(directory.name, directory)
            continue
        try:
            names = sorted(os.listdir(directory))
        except OSError as exc:
            warnings.append(f"{directory}: cannot list ({exc.strerror or exc}), skipped")
            continue
        for name in names:
            if name.startswith(".") or len(name) < 6 or \
                    not (name.endswith(".conf") or name.endswith(".alias")):
                continue
            path = directory / name
            if path.is_dir():
                warnings.append(f"{path}: directories inside directories are not "
                                "supported, skipped")
                continue
            if not path.exists():
                if name not in by_name:
                    warnings.append(f"{path}: broken link, skipped")
                by_name.setdefault(name, path)
                continue
            by_name.setdefault(name, path)
    result = []
    for name in sorted(by_name, key=lambda n: n.encode("utf-8", "surrogateescape")):
        path = by_name[name]
        if path.exists():
            result.append(path)
    return result


def open_config_file(path: Path) -> BinaryIO:
    """Open a configuration file without blocking on a FIFO or device; refuse non-files."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) and not \
                (stat.S_ISCHR(info.st_mode) and os.path.realpath(path) == os.devnull):
            raise OSError(errno.EINVAL, "not a regular file")
    except OSError:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


class BlacklistMode(StrEnum):
    """How far a module is kept from loading: the helper's ``SetBlacklist`` modes.

    ``autoload`` is a ``blacklist`` line (no alias-based loads, but a load by
    name or as a dependency still works); ``always`` adds ``install M /bin/false``
    so that modprobe never loads it.
    """

    NONE = "none"
    AUTOLOAD = "autoload"
    ALWAYS = "always"
