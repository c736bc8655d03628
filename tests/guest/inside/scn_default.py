"""Scenarios on a normally booted guest: every helper operation done for real.

Run inside the guest as the unprivileged test user ``kmguser``, whom a polkit
rule grants the project's actions except ``force-unload``. Each scenario is
checked against ``/proc/modules``, ``/sys/module``, the helper's reply and
the kernel log (issue 6, scenarios 1–6, 8, 9, 11, 12).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest
from guestlib import (
    SYSTEM,
    HelperError,
    KernelLog,
    capabilities,
    insert_file,
    interfaces,
    load,
    loaded,
    parameter,
    rebuild_index,
    root,
    run,
    same_log,
    set_blacklist,
    set_load_at_boot,
    set_parameter,
    set_persistent_options,
    unload,
)

MODPROBE = "/usr/sbin/modprobe"


def test_runs_unprivileged() -> None:
    """The scenarios below are a plain user's calls, not root's."""
    assert os.getuid() != 0
    assert os.geteuid() != 0


def test_capabilities(release: str) -> None:
    caps = capabilities()
    assert caps["kernel-release"] == release
    assert caps["modules-disabled"] is False
    assert caps["signature-enforced"] is False
    assert caps["force-unload"] is True
    assert isinstance(caps["version"], str) and caps["version"]


# 1 ---------------------------------------------------------------------------
def test_load_dummy_with_parameter() -> None:
    assert "dummy" not in loaded()
    log = KernelLog()
    reply = load("dummy", ("numdummies=2",))
    assert "dummy" in loaded()
    # numdummies has no sysfs entry: the interfaces it made are the proof.
    assert {"dummy0", "dummy1"} <= interfaces()
    assert "dummy2" not in interfaces()
    same_log(reply["kernel-log"], log.new(), about="dummy")

    log = KernelLog()
    reply = unload("dummy")
    assert "dummy" not in loaded()
    assert "dummy0" not in interfaces()
    same_log(reply["kernel-log"], log.new(), about="dummy")


def test_load_already_loaded_is_named() -> None:
    load("dummy")
    with pytest.raises(HelperError) as e:
        load("dummy", ("numdummies=3",))
    assert e.value.short == "AlreadyLoaded"


def test_load_unknown_module() -> None:
    with pytest.raises(HelperError) as e:
        load("kmg_no_such_module")
    assert e.value.short == "NotFound"


# 2 ---------------------------------------------------------------------------
def _modprobe_order(module: str) -> list[str]:
    """The modules ``modprobe`` itself would insert for *module*, in its order."""
    r = run(MODPROBE, "--show-depends", module)
    assert r.rc == 0, r.stderr
    return [Path(line.split()[1]).name.split(".")[0] for line in r.stdout.splitlines()
            if line.startswith("insmod ")]


def test_load_with_dependency_chain() -> None:
    order = _modprobe_order("bridge")
    assert order == ["llc", "stp", "bridge"]  # two deep: bridge → stp → llc
    assert not set(order) & set(loaded())
    load("bridge")
    now = loaded()
    assert set(order) <= set(now)
    # /proc/modules lists the newest first: the reverse of the load order.
    newest_first = [m for m in now if m in order]
    assert newest_first == list(reversed(order))
    assert now["stp"]["holders"] == ["bridge"]
    assert sorted(now["llc"]["holders"]) == ["bridge", "stp"]


# 3 ---------------------------------------------------------------------------
def test_unload_held_module_then_with_dependencies() -> None:
    load("bridge")
    before = loaded()
    with pytest.raises(HelperError) as e:
        unload("stp")
    assert e.value.short == "InUse"
    assert "bridge" in e.value.message
    assert set(loaded()) == set(before)

    unload("bridge", dependencies=True)
    assert not {"bridge", "stp", "llc"} & set(loaded())


def test_unload_not_loaded() -> None:
    with pytest.raises(HelperError) as e:
        unload("dummy")
    assert e.value.short == "NotLoaded"


# 4 ---------------------------------------------------------------------------
def test_insert_file_hello_parameter_and_exit(mods: Path) -> None:
    log = KernelLog()
    reply = insert_file(mods / "kmg_hello.ko", ("count=3",))
    assert "kmg_hello" in loaded()
    assert "kmg_hello: hello, world (count=3)" in reply["kernel-log"]
    same_log(reply["kernel-log"], log.new(), about="kmg_hello")
    assert parameter("kmg_hello", "count") == "3"

    set_parameter("kmg_hello", "count", "7")
    assert parameter("kmg_hello", "count") == "7"

    log = KernelLog()
    reply = unload("kmg_hello")
    assert "kmg_hello" not in loaded()
    assert not (SYSTEM.sys_module / "kmg_hello").exists()
    assert "kmg_hello: goodbye, world (count=7)" in reply["kernel-log"]
    same_log(reply["kernel-log"], log.new(), about="kmg_hello")


def test_set_parameter_rejects_a_bad_value(mods: Path) -> None:
    insert_file(mods / "kmg_hello.ko")
    with pytest.raises(HelperError) as e:
        set_parameter("kmg_hello", "count", "many")
    assert e.value.short in ("InvalidParameter", "Failed")
    assert parameter("kmg_hello", "count") == "1"


# 5 ---------------------------------------------------------------------------
def test_insert_file_with_missing_dependency(mods: Path) -> None:
    assert "kmg_provider" not in loaded()
    log = KernelLog()
    with pytest.raises(HelperError) as e:
        insert_file(mods / "kmg_consumer.ko")
    assert e.value.short == "UnknownSymbol"
    expected = "kmg_consumer: Unknown symbol kmg_provider_answer (err -2)"
    assert expected in log.new()
    assert expected in [line.strip() for line in e.value.kernel_log]
    assert "kmg_consumer" not in loaded()

    # With its provider loaded it goes in.
    insert_file(mods / "kmg_provider.ko")
    reply = insert_file(mods / "kmg_consumer.ko")
    assert "kmg_consumer: the answer is 42" in reply["kernel-log"]
    assert loaded()["kmg_provider"]["holders"] == ["kmg_consumer"]


# 6 ---------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "words"), [
    ("kmg_alien", "kmg_hello: disagrees about version of symbol module_layout"),
    ("kmg_alien_magic", "kmg_hello: version magic '"),
])
def test_insert_file_for_another_release(mods: Path, release: str, name: str,
                                         words: str) -> None:
    log = KernelLog()
    with pytest.raises(HelperError) as e:
        insert_file(mods / f"{name}.ko")
    assert e.value.short == "InvalidModule"
    assert any(words in line for line in e.value.kernel_log), e.value.kernel_log
    assert any(words in line for line in log.new())
    assert "kmg_hello" not in loaded()


# 8 ---------------------------------------------------------------------------
CONF_DIRS = ("/etc/modprobe.d", "/etc/modules-load.d")


def _config_snapshot() -> dict[str, bytes]:
    files = {}
    for d in CONF_DIRS:
        for p in sorted(Path(d).glob("*")):
            files[str(p)] = p.read_bytes() if p.is_file() else b"<not a file>"
    return files


def _modprobe_config() -> list[str]:
    r = run(MODPROBE, "-c")
    assert r.rc == 0, r.stderr
    return r.stdout.splitlines()


def test_persistent_configuration_round_trip() -> None:
    # loop, not dummy or ifb: Debian's systemd ships "options dummy numdummies=0" and
    # "options ifb numifbs=0", which modprobe applies after any kmodgui-*.conf file.
    original = _config_snapshot()
    conf = "/etc/modprobe.d/kmodgui-loop.conf"
    boot = "/etc/modules-load.d/kmodgui-loop.conf"

    reply = set_persistent_options("loop", {"max_part": "7"})
    assert conf in reply["files"]
    assert "options loop max_part=7" in _modprobe_config()
    load("loop")  # the persistent option is what modprobe now applies
    assert parameter("loop", "max_part") == "7"
    unload("loop")

    set_blacklist("loop", "autoload")
    cfg = _modprobe_config()
    assert "blacklist loop" in cfg
    assert "options loop max_part=7" in cfg

    set_blacklist("loop", "always")
    cfg = _modprobe_config()
    assert "blacklist loop" in cfg
    assert any(line.startswith("install loop /bin/false") for line in cfg), cfg
    r = root(MODPROBE, "loop")
    assert r.rc != 0
    assert "loop" not in loaded()

    reply = set_load_at_boot("loop", True)
    assert boot in reply["files"]
    assert "loop" in Path(boot).read_text().split()

    set_persistent_options("loop", {})
    set_blacklist("loop", "none")
    set_load_at_boot("loop", False)
    assert _config_snapshot() == original
    cfg = _modprobe_config()
    assert not [line for line in cfg if line.split()[1:2] == ["loop"]], cfg
    load("loop")  # plain loading works again, with the module's own default
    assert parameter("loop", "max_part") == "0"


# 9 ---------------------------------------------------------------------------
def test_rebuild_index_finds_a_new_module(mods: Path, release: str) -> None:
    extra = SYSTEM.modules_dir / "extra"
    r = root("sh", "-c", 'mkdir -p "$1" && cp "$2" "$1/"', "sh", extra,
             mods / "kmg_fresh.ko")
    assert r.rc == 0, r.stderr
    before = run(MODPROBE, "--show-depends", "kmg_fresh")
    assert before.rc != 0  # the file is there, but the index does not know it yet

    rebuild_index(release)
    after = run(MODPROBE, "--show-depends", "kmg_fresh")
    assert after.rc == 0, after.stderr
    assert str(extra / "kmg_fresh.ko") in after.stdout
    reply = load("kmg_fresh")
    assert "kmg_fresh: found by modprobe" in reply["kernel-log"]
    assert "kmg_fresh" in loaded()


def test_rebuild_index_unknown_release() -> None:
    with pytest.raises(HelperError) as e:
        rebuild_index("0.0.0-no-such-release")
    assert e.value.short in ("NotFound", "org.freedesktop.DBus.Error.InvalidArgs")


# 11 --------------------------------------------------------------------------
FORCE_UNLOAD = """
import sys
sys.path.insert(0, sys.argv[1])
from guestlib import HelperError, unload
try:
    print(unload("kmg_pinned", force=True)["kernel-log"])
