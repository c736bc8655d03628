"""``kmodgui info``: ``modinfo``, with the same output, messages and exit status.

Why a clone rather than a new format: admins compare against ``modinfo`` and
scripts parse it; the tests run both on every module of a real kernel. The one
documented improvement: ``.ko.gz`` files are read (Debian's kmod 30 has no
gzip support) and shown as kmod shows the uncompressed file.
"""

from __future__ import annotations

import argparse
import getopt
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kmodgui.cli import add_root_arguments
from kmodgui.cli.exitcodes import ExitCode

if TYPE_CHECKING:  # heavy imports stay inside the functions that need them
    from kmodgui.core.lookup import Lookup, ModuleMatch
    from kmodgui.core.modinfo import Output

PROG = "modinfo"  # messages are modinfo's, word for word
# kmod 30 accepts these names as files (Debian: xz and zstd) plus our gzip
MODULE_EXTENSIONS = (".ko", ".ko.gz", ".ko.xz", ".ko.zst")


SHORT_OPTIONS = "adlpn0mF:k:b:Vh"
LONG_OPTIONS = ["author", "description", "license", "parameters", "filename", "null",
                "modname", "field=", "set-version=", "basedir=", "version", "help"]
FIELD_OPTIONS = {"-a": "author", "--author": "author", "-d": "description",
                 "--description": "description", "-l": "license", "--license": "license",
                 "-p": "parm", "--parameters": "parm", "-n": "filename", "--filename": "filename"}


def help_parser() -> argparse.ArgumentParser:
    """The options for ``--help`` (parsing itself is getopt's, as in modinfo)."""
    parser = argparse.ArgumentParser(
        prog="kmodgui info",
        description="Show the information in kernel module files, as modinfo prints it.")
    fields = parser.add_argument_group("what to print (the last one given wins)")
    for short, long, value in (("-a", "--author", "author"),
                               ("-d", "--description", "description"),
                               ("-l", "--license", "license"),
                               ("-p", "--parameters", "parm"),
                               ("-n", "--filename", "filename")):
        fields.add_argument(short, long, dest="field", action="store_const", const=value,
                            help=f"print only '{value}'")
    fields.add_argument("-F", "--field", dest="field", metavar="FIELD",
                        help="print only FIELD's values")
    parser.add_argument("-0", "--null", action="store_true",
                        help="end each line with NUL instead of a newline")
    parser.add_argument("-m", "--modname", action="store_true",
                        help="take each argument as a module name, not an alias or file")
    add_root_arguments(parser)
    parser.add_argument("-V", "--version", action="store_true", help="show the version")
    parser.add_argument("modules", nargs="*", metavar="MODULE|ALIAS|FILE")
    return parser


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # no option prefix for argparse: every argument goes to getopt-style parsing in run(),
    # so that bad options get modinfo's messages and exit status
    parser = subparsers.add_parser(
        "info", help="show information about modules (as modinfo)", add_help=False,
        prefix_chars="+", description=help_parser().description)
    parser.add_argument("argv", nargs=argparse.REMAINDER, metavar="ARGS")  # keeps "--"
    parser.set_defaults(func=run)


@dataclass
class Options:
    """modinfo's command line, parsed as its ``getopt_long`` does."""

    modules: list[str] = field(default_factory=list)
    field: str | None = None
    null: bool = False
    modname: bool = False
    basedir: str | None = None
    release: str | None = None
    action: str | None = None     # "help" or "version"
    error: str | None = None      # getopt's message (then exit 1)


def _getopt_message(exc: getopt.GetoptError) -> str:
    """glibc's wording for what Python's getopt reports."""
    msg, opt = exc.msg, exc.opt
    long = f"--{opt}"
    if msg.endswith("not a unique prefix"):
        choices = " ".join(f"'--{o.rstrip('=')}'" for o in LONG_OPTIONS
                           if o.startswith(opt))
        return f"option '{long}' is ambiguous; possibilities: {choices}"
    if msg.startswith("option --"):
        if msg.endswith("not recognized"):
            return f"unrecognized option '{long}'"
        if msg.endswith("requires argument"):
            return f"option '{long}' requires an argument"
        if msg.endswith("must not have an argument"):
            return f"option '{long}' doesn't allow an argument"
    if msg.endswith("requires argument"):
        return f"option requires an argument -- '{opt}'"
    return f"invalid option -- '{opt}'"


