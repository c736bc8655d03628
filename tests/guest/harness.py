"""Boot the real Debian kernel under qemu and run a command in it.

The guest is a throwaway machine built from what the host already has: its
kernel and modules come from the test kernel tree, its userland is the
host's root filesystem shared read-only over 9p with a tmpfs overlay on top
(so /etc, /usr and /var are writable in the guest and nothing reaches the
host), and a third 9p share (read-write) carries results back. The tiny
initramfs holds only busybox and the modules needed to mount those shares;
stage 2 (``guest_init.py``) then runs on the host's own Python.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from kmodgui.core.paths import Root

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BUSYBOX = Path("/bin/busybox")
QEMU = "qemu-system-x86_64"

#: Modules the initramfs loads (with their dependencies) to reach the 9p shares.
INITRAMFS_MODULES = ("virtio_pci", "9pnet_virtio", "9p", "overlay")
#: The guest's module tree: these and their dependencies. Under emulation, reading
#: all 4000 modules over 9p makes one ``depmod -a`` take minutes; a tree of the
#: modules the scenarios use (plus a few more, so it is not trivially small) keeps
#: it to seconds, and is still the real release's files indexed by the real depmod.
GUEST_TREE_MODULES = (*INITRAMFS_MODULES, "dummy", "ifb", "bridge", "veth", "tun", "loop",
                      "vxlan", "ip6table_filter", "nf_tables", "xfs", "btrfs", "e1000",
                      "virtio_net", "virtio_blk", "crc32_generic", "sha512_generic")
#: Index inputs copied beside the modules (depmod regenerates the rest).
TREE_FILES = ("modules.order", "modules.builtin", "modules.builtin.modinfo")

INIT_SCRIPT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /lower /upper /newroot
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "kmgtest: initramfs"
for m in $(cat /modules/order); do insmod "/modules/$m.ko" || echo "kmgtest: insmod $m failed"; done
opts=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$opts,ro,cache=loose" hostroot /lower \
    || { echo "kmgtest: no hostroot"; poweroff -f; }
mount -t tmpfs -o mode=0755 tmpfs /upper
mkdir -p /upper/root /upper/work /upper/kmods /upper/kmodswork
mount -t overlay -o lowerdir=/lower,upperdir=/upper/root,workdir=/upper/work \
    overlay /newroot || { echo "kmgtest: overlay failed"; poweroff -f; }
rel=$(uname -r)
mkdir -p /kmlower "/newroot/usr/lib/modules/$rel" /newroot/kmgout
mount -t 9p -o "$opts,ro" kmods /kmlower
mount -t overlay -o lowerdir=/kmlower,upperdir=/upper/kmods,workdir=/upper/kmodswork overlay \
    "/newroot/usr/lib/modules/$rel"
mount -t 9p -o "$opts" kmgout /newroot/kmgout
umount /sys /proc
echo "kmgtest: switching root"
exec switch_root /newroot "$(cat /kmgtest-python)" "$(cat /kmgtest-stage2)" /kmgout
"""


class GuestError(RuntimeError):
    """The guest could not be built or booted, or did not finish."""


@dataclass
class GuestRun:
    """What one boot left behind: the console log and the shared output directory."""

    console: Path
    out: Path
    returncode: int
    seconds: float
    config: dict[str, object] = field(default_factory=dict)

    def console_text(self) -> str:
        """The guest's whole console log (kernel and stage 2 output)."""
        return self.console.read_text(errors="replace") if self.console.exists() else ""

    def console_tail(self, lines: int = 120) -> str:
        """The end of the console log, for a failure message."""
        return "\n".join(self.console_text().splitlines()[-lines:])


def module_closure(root: Root, names: tuple[str, ...]) -> list[Path]:
    """Module files (relative to the release directory) for *names* and all their
    dependencies, dependencies first, from the tree's ``modules.dep``."""
    deps: dict[str, list[str]] = {}
    by_name: dict[str, str] = {}
    for line in (root.modules_dir / "modules.dep").read_text().splitlines():
        target, _, rest = line.partition(":")
        deps[target] = rest.split()
        by_name[Path(target).name.split(".")[0].replace("-", "_")] = target
    order: list[str] = []

    def visit(path: str) -> None:
        if path in order:
            return
        for dep in reversed(deps[path]):
            visit(dep)
        order.append(path)

    for name in names:
        key = name.replace("-", "_")
        if key not in by_name:
            raise GuestError(f"module {name} is not in {root.modules_dir}/modules.dep")
        visit(by_name[key])
    return [Path(p) for p in order]


