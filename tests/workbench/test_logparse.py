"""The build-log parser on logs from real builds against the Debian kernel's headers."""

from __future__ import annotations

from pathlib import Path

from wbbuilds import Builds, Workspace

from kmodgui.core.paths import Root
from kmodgui.core.workbench.logparse import (
    Severity,
    Tool,
    context_for,
    parse_log,
    read_symvers,
)


def kinds(data: dict[str, object]) -> list[tuple[str, str]]:
    return [(d["severity"], d["tool"]) for d in data["diagnostics"]]  # type: ignore[attr-defined, index]


def test_success_has_only_the_harmless_btf_line(builds: Builds) -> None:
    build = builds["template"]
    assert build.returncode == 0, build.data["log"]
    assert build.data["ok"] is True
    assert kinds(build.data) == [("harmless", "kbuild")]
    btf = build.data["diagnostics"][0]
    assert "BTF" in btf["message"] and btf["hint"].startswith("Harmless")
    assert any(line.startswith("Skipping BTF generation") for line in build.data["log"])


def test_syntax_error_points_at_the_line(builds: Builds) -> None:
    build = builds["syntax"]
    assert build.returncode == 1 and build.data["ok"] is False and build.data["modules"] == []
    errors = [d for d in build.data["diagnostics"] if d["severity"] == "error"]
    source = str(build.directory / "syn.c")
    first = errors[0]
    assert (first["tool"], first["file"], first["line"]) == ("compiler", source, 5)
    assert "expected" in first["message"] and "return" in first["message"]
    assert first["column"] is not None and first["function"] == "syn_init"
    warnings = [d for d in build.data["diagnostics"] if d["severity"] == "warning"]
    assert [(w["file"], w["line"]) for w in warnings] == [(source, 4)]  # unused variable 'x'
    # make's own "Error 1/2" echo lines are not diagnostics
    assert all("Error 2" not in d["message"] for d in build.data["diagnostics"])


def test_missing_license(builds: Builds) -> None:
    build = builds["nolicense"]
    assert build.returncode == 1
    [error] = [d for d in build.data["diagnostics"] if d["severity"] == "error"]
    assert (error["tool"], error["message"]) == ("modpost", "missing MODULE_LICENSE()")
    assert error["file"] == str(build.directory / "nolic.o")
    assert 'MODULE_LICENSE("GPL")' in error["hint"]


def test_undefined_symbols_with_their_likely_cause(builds: Builds) -> None:
    build = builds["undefined"]
    assert build.returncode == 1
    errors = {d["message"]: d for d in build.data["diagnostics"] if d["severity"] == "error"}
    unknown = errors["undefined symbol 'kmodgui_no_such_function'"]
    assert unknown["tool"] == "modpost" and "does not export" in unknown["hint"]
    assert unknown["file"] == str(build.directory / "und.ko")
    misspelt = errors["undefined symbol 'msleep_interruptibl'"]
    assert "Did you mean 'msleep_interruptible'" in misspelt["hint"]


def test_make_errors_mapped_to_the_users_files(builds: Builds) -> None:
    separator = builds["separator"]
    [error] = [d for d in separator.data["diagnostics"] if d["severity"] == "error"]
    assert (error["tool"], error["file"], error["line"]) == (
        "make", str(separator.directory / "Kbuild"), 3)
    assert error["message"].startswith("missing separator") and "tab" in error["hint"]
    norule = builds["norule"]
    [error] = [d for d in norule.data["diagnostics"] if d["severity"] == "error"]
    assert error["tool"] == "make" and "norule.o" in error["message"]
    assert "obj-m" in error["hint"]


def test_headers_missing_names_the_debian_package(builds: Builds) -> None:
    build = builds["noheaders"]
    assert build.returncode == 1 and build.data["returncode"] is None  # make never ran
    [error] = build.data["diagnostics"]
    assert error["message"].startswith("kernel headers missing")
    assert "linux-headers-0.0.0-kmodgui-none" in error["hint"]  # this machine is Debian