def parse_options(argv: list[str]) -> Options:
    """``getopt_long(argc, argv, "adlpn0mF:k:b:Vh", ...)`` with GNU argument permutation."""
    options = Options()
    try:
        pairs, rest = getopt.gnu_getopt(argv, SHORT_OPTIONS, LONG_OPTIONS)
    except getopt.GetoptError as exc:
        options.error = _getopt_message(exc)
        return options
    for opt, value in pairs:
        if opt in FIELD_OPTIONS:
            options.field = FIELD_OPTIONS[opt]
        elif opt in ("-F", "--field"):
            options.field = value
        elif opt in ("-0", "--null"):
            options.null = True
        elif opt in ("-m", "--modname"):
            options.modname = True
        elif opt in ("-k", "--set-version"):
            options.release = value
        elif opt in ("-b", "--basedir"):
            options.basedir = value
        else:  # -h, -V: act at once, as modinfo does
            options.action = "help" if opt in ("-h", "--help") else "version"
            return options
    options.modules = rest
    return options


@dataclass
class Result:
    """What a whole ``info`` run produced (so tests can call it in-process)."""

    stdout: bytearray = field(default_factory=bytearray)  # grows in place: thousands of modules
    stderr: list[str] = field(default_factory=list)
    status: int = ExitCode.OK
    # (position in stdout, message): where each message falls among the output lines
    marks: list[tuple[int, str]] = field(default_factory=list)

    def warn(self, message: str) -> None:
        line = f"{PROG}: ERROR: {message}"
        self.stderr.append(line)
        self.marks.append((len(self.stdout), line))

    def error(self, message: str) -> None:
        self.warn(message)
        self.status = ExitCode.FAILURE

    @property
    def stderr_bytes(self) -> bytes:
        return "".join(line + "\n" for line in self.stderr).encode("utf-8", "surrogateescape")


def current_dir() -> str:
    """glibc's ``get_current_dir_name``: ``$PWD`` when it names the working directory."""
    pwd = os.environ.get("PWD")
    if pwd and pwd.startswith("/"):
        try:
            a, b = os.stat(pwd), os.stat(".")
            if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino):
                return pwd
        except OSError:
            pass
    return os.getcwd()


def make_absolute(path: str) -> str:
    """kmod's ``path_make_absolute_cwd``: joined as given, never normalised."""
    return path if path.startswith("/") else f"{current_dir()}/{path}"


def is_module_filename(name: str) -> bool:
    """modinfo's test: an existing regular file whose name ends in a module extension."""
    try:
        if not stat.S_ISREG(os.stat(name).st_mode):
            return False
    except (OSError, ValueError):
        return False
    return any(len(name) > len(ext) and name.endswith(ext) for ext in MODULE_EXTENSIONS)


