#!/usr/bin/env python3
"""Capture compact ``/sys`` trees from the real Debian kernel booted under qemu.

The hardware page and ``kmodgui devices`` are tested on what a real kernel
exposes, not on hand-written fixtures. This script boots the kernel of the
test tree (``tests/fetch-kernel``) with a busybox initramfs on emulated
machines carrying a variety of devices, loads the drivers of some of them
(leaving others without a driver on purpose), and records the parts of
``/sys`` that ``kmodgui.core.devices`` reads: every device directory with a
``modalias`` (plus USB device parents), their ``modalias``/``uevent``/ID
attributes, the ``driver`` and ``subsystem`` links, ``/sys/bus/*/devices``
links, driver ``module`` links, ``/sys/module/*/initstate`` and
``/proc/modules``. The result goes to ``tests/data/sysfs/<scenario>/sysfs.tar.xz``
and is committed; re-run this script only to refresh it::

    tests/hardware/capture_sysfs.py [SCENARIO...]
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data" / "sysfs"
CACHE = Path(os.environ.get("KMODGUI_TEST_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kmodgui-tests")
BUSYBOX = "/bin/busybox"
ARCHIVE = "sysfs.tar.xz"
BEGIN, END = "=====KMODGUI-SYSFS-BEGIN=====", "=====KMODGUI-SYSFS-END====="

# Attribute files worth keeping (IDs, names, classes); everything else is dropped.
ATTRIBUTES = (
    "modalias uevent vendor device subsystem_vendor subsystem_device class revision "
    "idVendor idProduct bcdDevice manufacturer product model name bDeviceClass "
    "bInterfaceClass bInterfaceSubClass bInterfaceProtocol bInterfaceNumber"
)

GUEST_SCRIPT = r"""#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.list); do insmod /m/$m.ko || echo "insmod $m failed"; done
sleep 4
F() { if c=$(base64 -w0 < "$1" 2>/dev/null); then echo "F $1 $c"; fi; }
L() { echo "L $1 $(readlink "$1")"; }
dumpdir() {
    echo "D $1"
    for a in @ATTRIBUTES@; do [ -f "$1/$a" ] && F "$1/$a"; done
    for l in driver subsystem; do [ -L "$1/$l" ] && L "$1/$l"; done
}
echo "@BEGIN@"
for l in /sys/bus/*/devices/*; do L "$l"; dumpdir "$(realpath "$l")"; done
find /sys/devices -name modalias -type f | while read -r f; do dumpdir "${f%/modalias}"; done
for l in /sys/bus/*/drivers/*; do echo "D $l"; [ -L "$l/module" ] && L "$l/module"; done
for d in /sys/module/*; do echo "D $d"; [ -f "$d/initstate" ] && F "$d/initstate"; done
F /proc/modules
echo "@END@"
poweroff -f
"""


class CaptureError(RuntimeError):
    """The guest did not boot or did not dump its sysfs."""


@dataclass
class Scenario:
    """One emulated machine: qemu arguments and the modules to load in the guest."""

    description: str
    qemu: list[str]
    load: list[str] = field(default_factory=list)


def _drive(name: str) -> list[str]:
    return ["-drive", f"if=none,id={name},file=@TMP@/{name}.img,format=raw"]


SCENARIOS: dict[str, Scenario] = {
    "qemu-pc": Scenario(
        "i440FX machine: e1000 and rtl8139 NICs left without a driver; virtio net, rng "
        "and block, xHCI with a USB keyboard and USB storage, an AHCI disk, all driven",
        ["-machine", "pc",
         "-netdev", "user,id=n0", "-device", "e1000,netdev=n0",
         "-netdev", "user,id=n1", "-device", "virtio-net-pci,netdev=n1",
         "-netdev", "user,id=n2", "-device", "rtl8139,netdev=n2",
         "-device", "virtio-rng-pci",
         *_drive("vd"), "-device", "virtio-blk-pci,drive=vd",
         "-device", "qemu-xhci,id=xhci",
         "-device", "usb-kbd,bus=xhci.0",
         *_drive("us"), "-device", "usb-storage,bus=xhci.0,drive=us",
         "-device", "ahci,id=ahci",
         *_drive("ad"), "-device", "ide-hd,bus=ahci.0,drive=ad"],
        ["virtio_pci", "virtio_net", "virtio_rng", "virtio_blk", "xhci_pci", "usbhid",
         "usb_storage", "sd_mod", "ahci"],
    ),
    "qemu-q35": Scenario(
        "Q35 machine: its built-in AHCI and SMBus, an e1000e NIC (driven), a virtio "
        "console and balloon, UHCI with a USB tablet and a USB NIC (their drivers not loaded)",
        ["-machine", "q35",
         "-netdev", "user,id=n0", "-device", "e1000e,netdev=n0",
         "-device", "virtio-serial-pci", "-device", "virtio-balloon-pci",
         "-device", "ich9-usb-uhci1,id=uhci",
         "-device", "usb-tablet,bus=uhci.0",
         "-netdev", "user,id=n1", "-device", "usb-net,bus=uhci.0,netdev=n1"],
        ["e1000e", "virtio_pci", "virtio_console", "uhci_hcd"],
    ),
}


def kernel_tree() -> tuple[Path, str]:
    """The extracted Debian kernel tree and its release (made by tests/fetch-kernel)."""
    base = CACHE / "current" / "root"
    releases = sorted(p.name for p in (base / "lib" / "modules").glob("*") if p.is_dir())
    if not releases:
        sys.exit(f"no kernel tree under {base}: run tests/fetch-kernel")
    return base, releases[-1]


def module_files(base: Path, release: str, modules: list[str]) -> list[Path]:
    """Module files to insmod, dependencies first, each once (modprobe's own order)."""
    files: list[Path] = []
    for module in modules:
        out = subprocess.run(
            ["modprobe", "-d", str(base), "-S", release, "--show-depends", "--", module],
            check=True, capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"},
        ).stdout
        for line in out.splitlines():
            words = line.split()
            if words[:1] == ["insmod"]:
                path = Path(words[1])
                if path not in files:
                    files.append(path)
    return files


def _cpio_entry(out: io.BytesIO, name: str, mode: int, data: bytes = b"", ino: int = 0) -> None:
    """One entry of a ``newc`` cpio archive (the initramfs format)."""
    encoded = name.encode() + b"\0"
    header = "070701" + "".join(f"{v:08X}" for v in (
        ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0))
    out.write(header.encode() + encoded)
    out.write(b"\0" * (-(110 + len(encoded)) % 4))
    out.write(data)
    out.write(b"\0" * (-len(data) % 4))


def initramfs(files: list[Path]) -> bytes:
    """A busybox initramfs that loads ``files`` in order and dumps sysfs to the console."""
    script = (GUEST_SCRIPT.replace("@ATTRIBUTES@", ATTRIBUTES)
              .replace("@BEGIN@", BEGIN).replace("@END@", END))
    names = [f.name.split(".ko")[0] for f in files]
    entries: list[tuple[str, int, bytes]] = [
        (d, 0o040755, b"") for d in ("bin", "proc", "sys", "dev", "m")]
    entries += [
        ("bin/busybox", 0o100755, Path(BUSYBOX).read_bytes()),
        ("init", 0o100755, script.encode()),
        ("modules.list", 0o100644, "\n".join(names).encode() + b"\n"),
    ]
    entries += [(f"m/{n}.ko", 0o100644, f.read_bytes()) for n, f in zip(names, files, strict=True)]
    for applet in ("sh", "mount", "insmod", "cat", "sleep", "base64", "readlink", "realpath",
                   "find", "poweroff"):
        entries.append((f"bin/{applet}", 0o120777, b"busybox"))
    out = io.BytesIO()
    for ino, (name, mode, data) in enumerate(entries, start=1):
        _cpio_entry(out, name, mode, data, ino)
    _cpio_entry(out, "TRAILER!!!", 0)
    return out.getvalue()


def boot(scenario: Scenario, base: Path, release: str, tmp: Path) -> str:
    """Boot the guest and return the console text between the markers."""
    (tmp / "initrd").write_bytes(initramfs(module_files(base, release, scenario.load)))
    for name in ("vd", "us", "ad"):
        with open(tmp / f"{name}.img", "wb") as f:
            f.truncate(16 << 20)
    argv = ["qemu-system-x86_64", "-accel", "tcg", "-m", "512", "-smp", "1",
            "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio",
            "-kernel", str(base / "boot" / f"vmlinuz-{release}"),
            "-initrd", str(tmp / "initrd"),
            "-append", "console=ttyS0 panic=-1 quiet",
            *(a.replace("@TMP@", str(tmp)) for a in scenario.qemu)]
    proc = subprocess.run(argv, capture_output=True, timeout=300, check=False)
    text = proc.stdout.decode(errors="replace").replace("\r", "")
    if BEGIN not in text or END not in text:
        raise CaptureError(f"guest did not dump sysfs (exit {proc.returncode}):\n"
                           f"{text[-3000:]}\n{proc.stderr.decode(errors='replace')}")
    for line in text.split(BEGIN)[0].splitlines():
        if "failed" in line:
            print(line, file=sys.stderr)
    return text.split(BEGIN, 1)[1].split(END, 1)[0]


def write_tree(dump: str, dest: Path) -> int:
    """Rebuild the dumped entries under ``dest`` (``dest/sys/...``, ``dest/proc/...``)."""
    if dest.exists():
        shutil.rmtree(dest)
    count = 0
    for line in dump.splitlines():
        kind, _, rest = line.partition(" ")
        if kind not in ("D", "F", "L"):
            continue
        path, _, value = rest.partition(" ")
        target = dest / path.lstrip("/")
        if kind == "D":
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            continue
        if kind == "F":
            target.write_bytes(base64.b64decode(value))
        else:
            target.symlink_to(value)
        count += 1
    return count


def pack(tree: Path, archive: Path) -> None:
    """The tree as a reproducible tar (sorted, no owners or times).

    The tree is committed as an archive, not as files: its symlinks loop as
    sysfs's do (device → subsystem → bus → device), and tools that walk a
    checkout following links (setuptools' package discovery) never return.
    """
    def clean(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        return info

    with tarfile.open(archive, "w:xz") as tar:
        for path in sorted(tree.rglob("*")):
            tar.add(path, arcname=path.relative_to(tree).as_posix(), recursive=False,
                    filter=clean)


def capture(name: str, base: Path, release: str, dest: Path) -> int:
    """Boot scenario ``name`` and write its archive to ``dest``; the number of entries."""
    with tempfile.TemporaryDirectory() as tmp:
        dump = boot(SCENARIOS[name], base, release, Path(tmp))
        count = write_tree(dump, Path(tmp) / "tree")
        dest.mkdir(parents=True, exist_ok=True)
        pack(Path(tmp) / "tree", dest / ARCHIVE)
    (dest / "README").write_text(
        f"Captured by tests/hardware/capture_sysfs.py from Debian kernel {release}\n"
        f"under qemu: {SCENARIOS[name].description}.\n"
        f"Modules loaded in the guest: {' '.join(SCENARIOS[name].load)}.\n"
        f"{ARCHIVE} holds sys/ and proc/ (symlinks kept; extract it to use it).\n")
    (dest / "RELEASE").write_text(release + "\n")
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                        help=f"what to capture (default: all of {', '.join(SCENARIOS)})")
    args = parser.parse_args()
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario: {', '.join(sorted(unknown))}")
    base, release = kernel_tree()
    for name in args.scenarios or list(SCENARIOS):
        try:
            count = capture(name, base, release, DATA / name)
        except CaptureError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 1
        print(f"{name}: {count} entries in {DATA / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