def test_headers_missing_in_makes_own_words(workspace: Workspace, build_root: Root) -> None:
    """The raw log of make -C on a release without headers parses as 'headers missing'."""
    source = workspace.write("m/Kbuild", "obj-m := m.o\n").parent
    missing = build_root.with_release("0.0.0-kmodgui-none").modules_dir / "build"
    done = workspace.run("make", "-C", str(missing), f"M={source}", "modules")
    assert done.returncode != 0
    log = (done.stdout + done.stderr).splitlines()
    ctx = context_for(missing, source_dir=source, headers_hint="install linux-headers-X")
    [diagnostic] = parse_log(log, ctx)
    assert diagnostic.severity is Severity.ERROR and diagnostic.tool is Tool.MAKE
    assert "headers missing" in diagnostic.message and diagnostic.hint == "install linux-headers-X"


def test_path_with_a_space(builds: Builds) -> None:
    ok = builds["spaced"]
    assert ok.returncode == 0, ok.data["log"]
    staging = ok.data["staging_dir"]
    assert staging and " " not in staging and not Path(staging).exists()  # removed afterwards
    assert ok.data["modules"] == [str(ok.directory / "simplemodule.ko")]
    assert (ok.directory / "simplemodule.ko").is_file()
    failed = builds["spaced-syntax"]
    assert failed.returncode == 1
    files = {d["file"] for d in failed.data["diagnostics"] if d["tool"] == "compiler"}
    assert files == {str(failed.directory / "syn.c")}  # the user's path, not the staging copy
    assert any(failed.data["staging_dir"] in line for line in failed.data["log"])


def test_clock_skew_is_harmless(builds: Builds) -> None:
    build = builds["skew"]
    assert build.returncode == 0, build.data["log"]
    skew = [d for d in build.data["diagnostics"] if "clock skew" in d["message"]]
    assert skew and all(d["severity"] == "harmless" for d in skew)


def test_another_compiler_is_harmless(workspace: Workspace, build_root: Root) -> None:
    """The headers say gcc-12; plain 'gcc' (the same compiler, another name) makes kbuild warn.

    Debian's headers switch that check off (.kernelvariables); the empty override
    switches it back on, as on other distributions.
    """
    workspace.kmodgui("new", "cc", str(workspace.path / "cc"), check_rc=0)
    kdir = build_root.modules_dir / "build"
    done = workspace.run("make", "-C", str(kdir), f"M={workspace.path / 'cc'}", "CC=gcc",
                         "DEBIAN_KERNEL_NO_CC_VERSION_CHECK=", "modules")
    assert done.returncode == 0, done.stdout + done.stderr
    log = (done.stdout + done.stderr).splitlines()
    found = parse_log(log, context_for(kdir, source_dir=workspace.path / "cc"))
    assert [(d.severity, d.message) for d in found if d.severity is not Severity.HARMLESS] == []
    [differs] = [d for d in found if "compiler differs" in d.message]
    assert "The kernel was built by: gcc-12 (Debian" in differs.message
    assert "You are using: gcc (Debian" in differs.message
    assert "warning: the compiler differs from the one used to build the kernel" in log


def test_diagnostic_text_and_location() -> None:
    [d] = parse_log(["/home/u/m/m.c:3:7: error: 'y' undeclared (first use in this function)"])
    assert d.location == "/home/u/m/m.c:3:7"
    assert str(d) == "/home/u/m/m.c:3:7: error: 'y' undeclared (first use in this function)"
    found = parse_log(["/m/m.c: In function 'f':", "/m/m.c:3:7: warning: w",
                       "/m/m.c: At top level:", "/m/m.c:9:1: warning: v"])
    assert [d.function for d in found] == ["f", ""]
    assert str(found[0]) == "/m/m.c:3:7: warning: w (in f)"


def test_symvers_from_the_real_headers(build_root: Root) -> None:
    exports = read_symvers(build_root.modules_dir / "build" / "Module.symvers")
    assert len(exports) > 10000
    assert (exports["_printk"].module, exports["_printk"].gpl_only) == ("vmlinux", False)
    usb = exports["usb_register_driver"]
    assert (usb.module, usb.gpl_only) == ("drivers/usb/core/usbcore", True)