except HelperError as e:
    print("ERROR", e.name, e.message)
"""


def test_force_unload_needs_its_own_authorisation(mods: Path) -> None:
    insert_file(mods / "kmg_pinned.ko")
    assert loaded()["kmg_pinned"]["refcount"] == 1

    with pytest.raises(HelperError) as e:
        unload("kmg_pinned")
    assert e.value.short == "InUse"
    with pytest.raises(HelperError) as e:
        unload("kmg_pinned", force=True)  # kmguser lacks org.kmodgui.force-unload
    assert e.value.short == "NotAuthorized"
    assert "kmg_pinned" in loaded()

    here = str(Path(__file__).parent)
    r = root(sys.executable, "-c", FORCE_UNLOAD, here, user="kmgforce")
    assert r.rc == 0, r.stderr
    assert "ERROR" not in r.stdout, r.stdout
    assert "kmg_pinned: released" in r.stdout
    assert "kmg_pinned" not in loaded()


# 12 --------------------------------------------------------------------------
def _kmodgui(*args: str | Path) -> tuple[int, str]:
    cli = Path(sys.executable).parent / "kmodgui"
    r = run(cli, *args)
    return r.rc, r.stdout + r.stderr


def test_cli_load_unload_insert(mods: Path) -> None:
    rc, out = _kmodgui("load", "dummy", "numdummies=2")
    assert rc == 0, out
    assert "dummy" in loaded()
    assert {"dummy0", "dummy1"} <= interfaces()

    rc, out = _kmodgui("unload", "dummy")
    assert rc == 0, out
    assert "dummy" not in loaded()

    rc, out = _kmodgui("insert", mods / "kmg_hello.ko", "count=5")
    assert rc == 0, out
    assert parameter("kmg_hello", "count") == "5"
    assert "hello, world (count=5)" in out

    rc, out = _kmodgui("unload", "kmg_hello")
    assert rc == 0, out
    assert "kmg_hello" not in loaded()
    assert "goodbye, world (count=5)" in out


# issue 9, item 3 --------------------------------------------------------------
def test_an_init_that_does_not_return_frees_the_helper(mods: Path) -> None:
    """kmg_sleepy's init sleeps 45 s: the call fails after 30 s, the helper goes on serving,
    and the module does finish loading later."""
    outcome: dict[str, BaseException | dict] = {}

    def slow_insert() -> None:
        try:
            outcome["reply"] = insert_file(mods / "kmg_sleepy.ko", ("seconds=45",))
        except BaseException as exc:  # examined below
            outcome["error"] = exc

    started = time.monotonic()
    worker = threading.Thread(target=slow_insert)
    worker.start()
    time.sleep(5)
    assert worker.is_alive()
    # meanwhile the service answers at once
    t0 = time.monotonic()
    assert capabilities()["kernel-release"]
    assert time.monotonic() - t0 < 10
    worker.join(120)
    waited = time.monotonic() - started
    error = outcome.get("error")
    assert isinstance(error, HelperError), outcome
    assert error.short == "Failed"
    assert "the module's init has not returned after 30 s; it may still finish" \
        in error.message
    assert 28 < waited < 60, waited
    # the queue is free: another operation goes through while the init still sleeps
    load("dummy")
    unload("dummy")
    deadline = time.monotonic() + 60
    while loaded().get("kmg_sleepy", {}).get("state") != "Live":
        assert time.monotonic() < deadline, loaded().get("kmg_sleepy")
        time.sleep(1)
    log = KernelLog()
    reply = unload("kmg_sleepy")
    assert "kmg_sleepy: goodbye" in reply["kernel-log"]
    same_log(reply["kernel-log"], log.new(), about="kmg_sleepy")