class Modinfo:
    """One ``modinfo`` invocation: options, the kmod context (root), the output so far."""

    def __init__(self, basedir: str | None, release: str | None, field_name: str | None,
                 null: bool) -> None:
        from kmodgui.core.paths import Root, running_release

        self.field = field_name
        self.separator = b"\0" if null else b"\n"
        self.root = Root.create(basedir, release)
        if basedir is not None or release is not None:
            dirname = f"{basedir or ''}/lib/modules/{release or running_release()}"
            self.dirname = make_absolute(dirname)
        else:
            self.dirname = f"/lib/modules/{running_release()}"
        self.result = Result()
        self._lookup: Lookup | None = None

    @property
    def lookup(self) -> Lookup:
        if self._lookup is None:
            from kmodgui.core.lookup import Lookup
            from kmodgui.core.modprobe_config import ModprobeConfig

            # modinfo passes an empty configuration list: modprobe.d never applies
            self._lookup = Lookup(self.root, config=ModprobeConfig.from_text(""))
        return self._lookup

    def kmod_path(self, path: Path) -> str:
        """A module path as kmod spells it: the release directory string + modules.dep path."""
        try:
            relative = path.relative_to(self.root.modules_dir)
        except ValueError:
            return str(path)
        return f"{self.dirname}/{relative.as_posix()}"

    def emit(self, output: Output) -> bool:
        # kmod reports a bad parm entry while it walks the entries, before printing them
        for message in output.errors:
            self.result.warn(message)
        self.result.stdout += output.stdout
        return True

    # -- the three ways modinfo takes an argument ------------------------------

    def show_file(self, name: str, filename: str, path: str) -> bool:
        """``modinfo_do`` for a module file; False when it failed (exit status 1)."""
        from kmodgui.core.errors import ModuleFileError
        from kmodgui.core.modfile import error_errno, read_module_info
        from kmodgui.core.modinfo import format_body, format_header, info_entries

        head, done = format_header(filename=filename, field_name=self.field,
                                   separator=self.separator)
        self.result.stdout += head
        if done:
            return True
        try:
            info = read_module_info(path)
        except ModuleFileError as exc:
            self.result.error(f"could not get modinfo from '{name}': "
                              f"{os.strerror(error_errno(exc))}")
            return False
        return self.emit(format_body(info_entries(info), field_name=self.field,
                                     separator=self.separator))

    def show_builtin(self, name: str) -> bool:
        """``modinfo_do`` for a built-in module (``filename: (builtin)``)."""
        import errno

        from kmodgui.core.builtin_modinfo import BuiltinModinfoError, read_builtin_modinfo
        from kmodgui.core.modinfo import format_body, format_header

        head, done = format_header(filename="(builtin)", builtin_name=name,
                                   field_name=self.field, separator=self.separator)
        self.result.stdout += head
        if done:
            return True
        try:
            entries = read_builtin_modinfo(self.root, name)
        except BuiltinModinfoError as exc:
            if exc.errno == errno.ENOENT:
                return True  # an old kernel without modules.builtin.modinfo
            self.result.error(f"could not get modinfo from '{name}': {os.strerror(exc.errno)}")
            return False
        if entries is None:
            self.result.error(f"could not get modinfo from '{name}': "
                              f"{os.strerror(errno.ENOSYS)}")
            return False
        return self.emit(format_body(entries, field_name=self.field, separator=self.separator))

    def show_match(self, match: ModuleMatch) -> bool:
        if match.path is None:
            return self.show_builtin(match.name)
        return self.show_file(match.name, self.kmod_path(match.path), str(match.path))

    def by_path(self, argument: str) -> bool:
        """``modinfo_path_do``."""
        from kmodgui.core.names import module_name_from_path

        try:
            os.stat(argument)
        except OSError:
            self.result.error(f"Module file {argument} not found.")
            return False
        name = module_name_from_path(argument)
        return self.show_file(name, make_absolute(argument), argument)

    def by_name(self, argument: str) -> bool:
        """``modinfo_name_do`` (``-m``): module names and built-in names only."""
        from kmodgui.core.lookup import ModuleMatch
        from kmodgui.core.names import normalize_module_name

        name = normalize_module_name(argument)
        index = self.lookup.index
        match = None
        entry = index.dep_line(name) if ":" not in name else None
        if entry is not None:
            builtin = index.is_builtin(name)
            match = ModuleMatch(name, None if builtin else Path(index.path_of(entry.path)),
                                builtin)
        elif index.is_builtin(name):
            match = ModuleMatch(name, None, True)
        else:
            owners = index.builtin_aliases(name)
            if owners:
                match = ModuleMatch(owners[0], None, True)
        if match is None:
            self.result.error(f"Module name {argument} not found.")
            return False
        return self.show_match(match)

    def by_alias(self, argument: str) -> bool:
        """``modinfo_alias_do``: every module the name or alias resolves to."""
        from kmodgui.core.names import InvalidAlias, normalize_alias

        try:
            normalize_alias(argument)
        except InvalidAlias:
            self.result.error(f"Module alias {argument} not found.")
            return False
        matches = self.lookup.find(argument)
        if not matches:
            self.result.error(f"Module {argument} not found.")
            return False
        ok = True
        for match in matches:
            ok = self.show_match(match) and ok
        return ok


def info(arguments: list[str], *, basedir: str | None = None, release: str | None = None,
         field_name: str | None = None, null: bool = False, modname: bool = False) -> Result:
    """Run ``modinfo`` over ``arguments`` in-process and return its output."""
    run_ = Modinfo(basedir, release, field_name, null)
    if not arguments:
        run_.result.error("missing module or filename.")
        return run_.result
    for argument in arguments:
        if modname:
            ok = run_.by_name(argument)
        elif is_module_filename(argument):
            ok = run_.by_path(argument)
        else:
            ok = run_.by_alias(argument)
        if not ok:
            run_.result.status = ExitCode.FAILURE
    return run_.result


def write(result: Result) -> None:
    """Print as modinfo appears to: on a terminal messages fall between the lines they
    follow (stdout is line-buffered); into a pipe they come first (stdout is flushed
    at exit)."""
    out, err = sys.stdout, sys.stderr
    out.flush()
    if not out.isatty():
        err.write(result.stderr_bytes.decode("utf-8", "surrogateescape"))
        err.flush()
        out.buffer.write(result.stdout)
        out.flush()
        return
    done = 0
    for position, line in result.marks:
        out.buffer.write(result.stdout[done:position])
        out.flush()
        done = position
        err.write(line + "\n")
        err.flush()
    out.buffer.write(result.stdout[done:])
    out.flush()


def run(args: argparse.Namespace) -> int:
    options = parse_options(args.argv)
    if options.error is not None:
        sys.stderr.write(f"{PROG}: {options.error}\n")
        return ExitCode.FAILURE
    if options.action == "help":
        help_parser().print_help()
        return ExitCode.OK
    if options.action == "version":
        from kmodgui import __version__

        print(f"kmodgui {__version__} (modinfo of kmod 30)")
        return ExitCode.OK
    result = info(options.modules, basedir=options.basedir, release=options.release,
                  field_name=options.field, null=options.null, modname=options.modname)
    write(result)
    return int(result.status)
