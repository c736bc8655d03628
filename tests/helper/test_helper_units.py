"""The helper's pieces without a bus: table, validation, classification, files, syscalls."""

from __future__ import annotations

import errno
import os
import platform
from pathlib import Path

import pytest
from kmodgui_helper import api, configfiles, errors, finit, kmsg, operations, validate
from kmodgui_helper.errors import HelperError

from kmodgui.core.paths import Root


def test_checked_in_introspection_is_generated_from_the_table() -> None:
    xml = Path(api.__file__).with_name("org.kmodgui.Helper1.xml").read_text()
    assert xml == api.introspection_xml()
    for method in api.METHODS:
        assert f'<method name="{method.name}">' in xml


def test_a_method_without_an_action_stops_the_service() -> None:
    unguarded = api.Method("Reboot", (("now", "b"),), (), api.METHODS[1].prepare)
    with pytest.raises(api.ApiTableError, match="Reboot has no polkit action"):
        api.check_table([*api.METHODS, unguarded])
    unknown = api.Method("Odd", (), ("org.example.anything",), api.METHODS[1].prepare)
    with pytest.raises(api.ApiTableError):
        api.check_table([unknown])
    assert set(api.check_table()) == {m.name for m in api.METHODS}


def test_every_action_is_in_the_polkit_policy() -> None:
    policy = (Path(__file__).resolve().parents[2] / "packaging" / "org.kmodgui.policy").read_text()
    for action in api.ACTIONS:
        assert f'<action id="{action}">' in policy


@pytest.mark.parametrize("name", ["dummy", "snd-hda-intel", "a", "x" * 55, "_x", "9p"])
def test_module_names_accepted(name: str) -> None:
    assert validate.module(name) == name.replace("-", "_")


@pytest.mark.parametrize("name", ["", "-x", "x" * 56, "a b", "a\n", "a/b", "a.ko", "ä", "a;b"])
def test_module_names_refused(name: str) -> None:
    with pytest.raises(HelperError) as caught:
        validate.module(name)
    assert caught.value.name == errors.INVALID_ARGS


@pytest.mark.parametrize("value", ["1", "-1", "0x10", "a,b", "Y", "/dev/x", "a=b", "~"])
def test_values_accepted(value: str) -> None:
    assert validate.value(value) == value


@pytest.mark.parametrize("value", ["", " ", "a b", "'x'", '"x"', "#", "a\\b", "1\n", "é",
                                   "\x7f", "x" * 1025])
def test_values_refused(value: str) -> None:
    with pytest.raises(HelperError):
        validate.value(value)


def test_options_need_known_keys_of_the_right_type() -> None:
    class V:
        def __init__(self, signature: str, value: object) -> None:
            self.signature, self.value = signature, value

    assert validate.options({"force": V("b", True)}, {"force": "b"}) == {"force": True}
    for bad in ({"force": V("s", "yes")}, {"other": V("b", True)}, {"force": True}):
        with pytest.raises(HelperError):
            validate.options(bad, {"force": "b"})


def test_received_descriptor_checks(tmp_path: Path) -> None:
    module = tmp_path / "m.ko"
    module.write_bytes(b"\x7fELF" + b"\0" * 60)
    fds = {"ok": os.open(module, os.O_RDONLY), "rw": os.open(module, os.O_RDWR),
           "path": os.open(module, os.O_PATH), "dir": os.open(tmp_path, os.O_RDONLY)}
    try:
        assert validate.module_fd(fds["ok"]) == 64
        for kind in ("rw", "path", "dir"):
            with pytest.raises(HelperError):
                validate.module_fd(fds[kind])
    finally:
        for fd in fds.values():
            os.close(fd)


MODPROBE_OUTPUTS = [
    ("modprobe: FATAL: Module nope not found in directory /lib/modules/6.1.0", "NotFound"),
    ("modprobe: ERROR: could not insert 'dummy': Module already in kernel", "AlreadyLoaded"),
    ("rmmod: ERROR: Module dummy is not currently loaded", "NotLoaded"),
    ("modprobe: FATAL: Module dummy is not in kernel.", "NotLoaded"),
    ("rmmod: ERROR: Module loop is in use by: x", "InUse"),
    ("modprobe: FATAL: Module ext4 is builtin.", "Failed"),
    ("modprobe: ERROR: could not insert 'x': Exec format error", "InvalidModule"),
    ("modprobe: ERROR: could not insert 'x': Invalid module format", "InvalidModule"),
    ("modprobe: ERROR: could not insert 'x': Key was rejected by service", "SignatureRejected"),
    ("modprobe: ERROR: could not insert 'x': Unknown symbol in module, or unknown parameter "
     "(see dmesg)", "UnknownSymbol"),
    ("modprobe: ERROR: could not insert 'x': Function not implemented", "Failed"),
    ("something else entirely", "Failed"),
]


@pytest.mark.parametrize(("output", "expected"), MODPROBE_OUTPUTS)
def test_tool_output_is_classified(output: str, expected: str) -> None:
    error = errors.classify_tool(output, [], module="x", action="load", holders=["x_user"])
    assert error.name == errors.PREFIX + expected