def guest_module_tree(root: Root, cache: Path) -> Root:
    """A release directory with :data:`GUEST_TREE_MODULES`' files, indexed by depmod.

    Files are hard links into the full tree (copies across filesystems); built
    once per selection and release.
    """
    files = module_closure(root, GUEST_TREE_MODULES)
    key = hashlib.sha256("\n".join(map(str, files)).encode()).hexdigest()[:12]
    base = cache / f"guest-tree-{root.release}-{key}"
    tree = Root(base, root.release)
    if (base / ".complete").exists():
        return tree
    shutil.rmtree(base, ignore_errors=True)
    for rel in files:
        dest = tree.modules_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(root.modules_dir / rel, dest)
        except OSError:
            shutil.copy2(root.modules_dir / rel, dest)
    for name in TREE_FILES:
        shutil.copy2(root.modules_dir / name, tree.modules_dir / name)
    subprocess.run(["depmod", "-b", str(base), root.release], check=True,
                   env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    (base / ".complete").touch()
    return tree


def _cpio_entry(out: io.BufferedIOBase, name: str, mode: int, data: bytes = b"") -> None:
    """One entry of a ``newc`` cpio archive (the format the kernel unpacks)."""
    namez = name.encode() + b"\0"
    fields = (0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(namez), 0)
    out.write(b"070701" + b"".join(b"%08X" % f for f in fields))
    out.write(namez + b"\0" * ((-(110 + len(namez))) % 4))
    out.write(data + b"\0" * ((-len(data)) % 4))


def build_initramfs(root: Root, python: str, stage2: Path, dest: Path) -> Path:
    """A gzip'd cpio with busybox, the 9p/overlay modules and the /init script."""
    modules = module_closure(root, INITRAMFS_MODULES)
    buf = io.BytesIO()
    for d in ("bin", "modules", "proc", "sys", "dev", "newroot"):
        _cpio_entry(buf, d, stat.S_IFDIR | 0o755)
    _cpio_entry(buf, "bin/busybox", stat.S_IFREG | 0o755, BUSYBOX.read_bytes())
    _cpio_entry(buf, "init", stat.S_IFREG | 0o755, INIT_SCRIPT.encode())
    _cpio_entry(buf, "kmgtest-python", stat.S_IFREG | 0o644, python.encode())
    _cpio_entry(buf, "kmgtest-stage2", stat.S_IFREG | 0o644, str(stage2).encode())
    names = []
    for rel in modules:
        name = rel.name.split(".")[0]
        names.append(name)
        data = (root.modules_dir / rel).read_bytes()
        _cpio_entry(buf, f"modules/{name}.ko", stat.S_IFREG | 0o644, data)
    _cpio_entry(buf, "modules/order", stat.S_IFREG | 0o644, ("\n".join(names) + "\n").encode())
    _cpio_entry(buf, "TRAILER!!!", 0)
    dest.write_bytes(gzip.compress(buf.getvalue(), compresslevel=1))
    return dest


def kernel_image(root: Root) -> Path:
    """The ``vmlinuz`` that belongs to the tree's modules."""
    image = root.base / "boot" / f"vmlinuz-{root.release}"
    if not image.is_file():
        raise GuestError(f"no kernel image {image}: run tests/fetch-kernel")
    return image


def boot(root: Root, workdir: Path, *, python: str, cmdline: str = "",
         timeout: float = 600, memory_mb: int = 2048,
         qemu_args: tuple[str, ...] = (), tree: Root | None = None) -> GuestRun:
    """Boot the guest once and wait for it to power off.

    Stage 2 is ``guest_init.py`` run by *python*; it reads its instructions
    from ``out/config.json`` (written by the caller into ``workdir/out``) and
    leaves everything it produces there. *qemu_args* adds devices (e.g. a NIC).
    *root* gives the kernel and the initramfs modules; *tree* (default: *root*)
    the module tree the guest sees at its release directory.
    """
    if shutil.which(QEMU) is None:
        raise GuestError(f"{QEMU} is not installed (tests/run installs qemu-system-x86)")
    out = workdir / "out"
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o755)
    initrd = build_initramfs(root, python, HERE / "guest_init.py", workdir / "initramfs.gz")
    console = workdir / "console.log"
    append = ("console=ttyS0 panic=-1 quiet loglevel=4 rdinit=/init "
              f"systemd.unit=none {cmdline}").strip()
    argv = [
        QEMU, "-accel", "tcg", "-cpu", "max", "-m", str(memory_mb),
        "-smp", str(min(2, os.cpu_count() or 1)),
        "-nographic", "-no-reboot", "-nodefaults", "-serial", f"file:{console}",
        "-monitor", "none", "-kernel", str(kernel_image(root)), "-initrd", str(initrd),
        "-append", append,
    ]
    shares = (("hostroot", Path("/"), True), ("kmods", (tree or root).modules_dir, True),
              ("kmgout", out, False))
    for i, (tag, path, readonly) in enumerate(shares):
        ro = ",readonly=on" if readonly else ""
        argv += ["-fsdev", f"local,id=fs{i},path={path},security_model=none,multidevs=remap{ro}",
                 "-device", f"virtio-9p-pci,fsdev=fs{i},mount_tag={tag}"]
    argv += qemu_args
    start = time.monotonic()
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout, check=False)
        rc = proc.returncode
        if rc != 0:
            with console.open("a") as f:
                f.write(f"\n[qemu exited {rc}] {proc.stderr.decode(errors='replace')}\n")
    except subprocess.TimeoutExpired:
        rc = -1
        with console.open("a") as f:
            f.write(f"\n[qemu killed after {timeout:.0f} s]\n")
    return GuestRun(console=console, out=out, returncode=rc,
                    seconds=time.monotonic() - start)