def test_classification_uses_the_kernel_log() -> None:
    unknown_param = errors.classify_tool(
        "modprobe: ERROR: could not insert 'dummy': Unknown symbol in module, or unknown "
        "parameter (see dmesg)", ["dummy: unknown parameter 'nope' ignored"],
        module="dummy", action="load")
    assert unknown_param.name == errors.INVALID_PARAMETER
    assert unknown_param.kernel_log == ["dummy: unknown parameter 'nope' ignored"]
    in_use = errors.classify_tool("rmmod: ERROR: Module loop is in use", [], module="loop",
                                  action="unload", holders=["a", "b"])
    assert in_use.message == "loop is in use by: a, b"
    denied = errors.classify_tool("modprobe: ERROR: could not insert 'x': Operation not "
                                  "permitted", [], module="x", action="load",
                                  modules_disabled=True)
    assert denied.name == errors.MODULES_DISABLED
    locked = errors.classify_tool("modprobe: ERROR: could not insert 'x': Operation not "
                                  "permitted", [], module="x", action="load",
                                  lockdown="integrity")
    assert locked.name == errors.LOCKED_DOWN


@pytest.mark.parametrize(("err", "log", "expected"), [
    (errno.EEXIST, [], errors.ALREADY_LOADED),
    (errno.ENOEXEC, ["hello: version magic '5.10' should be '6.1'"], errors.INVALID_MODULE),
    (errno.ENOENT, ["hello: Unknown symbol foo (err -2)"], errors.UNKNOWN_SYMBOL),
    (errno.EKEYREJECTED, ["Loading of unsigned module is rejected"], errors.SIGNATURE_REJECTED),
    (errno.ENOKEY, [], errors.SIGNATURE_REJECTED),
    (errno.EPERM, ["Lockdown: insmod: unsigned module loading is restricted"],
     errors.LOCKED_DOWN),
    (errno.EINVAL, ["hello: bad value 'x' for parameter n"], errors.INVALID_PARAMETER),
    (errno.ENOSYS, [], errors.FAILED),
    (errno.EOPNOTSUPP, [], errors.INVALID_MODULE),
])
def test_finit_errors_are_classified(err: int, log: list[str], expected: str) -> None:
    assert errors.classify_errno(err, log, module="hello").name == expected


def test_finit_syscall_numbers() -> None:
    assert finit.syscall_number("x86_64") == 313
    assert finit.syscall_number("aarch64") == finit.syscall_number("riscv64") == 273
    assert finit.syscall_number("i686") == 350
    assert finit.syscall_number("armv7l") == 379
    assert finit.syscall_number("ppc64le") == 353
    assert finit.syscall_number("s390x") == 344
    assert finit.syscall_number(platform.machine()) > 0


def test_compressed_files_are_recognised(tmp_path: Path) -> None:
    for name, head, expected in (("a.ko", b"\x7fELF\2\1", False), ("a.ko.xz", b"\xfd7zXZ\0", True),
                                 ("a.ko.zst", b"\x28\xb5\x2f\xfd\0\0", True),
                                 ("a.ko.gz", b"\x1f\x8b\x08\0\0\0", True)):
        path = tmp_path / name
        path.write_bytes(head + b"\0" * 10)
        fd = os.open(path, os.O_RDONLY)
        try:
            assert finit.is_compressed(fd) is expected
        finally:
            os.close(fd)


def test_kmsg_records_are_parsed() -> None:
    assert kmsg.parse_record(b"6,1234,5678,-;dummy: loaded\n SUBSYSTEM=x\n") == "dummy: loaded"
    assert kmsg.parse_record(b"no separator") == "no separator"
    assert kmsg.KernelLog("/nonexistent/kmsg").read_new() == []


def test_modprobe_file_round_trip() -> None:
    settings = configfiles.ModprobeSettings([("a", "1"), ("b", "x,y")], "always")
    text = settings.render("dummy")
    assert configfiles.parse_modprobe(text, "dummy") == settings
    assert configfiles.ModprobeSettings().render("dummy") == ""


def test_capabilities_come_from_the_root(tmp_path: Path) -> None:
    root = Root(tmp_path, "6.1.0-test")
    kernel = root.proc_modules.parent / "sys" / "kernel"
    kernel.mkdir(parents=True)
    (kernel / "modules_disabled").write_text("1\n")
    security = root.sys_module.parent / "kernel" / "security"
    security.mkdir(parents=True)
    (security / "lockdown").write_text("none [integrity] confidentiality\n")
    params = root.sys_module / "module" / "parameters"
    params.mkdir(parents=True)
    (params / "sig_enforce").write_text("Y\n")
    boot = root.path("/boot")
    boot.mkdir()
    (boot / "config-6.1.0-test").write_text("CONFIG_X=y\nCONFIG_MODULE_FORCE_UNLOAD=y\n")
    assert operations.capabilities(root) == {
        "version": operations.__version__, "kernel-release": "6.1.0-test",
        "modules-disabled": True, "lockdown": "integrity", "signature-enforced": True,
        "force-unload": True}
    empty = Root(tmp_path / "nothing", "x")
    caps = operations.capabilities(empty)
    assert (caps["modules-disabled"], caps["lockdown"], caps["signature-enforced"],
            caps["force-unload"]) == (False, "none", False, False)


# --- issue 9 -------------------------------------------------------------------------

def test_module_names_from_real_files_match_kmods_modinfo(kernel_root: Root) -> None:
    """The helper's small .modinfo reader against kmod's modinfo on real Debian modules."""
    import subprocess

    from kmodgui_helper import modulefile

    files = sorted(kernel_root.modules_dir.rglob("*.ko"))[::200]
    assert len(files) > 10
    for path in files:
        data = path.read_bytes()
        expected = subprocess.run(["modinfo", "-F", "name", str(path)], capture_output=True,
                                  text=True, check=True).stdout.strip()
        assert modulefile.module_name(data) == expected.replace("-", "_"), path


def test_module_file_copy_is_sealed_and_named(tmp_path: Path) -> None:
    import fcntl
    import hashlib

    from kmgtest.tinyko import tiny_ko
    from kmodgui_helper import modulefile

    data = tiny_ko("kmodgui-copy")
    path = tmp_path / "m.ko"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        copy = modulefile.inspect(fd, len(data))
    finally:
        os.close(fd)
    try:
        assert copy.details == {"module": "kmodgui_copy", "size": str(len(data)),
                                "sha256": hashlib.sha256(data).hexdigest()}
        path.write_bytes(b"changed")  # the caller's file changes: the copy does not
        assert os.pread(copy.fd, len(data), 0) == data
        with pytest.raises(PermissionError):
            os.pwrite(copy.fd, b"x", 0)
        assert fcntl.fcntl(copy.fd, modulefile.F_ADD_SEALS + 1) & modulefile.SEALS  # GET_SEALS
    finally:
        os.close(copy.fd)


@pytest.mark.parametrize("data", [b"", b"\x7fELF", b"\x7fELF" + b"\0" * 60,
                                  b"\x7fELF\x02\x01" + b"\xff" * 200, b"MZ" + b"\0" * 100])
def test_files_that_are_no_module_are_refused(data: bytes) -> None:
    from kmodgui_helper import modulefile

    with pytest.raises(modulefile.NotAModule):
        modulefile.module_name(data)


def test_an_init_that_does_not_return_is_not_waited_for(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    import threading
    import time

    release = threading.Event()
    monkeypatch.setattr(finit, "finit_module", lambda fd, params: release.wait(30))
    started = time.monotonic()
    with pytest.raises(finit.InitTimeout,
                       match="the module's init has not returned after 1 s; it may still "
                             "finish"):
        finit.finit_module_bounded(0, "", timeout=1.0)
    assert time.monotonic() - started < 3
    release.set()


def test_the_removal_plan_stops_at_modules_others_use(tmp_path: Path) -> None:
    root = Root(tmp_path, "x")
    root.proc_modules.parent.mkdir()
    root.proc_modules.write_text(
        "top 1 0 - Live 0x0\nmid 1 1 top, Live 0x0\nlow 1 2 mid,other, Live 0x0\n"
        "other 1 0 - Live 0x0\npinned 1 2 top, Live 0x0\n")
    assert operations.removal_plan(root, "top") == ["top", "mid"]


def test_a_tool_that_hangs_is_killed_with_its_children(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from kmodgui_helper import tools

    script = tmp_path / "hang"
    script.write_text("#!/bin/sh\n/bin/sleep 975 &\nexec /bin/sleep 976\n")
    script.chmod(0o755)
    monkeypatch.setitem(tools._CANDIDATES, "modprobe", (str(script),))
    started = time.monotonic()
    result = tools.run("modprobe", [], [], timeout=1)
    assert result.returncode == 124 and "did not finish within 1 s" in result.output
    assert time.monotonic() - started < 1 + tools.REAP_SECONDS
    time.sleep(0.3)
    alive = [p for p in Path("/proc").iterdir() if p.name.isdigit() and
             b"sleep\0" + b"97" in _cmdline(p)]
    assert alive == []


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


def test_a_full_send_buffer_is_waited_out_not_a_lost_bus() -> None:
    """The message writer's socket: a send into a full buffer sends nothing (the writer
    then waits until writable) instead of raising, which both libraries take for a
    broken connection."""
    import socket

    from kmodgui_helper.dbuslib import _PatientSocket

    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.setblocking(False)
        patient = _PatientSocket(ours)
        sent = 0
        while (n := patient.send(b"x" * 65536)) > 0:
            sent += n
        assert sent > 0 and patient.send(b"y") == 0       # full: nothing sent, no error
        assert patient.fileno() == ours.fileno()           # everything else passes through
        theirs.recv(65536)
        theirs.setblocking(False)
        while True:
            try:
                theirs.recv(1 << 20)
            except BlockingIOError:
                break
        assert patient.send(b"z") == 1                      # room again
